import { type Command, InvalidArgumentError } from 'commander';
import { createAccount, getAccount } from '../billing/accounts.js';
import { listApiKeys } from '../billing/api-keys.js';
import { getBalance, recentLedger } from '../billing/credits.js';
import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { formatUsd } from '../lib/money.js';
import { print } from './operator-io.js';
import { withDatabase } from './with-database.js';

/** How many ledger entries `accounts show` lists. */
const RECENT_LEDGER = 20;

/** `accounts create` and `accounts show`. */
export function addAccountsCommands(program: Command, cfg: () => Config): void {
  const accounts = program.command('accounts').description('operator commands for accounts');

  accounts
    .command('create')
    .requiredOption('--email <email>')
    .option('--github-login <login>')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; githubLogin?: string; json?: boolean }) => {
      const account = await withDatabase(cfg(), (db) => createAccount(db, { email: opts.email, githubLogin: opts.githubLogin }));
      print(!!opts.json, account, `created account ${account.id} <${account.email}>`);
    });

  accounts
    .command('show')
    .argument('[account]', 'account id or email')
    .option('--account <account>', 'account id or email')
    .option('--json', 'print JSON')
    .action(async (positional: string | undefined, opts: { account?: string; json?: boolean }) => {
      const which = opts.account ?? positional;
      if (!which) throw new InvalidArgumentError('name the account: kodah accounts show <id|email>');
      await withDatabase(cfg(), async (db) => {
        const account = await getAccount(db, which);
        const balance = await getBalance(db, account.id, systemClock, cfg().billing);
        const keys = await listApiKeys(db, account.id);
        const ledger = await recentLedger(db, account.id, RECENT_LEDGER);
        const text = [
          `account       ${account.id}`,
          `email         ${account.email}`,
          `github        ${account.githubLogin ?? '-'}`,
          `free credits  ${balance.freeCredits} this month (${balance.period})`,
          `paid balance  ${formatUsd(balance.paidBalanceCents)}`,
          `keys          ${keys.map((k) => `${k.prefix}… ${k.revokedAt ? 'revoked' : 'active'}`).join(', ') || 'none'}`,
          'recent ledger:',
          ...ledger.map(
            (l) =>
              `  ${l.createdAt.toISOString()}  ${l.kind.padEnd(13)} ${l.pool.padEnd(4)} ` +
              `${(l.pool === 'paid' ? formatUsd(l.amount) : `${l.amount} fix`).padStart(9)}  ${l.jobId ?? ''}`,
          ),
        ].join('\n');
        // The JSON keeps the column names it has always printed: operators' scripts read them.
        const json = {
          account,
          balance,
          keys: keys.map((k) => ({ key_prefix: k.prefix, created_at: k.createdAt, revoked_at: k.revokedAt })),
          ledger: ledger.map((l) => ({ kind: l.kind, pool: l.pool, amount: l.amount, job_id: l.jobId, created_at: l.createdAt })),
        };
        print(!!opts.json, json, text);
      });
    });
}
