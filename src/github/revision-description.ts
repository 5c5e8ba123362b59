/**
 * The description of a job that revises Kodah's own pull request: the bug as first described,
 * what the maintainer asks now (a `/kodah fix` comment or a review), and the earlier transcript
 * summary (what the previous fix did). The ask is the point of the job, so it keeps its share when
 * the whole is too long; the original description gives way first.
 */
import type { FixResult } from '../jobs/fix-engine.js';
import { firstBytes } from '../lib/utf8-slice.js';
import { sanitizeLine, sanitizeText } from './sanitize-text.js';
import { transcriptSummary } from './transcript-summary.js';

/** What a revision's description is made of. */
export interface RevisionText {
  /** The description of the job that opened the pull request (the bug). */
  original: string;
  prNumber: number;
  branch: string;
  /** What the maintainer asks for; empty when they said nothing more. */
  request: string;
  /** The pull request's newest job: its fix is the code being revised. */
  previous: { jobId: string; result: Pick<FixResult, 'explanation' | 'steps'> | null } | null;
}

const bytes = (text: string) => Buffer.byteLength(text);
const MAX_SUMMARY_BYTES = 12_000;

/** The job description for a revision, at most `maxBytes` UTF-8 bytes. */
export function buildRevisionDescription(v: RevisionText, maxBytes = 60_000): string {
  const intro = `Kodah's pull request #${v.prNumber} (branch ${sanitizeLine(v.branch, 200)}) already holds a fix for this: it is the code you are working on. A maintainer asks to revise it:`;
  let request = sanitizeText(v.request) || '(no details given: review the fix and correct what is wrong or incomplete)';
  const requestRoom = Math.floor(maxBytes / 3);
  if (bytes(request) > requestRoom) request = `${firstBytes(request, requestRoom - 10)}\n[… cut]`;
  const summary = v.previous ? transcriptSummary(v.previous.result, Math.min(MAX_SUMMARY_BYTES, Math.floor(maxBytes / 5))) : '';
  const earlier = summary
    ? `The earlier transcript summary (job ${sanitizeLine(v.previous!.jobId, 60)}, the fix now on the branch; its words, not the maintainer's):\n\n${summary}`
    : '';
  const rest = [intro, request, earlier].filter(Boolean).join('\n\n');
  const originalRoom = maxBytes - bytes(rest) - 2;
  let original = sanitizeText(v.original);
  if (bytes(original) > originalRoom) original = `${firstBytes(original, Math.max(0, originalRoom - 30))}\n[… description cut]`;
  return firstBytes([original, rest].filter(Boolean).join('\n\n'), maxBytes);
}
