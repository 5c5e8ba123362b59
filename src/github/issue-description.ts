/**
 * Turns a GitHub issue into the job description the fix pipeline reads: the title, the body and
 * what people said in the comments. Bots and Kodah's own command comments are left out (they say
 * nothing about the bug), and everything is sanitised, since anyone can comment on a public issue.
 */
import { parseCommand } from './parse-command.js';
import { sanitizeText } from './sanitize-text.js';
import { firstBytes } from '../lib/utf8-slice.js';

export interface IssueComment {
  author: string;
  body: string;
  isBot: boolean;
}

export interface IssueText {
  number: number;
  title: string;
  body: string | null;
  /** Oldest first, as GitHub lists them. */
  comments: IssueComment[];
  /** The context a maintainer gave with `/kodah fix …`. */
  extra?: string;
}

/** Kodah's comments carry a marker; if they are posted with a person's token they are not bots. */
const KODAH_MARKER = /<!-- kodah:[^>]*-->/;
/** A comment cut to fit is worth keeping only if something readable is left of it. */
const MIN_PARTIAL_COMMENT = 400;

const bytes = (text: string) => Buffer.byteLength(text);

/** The text, or its head and `note` in at most `maxBytes`. */
function cut(text: string, maxBytes: number, note: string): string {
  if (bytes(text) <= maxBytes) return text;
  const head = firstBytes(text, maxBytes - bytes(note));
  return head ? head + note : firstBytes(note, maxBytes);
}

const oneLine = (text: string) => sanitizeText(text).replace(/\s+/g, ' ');

/** The job description for an issue: title, body and the humans' comments, sanitised and capped. */
export function buildIssueDescription(issue: IssueText, maxBytes = 60_000): string {
  const head = cut(`Issue #${issue.number}: ${oneLine(issue.title)}`, Math.floor(maxBytes / 8), '…');
  const body = sanitizeText(issue.body ?? '') || '(no description)';
  const comments = issue.comments
    .filter((c) => !c.isBot && !KODAH_MARKER.test(c.body) && parseCommand(c.body) === null)
    .map((c) => ({ author: oneLine(c.author) || 'unknown', body: sanitizeText(c.body) }))
    .filter((c) => c.body !== '')
    .map((c) => `@${c.author}:\n${c.body}`);
  const extra = sanitizeText(issue.extra ?? '');
  const extraTitle = 'Additional context from the maintainer:\n';

  const assemble = (bodyText: string, shown: string[], omitted: number, extraText: string) => {
    const omittedLine = omitted === 0 ? [] : [`[… ${omitted} ${shown.length ? 'earlier ' : ''}comment${omitted === 1 ? '' : 's'} omitted]`];
    const sections = [head, bodyText];
    if (shown.length || omitted) sections.push(`Comments:\n\n${[...omittedLine, ...shown].join('\n\n')}`);
    if (extraText) sections.push(extraTitle + extraText);
    return sections.join('\n\n');
  };

  const whole = assemble(body, comments, 0, extra);
  if (bytes(whole) <= maxBytes) return whole;

  // The maintainer's words after the command are the most pointed context there is: they stay,
  // up to a quarter of the budget.
  const extraText = extra ? cut(extra, Math.floor(maxBytes / 4) - bytes(extraTitle) - 2, '\n[… cut]') : '';
  // What every version of the text has: head, separators, section titles, the omitted line (its
  // count and "earlier" are in the slack).
  const frame = bytes(assemble('', [], comments.length ? 1 : 0, extraText)) + 32;
  const room = Math.max(0, maxBytes - frame);
  const allComments = comments.reduce((sum, c) => sum + bytes(c) + 2, 0);
  // Half the budget for title and body (and the blank lines after each), more when the comments
  // do not need their half.
  const bodyBudget = Math.min(room, Math.max(Math.floor(maxBytes / 2) - bytes(head) - 4, room - allComments));
  const bodyText = cut(body, bodyBudget, '\n[… description cut]');
  let left = room - bytes(bodyText);
  const shown: string[] = [];
  // Newest first: the latest comments are where a thread ends up (a reproduction, a narrowed cause).
  for (let i = comments.length - 1; i >= 0; i--) {
    const comment = comments[i]!;
    if (bytes(comment) + 2 <= left) {
      shown.unshift(comment);
      left -= bytes(comment) + 2;
      continue;
    }
    if (left - 2 >= MIN_PARTIAL_COMMENT) shown.unshift(cut(comment, left - 2, '\n[… comment cut]'));
    break;
  }
  const text = assemble(bodyText, shown, comments.length - shown.length, extraText);
  // The arithmetic above keeps to the budget; this only guards a budget too small for the frame.
  return firstBytes(text, maxBytes);
}
