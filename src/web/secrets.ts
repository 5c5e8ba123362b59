import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 in hex: how session ids and states are stored (they carry 256 random bits: a fast hash is enough). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** 32 random bytes, URL-safe. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** HMAC-SHA256 of the parts (joined so that no two lists of parts sign alike), URL-safe. */
export function sign(key: Buffer, ...parts: string[]): string {
  return createHmac('sha256', key)
    .update(parts.map((p) => `${p.length}:${p}`).join(''))
    .digest('base64url');
}

/** Compares two strings in constant time. */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * AES-256-GCM with a fresh IV; `context` (e.g. the account id and what the value is) is
 * authenticated, so a ciphertext copied into another row or column does not decrypt.
 */
export function encrypt(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${Buffer.concat([body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** The plaintext of encrypt's output, or null when it was made with another key or context, or altered. */
export function decrypt(key: Buffer, sealed: string, context: string): string | null {
  const [version, iv, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !data) return null;
  try {
    const bytes = Buffer.from(data, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
