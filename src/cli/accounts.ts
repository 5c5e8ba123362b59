import { type Command, InvalidArgumentError } from 'commander';
import { createAccount, getAccount, listAccounts, setUsesOperatorTokens } from '../billing/accounts.js';
import { listApiKeys } from '../billing/api-keys.js';
import { getBalance, recentLedger } from '../billing/credits.js';
import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { formatUsd } from '../lib/money.js';
import { print } from './operator-io.js';
import { withDatabase } from './with-database.js';

/** How many ledger entries `accounts show` lists. */
const RECENT_LEDGER = 20;

/** Columns padded to their widest cell, the last one left as it is. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** `on` or `off`, for `accounts operator-tokens`. */
function onOff(value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new InvalidArgumentError('expected on or off');
}

/** `accounts create`, `accounts list`, `accounts show` and `accounts operator-tokens`. */
export function addAccountsCommands(program: Command, cfg: () => Config): void {
  const accounts = program.command('accounts').description('operator commands for accounts');

  accounts
    .command('create')
    .requiredOption('--email <email>')
    .option('--github-login <login>')
    .option('--operator-tokens', "may read private repositories with the operator's KODAH_GIT_TOKENS")
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; githubLogin?: string; operatorTokens?: boolean; json?: boolean }) => {
      const account = await withDatabase(cfg(), (db) =>
        createAccount(db, { email: opts.email, githubLogin: opts.githubLogin, usesOperatorTokens: !!opts.operatorTokens }),
      );
      const marked = account.usesOperatorTokens ? "; it may use the operator's KODAH_GIT_TOKENS" : '';
      print(!!opts.json, account, `created account ${account.id} <${account.email}>${marked}`);
    });

  accounts
    .command('list')
    .description('every account: id, e-mail, GitHub login, paid balance, free fixes left this month, active keys, created')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withDatabase(cfg(), (db) => listAccounts(db, systemClock, cfg().billing.freeFixesPerMonth));
      const rows = list.map((a) => [
        a.id,
        a.email,
        a.githubLogin ?? '-',
        formatUsd(a.paidBalanceCents),
        String(a.freeCredits),
        String(a.activeKeys),
        a.createdAt.toISOString().slice(0, 10),
      ]);
      print(!!opts.json, list, list.length ? table(['id', 'email', 'github', 'paid', 'free', 'keys', 'created'], rows) : 'no accounts yet');
    });

  accounts
    .command('operator-tokens')
    .description("allow (on) or refuse (off) the account reading private repositories with the operator's KODAH_GIT_TOKENS")
    .argument('<account>', 'account id or email')
    .argument('<on|off>', 'on or off', onOff)
    .option('--json', 'print JSON')
    .action(async (which: string, on: boolean, opts: { json?: boolean }) => {
      const account = await withDatabase(cfg(), (db) => setUsesOperatorTokens(db, which, on));
      const text = on
        ? `account ${account.id} <${account.email}> may read private repositories with KODAH_GIT_TOKENS`
        : `account ${account.id} <${account.email}> may no longer read private repositories with KODAH_GIT_TOKENS ` +
          '(what its code index already holds stays searchable by it until deleted)';
      print(!!opts.json, account, text);
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
          `git tokens    KODAH_GIT_TOKENS ${account.usesOperatorTokens ? 'allowed' : 'not allowed'}`,
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
