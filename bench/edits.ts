/**
 * The apply stage against realistic model mistakes. Real commits of a bare repository become
 * SEARCH/REPLACE blocks (bench/edit-corpus.ts); each block is sent as is and with the mistakes
 * models make (bench/edit-variants.ts), rendered as an answer, parsed and applied to the file as it
 * was. An edit that should apply must give exactly the committed content; a stale or ambiguous one
 * must be refused. "Applied wrongly" is the number that must stay at zero.
 *
 *   npm run bench:edits -- [--repo /work/.mirror/psf+requests/repo] [--commits 300] [--pattern '*.py'] [--show 5]
 *
 * The last line printed is the summary.
 */
import { parseArgs } from 'node:util';
import { applyEdits } from '../src/fix/apply-edits.js';
import { EditFormatError, parseEdits } from '../src/fix/parse-edits.js';
import { type CorpusStats, readCorpus } from './edit-corpus.js';
import { renderAnswer, VARIANTS, type VariantCase } from './edit-variants.js';

const { values } = parseArgs({
  options: {
    repo: { type: 'string', default: '/work/.mirror/psf+requests/repo' },
    commits: { type: 'string', default: '300' },
    pattern: { type: 'string', default: '*.py' },
    show: { type: 'string', default: '3' },
  },
});

type Verdict = 'intended' | 'refused' | 'wrong';
interface Tally {
  cases: number;
  intended: number;
  refused: number;
  wrong: number;
  mustFail: boolean;
  why: Map<string, number>;
  examples: string[];
}

const tallies = new Map<string, Tally>();
let engineMs = 0;
const show = Number(values.show);

/** Parses and applies one answer; `expected` maps each file to its required content, null when the answer must be refused. */
function judge(
  answer: string,
  files: Map<string, string | null>,
  expected: Map<string, string> | null,
  reason?: string,
): { verdict: Verdict; why: string } {
  const t0 = performance.now();
  let edits;
  try {
    edits = parseEdits(answer).edits;
  } catch (err) {
    if (!(err instanceof EditFormatError)) throw err;
    return { verdict: 'refused', why: `parse: ${err.problems[0]}` };
  }
  const outcome = applyEdits(files, edits);
  engineMs += performance.now() - t0;
  if (outcome.failures.length) {
    const why = outcome.failures[0]!.reason;
    return { verdict: expected === null && why === reason ? 'intended' : 'refused', why: outcome.failures[0]!.message };
  }
  if (expected === null) return { verdict: 'wrong', why: `applied (${outcome.applied.map((a) => a.how).join(', ')})` };
  for (const [path, content] of expected) {
    if ((outcome.files.get(path) ?? files.get(path)) !== content)
      return { verdict: 'wrong', why: `${path} differs (${outcome.applied.map((a) => a.how).join(', ')})` };
  }
  return { verdict: 'intended', why: '' };
}

function record(name: string, mustFail: boolean, result: { verdict: Verdict; why: string }, where: string): void {
  let t = tallies.get(name);
  if (!t) tallies.set(name, (t = { cases: 0, intended: 0, refused: 0, wrong: 0, mustFail, why: new Map(), examples: [] }));
  t.cases++;
  t[result.verdict]++;
  if (result.verdict !== 'intended') {
    const kind = result.why
      .replace(/^Edit block \d+ \([^)]*\): /, '')
      .split(/[.;(]/)[0]!
      .trim();
    t.why.set(kind, (t.why.get(kind) ?? 0) + 1);
    if (t.examples.length < show) t.examples.push(`${where}: ${result.verdict}: ${result.why.slice(0, 300)}`);
  }
}

