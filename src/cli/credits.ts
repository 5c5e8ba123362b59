import { type Command, InvalidArgumentError } from 'commander';
import { getAccount } from '../billing/accounts.js';
import { addCredits, getBalance } from '../billing/credits.js';
import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { formatUsd, parseUsd } from '../lib/money.js';
import { withDatabase } from './with-database.js';

/** Parses --usd to cents; an InvalidArgumentError lets commander name the option in its message. */
function usd(value: string): number {
  try {
    return parseUsd(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `credits add`: an operator's purchase on an account's behalf, recorded in the ledger. */
export function addCreditsCommands(program: Command, cfg: () => Config): void {
  const credits = program.command('credits').description('operator commands for paid credits');

  credits
    .command('add')
    .requiredOption('--account <account>', 'account id or email')
    .requiredOption('--usd <amount>', 'US dollars, e.g. 10.00', usd)
    .option('--note <text>', 'why, for the ledger')
    .action(async (opts: { account: string; usd: number; note?: string }) => {
      const balance = await withDatabase(cfg(), (db) =>
        db.transaction(async (tx) => {
          const account = await getAccount(tx, opts.account, true);
          await addCredits(tx, account.id, opts.usd, 'purchase', opts.note);
          return getBalance(tx, account.id, systemClock, cfg().billing);
        }),
      );
      process.stdout.write(`added ${formatUsd(opts.usd)}; paid balance ${formatUsd(balance.paidBalanceCents)}\n`);
    });
}
