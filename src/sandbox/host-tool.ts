import { launch } from '../lib/launch.js';

/**
 * Runs one of the host's own tools (cp, chown) on the server's side of a sandbox, with a bare
 * environment; rejects with what it printed. `partialOk`: a failure that printed why (some
 * entries could not be read) still counts as done.
 */
export function runHostTool(command: string, args: string[], what: string, options: { partialOk?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = launch({ file: command, args, env: { PATH: '/usr/bin:/bin' }, stderr: true });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code: number | null) =>
      code === 0 || (options.partialOk && err) ? resolve() : reject(new Error(`${what} failed: ${err.trim()}`)),
    );
  });
}

/**
 * `chown -R` without following links: the sandbox's user may then write every file of the work
 * tree. With `fromUid`, only entries that uid owns change (GNU chown's `--from`): the others are
 * not touched at all, so their ctime stays as it was.
 */
export function chownAll(dir: string, uid: number, gid: number, fromUid?: number): Promise<void> {
  const from = fromUid === undefined ? [] : [`--from=${fromUid}`];
  return runHostTool('chown', ['-R', '-P', ...from, `${uid}:${gid}`, dir], 'chown of the work tree');
}
