/**
 * The agent's overhead per step: the real pipeline in agent mode, in the bubblewrap sandbox, on a
 * large repository, with a fake model over HTTP that answers each request at once with the next
 * call of a script of about thirty steps (bench/agent-script.ts). Measured per step: the model's
 * round trip (request sent to answer parsed), the tool's own time (FixStep.seconds) and, for
 * `run`, the command's own time inside the sandbox against the sandbox's round trip. Goal: ≤ 100
 * ms a step, excluding the command itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { commandLimits, loadConfig } from '../src/config.js';
import { runFixPipeline, type FixPipelineDeps, type FixSettings } from '../src/fix/fix-pipeline.js';
import { benchFixRequest } from './instances.js';
import { localGit } from '../src/git/git-objects.js';
import type { FixStep } from '../src/jobs/fix-engine.js';
import { createLogger } from '../src/lib/logger.js';
import { type ChatModel, openAiChatModel } from '../src/llm/chat-model.js';
import { FactsCache } from '../src/localize/facts-cache.js';
import type { SandboxDriver } from '../src/sandbox/sandbox.js';
import { selectSandbox } from '../src/sandbox/select-driver.js';
import { type FakeChatRequest, startFakeOpenAI } from '../test/helpers/fake-openai.js';
import { profileSearch, profileWorktree } from './agent-profile.js';
import { ownSeconds, sandboxSeconds, scriptedAgent, TRIVIAL } from './agent-script.js';

export interface AgentBenchOptions {
  /** The bare mirror of the repository. */
  repo: string;
  instances: Array<{ instance_id: string; base_commit: string; problem_statement: string }>;
  /** The pipeline's settings; the mode, budget and folders are set here. */
  settings: FixSettings;
  credentials: FixPipelineDeps['credentials'];
}

export const GOAL_MS = 100;

/** One step as measured: what it cost in ms. */
interface StepRow {
  tool: string;
  /** The model's answer before it, request sent to answer parsed. */
  roundTrip: number;
  /** The tool call (FixStep.seconds). */
  call: number;
  /** From the end of the step before to the end of this one. */
  cycle: number;
  /** When that was (performance.now()), for the garbage collector's pauses in between. */
  from: number;
  to: number;
  gc: number;
  /** `run`: the command itself, inside the sandbox; the sandbox's own measure of the run (bwrap start to exit). */
  own: number | null;
  sandbox: number | null;
  /** `run`: the whole of Sandbox.run as the tool saw it (with what the driver does before bwrap starts). */
  boxed: number | null;
  kind: 'trivial' | 'command' | 'first command' | null;
}

/** A model answer: when it was asked, when it was parsed, and the conversation's size in characters. */
type Span = { start: number; end: number; chars: number };

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
const ms = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(1));
const pair = (xs: number[]) => (xs.length ? `${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.95))}` : '—');
const overhead = (r: StepRow) => r.cycle - (r.own ?? 0);

/** The model with each answer's round trip timed. */
function timedModel(inner: ChatModel, spans: Span[]): ChatModel {
  return {
    name: inner.name,
    async complete(messages, options) {
      const chars = messages.reduce((sum, m) => sum + m.content.length, 0);
      const start = performance.now();
      try {
        return await inner.complete(messages, options);
      } finally {
        spans.push({ start, end: performance.now(), chars });
      }
    },
  };
}

/** The driver with each command's Sandbox.run timed. */
function timedDriver(inner: SandboxDriver, runs: number[]): SandboxDriver {
  return {
    name: inner.name,
    async open(worktree, options) {
      const sandbox = await inner.open(worktree, options);
      return {
        driver: sandbox.driver,
        workdir: sandbox.workdir,
        hostHome: sandbox.hostHome,
        async run(command, runOptions) {
          const start = performance.now();
          try {
            return await sandbox.run(command, runOptions);
          } finally {
            runs.push(performance.now() - start);
          }
        },
        close: () => sandbox.close(),
      };
    },
  };
}

/** Pairs the job's steps with the model answers before them, the tool answers after them and the sandbox's runs. */
function stepRows(steps: Array<{ step: FixStep; at: number }>, spans: Span[], runs: number[], last: FakeChatRequest | null): StepRow[] {
  const answers = (last?.messages ?? []).filter((m) => m.role === 'tool').map((m) => m.content ?? '');
  const commands = (last?.messages ?? [])
    .filter((m) => m.role === 'assistant')
    .map((m) => String(JSON.parse(m.tool_calls?.[0]?.function.arguments ?? '{}').command ?? ''));
  let ran = 0;
  return steps.map(({ step, at }, i) => {
    const span = spans[i]!;
    const row: StepRow = {
      tool: step.tool,
      roundTrip: span.end - span.start,
      call: step.seconds * 1000,
      cycle: at - (i === 0 ? span.start : steps[i - 1]!.at),
      from: i === 0 ? span.start : steps[i - 1]!.at,
      to: at,
      gc: 0,
      own: null,
      sandbox: null,
      boxed: null,
      kind: null,
    };
    if (step.tool !== 'run') return row;
    const answer = answers[i] ?? '';
    const own = ownSeconds(answer);
    const boxed = sandboxSeconds(answer);
    const command = commands[i]?.split('\n')[1] ?? '';
    const n = ran++;
    return {
      ...row,
      own: own === null ? null : own * 1000,
      sandbox: boxed === null ? null : boxed * 1000,
      boxed: runs[n] ?? null,
      kind: n === 0 ? 'first command' : TRIVIAL.includes(command) ? 'trivial' : 'command',
    };
  });
}

