import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, sign } from './secrets.js';

describe('token encryption', () => {
  const key = randomBytes(32);
  it('round-trips, and refuses another key, another context or an altered ciphertext', () => {
    const sealed = encrypt(key, 'ghu_secret', 'account-1:access');
    expect(sealed).not.toContain('ghu_secret');
    expect(decrypt(key, sealed, 'account-1:access')).toBe('ghu_secret');
    expect(decrypt(randomBytes(32), sealed, 'account-1:access')).toBeNull();
    expect(decrypt(key, sealed, 'account-2:access')).toBeNull();
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    expect(decrypt(key, flipped, 'account-1:access')).toBeNull();
    expect(decrypt(key, 'garbage', 'account-1:access')).toBeNull();
  });

  it('signs lists of parts so that no two lists sign alike', () => {
    expect(sign(key, 'ab', 'c')).not.toBe(sign(key, 'a', 'bc'));
    expect(sign(key, 'a')).toBe(sign(key, 'a'));
  });
});
