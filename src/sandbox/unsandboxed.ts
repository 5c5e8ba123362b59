import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { diskUsage } from './disk-usage.js';
import { runLimited } from './run-limited.js';
import { SANDBOX_SHELL, type SandboxDriver, sandboxEnv } from './sandbox.js';
import { scratchName } from '../lib/scratch-name.js';

/**
 * `KODAH_SANDBOX=none`: commands run as the server's own user, on the host, with the limits
 * that need no isolation (time, output, disk, per-process rlimits do not apply) and a bare
 * environment. Only for one trusted tenant running its own code: anything it runs can read
 * what the server can. Kodah warns at every start while this is on.
 */
export function unsandboxedDriver(settings: { scratchDir: string }): SandboxDriver {
  return {
    name: 'none',
    async open(worktree) {
      const scratch = path.join(settings.scratchDir, scratchName(randomBytes(6).toString('hex')));
      const home = path.join(scratch, 'home');
      const tmp = path.join(scratch, 'tmp');
      await mkdir(home, { recursive: true });
      await mkdir(tmp, { recursive: true });
      let closed = false;
      return {
        driver: 'none',
        workdir: worktree,
        hostHome: home,
        async run(command, options) {
          if (closed) throw new Error('the sandbox is closed');
          const { limits } = options;
          return runLimited(
            {
              command,
              argv: [...SANDBOX_SHELL, command],
              env: sandboxEnv(home, tmp),
              cwd: worktree,
              watch: async () => {
                const disk = await diskUsage([worktree, scratch], limits.diskBytes);
                return disk > limits.diskBytes ? 'disk' : null;
              },
            },
            options,
          );
        },
        async close() {
          if (closed) return;
          closed = true;
          await rm(scratch, { recursive: true, force: true });
        },
      };
    },
  };
}
