/**
 * Turns the failed CI checks of a pull request's head commit into the job description the fix
 * pipeline reads. The check runs' text is written by CI apps and the repository's own code (test
 * names, assertion messages, log output), so all of it is sanitised like an issue. When it is too
 * long, the log tails give way first (the annotations and summaries say the same things more
 * densely), then every check is cut to a fair share, so one chatty check cannot crowd out another.
 */
import { sanitizeText } from './sanitize-text.js';
import { firstBytes, lastBytes } from '../lib/utf8-slice.js';

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string;
  message: string;
  title?: string | null;
  raw_details?: string | null;
}

export interface FailedCheck {
  name: string;
  /** `failure`, `timed_out`, `cancelled`, `action_required`, … */
  conclusion: string;
  title?: string | null;
  summary?: string | null;
  text?: string | null;
  annotations: CheckAnnotation[];
  /** From logTail() of the job's log, for GitHub Actions checks. */
  logTail?: string | null;
  url?: string | null;
}

export interface CheckFailure {
  /** owner/name */
  repository: string;
  headSha: string;
  headBranch: string;
  pullRequest?: { number: number; title: string } | null;
  checks: FailedCheck[];
}

const MAX_ANNOTATIONS = 50;
/** Raw details are often whole stack traces; the first part says what failed. */
const MAX_RAW_DETAILS_BYTES = 2_000;
/** Less of a log tail than this is not worth its fence. */
const MIN_LOG_BYTES = 200;
const LEVEL_ORDER: Record<string, number> = { failure: 0, warning: 1, notice: 2 };

const bytes = (text: string) => Buffer.byteLength(text);
const oneLine = (text: string | null | undefined) => sanitizeText(text ?? '').replace(/\s+/g, ' ');

const CUT_NOTE = '\n[… cut]';
const LOG_CUT_NOTE = '[… earlier lines cut]\n';

/** The head of a text and a note, in at most `maxBytes`. */
function cutHead(text: string, maxBytes: number): string {
  if (bytes(text) <= maxBytes) return text;
  if (maxBytes < 2 * bytes(CUT_NOTE)) return firstBytes(text, maxBytes);
  return firstBytes(text, maxBytes - bytes(CUT_NOTE)) + CUT_NOTE;
}

/** A note and the tail of a log, in at most `maxBytes`, starting on a whole line when it can. */
function cutTail(text: string, maxBytes: number): string {
  if (bytes(text) <= maxBytes) return text;
  const tail = lastBytes(text, maxBytes - bytes(LOG_CUT_NOTE));
  const newline = tail.indexOf('\n');
  return LOG_CUT_NOTE + (newline >= 0 && newline < tail.length - 1 ? tail.slice(newline + 1) : tail);
}

/**
 * Splits a budget so that each part gets what it needs or an equal share of what is left, whichever
 * is less ("water-filling"): small parts are kept whole and the big ones share the rest equally.
 */
function fairShares(sizes: number[], budget: number): number[] {
  const shares = new Array<number>(sizes.length).fill(0);
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]!);
  let left = Math.max(0, budget);
  order.forEach((index, k) => {
    const share = Math.min(sizes[index]!, Math.floor(left / (order.length - k)));
    shares[index] = share;
    left -= share;
  });
  return shares;
}

