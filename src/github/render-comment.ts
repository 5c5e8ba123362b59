/**
 * The Markdown Kodah writes to GitHub: issue and pull request comments, pull request bodies and
 * commit messages. Three rules hold for every body:
 * - It starts with a hidden marker, so Kodah can find (and edit) its own comment again.
 * - Text from users or the model cannot break out of where it is put: fences and code spans are
 *   longer than any backtick run inside them, raw HTML is escaped, and @mentions are put in code
 *   spans, so a comment of Kodah's never pings anyone, whatever an issue or a model says.
 * - It stays under GitHub's limit of 65,536 characters: every echoed text has a cap, and the diff,
 *   the one thing that can be any size, gets what is left.
 */
import { KodahError } from '../lib/errors.js';
import { sanitizeText } from './sanitize-text.js';

export interface CheckLine {
  name: 'diff_policy' | 'syntax' | 'tests';
  outcome: 'passed' | 'failed' | 'skipped' | 'timeout';
  detail?: string;
}

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
const MAX_FILES_LISTED = 50;
const MAX_PATH = 200;
const MAX_EXPLANATION = 12_000;
const MAX_DETAIL = 300;
const MAX_CHECKS = 10;
const MAX_MESSAGE = 20_000;
const PROGRESS_CELLS = 10;

