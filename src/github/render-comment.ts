/**
 * The comments Kodah writes on issues and pull requests: the status of a fix while it runs, its
 * answer (a pull request, a diff, or what went wrong), refusals and help. Every body starts with
 * its marker (comment-marker.ts), shows others' text only through safe-markdown.ts, and stays
 * under GitHub's limit of 65,536 characters: every echoed text has a cap, and the diff, the one
 * thing that can be any size, gets what is left.
 */
import type { SandboxCommand } from '../jobs/fix-engine.js';
import type { ErrorCode } from '../lib/errors.js';
import { ADVICE } from './advice.js';
import { marker } from './comment-marker.js';
import { type Evidence, renderEvidence } from './render-evidence.js';
import { type CheckLine, checkList, fileList, MAX_EXPLANATION, paragraphs } from './render-parts.js';
import { codeSpan, cutChars, fenceFor, safeInlineText, safeUrl, userMarkdown } from './safe-markdown.js';

export interface StatusView {
  /** The marker key of the status comment. */
  key: string;
  jobId: string;
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  stage?: string | null;
  /** 0–100, as the job reports it. */
  progress?: number;
  /** Who or what asked for the fix, e.g. "the `kodah-fix` label added by @alice". */
  trigger: string;
}

/** Below GitHub's 65,536, with room for what a caller may add around a body. */
const MAX_BODY = 65_000;
const MAX_MESSAGE = 20_000;
const PROGRESS_CELLS = 10;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const RETRY_HINT = 'Comment `/kodah retry` to try again, or `/kodah fix <more context>` to try again with more to go on.';

const STAGES: Record<string, string> = {
  starting: 'Starting',
  'resolving ref': 'Finding the commit',
  checkout: 'Checking out the repository',
  localize: 'Finding the code involved',
  context: 'Reading the code',
  generate: 'Writing a fix',
  apply: 'Applying and checking the fix',
};

/** The agent reports each step as `step N: <tool> <target>` (the target may have spaces, or be absent). */
const STEP = /^step (\d{1,6}): ([A-Za-z_][\w-]{0,39})(?: ([\s\S]*))?$/;

/** The stage as Markdown, its name in bold: "**Reading the code**", "**Step 7** · run `pytest -x`". */
function stageLabel(stage: string | null | undefined): string {
  if (!stage) return '**Working**';
  const attempt = /^generate \(attempt (\d+)\)$/.exec(stage);
  if (attempt) return `**Writing a fix (attempt ${attempt[1]})**`;
  const step = STEP.exec(stage);
  // The target is the model's (a path, a query, a command): a code span, where nothing is markup.
  if (step) return `**Step ${Number(step[1])}** · ${step[2]!.replace(/_/g, '\\_')}${step[3]?.trim() ? ` ${codeSpan(step[3], 120)}` : ''}`;
  return `**${STAGES[stage] ?? safeInlineText(stage.charAt(0).toUpperCase() + stage.slice(1), 80)}**`;
}

function progressBar(progress: number | undefined): string {
  const percent = Math.max(0, Math.min(100, Math.round(Number.isFinite(progress) ? progress! : 0)));
  const filled = Math.round((percent / 100) * PROGRESS_CELLS);
  return `\`${'█'.repeat(filled)}${'░'.repeat(PROGRESS_CELLS - filled)} ${percent}%\``;
}

const HEADLINES: Record<StatusView['state'], string> = {
  queued: '👀 Kodah will work on a fix, triggered by',
  running: '👀 Kodah is working on a fix, triggered by',
  completed: '✅ Kodah finished the fix triggered by',
  failed: '❌ Kodah could not finish the fix triggered by',
  cancelled: '🛑 Kodah cancelled the fix triggered by',
};

/** The comment that follows a job while it runs: the stage, a progress bar, how to cancel. */
export function renderStatus(v: StatusView): string {
  const job = `Job ${codeSpan(v.jobId)}`;
  const active = v.state === 'queued' || v.state === 'running';
  return paragraphs([
    marker(v.key),
    `${HEADLINES[v.state] ?? HEADLINES.running} ${safeInlineText(v.trigger, 300)}.`,
    // A queued job's stage, when there is one, says why it waits (the server is at capacity).
    v.state === 'queued' && `${v.stage ? stageLabel(v.stage) : '**Waiting for a free worker**'} ${progressBar(0)}`,
    v.state === 'running' && `${stageLabel(v.stage)} ${progressBar(v.progress)}`,
    active ? `${job} · comment \`/kodah cancel\` to stop it.` : `${job}.`,
  ]);
}

