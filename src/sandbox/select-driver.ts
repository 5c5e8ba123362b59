import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import { bubblewrapDriver } from './bubblewrap.js';
import { containerDriver, probeContainerEngine } from './container.js';
import type { SandboxDriver } from './sandbox.js';
import { SANDBOX_DOCS } from './sandbox-docs.js';
import { unsandboxedDriver } from './unsandboxed.js';

export interface SandboxChoice {
  /** Null: no driver works here, and no repository command is ever run. */
  driver: SandboxDriver | null;
  /** Why there is none, for the checks users see and the start-up log. */
  problem: string | null;
}

/**
 * The sandbox driver the operator asked for, proven to work by running `true` in it once. When
 * it does not work, commands are not run at all: nothing falls back to running unsandboxed.
 */
export async function selectSandbox(config: Pick<Config, 'sandbox' | 'dataDir' | 'github'>, log: Logger): Promise<SandboxChoice> {
  const settings = config.sandbox;
  if (settings.driver === 'none') {
    log.warn(
      'KODAH_SANDBOX=none: repository and model code runs unsandboxed, as the server user, with access to its files and secrets; only for a single trusted tenant',
    );
    return { driver: unsandboxedDriver({ scratchDir: settings.scratchDir }), problem: null };
  }
  if (settings.driver === 'container') {
    if (!(await probeContainerEngine(settings.container.host))) {
      const problem = `no container engine answers at ${settings.container.host}`;
      log.error(`sandbox: ${problem}; repository commands will not run (see ${SANDBOX_DOCS})`);
      return { driver: null, problem };
    }
    const { host, image, cpus, user, selinuxRelabel } = settings.container;
    log.info({ host, image }, 'sandbox: container');
    return { driver: containerDriver({ host, image, cpus, user: user ?? undefined, selinuxRelabel }), problem: null };
  }
  const driver = bubblewrapDriver({
    scratchDir: settings.scratchDir,
    ownDir: config.dataDir,
    extraPaths: settings.extraPaths,
    hidden: [config.dataDir, ...(config.github?.privateKeyPath ? [config.github.privateKeyPath] : []), path.resolve('.env')],
  });
  const problem = await probe(driver, settings.scratchDir);
  if (problem) {
    log[settings.driver === 'bubblewrap' ? 'error' : 'warn'](
      `sandbox: bubblewrap does not work here (${problem}); repository commands will not run (see ${SANDBOX_DOCS})`,
    );
    return { driver: null, problem: `bubblewrap does not work here: ${problem}` };
  }
  log.info('sandbox: bubblewrap');
  return { driver, problem: null };
}

async function probe(driver: SandboxDriver, scratchDir: string): Promise<string | null> {
  let dir: string | null = null;
  try {
    await mkdir(scratchDir, { recursive: true });
    dir = await mkdtemp(path.join(scratchDir, 'probe-'));
    const sandbox = await driver.open(dir);
    try {
      const run = await sandbox.run('true', {
        limits: {
          timeoutMs: 10_000,
          memoryBytes: 256 * 1024 * 1024,
          processes: 64,
          outputTailBytes: 2048,
          maxOutputBytes: 1024 * 1024,
          diskBytes: 16 * 1024 * 1024,
        },
      });
      return run.exitCode === 0 ? null : run.outputTail.trim().split('\n').pop() || `exit code ${run.exitCode ?? run.limit}`;
    } finally {
      await sandbox.close();
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'bwrap is not installed (Debian: apt-get install bubblewrap)'
      : (err as Error).message;
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