/** Marker keys go inside an HTML comment: no spaces, no `>`, no `--` that could end it early. */
const MARKER_KEY = /^[A-Za-z0-9_.:/#-]+$/;

/** The hidden line that identifies a body Kodah wrote: `<!-- kodah:<key> -->`. */
export function marker(key: string): string {
  if (!MARKER_KEY.test(key) || key.includes('--')) throw new KodahError('internal', `Invalid comment marker key ${JSON.stringify(key)}`);
  return `<!-- kodah:${key} -->`;
}

/**
 * Whether a body is Kodah's with this key: its first non-blank line is the marker. Only the first
 * line counts, so a diff, log or quote that happens to contain a marker does not. Anyone can still
 * start a comment with one: check the comment's author as well.
 */
export function hasMarker(body: string, key: string): boolean {
  const text = body.trimStart();
  const end = text.indexOf('\n');
  return (end < 0 ? text : text.slice(0, end)).trim() === marker(key);
}

function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

/** A fence no line of the text can close: longer than any backtick run in it. */
function fenceFor(text: string): string {
  return '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
}

/** At most `max` UTF-16 units, never ending between the two halves of a surrogate pair. */
function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max > 0 && (text.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max;
  return text.slice(0, Math.max(0, end));
}

/** A one-line code span around any text (file names, ids): its delimiters outnumber its backticks. */
function code(text: string, max = MAX_PATH): string {
  const flat = sanitizeText(text).replace(/\s+/g, ' ');
  const shown = flat.length > max ? `${cutChars(flat, max - 1)}…` : flat;
  if (!shown) return '(none)';
  const ticks = '`'.repeat(longestBacktickRun(shown) + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${shown}${pad}${ticks}`;
}

const MENTION = /@[A-Za-z0-9][A-Za-z0-9-]*(?:\/[A-Za-z0-9][A-Za-z0-9_.-]*)?/y;
const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };

/**
 * One line (or table cell) of user or model Markdown, made safe to show: its code spans are kept
 * as they are, which is where people write `@decorator` or `<div>`; outside them a backtick that
 * opens no span is escaped, `<`, `>` and `&` become entities (no raw HTML, no `&#64;` mention),
 * and every @mention becomes a code span. Escaping the stray backticks is what makes this safe:
 * afterwards the spans GitHub sees are exactly the spans seen here, so no mention that is plain
 * text to GitHub can be mistaken for code and left alone.
 */
function safeInline(line: string): string {
  // Closing runs by length: an opener of n backticks closes at the next run of exactly n.
  const runs = new Map<number, number[]>();
  for (const m of line.matchAll(/`+/g)) {
    const list = runs.get(m[0].length);
    if (list) list.push(m.index);
    else runs.set(m[0].length, [m.index]);
  }
  const cursor = new Map<number, number>();
  // Openers are met left to right, so each list is walked once: linear in the line.
  const closerAfter = (length: number, from: number): number => {
    const starts = runs.get(length);
    if (!starts) return -1;
    let k = cursor.get(length) ?? 0;
    while (k < starts.length && starts[k]! < from) k++;
    cursor.set(length, k);
    return k < starts.length ? starts[k]! : -1;
  };

  const out: string[] = [];
  // GitHub looks for mentions in the rendered text, where what follows a code span or an emphasis
  // starts afresh: only a letter or digit just before `@` in what is written makes it no mention.
  const last = () => out.at(-1)?.at(-1) ?? '';
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === '\\' && (line[i + 1] === '`' || line[i + 1] === '\\')) {
      out.push(line.slice(i, i + 2));
      i += 2;
    } else if (ch === '`') {
      let j = i;
      while (line[j] === '`') j++;
      const close = closerAfter(j - i, j);
      if (close >= 0) {
        out.push(line.slice(i, close + (j - i)));
        i = close + (j - i);
      } else {
        out.push('\\`'.repeat(j - i));
        i = j;
      }
    } else if (ch === '@' && !/[A-Za-z0-9]/.test(last()) && ((MENTION.lastIndex = i), MENTION.test(line))) {
      const mention = line.slice(i, MENTION.lastIndex);
      // A backtick or backslash next to the new span would merge with it or escape it.
      const lead = last() === '`' || last() === '\\' ? ' ' : '';
      const trail = line[MENTION.lastIndex] === '`' ? ' ' : '';
      out.push(`${lead}\`${mention}\`${trail}`);
      i = MENTION.lastIndex;
    } else {
      out.push(ENTITIES[ch] ?? ch);
      i++;
    }
  }
  return out.join('');
}

/** GFM splits table rows at every unescaped pipe, even inside a code span; so must we. */
function tableCells(line: string): string[] {
  const cells: string[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '|') {
      cells.push(line.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(line.slice(start));
  return cells;
}

const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/**
 * Sanitised Markdown from users or the model, safe to embed: fenced code blocks are kept whole
 * (and closed if left open, so they cannot swallow what follows), every other line goes through
 * safeInline. Where this reading and GitHub's could differ (lists, quotes), it errs towards
 * treating text as plain: a mention wrapped needlessly looks odd, one left bare pings someone.
 */
function safeMarkdown(sanitized: string): string {
  const lines = sanitized.split('\n');
  const table = lines.some((l) => l.includes('|') && l.includes('-') && /^[\s|:-]+$/.test(l));
  const out: string[] = [];
  let fence: { char: string; length: number; indent: number } | null = null;
  for (const line of lines) {
    if (fence) {
      // An indented fence may sit in a list item, which (and its code block) ends at the first
      // line indented less; the fence is taken to end there too.
      const outdented = fence.indent > 0 && line.trim() !== '' && /^ */.exec(line)![0].length < fence.indent;
      if (!outdented) {
        out.push(line);
        const close = FENCE_CLOSE.exec(line);
        if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) fence = null;
        continue;
      }
      fence = null;
    }
    const open = FENCE_OPEN.exec(line);
    // A backtick fence's info string cannot contain a backtick; such a line is a paragraph.
    if (open && !(open[2]![0] === '`' && open[3]!.includes('`'))) {
      fence = { char: open[2]![0]!, length: open[2]!.length, indent: open[1]!.length };
      out.push(line);
      continue;
    }
    out.push(table ? tableCells(line).map(safeInline).join('|') : safeInline(line));
  }
  if (fence) out.push(fence.char.repeat(fence.length));
  return out.join('\n');
}

/** User or model Markdown, sanitised, made safe and at most `maxChars` long once made safe. */
function markdown(text: string | null | undefined, maxChars: number): string {
  let source = sanitizeText(text ?? '');
  for (;;) {
    const out = safeMarkdown(source);
    if (out.length <= maxChars) return out;
    // Escaping grows the text; cut the source (never the result, which could split a span we
    // made) in proportion and try again.
    const keep = Math.floor(source.length * (maxChars / out.length) * 0.9) - 10;
    if (keep <= 0) return '';
    source = `${cutChars(source, keep)}\n\n[… cut]`;
  }
}

/** User or model text for the middle of a sentence: one line, capped, made safe. */
function inline(text: string, maxChars: number): string {
  const flat = sanitizeText(text).replace(/\s+/g, ' ');
  const out = safeInline(flat.length > maxChars ? `${cutChars(flat, maxChars - 1)}…` : flat);
  // A trailing backslash would escape whatever Kodah writes next.
  return out.endsWith('\\') ? `${out} ` : out;
}

/** An https link target GitHub gave us, or null: nothing in it can end the link early. */
function safeUrl(url: string | null | undefined): string | null {
  return url && /^https:\/\/[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+$/.test(url) && url.length <= 2_000 ? url : null;
}

const CHECK_NAMES: Record<string, string> = { diff_policy: 'Diff policy', syntax: 'Syntax', tests: 'Tests' };
const OUTCOMES: Record<string, [string, string]> = {
  passed: ['✅', 'passed'],
  failed: ['❌', 'failed'],
  skipped: ['⏭️', 'skipped'],
  timeout: ['⏱️', 'timed out'],
};

function checkList(checks: CheckLine[]): string {
  return checks
    .slice(0, MAX_CHECKS)
    .map((check) => {
      const [icon, said] = OUTCOMES[check.outcome] ?? ['•', inline(String(check.outcome), 40)];
      const name = CHECK_NAMES[check.name] ?? inline(String(check.name), 40);
      const detail = check.detail ? inline(check.detail, MAX_DETAIL) : '';
      return `- ${icon} ${name} ${said}${detail ? `: ${detail}` : ''}`;
    })
    .join('\n');
}

function fileList(files: string[]): string {
  const lines = files.slice(0, MAX_FILES_LISTED).map((file) => `- ${code(file)}`);
  if (files.length > MAX_FILES_LISTED) lines.push(`- … and ${files.length - MAX_FILES_LISTED} more`);
  return lines.join('\n');
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const RETRY_HINT = 'Comment `/kodah retry` to try again, or `/kodah fix <more context>` to try again with more to go on.';

function join(parts: Array<string | null | undefined | false>): string {
  return parts.filter((part): part is string => !!part).join('\n\n');
}

const STAGES: Record<string, string> = {
  starting: 'Starting',
  'resolving ref': 'Finding the commit',
  checkout: 'Checking out the repository',
  localize: 'Finding the code involved',
  context: 'Reading the code',
  generate: 'Writing a fix',
  apply: 'Applying and checking the fix',
};

function stageLabel(stage: string | null | undefined): string {
  if (!stage) return 'Working';
  const attempt = /^generate \(attempt (\d+)\)$/.exec(stage);
  if (attempt) return `Writing a fix (attempt ${attempt[1]})`;
  return STAGES[stage] ?? inline(stage.charAt(0).toUpperCase() + stage.slice(1), 80);
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
  const job = `Job ${code(v.jobId)}`;
  const active = v.state === 'queued' || v.state === 'running';
  return join([
    marker(v.key),
    `${HEADLINES[v.state] ?? HEADLINES.running} ${inline(v.trigger, 300)}.`,
    // A queued job's stage, when there is one, says why it waits (the server is at capacity).
    v.state === 'queued' && `**${v.stage ? stageLabel(v.stage) : 'Waiting for a free worker'}** ${progressBar(0)}`,
    v.state === 'running' && `**${stageLabel(v.stage)}** ${progressBar(v.progress)}`,
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
}): string {
  const url = safeUrl(v.prUrl);
  const pr = url ? `[#${v.prNumber}](${url})` : `#${v.prNumber}`;
  return join([
    marker(v.key),
    v.revised ? `🛠️ Kodah updated its draft pull request ${pr} with a new fix.` : `🛠️ Kodah opened a draft pull request with a fix: ${pr}`,
    v.checks.length > 0 && `**Checks**\n${checkList(v.checks)}`,
    v.filesChanged.length > 0 && `**Files changed**\n${fileList(v.filesChanged)}`,
    `Review it before merging. To have Kodah try again, comment \`/kodah fix <more context>\`. Job ${code(v.jobId)}.`,
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
}): string {
  const url = safeUrl(v.prUrl);
  const stats = diffStats(v.diff);
  const summary = `The diff: ${plural(v.filesChanged.length, 'file')}, +${stats.added} −${stats.removed}`;
  const before = join([
    marker(v.key),
    v.intro ? markdown(v.intro, 2_000) : '🛠️ Kodah wrote a fix for this.',
    markdown(v.explanation, MAX_EXPLANATION),
    v.checks.length > 0 && `**Checks**\n${checkList(v.checks)}`,
    v.filesChanged.length > 0 && `**Files changed**\n${fileList(v.filesChanged)}`,
  ]);
  const job = `Job ${code(v.jobId)}${url ? ` · pull request: ${url}` : ''}.`;
  const block = (diff: string, cutNote: string) => {
    const fence = fenceFor(diff);
    // The blank line after <summary> is what makes GitHub read the fence as Markdown again.
    const details = `<details><summary>${summary}</summary>\n\n${fence}diff\n${diff}${diff.endsWith('\n') ? '' : '\n'}${fence}\n\n</details>`;
    return join([before, details, cutNote, job]);
  };

  const whole = block(v.diff, '');
  if (whole.length <= MAX_BODY) return whole;
  const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const total = lines(v.diff);
  const note = (shown: number) =>
    `✂️ The diff is too long for a comment: ${shown} of ${total} lines are shown. The whole diff is at ${code(`GET /jobs/${v.jobId}`)} on the Kodah server.`;
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
}): string {
  const credit = v.refunded
    ? 'Your credit was restored.'
    : v.kind === 'input'
      ? 'This counts as a fix attempt; no credit was restored.'
      : 'No credit was restored.';
  if (v.cancelled) return join([marker(v.key), `🛑 The fix was cancelled (job ${code(v.jobId)}).`, credit, RETRY_HINT]);
  const tried =
    v.attempts && v.attempts > 0
      ? `❌ Kodah could not fix this: it wrote ${plural(v.attempts, 'candidate fix', 'candidate fixes')} and none got through its checks (job ${code(v.jobId)}).`
      : `❌ Kodah could not fix this (job ${code(v.jobId)}).`;
  const message = v.message.length > MAX_MESSAGE ? `${cutChars(v.message, MAX_MESSAGE)}\n[… cut]` : v.message;
  const fence = fenceFor(message);
  const why = `Why it failed${v.code ? ` (${code(v.code, 80)})` : ''}:\n\n${fence}\n${message}\n${fence}`;
  const whose = v.kind === 'system' ? 'The failure was on Kodah’s side.' : null;
  return join([marker(v.key), tried, why, [whose, credit].filter(Boolean).join(' '), RETRY_HINT]);
}

/**
 * What to do about a refusal, for the reasons the job API gives (see jobs/submit-job.ts). A reason
 * that already names a command says what to do itself; a second, generic hint could contradict it.
 */
function adviceFor(reason: string): string | null {
  if (/\/kodah\b/i.test(reason)) return null;
  if (/private/i.test(reason) && /paid/i.test(reason)) {
    return 'Fixes in private repositories are paid for with paid credits: add some to the Kodah account of this installation, then comment `/kodah retry`.';
  }
  if (/credit/i.test(reason)) return 'Add credits to the Kodah account of this installation, then comment `/kodah retry`.';
  if (/already in progress/i.test(reason)) return 'Wait for the fix that is running to finish, or stop it with `/kodah cancel`.';
  if (/capacity|busy/i.test(reason)) return 'Kodah is busy right now: comment `/kodah retry` in a few minutes.';
  if (/access|permission/i.test(reason)) return 'Only people with write access to this repository can ask Kodah for a fix.';
  return 'Comment `/kodah help` for the commands.';
}

/** The comment for a request Kodah did not take on (no credits, one already running, …). */
export function renderRefused(v: { key: string; reason: string }): string {
  return join([marker(v.key), `🚫 Kodah did not start a fix: ${inline(v.reason, 500)}`, adviceFor(v.reason)]);
}

/** The reply to `/kodah help` (and to a command Kodah does not know). */
export function renderHelp(label: string): string {
  return join([
    marker('help'),
    '**Kodah** writes a fix for an issue and opens it as a draft pull request for you to review.',
    [
      '- `/kodah fix [context]`: write a fix for this issue. Anything after `fix`, on that line and the lines below, is passed on as more context.',
      '- `/kodah retry`: try again after a fix failed.',
      '- `/kodah cancel`: stop the fix that is waiting or running.',
      '- `/kodah help`: show this message.',
      `- Adding the ${code(label, 100)} label to an issue does the same as \`/kodah fix\`.`,
    ].join('\n'),
    'A command is the first line of a comment. Only people with write access to this repository can use these; Kodah ignores them from everyone else.',
  ]);
}

/**
 * A closing keyword in front of an issue reference ("fixes #5") closes that issue when the pull
 * request is merged. The model's explanation must not close issues Kodah was not asked to close
 * (a hostile issue can ask for exactly that), so its keywords are parted from their references.
 */
const CLOSING = /\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*(?::\s*)?)(?=(?:[\w.-]+\/[\w.-]+)?#\d|GH-\d|https?:\/\/\S+\/(?:issues|pull)\/\d)/gi;
const defuseClosingKeywords = (text: string) => text.replace(CLOSING, (_, word: string, gap: string) => `${word}${gap || ' '}issue `);

/** The body of Kodah's draft pull request. */
export function renderPullRequestBody(v: {
  issueNumber: number | null;
  closes: boolean;
  explanation?: string;
  filesChanged: string[];
  checks: CheckLine[];
  jobId: string;
  /** "issue #12" or "failed check `test` on abc1234" */
  source: string;
}): string {
  const issue = v.issueNumber === null ? null : v.closes ? `Closes #${v.issueNumber}` : `Refs #${v.issueNumber}`;
  return join([
    marker('pull-request'),
    issue,
    // Sanitised before the keywords are defused, so no hidden character can stand between them.
    markdown(defuseClosingKeywords(sanitizeText(v.explanation ?? '')), MAX_EXPLANATION),
    `Kodah made this fix from ${inline(v.source, 300)} (job ${code(v.jobId)}).`,
    v.checks.length > 0 && `### Checks\n\n${checkList(v.checks)}`,
    v.filesChanged.length > 0 && `### Files changed\n\n${fileList(v.filesChanged)}`,
    '> [!NOTE]\n> This is a draft pull request made by Kodah, an automated tool. Review the changes before merging them.',
  ]);
}

const SUBJECT_MAX = 72;
const BODY_WIDTH = 72;

/** Lines longer than the width wrapped at spaces; code, indented lines and long words kept. */
function wrap(text: string, width: number): string {
  let inFence = false;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (/^ {0,3}(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence || line.length <= width || /^( {4}|\t)/.test(line) || /^ {0,3}(```|~~~)/.test(line)) {
      out.push(line);
      continue;
    }
    // List items continue under their text, not under the bullet.
    const lead = /^\s*(?:[-*+]|\d+[.)])\s+/.exec(line)?.[0] ?? /^\s*/.exec(line)![0];
    const hang = ' '.repeat(lead.length);
    let current = lead;
    let empty = true;
    for (const word of line.slice(lead.length).split(/ +/)) {
      if (!word) continue;
      if (!empty && current.length + 1 + word.length > width) {
        out.push(current);
        current = hang + word;
      } else current += empty ? word : ` ${word}`;
      empty = false;
    }
    out.push(current);
  }
  return out.join('\n');
}

/** A commit message: a subject of at most 72 characters, the wrapped explanation, a Closes trailer. */
export function renderCommitMessage(v: { issueNumber: number | null; title: string; explanation?: string; closes: boolean }): string {
  const title = sanitizeText(v.title).replace(/\s+/g, ' ');
  // "Fix #12" is itself a closing keyword, so without `closes` the subject must not say it.
  const prefix = v.issueNumber === null ? 'Fix' : v.closes ? `Fix #${v.issueNumber}` : `Fix for #${v.issueNumber}`;
  let subject = title ? `${prefix}: ${title}` : prefix;
  const chars = [...subject];
  if (chars.length > SUBJECT_MAX) {
    const head = chars.slice(0, SUBJECT_MAX - 1).join('');
    // At a word boundary when one is near the end; a title with no spaces is cut where it must be.
    const space = head.lastIndexOf(' ');
    subject = `${space > SUBJECT_MAX / 2 ? head.slice(0, space) : head}…`;
  }
  const explanation = wrap(defuseClosingKeywords(cutChars(sanitizeText(v.explanation ?? ''), MAX_EXPLANATION)), BODY_WIDTH);
  return [subject, explanation, v.closes && v.issueNumber !== null ? `Closes #${v.issueNumber}` : ''].filter(Boolean).join('\n\n');
}