/** Runs the agent section: one job per instance, then the tables. */
export async function benchAgentSteps(options: AgentBenchOptions): Promise<void> {
  const data = await mkdtemp(path.join(tmpdir(), 'kodah-bench-agent-'));
  const model = await startFakeOpenAI();
  const log = createLogger('silent');
  // The server holds the localizer's facts cache too: its garbage collector's pauses are real overhead, shown apart.
  const pauses: Array<{ start: number; end: number }> = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  gc.observe({ entryTypes: ['gc'] });
  const load = loadavg()[0]!;
  try {
    // The server's own choice of sandbox, proven by a first `true`, with its hidden paths.
    const config = loadConfig({ KODAH_DATA_DIR: data, KODAH_SANDBOX: 'bubblewrap' });
    const chosen = await selectSandbox(config, log);
    if (!chosen.driver) {
      console.log(`(no agent section: ${chosen.problem})`);
      return;
    }
    const cache = new FactsCache();
    const base = openAiChatModel({ baseUrl: model.baseUrl, apiKey: 'none', model: 'fake', timeoutMs: 30_000, maxRetries: 0 });
    const settings: FixSettings = {
      ...options.settings,
      mode: 'agent',
      candidates: 1,
      worktreeDir: path.join(data, 'worktrees'),
      budget: { ...options.settings.budget, steps: 60 },
      sandboxLimits: commandLimits(config.sandbox),
    };
    // Each request takes the reply of the job running now.
    let current: ReturnType<typeof scriptedAgent> | null = null;
    model.reply(...Array.from({ length: 100 * options.instances.length }, () => (r: FakeChatRequest) => current!(r)));

    const rows: StepRow[] = [];
    const searches: Array<{ commit: string; query: string }> = [];
    let firstCommit = '';
    const stage = { seconds: 0, steps: 0 };
    console.log(
      '| instance | steps | refused or bad calls | agent stage | per step, with the commands | conversation at the end | outcome |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const instance of options.instances) {
      const commit = (await localGit(options.repo, ['rev-parse', `${instance.base_commit}^{commit}`])).trim();
      firstCommit ||= commit;
      const spans: Span[] = [];
      const runs: number[] = [];
      const steps: Array<{ step: FixStep; at: number }> = [];
      const seen: { last: FakeChatRequest | null } = { last: null };
      current = scriptedAgent((r) => (seen.last = r));
      let outcome = 'fix accepted';
      let agentS = NaN;
      try {
        const result = await runFixPipeline(
          {
            model: timedModel(base, spans),
            credentials: options.credentials,
            localizeCache: cache,
            settings,
            sandbox: { driver: timedDriver(chosen.driver, runs), problem: null, cache: null, allowedImages: [] },
          },
          benchFixRequest(instance, commit, options.repo),
          {
            signal: new AbortController().signal,
            log,
            report: async () => {},
            recordStep: async (step) => void steps.push({ step, at: performance.now() }),
          },
        );
        agentS = result.stageSeconds?.agent ?? NaN;
        stage.seconds += agentS;
        stage.steps += steps.length;
      } catch (err) {
        outcome = `failed: ${(err as Error).message.slice(0, 160)}`;
      }
      rows.push(...stepRows(steps, spans, runs, seen.last));
      for (const m of seen.last?.messages ?? [])
        for (const c of m.tool_calls ?? [])
          if (c.function.name === 'search_code') searches.push({ commit, query: String(JSON.parse(c.function.arguments).query) });
      console.log(
        `| ${instance.instance_id} | ${steps.length} | ${steps.filter((s) => /^(refused|bad arguments)/.test(s.step.outcome)).length} | ` +
          `${agentS.toFixed(2)} s | ${ms((agentS * 1000) / steps.length)} ms | ${Math.round((spans.at(-1)?.chars ?? 0) / 1000)} k characters | ${outcome} |`,
      );
    }
    if (!rows.length) return;
    for (const r of rows) r.gc = pauses.reduce((sum, p) => sum + Math.max(0, Math.min(p.end, r.to) - Math.max(p.start, r.from)), 0);
    printTables(rows);
    console.log(
      `The agent stage of the jobs that ended with a fix: ${stage.seconds.toFixed(2)} s for ${stage.steps} steps, ${ms((stage.seconds * 1000) / stage.steps)} ms a step with the commands.`,
    );
    console.log(
      `(${availableParallelism()} CPUs; load average ${load.toFixed(1)} before the agent jobs, ${loadavg()[0]!.toFixed(1)} after)`,
    );

    const at = (tool: string, q: number) => quantile(rows.filter((r) => r.tool === tool).map(overhead), q);
    const tools = [...new Set(rows.map((r) => r.tool))];
    const over = tools.filter((t) => at(t, 0.5) > GOAL_MS);
    const spiky = tools.filter((t) => at(t, 0.5) <= GOAL_MS && at(t, 0.95) > GOAL_MS);
    const show = (t: string) => `${t} (p50 ${ms(at(t, 0.5))} ms, p95 ${ms(at(t, 0.95))} ms)`;
    if (spiky.length) {
      const slow = rows.filter((r) => spiky.includes(r.tool) && overhead(r) > GOAL_MS);
      console.log(
        `\nWithin the goal at p50 but not at p95: ${spiky.map(show).join(', ')}. Their ${slow.length} slow steps spent ` +
          `${ms(slow.reduce((sum, r) => sum + r.gc, 0))} ms in garbage collection of ${ms(slow.reduce((sum, r) => sum + overhead(r), 0))} ms (the load average above may account for the rest).`,
      );
    }
    if (!over.length) {
      console.log(`\nEvery tool is within the goal at p50.`);
      return;
    }
    console.log(`\nOver the goal at p50: ${over.map(show).join(', ')}. Why:\n`);
    if (over.includes('search_code')) await profileSearch(options.repo, searches, cache);
    if (over.includes('run') || over.includes('submit'))
      await profileWorktree(options.repo, firstCommit, path.join(data, 'worktrees'), over);
    for (const tool of over.filter((t) => !['search_code', 'run', 'submit'].includes(t)))
      console.log(`- ${tool}: see the table above; no profile is built in for it.`);
  } finally {
    gc.disconnect();
    await model.close();
    await rm(data, { recursive: true, force: true });
  }
}

