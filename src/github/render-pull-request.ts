/**
 * The body of Kodah's draft pull requests and the message of its commits. The explanation in
 * them is the model's: made safe like any comment, and kept from closing issues it names.
 */
import { marker } from './comment-marker.js';
import { type Evidence, MAX_EVIDENCE, renderEvidence } from './render-evidence.js';
import { type CheckLine, checkList, fileList, MAX_EXPLANATION, paragraphs } from './render-parts.js';
import { codeSpan, cutChars, safeInlineText, userMarkdown } from './safe-markdown.js';
import { sanitizeText } from './sanitize-text.js';

/**
 * A closing keyword in front of an issue reference ("fixes #5") closes that issue when the pull
 * request is merged. The model's explanation must not close issues Kodah was not asked to close
 * (a hostile issue can ask for exactly that), so its keywords are parted from their references.
 */
const CLOSING =
  /\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*(?::\s*)?)(?=(?:[\w.-]+\/[\w.-]+)?#\d|GH-\d|https?:\/\/\S+\/(?:issues|pull)\/\d)/gi;
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
  evidence?: Evidence | null;
}): string {
  const issue = v.issueNumber === null ? null : v.closes ? `Closes #${v.issueNumber}` : `Refs #${v.issueNumber}`;
  const parts = (evidence: string | null) =>
    paragraphs([
      marker('pull-request'),
      issue,
      // Sanitised before the keywords are defused, so no hidden character can stand between them.
      userMarkdown(defuseClosingKeywords(sanitizeText(v.explanation ?? '')), MAX_EXPLANATION),
      `Kodah made this fix from ${safeInlineText(v.source, 300)} (job ${codeSpan(v.jobId)}).`,
      v.checks.length > 0 && `### Checks\n\n${checkList(v.checks)}`,
      v.filesChanged.length > 0 && `### Files changed\n\n${fileList(v.filesChanged)}`,
      evidence,
      '> [!NOTE]\n> This is a draft pull request made by Kodah, an automated tool. Review the changes before merging them.',
    ]);
  // The evidence takes what the capped parts leave below GitHub's limit, and is left out when that is too little.
  const room = MAX_BODY - parts(null).length - 2;
  return parts(renderEvidence(v.evidence, Math.min(MAX_EVIDENCE * 2, room)));
}

/** Below GitHub's 65,536 characters for a pull request's body. */
const MAX_BODY = 65_000;
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
