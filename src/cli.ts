import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { fixDepsFor, type Kodah, startKodah } from './app.js';
import { rotateApiKey, createApiKey } from './billing/api-keys.js';
import { createAccount, getAccount } from './billing/accounts.js';
import { addCredits, getBalance } from './billing/credits.js';
import { resolveCommit } from './git/git-objects.js';
import { FactsCache } from './localize/facts-cache.js';
import { localize } from './localize/localize.js';
import { runFixPipeline } from './fix/fix-pipeline.js';
import { runGit } from './git/run-git.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { connectDatabase } from './db/connect.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { staticCredentials } from './git/credentials.js';
import { ensureMirror } from './git/mirror-cache.js';
import { startQueues } from './queues.js';
import { systemClock } from './lib/clock.js';
import { KodahError } from './lib/errors.js';
import { createLogger } from './lib/logger.js';
import { formatUsd, parseUsd } from './lib/money.js';
import { serveMcpOverStdio } from './mcp/serve-stdio.js';

/** Runs a long-lived process until SIGTERM/SIGINT, then drains it. */
async function runUntilSignal(start: () => Promise<Kodah>): Promise<void> {
  const kodah = await start();
  return new Promise((resolve, reject) => {
    const shutdown = (signal: string) => {
      kodah.log.info({ signal }, 'shutting down: no new jobs, running ones get the grace period');
      // Should a library leave a handle open, the process still ends: stop() has drained the work.
      const exit = (code: number) => setTimeout(() => process.exit(code), 5000).unref();
      kodah.stop().then(() => {
        exit(0);
        resolve();
      }, (err: unknown) => {
        exit(1);
        kodah.log.error({ err }, 'shutdown failed');
        reject(err);
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

/** Opens the database for a one-off operator command, migrated, and always closes it. */
async function withDatabase<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await connectDatabase(config);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

function usd(value: string): number {
  try {
    return parseUsd(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

export function buildCli(env: Record<string, string | undefined> = process.env): Command {
  let config: Config | undefined;
  const cfg = () => (config ??= loadConfig(env));
  const program = new Command('kodah')
    .description('Kodah: a bug report in, a reviewable diff out.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('HTTP API and workers in one process (embedded PGlite unless DATABASE_URL is set)')
    .action(async () => runUntilSignal(() => startKodah({ config: cfg(), http: true, workers: true })));

  program
    .command('serve')
    .description('the HTTP API, with workers unless --no-workers')
    .option('--no-workers', 'API only; run `kodah worker` processes against the same DATABASE_URL')
    .action(async (opts: { workers: boolean }) => {
      if (!opts.workers && !cfg().databaseUrl) {
        throw new ConfigError('--no-workers needs DATABASE_URL: the embedded database serves one process, so no worker could reach it');
      }
      return runUntilSignal(() => startKodah({ config: cfg(), http: true, workers: opts.workers }));
    });

  program
    .command('worker')
    .description('workers only, sharing the queue of DATABASE_URL with any number of other processes')
    .action(async () => {
      if (!cfg().databaseUrl) throw new ConfigError('kodah worker needs DATABASE_URL; with the embedded database use `kodah start`');
      return runUntilSignal(() => startKodah({ config: cfg(), http: false, workers: true }));
    });

  program
    .command('migrate')
    .description("apply the database migrations (Kodah's and the queue's) and exit")
    .action(async () => {
      const log = createLogger(cfg().logLevel, process.stderr);
      await withDatabase(cfg(), async (db) => {
        const boss = await startQueues(db, cfg(), log);
        await boss.stop({ graceful: false, close: true });
      });
      process.stderr.write('database is up to date\n');
    });

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
        const { rows: keys } = await db.query<{ key_prefix: string; created_at: Date; revoked_at: Date | null }>(
          'SELECT key_prefix, created_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY created_at',
          [account.id],
        );
        const { rows: ledger } = await db.query<{ kind: string; pool: string; amount: number; job_id: string | null; created_at: Date }>(
          'SELECT kind, pool, amount, job_id, created_at FROM ledger WHERE account_id = $1 ORDER BY id DESC LIMIT 20',
          [account.id],
        );
        const text = [
          `account       ${account.id}`,
          `email         ${account.email}`,
          `github        ${account.githubLogin ?? '-'}`,
          `free credits  ${balance.freeCredits} this month (${balance.period})`,
          `paid balance  ${formatUsd(balance.paidBalanceCents)}`,
          `keys          ${keys.map((k) => `${k.key_prefix}… ${k.revoked_at ? 'revoked' : 'active'}`).join(', ') || 'none'}`,
          'recent ledger:',
          ...ledger.map(
            (l) =>
              `  ${new Date(l.created_at).toISOString()}  ${l.kind.padEnd(13)} ${l.pool.padEnd(4)} ` +
              `${(l.pool === 'paid' ? formatUsd(l.amount) : `${l.amount} fix`).padStart(9)}  ${l.job_id ?? ''}`,
          ),
        ].join('\n');
        print(!!opts.json, { account, balance, keys, ledger }, text);
      });
    });

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
    .description("revoke every key of the account at once and issue one new key (printed alone)")
    .requiredOption('--account <account>', 'account id or email')
    .action(async (opts: { account: string }) => {
      const key = await withDatabase(cfg(), (db) =>
        db.transaction(async (tx) => rotateApiKey(tx, (await getAccount(tx, opts.account, true)).id)),
      );
      process.stdout.write(`${key}\n`);
    });

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

  program
    .command('fix')
    .description('run the fix pipeline on a repository without the server and print the diff')
    .requiredOption('--repo <path|url>', 'a local repository (bare or with a work tree) or a repository URL')
    .option('--ref <ref>', 'branch, tag or commit', 'HEAD')
    .option('--description <text>', 'the bug report')
    .option('--description-file <file>', 'the bug report from a file ("-" for standard input)')
    .option('--test-command <command>', "overrides the repository's .github/kodah.yml test_command")
    .option('--apply', 'apply the diff to the repository at --repo (a local work tree)')
    .option('--json', 'print the whole result as JSON')
    .action(async (opts: { repo: string; ref: string; description?: string; descriptionFile?: string; testCommand?: string; apply?: boolean; json?: boolean }) => {
      const config = cfg();
      if (!config.model) throw new ConfigError('kodah fix needs a model: set OPENAI_BASE_URL (and OPENAI_API_KEY, KODAH_MODEL)');
      const description = opts.description ?? (opts.descriptionFile ? await readFile(opts.descriptionFile === '-' ? '/dev/stdin' : opts.descriptionFile, 'utf8') : '');
      if (!description.trim()) throw new InvalidArgumentError('give the bug report with --description or --description-file');
      const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.repo);
      if (opts.apply && remote) throw new InvalidArgumentError('--apply needs --repo to be a local work tree');
      const gitDir = await localGitDir(opts.repo, config);
      const commit = await resolveCommit(gitDir, opts.ref);
      const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      const result = await runFixPipeline(
        fixDepsFor(config, staticCredentials(config.git.tokens)),
        { jobId: 'cli', accountId: 'operator', repoUrl: remote ? opts.repo : 'local', ref: opts.ref, commitSha: commit, description, visibility: 'public', testCommand: opts.testCommand, localGitDir: gitDir },
        { signal: new AbortController().signal, log, report: async (stage) => void process.stderr.write(`kodah: ${stage}\n`) },
      );
      if (opts.apply) {
        const patch = path.join(await mkdtemp(path.join(tmpdir(), 'kodah-fix-')), 'fix.diff');
        await writeFile(patch, result.diff);
        const applied = await runGit(['apply', '--whitespace=nowarn', patch], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: path.resolve(opts.repo), timeoutMs: 60_000 });
        await rm(path.dirname(patch), { recursive: true, force: true });
        if (applied.code !== 0) throw new KodahError('internal', `git apply failed: ${applied.stderr.trim()}`);
      }
      if (opts.json) print(true, result, '');
      else process.stdout.write(`${result.explanation ? `${result.explanation.trim()}\n\n` : ''}${result.diff}`);
      if (opts.apply) process.stderr.write(`kodah: applied to ${path.resolve(opts.repo)}\n`);
    });

  program
    .command('localize')
    .description('rank the files of a repository for a bug report')
    .requiredOption('--repo <path|url>', 'a local repository (bare or with a work tree) or a repository URL')
    .option('--ref <ref>', 'branch, tag or commit', 'HEAD')
    .requiredOption('--description-file <file>', 'the bug report ("-" for standard input)')
    .option('--limit <n>', 'how many files to show', '10')
    .option('--json', 'print JSON')
    .action(async (opts: { repo: string; ref: string; descriptionFile: string; limit: string; json?: boolean }) => {
      const description = await readFile(opts.descriptionFile === '-' ? '/dev/stdin' : opts.descriptionFile, 'utf8');
      const gitDir = await localGitDir(opts.repo, cfg());
      const commit = await resolveCommit(gitDir, opts.ref);
      const limit = Number(opts.limit) || 10;
      const { files: ranked, snippets } = await localize(gitDir, commit, description, { cache: new FactsCache(), files: limit, snippets: limit });
      if (opts.json) {
        print(true, { commit, files: ranked, snippets: snippets.map(({ text: _text, ...s }) => s) }, '');
        return;
      }
      const width = Math.max(4, ...ranked.map((r) => r.path.length));
      const lines = ranked.map((r, i) => `${String(i + 1).padStart(3)}  ${r.score.toFixed(3)}  ${r.path.padEnd(width)}  ${r.reasons.slice(0, 4).join('; ')}`);
      const where = snippets.map((s) => `${s.path}:${s.startLine}-${s.endLine}`);
      const swidth = Math.max(5, ...where.map((w) => w.length));
      const snippetLines = snippets.map(
        (s, i) => `${String(i + 1).padStart(3)}  ${s.score.toFixed(3)}  ${where[i]!.padEnd(swidth)}  ${s.kind} ${s.qualifiedName}${s.reasons.length ? `: ${s.reasons.join('; ')}` : ''}`,
      );
      print(false, null, [`commit ${commit}`, '', `  #  score  ${'file'.padEnd(width)}  why`, ...lines, '', `  #  score  ${'where'.padEnd(swidth)}  what`, ...snippetLines].join('\n'));
    });

  program
    .command('mcp')
    .description('an MCP server on stdio for the code index of a running Kodah (search_code, get_file, list_repositories)')
    .option('--url <base>', 'base URL of the running Kodah (default: http://127.0.0.1:$PORT)')
    .option('--key <key>', 'API key, kdh_… (default: $KODAH_API_KEY)')
    .action(async (opts: { url?: string; key?: string }) => {
      const apiKey = opts.key ?? env.KODAH_API_KEY;
      if (!apiKey) throw new ConfigError('kodah mcp needs an API key: pass --key kdh_… or set KODAH_API_KEY');
      const url = opts.url ?? `http://127.0.0.1:${cfg().port || 3000}`;
      if (!/^https?:\/\/[^/]/i.test(url)) throw new ConfigError(`--url: ${url} is not an http(s) URL such as http://127.0.0.1:3000`);
      // stdout carries the protocol: logs go to stderr.
      await serveMcpOverStdio({ url, apiKey, log: createLogger(cfg().logLevel, process.stderr) });
    });

  return program;
}

/** A repository argument as a git directory: a local path as it is, a URL through the mirror cache. */
async function localGitDir(repo: string, config: Config): Promise<string> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) {
    return ensureMirror(repo, {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      cacheDir: config.index.mirrorDir,
      // The operator's own command: the operator's tokens apply.
      token: await staticCredentials(config.git.tokens).tokenFor(repo, 'operator'),
      timeoutMs: 10 * 60_000,
    });
  }
  const dir = path.resolve(repo);
  return existsSync(path.join(dir, '.git')) ? path.join(dir, '.git') : dir;
}

/** The CLI entry; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    if (err instanceof ConfigError || err instanceof KodahError || err instanceof InvalidArgumentError) {
      process.stderr.write(`kodah: ${(err as Error).message}\n`);
      return 1;
    }
    if (err instanceof Error && err.name === 'ZodError') {
      process.stderr.write(`kodah: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