function printTables(rows: StepRow[]): void {
  const col = (rs: StepRow[], f: (r: StepRow) => number | null) => rs.map(f).filter((x): x is number => x !== null);
  console.log('\nPer tool, ms (p50 / p95):\n');
  console.log('| tool | steps | model round trip | tool call | command itself | GC pauses in the step | step, excluding the command |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const tools = [...new Set(rows.map((r) => r.tool))].sort();
  for (const tool of [...tools, 'all']) {
    const rs = tool === 'all' ? rows : rows.filter((r) => r.tool === tool);
    console.log(
      `| ${tool} | ${rs.length} | ${pair(col(rs, (r) => r.roundTrip))} | ${pair(col(rs, (r) => r.call))} | ${pair(col(rs, (r) => r.own))} | ${pair(col(rs, (r) => r.gc))} | ${pair(col(rs, overhead))} |`,
    );
  }
  console.log('\n`run`, ms (p50 / p95): where the time of a command goes\n');
  console.log(
    '| commands | n | command itself | bwrap start to exit, less the command | before bwrap starts (driver) | after the command (tree fingerprint) | step, excluding the command |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const kind of ['trivial', 'command', 'first command'] as const) {
    const rs = rows.filter((r) => r.kind === kind && r.own !== null && r.sandbox !== null && r.boxed !== null);
    const label =
      kind === 'trivial'
        ? `trivial (${TRIVIAL.map((c) => `\`${c}\``).join(', ')})`
        : kind === 'command'
          ? 'quick commands (python3 -c, grep)'
          : "a job's first command";
    console.log(
      `| ${label} | ${rs.length} | ${pair(col(rs, (r) => r.own))} | ${pair(col(rs, (r) => r.sandbox! - r.own!))} | ${pair(col(rs, (r) => r.boxed! - r.sandbox!))} | ${pair(col(rs, (r) => r.call - r.boxed!))} | ${pair(col(rs, overhead))} |`,
    );
  }
  const all = rows.map(overhead);
  const cycle = rows.reduce((s, r) => s + r.cycle, 0) / rows.length;
  const without = all.reduce((s, x) => s + x, 0) / rows.length;
  console.log(
    `\nOverhead per step excluding the command: p50 ${ms(quantile(all, 0.5))} ms, p95 ${ms(quantile(all, 0.95))} ms (goal ≤ ${GOAL_MS} ms); mean ${ms(without)} ms, ${ms(cycle)} ms with the commands, over ${rows.length} steps.`,
  );
}
