/**
 * Indexing and search at scale: a large repository indexed cold at one commit, then at a later
 * commit (only new blobs are processed), more repositories so the index holds ≥ 200k snippets,
 * then searches timed against `git grep` for the same words, on PGlite and on PostgreSQL.
 *
 *   npm run bench:index -- [--repo DIR] [--from REF] [--to REF] [--extra DIR,DIR…] [--searches 200]
 *                          [--postgres postgres://…/db] [--databases pglite,postgres]
 *                          [--budget-mb 256] [--summarize NAME]
 *
 * Then search memory: RSS after searching every repository under a budget (--budget-mb) and
 * without one, the cold load of each repository's segment from its stored form (a fresh
 * CodeSearch), and the summary step over one repository (--summarize, a mirror's folder name;
 * default the smallest) with a fake model answering at once: seconds and tokens per 1,000
 * snippets. With NODE_OPTIONS=--expose-gc the RSS figures are taken after a collection.
 *
 * DIR is a bare mirror (fetched beforehand); the clone itself is not timed: it measures the
 * network, not Kodah. PostgreSQL runs when --postgres (or TEST_DATABASE_URL) names a server; a
 * fresh database is made there and dropped afterwards.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createAccount } from '../src/billing/accounts.js';
import { CodeSearch } from '../src/code-index/code-search.js';
import { resolveCommit } from '../src/git/git-objects.js';
import { indexMirror } from '../src/code-index/index-repository.js';
import { listSteps, StepRecorder } from '../src/code-index/index-steps.js';
import { upsertRepository } from '../src/code-index/repositories.js';
import { SnippetPool } from '../src/code-index/snippet-pool.js';
import { loadConfig } from '../src/config.js';
import { connectDatabase } from '../src/db/connect.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { staticCredentials } from '../src/git/credentials.js';
import { createLogger } from '../src/lib/logger.js';
import { createTestDatabase, type DatabaseKind } from '../test/helpers/test-database.js';
import { searchMemory, summaryStep } from './index-memory.js';

const MIRRORS = '/work/.mirror';
const { values } = parseArgs({
  options: {
    repo: { type: 'string', default: path.join(MIRRORS, 'sympy+sympy/repo') },
    from: { type: 'string', default: 'HEAD~100' },
    to: { type: 'string', default: 'HEAD' },
    extra: { type: 'string' },
    searches: { type: 'string', default: '200' },
    postgres: { type: 'string' },
    databases: { type: 'string' },
    'budget-mb': { type: 'string', default: '256' },
    summarize: { type: 'string' },
  },
});
if (values.postgres) process.env.TEST_DATABASE_URL = values.postgres;
const kinds = (values.databases?.split(',') ?? ['pglite', ...(process.env.TEST_DATABASE_URL ? ['postgres'] : [])]) as DatabaseKind[];
const extras = values.extra
  ? values.extra.split(',').filter(Boolean)
  : existsSync(MIRRORS)
    ? readdirSync(MIRRORS)
        .map((d) => path.join(MIRRORS, d, 'repo'))
        .filter((d) => existsSync(d) && path.resolve(d) !== path.resolve(values.repo!))
    : [];
const run = promisify(execFile);

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** A small deterministic generator, so every run asks the same questions. */
function rng(seed: number) {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** Queries as people type them: an identifier, two words of one, or a line of code. */
async function makeQueries(db: Database, repositoryId: string, count: number): Promise<string[][]> {
  const names = (
    await db.query<{ name: string }>(
      `SELECT DISTINCT s.name FROM code_files f JOIN code_snippets s ON s.blob_sha = f.blob_sha
        WHERE f.repository_id = $1 AND s.kind <> 'lines' AND length(s.name) >= 6 ORDER BY s.name`,
      [repositoryId],
    )
  ).rows.map((r) => r.name);
  const random = rng(42);
  const pick = () => names[Math.floor(random() * names.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const name = pick();
    const parts = name.split(/_|(?=[A-Z])/).filter((p) => p.length >= 3);
    if (i % 3 === 1 && parts.length >= 2) return parts.slice(0, 2).map((p) => p.toLowerCase());
    if (i % 3 === 2) return [name, pick()];
    return [name];
  });
}

async function grepTimes(gitDir: string, commit: string, queries: string[][]): Promise<number[]> {
  const times: number[] = [];
  for (const words of queries) {
    const args = [
      '--git-dir',
      gitDir,
      'grep',
      '-l',
      '-I',
      '-i',
      '-F',
      ...(words.length > 1 ? ['--all-match'] : []),
      ...words.flatMap((w) => ['-e', w]),
      commit,
    ];
    const t = performance.now();
    await run('git', args, { maxBuffer: 64 * 1024 * 1024 }).catch(() => {});
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

/** The top results of every query as comparable text: repository, path, lines and score. */
type Answers = string[];

async function benchmark(kind: DatabaseKind, grep: number[] | null, queries: string[][] | null, reference: Answers | null) {
  const database = await createTestDatabase(kind);
  const config = loadConfig({ ...database.env, LOG_LEVEL: 'silent', KODAH_INDEX_MAX_FILES: '1000000' });
  const db = await connectDatabase(config);
  const pool = new SnippetPool(config.index.threads);
  const deps = {
    db,
    config,
    credentials: staticCredentials({}, async () => false),
    pool,
    embedder: null,
    summarizer: null,
    log: createLogger('silent'),
  };
  peakRss = process.memoryUsage().rss;
  try {
    await migrate(db);
    const account = await createAccount(db, { email: `bench-${kind}@example.com` });
    const indexed: Array<{ name: string; repositoryId: string; commit: string; snippets: number }> = [];
    const index = async (gitDir: string, commit: string, previous: string | null) => {
      const { repository } = await upsertRepository(db, account.id, `https://bench.invalid/${path.basename(path.dirname(gitDir))}`);
      const steps = new StepRecorder(db, repository.id);
      await steps.reset();
      const t = performance.now();
      const result = await indexMirror(deps, { id: repository.id, indexed_commit: previous }, gitDir, steps, { commit });
      const ms = performance.now() - t;
      const stepTimes = (await listSteps(db, repository.id))
        .filter((s) => s.state === 'completed')
        .map((s) => `${s.step} ${seconds(new Date(s.updated_at).getTime() - new Date(s.created_at).getTime())}`)
        .join(', ');
      indexed.push({ name: path.basename(path.dirname(gitDir)), repositoryId: repository.id, commit, snippets: result!.snippets });
      return { repositoryId: repository.id, ms, stepTimes, ...result! };
    };

    const from = await resolveCommit(values.repo!, values.from!);
    const to = await resolveCommit(values.repo!, values.to!);
    const name = path.basename(path.dirname(values.repo!));
    console.log(`\n## ${kind}\n`);
    console.log('| run | files | new blobs | snippets | wall s | files/s | snippets/s | peak RSS | seconds per step |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    const row = (label: string, r: { files: number; newBlobs: number; snippets: number; ms: number; stepTimes: string }) =>
      console.log(
        `| ${label} | ${r.files} | ${r.newBlobs} | ${r.snippets} | ${seconds(r.ms)} | ${Math.round(r.files / (r.ms / 1000))} | ${Math.round(r.snippets / (r.ms / 1000))} | ${mb(peakRss)} | ${r.stepTimes} |`,
      );
    const cold = await index(values.repo!, from, null);
    row(`${name} cold @ ${from.slice(0, 10)}`, cold);
    const later = await index(values.repo!, to, from);
    row(`${name} later @ ${to.slice(0, 10)} (${values.from}..${values.to})`, later);
    for (const extra of extras) {
      const head = await resolveCommit(extra, 'HEAD');
      row(`${path.basename(path.dirname(extra))} cold`, await index(extra, head, null));
    }

    queries ??= await makeQueries(db, later.repositoryId, Number(values.searches));
    // The latest run of each repository is what is searchable.
    const searchable = [...new Map(indexed.map((r) => [r.repositoryId, r])).values()];
    const budgeted = await searchMemory.budgeted(db, account.id, queries, Number(values['budget-mb']) * 1024 * 1024);
    const search = new CodeSearch(db, null);
    const load = performance.now();
    await search.search(account.id, { keywords: ['warm'], limit: 10 });
    const loadMs = performance.now() - load;
    const total = (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM code_repositories r JOIN code_files f ON f.repository_id = r.id AND f.commit_sha = r.indexed_commit
         JOIN code_snippets s ON s.blob_sha = f.blob_sha WHERE r.account_id = $1`,
        [account.id],
      )
    ).rows[0]!.n;
    const timed = async (filters?: { sources: string[] }) => {
      const times: number[] = [];
      for (const words of queries!) {
        const t = performance.now();
        await search.search(account.id, { keywords: words, limit: 10, filters });
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b);
    };
    const everywhere = await timed();
    const answers: Answers = [];
    for (const words of queries) {
      const hits = await search.search(account.id, { keywords: words, limit: 10 });
      answers.push(hits.map((h) => `${h.sourceUri} ${h.path}:${h.startLine}-${h.endLine} ${h.score.toFixed(9)}`).join('\n'));
    }
    const one = await timed({ sources: [`https://bench.invalid/${name}`] });
    grep ??= await grepTimes(values.repo!, to, queries);
    console.log(
      `\nsearchable snippets: ${total} in ${1 + extras.length} repositories; first search (loads the index): ${seconds(loadMs)} s; peak RSS ${mb(peakRss)}\n`,
    );
    console.log('| search (limit 10) | queries | p50 ms | p95 ms | vs git grep p50 |');
    console.log('|---|---:|---:|---:|---:|');
    const line = (label: string, t: number[]) =>
      console.log(
        `| ${label} | ${t.length} | ${pct(t, 50).toFixed(1)} | ${pct(t, 95).toFixed(1)} | ${(pct(grep!, 50) / pct(t, 50)).toFixed(0)}× faster |`,
      );
    line(`all ${total} snippets`, everywhere);
    line(`${name} only (sources filter)`, one);
    console.log(
      `| git grep -l -i -F over ${name} @ ${to.slice(0, 10)} | ${grep.length} | ${pct(grep, 50).toFixed(1)} | ${pct(grep, 95).toFixed(1)} | 1× |`,
    );
    if (reference) {
      const same = answers.filter((a, i) => a === reference[i]).length;
      console.log(`\nsame top-10 (paths, lines, scores) as on the first database: ${same} of ${answers.length} queries`);
    }
    const sameUnderBudget = budgeted.answers.filter((a, i) => a === answers[i]).length;
    await searchMemory.report(db, search, budgeted, {
      accountId: account.id,
      searchable,
      sameUnderBudget,
      queries: answers.length,
      unboundedTimes: everywhere,
    });
    const target = searchable.find((r) => r.name === values.summarize) ?? [...searchable].sort((a, b) => a.snippets - b.snippets)[0]!;
    await summaryStep(db, target);
    return { grep, queries, answers };
  } finally {
    await pool.close();
    await db.close();
    await database.drop();
  }
}

let grep: number[] | null = null;
let queries: string[][] | null = null;
let reference: Answers | null = null;
for (const kind of kinds) {
  const result = await benchmark(kind, grep, queries, reference);
  ({ grep, queries } = result);
  reference ??= result.answers;
}
clearInterval(sampler);