/** The comment that points to the draft pull request Kodah opened (or updated) with a fix. */
export function renderPullRequestDelivered(v: {
  key: string;
  jobId: string;
  prUrl: string;
  prNumber: number;
  filesChanged: string[];
  checks: CheckLine[];
  revised?: boolean;
  /** How the fix was made: a revision's, which the pull request's body (the first fix's) does not show. */
  evidence?: Evidence | null;
}): string {
  const url = safeUrl(v.prUrl);
  const pr = url ? `[#${v.prNumber}](${url})` : `#${v.prNumber}`;
  return paragraphs([
    marker(v.key),
    v.revised ? `🛠️ Kodah updated its draft pull request ${pr} with a new fix.` : `🛠️ Kodah opened a draft pull request with a fix: ${pr}`,
    v.checks.length > 0 && `**Checks**\n${checkList(v.checks)}`,
    v.filesChanged.length > 0 && `**Files changed**\n${fileList(v.filesChanged)}`,
    renderEvidence(v.evidence),
    `Review it before merging. To have Kodah revise it, review it or comment \`/kodah fix <what to change>\` there. Job ${codeSpan(v.jobId)}.`,
  ]);
}

function diffStats(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++ ')) added++;
    else if (line.startsWith('-') && !line.startsWith('--- ')) removed++;
  }
  return { added, removed };
}

/** The diff as a comment, folded; a diff too long for GitHub is cut, with where to get all of it. */
export function renderDiffComment(v: {
  key: string;
  jobId: string;
  diff: string;
  explanation?: string;
  filesChanged: string[];
  checks: CheckLine[];
  prUrl?: string | null;
  intro?: string;
  evidence?: Evidence | null;
}): string {
  const url = safeUrl(v.prUrl);
  const stats = diffStats(v.diff);
  const summary = `The diff: ${plural(v.filesChanged.length, 'file')}, +${stats.added} −${stats.removed}`;
  const before = paragraphs([
    marker(v.key),
    v.intro ? userMarkdown(v.intro, 2_000) : '🛠️ Kodah wrote a fix for this.',
    userMarkdown(v.explanation, MAX_EXPLANATION),
    v.checks.length > 0 && `**Checks**\n${checkList(v.checks)}`,
    v.filesChanged.length > 0 && `**Files changed**\n${fileList(v.filesChanged)}`,
  ]);
  const job = `Job ${codeSpan(v.jobId)}${url ? ` · pull request: ${url}` : ''}.`;
  // After the diff, which matters more; its share is taken before the diff gets what is left.
  const evidence = renderEvidence(v.evidence);
  const block = (diff: string, cutNote: string) => {
    const fence = fenceFor(diff);
    // The blank line after <summary> is what makes GitHub read the fence as Markdown again.
    const details = `<details><summary>${summary}</summary>\n\n${fence}diff\n${diff}${diff.endsWith('\n') ? '' : '\n'}${fence}\n\n</details>`;
    return paragraphs([before, details, evidence, cutNote, job]);
  };

  const whole = block(v.diff, '');
  if (whole.length <= MAX_BODY) return whole;
  const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const total = lines(v.diff);
  const note = (shown: number) =>
    `✂️ The diff is too long for a comment: ${shown} of ${total} lines are shown. The whole diff is at ${codeSpan(`GET /jobs/${v.jobId}`)} on the Kodah server.`;
  // Sized with the longest note and fence the cut diff could need, then cut at a line end.
  let room = MAX_BODY - block('', note(total)).length - fenceFor(v.diff).length * 2 - 1;
  for (;;) {
    let cut = cutChars(v.diff, Math.max(0, room));
    const lineEnd = cut.lastIndexOf('\n');
    if (lineEnd > 0) cut = cut.slice(0, lineEnd + 1);
    const body = block(cut, note(lines(cut)));
    if (body.length <= MAX_BODY || room <= 0) return body;
    room -= body.length - MAX_BODY;
  }
}

