import type { Command } from 'commander';
import { getAccount } from '../billing/accounts.js';
import { createApiKey, rotateApiKey } from '../billing/api-keys.js';
import type { Config } from '../config.js';
import { withDatabase } from './with-database.js';

/**
 * `keys create` and `keys rotate`. Each prints the new key alone on stdout, once: it is stored
 * only as a hash, and a script can capture it without parsing.
 */
export function addKeysCommands(program: Command, cfg: () => Config): void {
  const keys = program.command('keys').description('operator commands for API keys');

  keys
    .command('create')
    .description('issue another key for the account; prints the key alone, once')
    .requiredOption('--account <account>', 'account id or email')
    .action(async (opts: { account: string }) => {
      const key = await withDatabase(cfg(), async (db) => createApiKey(db, (await getAccount(db, opts.account)).id));
      process.stdout.write(`${key}\n`);
    });

  keys
    .command('rotate')
    .description('revoke every key of the account at once and issue one new key (printed alone)')
    .requiredOption('--account <account>', 'account id or email')
    .action(async (opts: { account: string }) => {
      // The account row is locked so two rotations cannot both leave a key standing.
      const key = await withDatabase(cfg(), (db) =>
        db.transaction(async (tx) => rotateApiKey(tx, (await getAccount(tx, opts.account, true)).id)),
      );
      process.stdout.write(`${key}\n`);
    });
}
