/**
 * bench:index's search memory and summary figures: RSS with and without a segment budget, the
 * cold load of each repository's segment from its stored form against a rebuild from the rows,
 * and the summary step with a fake model that answers at once.
 */
import { CodeSearch } from '../src/code-index/code-search.js';
import { SearchSegment } from '../src/code-index/search-segment.js';
import { openAiSummarizer, summarizeMissing } from '../src/code-index/summarize-snippets.js';
import type { Database } from '../src/db/database.js';
import { type FakeChatRequest, startFakeOpenAI } from '../test/helpers/fake-openai.js';

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** The resident set after a collection when the process allows one (NODE_OPTIONS=--expose-gc). */
function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

export interface Searchable {
  name: string;
  repositoryId: string;
  commit: string;
}

export interface BudgetedRun {
  budget: number;
  rssBefore: number;
  rssAfter: number;
  firstMs: number;
  times: number[];
  answers: string[];
  held: number;
  loads: number;
  evictions: number;
}

export const searchMemory = {
  /** Every query under the budget, on a fresh CodeSearch, before any unbounded one exists. */
  async budgeted(db: Database, accountId: string, queries: string[][], budget: number): Promise<BudgetedRun> {
    const rssBefore = rss();
    const search = new CodeSearch(db, null, null, budget);
    let t = performance.now();
    await search.search(accountId, { keywords: ['warm'], limit: 10 });
    const firstMs = performance.now() - t;
    const times: number[] = [];
    const answers: string[] = [];
    for (const words of queries) {
      t = performance.now();
      const hits = await search.search(accountId, { keywords: words, limit: 10 });
      times.push(performance.now() - t);
      answers.push(hits.map((h) => `${h.sourceUri} ${h.path}:${h.startLine}-${h.endLine} ${h.score.toFixed(9)}`).join('\n'));
    }
    const { loads, evictions } = search.held();
    return {
      budget,
      rssBefore,
      rssAfter: rss(),
      firstMs,
      times: times.sort((a, b) => a - b),
      answers,
      held: search.heldBytes(),
      loads,
      evictions,
    };
  },

  async report(
    db: Database,
    unbounded: CodeSearch,
    budgeted: BudgetedRun,
    context: { accountId: string; searchable: Searchable[]; sameUnderBudget: number; queries: number; unboundedTimes: number[] },
  ): Promise<void> {
    const rssAfter = rss();
    const counts = unbounded.held();
    console.log(`\nsearch memory (RSS before searching: ${mb(budgeted.rssBefore)}; segment sizes are the cache's estimates)\n`);
    console.log('| segments | RSS after all searches | segments held | loads | evictions | first search s | p50 / p95 ms |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    const t = budgeted.times;
    console.log(
      `| budget ${mb(budgeted.budget)} | ${mb(budgeted.rssAfter)} | ${mb(budgeted.held)} | ${budgeted.loads} | ${budgeted.evictions} | ${(budgeted.firstMs / 1000).toFixed(2)} | ${pct(t, 50).toFixed(1)} / ${pct(t, 95).toFixed(1)} |`,
    );
    const u = context.unboundedTimes;
    console.log(
      `| no budget | ${mb(rssAfter)} | ${mb(unbounded.heldBytes())} | ${counts.loads} | ${counts.evictions} | (above) | ${pct(u, 50).toFixed(1)} / ${pct(u, 95).toFixed(1)} |`,
    );
    console.log(
      `\nsame top-10 (paths, lines, scores) under the budget as without: ${context.sameUnderBudget} of ${context.queries} queries`,
    );

    console.log(
      '\n| repository | snippets | stored form | held (estimate) | cold load from the stored form ms | rebuild from the rows ms | cold first search, this repository ms |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const r of context.searchable) {
      const stored = await db.query<{ n: number }>(
        "SELECT octet_length(data)::int AS n FROM code_segments WHERE repository_id = $1 AND commit_sha = $2 AND summary_model = ''",
        [r.repositoryId, r.commit],
      );
      const fresh = new CodeSearch(db, null);
      let start = performance.now();
      const segment = await fresh.segment(r.repositoryId, r.commit);
      const loadMs = performance.now() - start;
      start = performance.now();
      await SearchSegment.build(db, r.repositoryId, r.commit, null);
      const rowsMs = performance.now() - start;
      // A search filtered to the repository still reads every segment's statistics: all are loaded.
      start = performance.now();
      await new CodeSearch(db, null).search(context.accountId, { keywords: ['warm'], limit: 10, filters: { sources: [r.repositoryId] } });
      const firstMs = performance.now() - start;
      console.log(
        `| ${r.name} | ${segment.size} | ${mb(stored.rows[0]?.n ?? 0)} | ${mb(segment.byteSize())} | ${loadMs.toFixed(0)} | ${rowsMs.toFixed(0)} | ${firstMs.toFixed(0)} |`,
      );
    }
  },
};

/** The summary step over one repository's snippets, the fake model answering every batch at once. */
export async function summaryStep(db: Database, target: Searchable): Promise<void> {
  const model = await startFakeOpenAI();
  try {
    const { n } = (
      await db.query<{ n: number }>(
        `SELECT count(DISTINCT s.id)::int AS n FROM code_files f JOIN code_snippets s ON s.blob_sha = f.blob_sha
          WHERE f.repository_id = $1 AND f.commit_sha = $2 AND f.indexed`,
        [target.repositoryId, target.commit],
      )
    ).rows[0]!;
    const reply = (request: FakeChatRequest) => {
      const { snippets } = JSON.parse(request.messages[1]!.content!) as { snippets: Array<{ n: number; name: string }> };
      const summaries = snippets.map((s) => ({ n: s.n, summary: `Does what ${s.name} is named for, and returns the result.` }));
      return `\`\`\`json\n${JSON.stringify({ summaries })}\n\`\`\``;
    };
    model.reply(...Array.from({ length: Math.ceil(n / 20) + 10 }, () => reply));
    const summarizer = openAiSummarizer({
      baseUrl: model.baseUrl,
      apiKey: 'sk-bench',
      model: 'fake-summary',
      timeoutMs: 60_000,
      maxRetries: 0,
    });
    const start = performance.now();
    const run = await summarizeMissing(
      db,
      summarizer,
      { repositoryId: target.repositoryId, commit: target.commit, maxTokens: Number.MAX_SAFE_INTEGER },
      async () => {},
    );
    const ms = performance.now() - start;
    const per1000 = (x: number) => ((x * 1000) / Math.max(1, run.missing)).toFixed(0);
    console.log('\nsummary step, fake model answering at once (tokens as the fake counts them: about 4 characters each)\n');
    console.log('| repository | snippets | summarized | from the cache | s | s per 1,000 snippets | tokens per 1,000 snippets |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    console.log(
      `| ${target.name} | ${run.missing} | ${run.summarized} | ${run.cached} | ${(ms / 1000).toFixed(2)} | ${(ms / Math.max(1, run.missing)).toFixed(2)} | ${per1000(run.tokens)} |`,
    );
  } finally {
    await model.close();
  }
}
