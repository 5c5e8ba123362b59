import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { provided } from './provided.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface KodahProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * The command line that runs `kodah <args>` from this tree's source: the run's compiled copy when
 * the global setup made one, through tsx otherwise.
 */
export function kodahCommand(args: string[]): { command: string; args: string[] } {
  const compiled = provided('kodahCli');
  const entry = compiled ? [compiled] : ['--import', 'tsx', path.join(ROOT, 'test/helpers/cli-entry.ts')];
  return { command: process.execPath, args: [...entry, ...args] };
}

/** `kodah <args>` from source in a child process, with only the given environment (plus PATH). */
export function spawnKodah(args: string[], env: Record<string, string>): KodahProcess {
  const command = kodahCommand(args);
  const child = spawn(command.command, command.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      // A process ended by a signal has no exit code: the output says which one, for the failure message.
      if (signal) out += `\n[ended by ${signal}]\n`;
      resolve(code);
    }),
  );
  return { child, output: () => out, exited };
}

/** Waits until GET /healthz answers 200. */
export async function waitForHealthy(url: string, proc: KodahProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`kodah did not become healthy:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
