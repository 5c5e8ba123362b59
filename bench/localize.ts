/**
 * File-level bug localization on SWE-bench-style data: each instance's repository at its base
 * commit, its problem statement as the query; Acc@k = share of instances whose gold files are all
 * in the top k.
 *
 *   npm run bench:localize -- --data ../shared/bench/localize-dev.jsonl --mirrors DIR [--out per-instance.jsonl]
 *
 * DIR holds one bare repository per project at <owner>+<name>/repo; instances whose repository
 * is absent are skipped. The last line printed is the summary.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { instanceSchema, readJsonl } from './instances.js';
import { FactsCache } from '../src/localize/facts-cache.js';
import { localizeFiles } from '../src/localize/localize.js';

// One cache for the whole run, as a worker keeps one across jobs.
const cache = new FactsCache();

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    mirrors: { type: 'string' },
    out: { type: 'string' },
    limit: { type: 'string' },
    repo: { type: 'string' },
  },
});
if (!values.data || !values.mirrors) {
  console.error(
    'usage: npm run bench:localize -- --data FILE.jsonl --mirrors DIR [--out per-instance.jsonl] [--repo owner/name] [--limit N]',
  );
  process.exit(2);
}

let instances = readJsonl(values.data, instanceSchema.extend({ gold_files: z.array(z.string()).min(1) }));
if (values.repo) instances = instances.filter((i) => i.repo === values.repo);
if (values.limit) instances = instances.slice(0, Number(values.limit));

const KS = [1, 3, 5, 10] as const;
type Row = { id: string; repo: string; rank: number | null; seconds: number; top: string[]; gold: string[] };
const rows: Row[] = [];
let skipped = 0;
for (const inst of instances) {
  const gitDir = path.join(values.mirrors, inst.repo.replace('/', '+'), 'repo');
  if (!existsSync(gitDir)) {
    skipped++;
    continue;
  }
  const started = performance.now();
  const ranked = await localizeFiles(gitDir, inst.base_commit, inst.problem_statement, { cache, limit: 50 });
  const seconds = (performance.now() - started) / 1000;
  const positions = inst.gold_files.map((g) => ranked.findIndex((r) => r.path === g));
  // The rank at which every gold file has appeared (1-based); null when one is beyond the list.
  const rank = positions.some((p) => p < 0) ? null : Math.max(...positions) + 1;
  rows.push({ id: inst.instance_id, repo: inst.repo, rank, seconds, top: ranked.slice(0, 10).map((r) => r.path), gold: inst.gold_files });
  process.stderr.write(`${inst.instance_id.padEnd(36)} rank ${rank ?? '>50'}  ${seconds.toFixed(2)}s\n`);
}

if (values.out) writeFileSync(values.out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

const pct = (subset: Row[], k: number) =>
  subset.length ? (100 * subset.filter((r) => r.rank !== null && r.rank <= k).length) / subset.length : 0;
const repos = [...new Set(rows.map((r) => r.repo))].sort();
console.log(`\n${'repository'.padEnd(22)} ${'n'.padStart(4)} ${KS.map((k) => `acc@${k}`.padStart(7)).join(' ')}`);
for (const repo of repos) {
  const subset = rows.filter((r) => r.repo === repo);
  console.log(`${repo.padEnd(22)} ${String(subset.length).padStart(4)} ${KS.map((k) => pct(subset, k).toFixed(1).padStart(7)).join(' ')}`);
}
const times = rows.map((r) => r.seconds).sort((a, b) => a - b);
const median = times.length ? times[Math.floor(times.length / 2)]! : 0;
console.log(`median seconds per instance: ${median.toFixed(2)}${skipped ? `; skipped ${skipped} (repository absent)` : ''}`);
console.log(`instances=${rows.length} ${KS.map((k) => `acc@${k}=${pct(rows, k).toFixed(1)}`).join(' ')}`);
