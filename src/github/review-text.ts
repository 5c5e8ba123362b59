/**
 * A pull request review as the job that revises the pull request reads it: the review's summary
 * and each inline comment with its file, lines and the end of its diff hunk. Anyone with write
 * access wrote it, and a hunk quotes the repository: everything is sanitised and bounded.
 */
import { firstBytes, lastBytes } from '../lib/utf8-slice.js';
import { fenceFor } from './safe-markdown.js';
import { sanitizeLine, sanitizeText } from './sanitize-text.js';

/** One inline comment of a review: where it is and what it says. */
export interface ReviewComment {
  path: string;
  /** The (last) line commented on, in the file as the pull request changes it; null when outdated. */
  line: number | null;
  /** The first line of a multi-line comment. */
  startLine: number | null;
  diffHunk: string | null;
  body: string;
}

/** A submitted review: its author, state, summary and inline comments. */
export interface Review {
  author: string;
  /** As GitHub gives it: `changes_requested`, `COMMENTED`… */
  state: string;
  body: string | null;
  comments: ReviewComment[];
}

const MAX_COMMENTS = 30;
const MAX_BODY_BYTES = 3_000;
/** The hunk ends at the commented line: its last lines are the context that matters. */
const MAX_HUNK_LINES = 12;
const MAX_HUNK_BYTES = 1_200;

const bytes = (text: string) => Buffer.byteLength(text);
const capped = (text: string, max: number) => (bytes(text) <= max ? text : `${firstBytes(text, max - 10)}\n[… cut]`);

function where(c: ReviewComment): string {
  const path = sanitizeLine(c.path, 300) || '(a file)';
  if (c.line === null) return `${path} (on an earlier version of the code)`;
  return c.startLine !== null && c.startLine < c.line ? `${path} lines ${c.startLine}–${c.line}` : `${path} line ${c.line}`;
}

function hunkTail(hunk: string | null): string {
  const lines = sanitizeText(hunk ?? '').split('\n');
  const tail = lastBytes(lines.slice(-MAX_HUNK_LINES).join('\n'), MAX_HUNK_BYTES);
  if (!tail.trim()) return '';
  const fence = fenceFor(tail);
  return `${fence}diff\n${tail}\n${fence}`;
}

/** The review as text for the model, at most `maxBytes`; inline comments that do not fit are counted, not cut. */
export function buildReviewText(review: Review, maxBytes = 20_000): string {
  const state = review.state.toLowerCase() === 'changes_requested' ? 'requests changes' : 'comments';
  const author = sanitizeLine(review.author, 100) || 'a reviewer';
  const body = capped(sanitizeText(review.body ?? ''), Math.min(MAX_BODY_BYTES * 2, Math.floor(maxBytes / 3)));
  const head = `A review by @${author} ${state}:\n\n${body || '(no summary; see the inline comments)'}`;
  const shown = review.comments.slice(0, MAX_COMMENTS);
  const parts = [head];
  let left = maxBytes - bytes(head) - 100;
  let omitted = review.comments.length - shown.length;
  for (const [i, c] of shown.entries()) {
    const part = [
      `Inline comment ${i + 1} of ${review.comments.length}, on ${where(c)}:`,
      hunkTail(c.diffHunk),
      capped(sanitizeText(c.body), MAX_BODY_BYTES) || '(empty)',
    ]
      .filter(Boolean)
      .join('\n');
    if (bytes(part) + 2 > left) {
      omitted += shown.length - i;
      break;
    }
    parts.push(part);
    left -= bytes(part) + 2;
  }
  if (omitted > 0) parts.push(`[… ${omitted} more inline comment${omitted === 1 ? '' : 's'} left out]`);
  return firstBytes(parts.join('\n\n'), maxBytes);
}
