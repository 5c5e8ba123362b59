import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { safeTarget } from './safe-path.js';

describe('where an edit may write', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'kodah-safe-'));
  mkdirSync(path.join(root, 'src'));
  writeFileSync(path.join(root, 'src', 'a.py'), 'x = 1\n');
  symlinkSync('/etc', path.join(root, 'docs'));
  symlinkSync('/etc/hostname', path.join(root, 'src', 'host.py'));

  it('allows files inside, existing or new', async () => {
    expect(await safeTarget(root, 'src/a.py')).toEqual({ path: path.join(root, 'src', 'a.py') });
    expect(await safeTarget(root, 'src/new/b.py')).toEqual({ path: path.join(root, 'src', 'new', 'b.py') });
  });

  it('refuses links on the way or at the file, and paths outside', async () => {
    expect(await safeTarget(root, 'docs/passwd')).toEqual({ problem: expect.stringMatching(/symbolic link docs/) });
    expect(await safeTarget(root, 'src/host.py')).toEqual({ problem: expect.stringMatching(/symbolic link src\/host\.py/) });
    expect(await safeTarget(root, '../x.py')).toEqual({ problem: expect.stringMatching(/outside/) });
  });
});