function fence(text: string): string {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

const indent = (text: string, by: string) => text.split('\n').join(`\n${by}`);

function annotationLine(a: CheckAnnotation): string {
  const message = sanitizeText(a.message);
  const title = oneLine(a.title);
  const said = title && !message.includes(title) ? `${title}: ${message}` : message;
  let line = `${oneLine(a.path) || '(no file)'}:${a.start_line}: ${oneLine(a.annotation_level)}: ${indent(said, '  ')}`;
  const details = sanitizeText(a.raw_details ?? '');
  if (details) line += `\n    ${indent(cutHead(details, MAX_RAW_DETAILS_BYTES), '    ')}`;
  return line;
}

/** A check without its log: name, conclusion, its own title, summary and text, annotations. */
function checkCore(check: FailedCheck, index: number, count: number): string {
  const parts = [`Check ${index + 1} of ${count}: ${oneLine(check.name) || '(unnamed)'} (conclusion: ${oneLine(check.conclusion)})`];
  const title = oneLine(check.title);
  if (title) parts.push(`Title: ${title}`);
  const summary = sanitizeText(check.summary ?? '');
  if (summary) parts.push(`Summary:\n${summary}`);
  const text = sanitizeText(check.text ?? '');
  if (text) parts.push(`Details:\n${text}`);
  if (check.annotations.length) {
    const sorted = check.annotations
      .map((a, i) => ({ a, i }))
      .sort((x, y) => (LEVEL_ORDER[x.a.annotation_level] ?? 3) - (LEVEL_ORDER[y.a.annotation_level] ?? 3) || x.i - y.i)
      .map(({ a }) => a);
    const lines = sorted.slice(0, MAX_ANNOTATIONS).map(annotationLine);
    if (sorted.length > MAX_ANNOTATIONS) lines.push(`[… ${sorted.length - MAX_ANNOTATIONS} more annotations]`);
    parts.push(`Annotations:\n${lines.join('\n')}`);
  }
  return parts.join('\n');
}

function withLog(core: string, log: string): string {
  if (!log) return core;
  const f = fence(log);
  return `${core}\nLog tail:\n${f}\n${log}\n${f}`;
}

/** The job description for failed CI checks of a pull request's head commit. */
export function buildCheckDescription(input: CheckFailure, maxBytes = 60_000): string {
  const pr = input.pullRequest;
  const where = `commit ${oneLine(input.headSha)} of ${oneLine(input.repository)}, branch ${firstBytes(oneLine(input.headBranch), 300)}`;
  const header = [
    `CI failed on ${where}${pr ? `, the head of pull request #${pr.number}: ${firstBytes(oneLine(pr.title), 1_000)}` : ''}.`,
    input.checks.length === 1
      ? 'One check failed; what it reported follows.'
      : `${input.checks.length} checks failed; what they reported follows.`,
  ].join('\n');
  if (!input.checks.length) return firstBytes(`${header.split('\n')[0]}\nNo details of the failed checks are available.`, maxBytes);

  const cores = input.checks.map((check, i) => checkCore(check, i, input.checks.length));
  // A log is shown raw, never rendered, so an HTML comment in it is visible text (a template's
  // test output) and an unterminated one must not swallow the failure at the end: it is defused
  // rather than removed.
  const logs = input.checks.map((check) => sanitizeText((check.logTail ?? '').replaceAll('<!--', '<!- -')));
  const assemble = (parts: string[]) => [header, ...parts].join('\n\n');
  const whole = assemble(cores.map((core, i) => withLog(core, logs[i]!)));
  if (bytes(whole) <= maxBytes) return whole;

  // First the logs give way: each keeps its end (where the failure is) within a fair share of
  // what the rest leaves. The fence around a cut log is never longer than around the whole one.
  const logFrames = logs.map((log, i) => bytes(withLog(cores[i]!, log)) - bytes(cores[i]!) - bytes(log));
  const fixed = bytes(assemble(cores)) + logFrames.reduce((a, b) => a + b, 0);
  if (fixed <= maxBytes) {
    const shares = fairShares(
      logs.map((log) => bytes(log)),
      maxBytes - fixed,
    );
    const kept = (log: string, share: number) => (share >= bytes(log) ? log : share >= MIN_LOG_BYTES ? cutTail(log, share) : '');
    return assemble(cores.map((core, i) => withLog(core, kept(logs[i]!, shares[i]!))));
  }
  // Then the checks themselves, each to a fair share, from its head (name, conclusion, summary
  // come first).
  const frame = bytes(assemble(cores.map(() => '')));
  const shares = fairShares(
    cores.map((core) => bytes(core)),
    maxBytes - frame,
  );
  // The last guard is for a budget smaller than the header.
  return firstBytes(assemble(cores.map((core, i) => cutHead(core, shares[i]!))), maxBytes);
}
