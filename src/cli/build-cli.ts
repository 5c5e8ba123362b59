import { Command } from 'commander';
import { type Config, loadConfig } from '../config.js';
import { addAccountsCommands } from './accounts.js';
import { addCreditsCommands } from './credits.js';
import { addFixCommand } from './fix.js';
import { addKeysCommands } from './keys.js';
import { addLocalizeCommand } from './localize.js';
import { addMcpCommand } from './mcp.js';
import { addServeCommands } from './serve.js';

/** The `kodah` program with every operator command, over the given environment. */
export function buildCli(env: Record<string, string | undefined>): Command {
  // Read on first use, once: --help needs no valid environment, and a bad one becomes the
  // command's error (naming the variable) rather than a crash while the program is built.
  let config: Config | undefined;
  const cfg = () => (config ??= loadConfig(env));
  const program = new Command('kodah')
    .description('Kodah: a bug report in, a reviewable diff out.')
    .showHelpAfterError()
    // main() decides the exit code; commander must not end the process itself.
    .exitOverride();

  addServeCommands(program, cfg);
  addAccountsCommands(program, cfg);
  addKeysCommands(program, cfg);
  addCreditsCommands(program, cfg);
  addFixCommand(program, cfg, env);
  addLocalizeCommand(program, cfg);
  addMcpCommand(program, cfg, env);
  return program;
}