/** The comment for a job that failed or was cancelled: what was tried, why, the credit, what next. */
export function renderFailure(v: {
  key: string;
  jobId: string;
  message: string;
  code: string | null;
  kind: 'system' | 'input' | null;
  refunded: boolean;
  attempts?: number | null;
  cancelled?: boolean;
  /** The last command run in the sandbox: its output is often the real reason (`No module named pytest`). */
  lastCommand?: SandboxCommand;
}): string {
  const credit = v.refunded
    ? v.code === 'no_fix'
      ? 'No fix was delivered, so your credit was restored.'
      : 'Your credit was restored.'
    : v.kind === 'input'
      ? 'This counts as a fix attempt; no credit was restored.'
      : 'No credit was restored.';
  if (v.cancelled) return paragraphs([marker(v.key), `🛑 The fix was cancelled (job ${codeSpan(v.jobId)}).`, credit, RETRY_HINT]);
  const tried =
    v.attempts && v.attempts > 0
      ? `❌ Kodah could not fix this: it wrote ${plural(v.attempts, 'candidate fix', 'candidate fixes')} and none got through its checks (job ${codeSpan(v.jobId)}).`
      : v.code === 'no_fix'
        ? `❌ Kodah could not fix this: what it tried and why it stopped are below (job ${codeSpan(v.jobId)}).`
        : `❌ Kodah could not fix this (job ${codeSpan(v.jobId)}).`;
  const message = v.message.length > MAX_MESSAGE ? `${cutChars(v.message, MAX_MESSAGE)}\n[… cut]` : v.message;
  const fence = fenceFor(message);
  const why = `Why it failed${v.code ? ` (${codeSpan(v.code, 80)})` : ''}:\n\n${fence}\n${message}\n${fence}`;
  const whose = v.kind === 'system' ? 'The failure was on Kodah’s side.' : null;
  return paragraphs([
    marker(v.key),
    tried,
    why,
    v.lastCommand && commandDetails(v.lastCommand),
    [whose, credit].filter(Boolean).join(' '),
    RETRY_HINT,
  ]);
}

const MAX_COMMAND_OUTPUT = 3000;

/** A sandbox command, folded: what ran, how it ended, and the end of its output (repository output: fenced, never rendered). */
function commandDetails(c: SandboxCommand): string {
  const ended = c.limit ? `stopped at the ${safeInlineText(c.limit, 20)} limit` : `exit code ${c.exitCode ?? '?'}`;
  const tail = c.outputTail.length > MAX_COMMAND_OUTPUT ? `[…]\n${c.outputTail.slice(-MAX_COMMAND_OUTPUT)}` : c.outputTail;
  const fence = fenceFor(tail);
  return `<details><summary>Last command in the sandbox: ${codeSpan(c.command, 200)} (${c.phase}, ${ended}, ${c.seconds} s)</summary>\n\n${fence}\n${tail.trimEnd()}\n${fence}\n\n</details>`;
}

/**
 * The comment for a request Kodah did not take on (no credits, one already running, …): the
 * reason, and the advice for its code. A reason that already says what to do (it names a
 * command) gets no advice: a second, generic hint could contradict it.
 */
export function renderRefused(v: { key: string; reason: string; code: ErrorCode; reasonAdvises?: boolean }): string {
  return paragraphs([marker(v.key), `🚫 Kodah did not start a fix: ${safeInlineText(v.reason, 500)}`, !v.reasonAdvises && ADVICE[v.code]]);
}

/** The reply to `/kodah help` (and to a command Kodah does not know). */
export function renderHelp(label: string): string {
  return paragraphs([
    marker('help'),
    '**Kodah** writes a fix for an issue and opens it as a draft pull request for you to review.',
    [
      '- `/kodah fix [context]`: write a fix for this issue. Anything after `fix`, on that line and the lines below, is passed on as more context.',
      '- `/kodah retry`: try again after a fix failed.',
      '- `/kodah cancel`: stop the fix that is waiting or running.',
      '- `/kodah help`: show this message.',
      `- Adding the ${codeSpan(label, 100)} label to an issue does the same as \`/kodah fix\`.`,
      '- On a pull request Kodah opened, `/kodah fix <what to change>` or a review (changes requested, a comment, inline comments) adds a commit that revises the fix.',
    ].join('\n'),
    'A command is the first line of a comment. Only people with write access to this repository can use these; Kodah ignores them from everyone else.',
  ]);
}