const started = performance.now();
const stats: CorpusStats = { commits: 0, files: 0, hunks: 0, widened: 0, skipped: {} };
let n = 0;
for (const commit of readCorpus(values.repo, Number(values.commits), values.pattern, stats)) {
  for (const file of commit.files) {
    file.blocks.forEach((block, i) => {
      for (const [name, variant] of Object.entries(VARIANTS)) {
        const c: VariantCase | null = variant(block, n++);
        if (!c) continue;
        const answer = renderAnswer([{ path: file.path, search: c.search, replace: c.replace }], n, c.crlfAnswer);
        const expected = c.expected === null ? null : new Map([[file.path, c.expected]]);
        record(
          name,
          c.expected === null,
          judge(answer, new Map([[file.path, c.state]]), expected, c.reason),
          `${commit.commit.slice(0, 10)} ${file.path} hunk ${i + 1}`,
        );
      }
    });
  }
  for (const created of commit.created) {
    const answer = renderAnswer([{ path: created.path, search: [], replace: created.content.split('\n').slice(0, -1) }], n++);
    record(
      'new file (empty SEARCH)',
      false,
      judge(answer, new Map([[created.path, null]]), new Map([[created.path, created.content]])),
      `${commit.commit.slice(0, 10)} ${created.path}`,
    );
  }
  // The whole commit as one answer: every block of every file, in order, plus the new files.
  const blocks = [
    ...commit.files.flatMap((f) => f.blocks.map((b) => ({ path: f.path, search: b.search, replace: b.replace }))),
    ...commit.created.map((c) => ({ path: c.path, search: [], replace: c.content.split('\n').slice(0, -1) })),
  ];
  const files = new Map<string, string | null>([
    ...commit.files.map((f) => [f.path, f.pre] as const),
    ...commit.created.map((c) => [c.path, null] as const),
  ]);
  const expected = new Map([
    ...commit.files.map((f) => [f.path, f.post] as const),
    ...commit.created.map((c) => [c.path, c.content] as const),
  ]);
  record('whole commit, one answer', false, judge(renderAnswer(blocks, n++), files, expected), commit.commit.slice(0, 10));
}
const seconds = (performance.now() - started) / 1000;

const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : '-');
console.log(
  `\ncorpus: ${stats.commits} commits, ${stats.files} files, ${stats.hunks} hunks from ${values.repo} (${values.pattern}); ${seconds.toFixed(1)} s in all, reading git included`,
);
const skipped = Object.entries(stats.skipped).map(([why, count]) => `${why} ${count}`);
if (skipped.length) console.log(`skipped: ${skipped.join(', ')}`);
console.log(`hunks needing more context than exact uniqueness because a whitespace-tolerant place also matched: ${stats.widened}`);
console.log(
  `\n${'variant'.padEnd(26)} ${'cases'.padStart(6)} ${'as intended'.padStart(12)} ${'refused'.padStart(8)} ${'wrong'.padStart(6)}   (must-fail rows: as intended = refused for the expected reason)`,
);
for (const [name, t] of tallies) {
  console.log(
    `${name.padEnd(26)} ${String(t.cases).padStart(6)} ${`${t.intended} (${pct(t.intended, t.cases)}%)`.padStart(12)} ${String(t.refused).padStart(8)} ${String(t.wrong).padStart(6)}`,
  );
}
for (const [name, t] of tallies) {
  if (t.why.size === 0) continue;
  console.log(
    `\n${name}: ${[...t.why]
      .sort((a, b) => b[1] - a[1])
      .map(([why, count]) => `${count}× ${why}`)
      .join('; ')}`,
  );
  for (const e of t.examples) console.log(`  ${e}`);
}
const all = [...tallies.values()];
const should = all.filter((t) => !t.mustFail);
const must = all.filter((t) => t.mustFail);
const sum = (ts: Tally[], k: 'cases' | 'intended' | 'refused' | 'wrong') => ts.reduce((s, t) => s + t[k], 0);
const total = sum(all, 'cases');
console.log(`\n${(engineMs / Math.max(total, 1)).toFixed(2)} ms per case in parseEdits + applyEdits`);
console.log(
  `edits=${total} should_apply=${sum(should, 'cases')} applied_as_intended=${pct(sum(should, 'intended'), sum(should, 'cases'))}% ` +
    `must_fail=${sum(must, 'cases')} refused_as_intended=${pct(sum(must, 'intended'), sum(must, 'cases'))}% wrong=${sum(all, 'wrong')}`,
);
