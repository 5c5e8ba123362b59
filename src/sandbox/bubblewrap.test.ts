import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BwrapSpec, bwrapArgs, WORKDIR } from './bubblewrap.js';
import { sandboxEnv } from './sandbox.js';

/** Where `sequence` starts in `args` (consecutive), or -1. */
function indexOfSeq(args: readonly string[], sequence: readonly string[]): number {
  for (let i = 0; i + sequence.length <= args.length; i++) if (sequence.every((s, j) => args[i + j] === s)) return i;
  return -1;
}

/** The masks bwrapArgs made for `target`: a read-only tmpfs for a folder, /dev/null for a file. */
function maskOf(args: readonly string[], target: string): 'folder' | 'file' | null {
  if (indexOfSeq(args, ['--tmpfs', target, '--remount-ro', target]) >= 0) return 'folder';
  if (indexOfSeq(args, ['--ro-bind', '/dev/null', target]) >= 0) return 'file';
  return null;
}

describe('bwrapArgs', () => {
  let base: string;
  let spec: BwrapSpec;

  beforeAll(() => {
    base = mkdtempSync(path.join(tmpdir(), 'kodah-bwrap-args-'));
    for (const dir of ['tree', 'home', 'tmp', 'etc', 'extra/secrets', 'plain']) mkdirSync(path.join(base, dir), { recursive: true });
    writeFileSync(path.join(base, 'tree', '.git'), 'gitdir: /mirrors/x\n');
    writeFileSync(path.join(base, 'etc', 'passwd'), 'kodah:x:1000:1000::/home/kodah:/bin/bash\n');
    writeFileSync(path.join(base, 'etc', 'kodah-secret.conf'), 'copied into the sandbox’s /etc\n');
    writeFileSync(path.join(base, 'extra', 'key.pem'), 'secret\n');
    spec = {
      worktree: path.join(base, 'tree'),
      home: path.join(base, 'home'),
      tmp: path.join(base, 'tmp'),
      etc: path.join(base, 'etc'),
      network: false,
      hidden: [],
      extraPaths: [],
      shmBytes: 1024 * 1024,
    };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('isolates: every namespace, no user namespaces inside, dies with its parent, a session of its own', () => {
    const args = bwrapArgs(spec);
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv'])
      expect(args, flag).toContain(flag);
    expect(args).not.toContain('--share-net');
    expect(indexOfSeq(args, ['--uid', '1000', '--gid', '1000'])).toBeGreaterThanOrEqual(0);
    expect(indexOfSeq(args, ['--proc', '/proc'])).toBeGreaterThanOrEqual(0);
    // The host's own /dev, /proc, / or data are never bound.
    expect(args).not.toContain('--dev-bind');
    expect(indexOfSeq(args, ['--bind', '/', '/'])).toBe(-1);
  });

  it('shares the network only when asked', () => {
    expect(bwrapArgs({ ...spec, network: true })).toContain('--share-net');
    expect(bwrapArgs({ ...spec, network: false })).not.toContain('--share-net');
  });

  it('binds the system read-only, its own /etc, and writable only the work tree, HOME and /tmp', () => {
    const args = bwrapArgs(spec);
    expect(indexOfSeq(args, ['--ro-bind', '/usr', '/usr'])).toBeGreaterThanOrEqual(0);
    expect(indexOfSeq(args, ['--ro-bind', spec.etc, '/etc'])).toBeGreaterThanOrEqual(0);
    const writable = args.flatMap((arg, i) => (arg === '--bind' ? [`${args[i + 1]} -> ${args[i + 2]}`] : []));
    expect(writable).toEqual([`${spec.tmp} -> /tmp`, `${spec.home} -> /home/kodah`, `${spec.worktree} -> ${WORKDIR}`]);
    // The root is read-only, after everything is mounted on it.
    const remountRoot = indexOfSeq(args, ['--remount-ro', '/']);
    expect(remountRoot).toBeGreaterThan(indexOfSeq(args, ['--bind', spec.worktree, WORKDIR]));
    expect(indexOfSeq(args, ['--chdir', WORKDIR])).toBeGreaterThan(remountRoot);
  });

  it('binds the work tree’s .git read-only over the writable work tree, when there is one', () => {
    const args = bwrapArgs(spec);
    const git = indexOfSeq(args, ['--ro-bind', path.join(spec.worktree, '.git'), `${WORKDIR}/.git`]);
    expect(git).toBeGreaterThan(indexOfSeq(args, ['--bind', spec.worktree, WORKDIR]));
    expect(bwrapArgs({ ...spec, worktree: path.join(base, 'plain') }).join(' ')).not.toContain('.git');
  });

  it('clears the environment, then sets only the sandbox’s', () => {
    const args = bwrapArgs(spec);
    const clear = args.indexOf('--clearenv');
    const set = args.flatMap((arg, i) => (arg === '--setenv' ? [[args[i + 1], args[i + 2], i] as const] : []));
    expect(Object.fromEntries(set.map(([key, value]) => [key, value]))).toEqual(sandboxEnv('/home/kodah', '/tmp'));
    for (const [, , at] of set) expect(at).toBeGreaterThan(clear);
  });

  it('masks hidden paths only where the sandbox would see them, after the binds that would show them', () => {
    const extra = path.join(base, 'extra');
    const hidden = [
      '/usr/share', // a folder under /usr
      '/usr/bin/env', // a file under /usr
      '/usr/share/kodah-no-such-file', // under /usr, but not there
      path.join(extra, 'key.pem'), // a file under an operator's extra path
      path.join(extra, 'secrets'), // a folder under it
      path.join(base, 'plain'), // exists, under nothing bound: already invisible
      '/etc/kodah-secret.conf', // under /etc and in the sandbox's copy of it
      '/etc/passwd-kodah-not-copied', // under /etc, not in the copy (bwrap could not make the mount point)
    ];
    const args = bwrapArgs({ ...spec, hidden, extraPaths: [extra, path.join(base, 'no-such-extra')] });
    expect(indexOfSeq(args, ['--ro-bind', extra, extra])).toBeGreaterThanOrEqual(0);
    expect(args).not.toContain(path.join(base, 'no-such-extra'));
    expect(maskOf(args, '/usr/share')).toBe('folder');
    expect(maskOf(args, '/usr/bin/env')).toBe('file');
    expect(maskOf(args, path.join(extra, 'key.pem'))).toBe('file');
    expect(maskOf(args, path.join(extra, 'secrets'))).toBe('folder');
    expect(maskOf(args, '/etc/kodah-secret.conf')).toBe('file');
    for (const unseen of ['/usr/share/kodah-no-such-file', path.join(base, 'plain'), '/etc/passwd-kodah-not-copied'])
      expect(args, unseen).not.toContain(unseen);
    const lastBind = Math.max(indexOfSeq(args, ['--ro-bind', spec.etc, '/etc']), indexOfSeq(args, ['--ro-bind', extra, extra]));
    const firstMask = indexOfSeq(args, ['--tmpfs', '/usr/share']);
    expect(firstMask).toBeGreaterThan(lastBind);
    expect(indexOfSeq(args, ['--remount-ro', '/'])).toBeGreaterThan(indexOfSeq(args, ['--ro-bind', '/dev/null', '/etc/kodah-secret.conf']));
  });

  it('does not mask a hidden path of the host’s /etc that the sandbox’s copy lacks (/etc/shadow)', () => {
    // The host has it; the sandbox's /etc never copies it. A mask would need a mount point in the
    // read-only copy, and bwrap would refuse to start at all.
    const args = bwrapArgs({ ...spec, hidden: ['/etc/shadow'] });
    expect(args).not.toContain('/etc/shadow');
  });
});
