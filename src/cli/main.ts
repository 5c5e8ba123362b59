import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../config.js';
import { KodahError } from '../lib/errors.js';
import { buildCli } from './build-cli.js';

/** The CLI entry; resolves to the process exit code. The one place the CLI reads process.env. */
export async function main(argv: string[]): Promise<number> {
  const program = buildCli(process.env);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // Errors the operator can act on get one line; anything else is a bug and keeps its stack.
    // An InvalidArgumentError here came from a command's own checks (commander wraps the ones
    // of its parsing in a plain CommanderError after printing them), so it is printed here.
    if (err instanceof ConfigError || err instanceof KodahError || err instanceof InvalidArgumentError) {
      process.stderr.write(`kodah: ${(err as Error).message}\n`);
      return 1;
    }
    // Commander printed the errors of its own parsing (and help) already; only the exit code is left.
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    if (err instanceof Error && err.name === 'ZodError') {
      process.stderr.write(`kodah: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
