/**
 * Time per stage of the fix pipeline on a large repository whose mirror is already on disk (a
 * warm cache), with an OpenAI-compatible fake model over HTTP answering at once: everything but
 * the model is measured. Then the agent's overhead per step, in the bubblewrap sandbox, with a
 * scripted model (bench/agent-steps.ts). Then the edit-application rate on mistakes built from
 * real commits (bench/edits.ts).
 *
 *   npm run bench:fix -- [--repo DIR] [--data FILE.jsonl] [--instances 5] [--agent-instances 3]
 *                        [--no-single-shot] [--no-edits]
 *
 * DIR is a bare mirror (default: sympy under /work/.mirror); the bug reports are the data file's
 * instances of that repository, each at its base commit. --agent-instances 0 leaves the agent out.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { localGit } from '../src/git/git-objects.js';
import { type FixSettings, runFixPipeline } from '../src/fix/fix-pipeline.js';
import { benchFixRequest } from './instances.js';
import { FactsCache } from '../src/localize/facts-cache.js';
import { staticCredentials } from '../src/git/credentials.js';
import { createLogger } from '../src/lib/logger.js';
import { openAiChatModel } from '../src/llm/chat-model.js';
import { startFakeOpenAI } from '../test/helpers/fake-openai.js';
import { benchAgentSteps } from './agent-steps.js';

const { values } = parseArgs({
  options: {
    repo: { type: 'string', default: '/work/.mirror/sympy+sympy/repo' },
    data: { type: 'string', default: path.join(import.meta.dirname, '../../shared/bench/localize-dev.jsonl') },
    instances: { type: 'string', default: '5' },
    'agent-instances': { type: 'string', default: '3' },
    'no-single-shot': { type: 'boolean', default: false },
    'no-edits': { type: 'boolean', default: false },
  },
  // bench/edits.ts, run at the end, reads its own options.
  strict: false,
});
const repo = String(values.repo);
const name = path.basename(path.dirname(repo)).replace('+', '/');
const instances = readFileSync(String(values.data), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { instance_id: string; repo: string; base_commit: string; problem_statement: string })
  .filter((i) => i.repo === name);
if (instances.length === 0) {
  console.error(`no instances of ${name} in ${values.data}`);
  process.exit(2);
}

/** The fake model's answer: a comment appended to the first line of code it was shown. */
function answer(body: { messages: Array<{ content: string | null }> }): string {
  const prompt = body.messages[1]!.content ?? '';
  const file = /^### (\S+) \(/m.exec(prompt)?.[1];
  const line = /^\d+\t(\S.*)$/m.exec(prompt.slice(prompt.indexOf(`### ${file}`)))?.[1];
  if (!file || !line) return 'No code to change.';
  return `A benchmark edit.\n\n${file}\n<<<<<<< SEARCH\n${line}\n=======\n${line}  # kodah\n>>>>>>> REPLACE\n`;
}

const model = await startFakeOpenAI();
const worktrees = await mkdtemp(path.join(tmpdir(), 'kodah-bench-fix-'));
const credentials = staticCredentials({}, async () => false);
const settings: FixSettings = {
  policy: { allowedHosts: [], allowLocal: true },
  mirrorDir: worktrees,
  worktreeDir: worktrees,
  gitTimeoutMs: 120_000,
  maxRepoBytes: 1e12,
  maxFiles: 1_000_000,
  maxAttempts: 1,
  contextTokens: 24_000,
  mode: 'single-shot',
  candidates: 1,
  budget: { steps: 60, tokens: 2_000_000, costUsd: 2, timeS: 1200, commandTimeoutS: 120 },
  testTimeoutMs: 60_000,
  sandboxLimits: { memoryBytes: 2 ** 31, processes: 256, diskBytes: 2 ** 32, outputTailBytes: 16_384, maxOutputBytes: 2 ** 26 },
  setupTimeoutMs: 900_000,
  setupNetwork: false,
};
try {
  if (!values['no-single-shot']) await singleShot(instances.slice(0, Number(values.instances)));
} finally {
  await model.close();
  await rm(worktrees, { recursive: true, force: true });
}

const agentInstances = Number(values['agent-instances']);
if (agentInstances > 0) {
  console.log('\n## The agent: overhead per step (bubblewrap sandbox, scripted model answering at once)\n');
  await benchAgentSteps({ repo, instances: instances.slice(0, agentInstances), settings, credentials });
}

/** The single-shot pipeline's stages, per instance. */
async function singleShot(chosen: typeof instances): Promise<void> {
  const rows: Array<Record<string, number>> = [];
  const deps = {
    model: openAiChatModel({ baseUrl: model.baseUrl, apiKey: 'none', model: 'fake', timeoutMs: 30_000, maxRetries: 0 }),
    credentials,
    localizeCache: new FactsCache(),
    // The benchmark measures the pipeline's own stages: the benchmark repositories name no test_command.
    sandbox: { driver: null, problem: 'not used by the benchmark', cache: null, allowedImages: [] },
    settings,
  };
  console.log(
    `| instance | ${['checkout', 'localize', 'context', 'generate (fake model)', 'apply', 'validate', 'wall time without the model'].join(' | ')} |`,
  );
  console.log(`|---|${'---:|'.repeat(7)}`);
  // Each report twice: the first job at a commit reads and learns every file of it (the
  // localizer caches what it learns per blob), the next job at that commit starts warm.
  for (const instance of chosen) {
    const commit = (await localGit(repo, ['rev-parse', `${instance.base_commit}^{commit}`])).trim();
    for (const run of ['first', 'next'] as const) {
      model.reply(answer);
      const result = await runFixPipeline(deps, benchFixRequest(instance, commit, repo), {
        signal: new AbortController().signal,
        log: createLogger('silent'),
        report: async () => {},
      });
      const s = result.stageSeconds ?? {};
      const total = (s.total ?? 0) - (s.generate ?? 0);
      rows.push({ ...s, total, warm: run === 'next' ? 1 : 0 });
      const cell = (k: string) => (s[k] ?? 0).toFixed(2);
      console.log(
        `| ${instance.instance_id} (${run} job) | ${cell('checkout')} | ${cell('localize')} | ${cell('context')} | ${cell('generate')} | ${cell('apply')} | ${cell('validate')} | ${total.toFixed(2)} |`,
      );
    }
  }
  for (const warm of [0, 1]) {
    const median = (k: string) => {
      const v = rows
        .filter((r) => r.warm === warm)
        .map((r) => r[k] ?? 0)
        .sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!.toFixed(2);
    };
    const label = warm ? 'median, next job at a commit' : 'median, first job at a commit';
    console.log(
      `| ${label} | ${median('checkout')} | ${median('localize')} | ${median('context')} | ${median('generate')} | ${median('apply')} | ${median('validate')} | ${median('total')} |`,
    );
  }
}

if (!values['no-edits']) {
  console.log('\n## Edit application on mistakes built from real commits\n');
  await import('./edits.js');
}
