/**
 * Cuts the part of a GitHub Actions job log that explains a failure. A job log runs to megabytes
 * of setup, dependency installs and cleanup; the failure is just before the runner's `##[error]`
 * line (`Process completed with exit code 1.`), which is followed only by post-job cleanup. So the
 * window ends a little after the last error and reaches back from there.
 */

import { lastBytes } from '../lib/utf8-slice.js';

export interface LogTailOptions {
  /** Lines kept at most; 150 by default. */
  maxLines?: number;
  /** UTF-8 bytes kept at most, counted from the end; 12,000 by default. */
  maxBytes?: number;
}

const DEFAULT_MAX_LINES = 150;
const DEFAULT_MAX_BYTES = 12_000;
/** Lines kept after the last error: what the failing command printed as it went down. */
const LINES_AFTER_ERROR = 5;

/** The runner's timestamp on every line: `2024-01-15T10:20:30.1234567Z `. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/;
/**
 * Terminal escapes: CSI (colours, cursor), OSC (titles, links; up to BEL or ST, or the next escape)
 * and two-character escapes, then any stray ESC. No part can backtrack past the next ESC.
 */
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x1b/g;
/** Workflow markers the log viewer turns into folds and coloured lines. */
const MARKER = /^##\[([a-z]+)\]/;
const LABELS: Record<string, string> = { error: 'Error: ', warning: 'Warning: ', notice: 'Notice: ', debug: 'Debug: ' };

interface Line {
  text: string;
  error: boolean;
}

function cleanLine(raw: string): Line | null {
  const text = raw.replace(TIMESTAMP, '').replace(ANSI, '');
  const marker = MARKER.exec(text);
  if (!marker) return { text, error: false };
  const kind = marker[1]!;
  if (kind === 'endgroup') return null;
  return { text: (LABELS[kind] ?? '') + text.slice(marker[0].length), error: kind === 'error' };
}

/** The lines of a job log that explain its failure, cleaned of timestamps, colours and markers. */
export function logTail(log: string, options: LogTailOptions = {}): string {
  const maxLines = Math.max(1, options.maxLines ?? DEFAULT_MAX_LINES);
  const maxBytes = Math.max(0, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const lines: Line[] = [];
  for (const raw of log.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = cleanLine(raw);
    if (line) lines.push(line);
  }
  let lastError = -1;
  for (let i = lines.length - 1; i >= 0 && lastError < 0; i--) if (lines[i]!.error) lastError = i;
  const end = lastError >= 0 ? Math.min(lines.length, lastError + 1 + LINES_AFTER_ERROR) : lines.length;
  const window = lines.slice(Math.max(0, end - maxLines), end).map((line) => line.text);
  const text = window
    .join('\n')
    .replace(/^\s*\n/, '')
    .trimEnd();
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const tail = lastBytes(text, maxBytes);
  // Start on a whole line, unless the last line alone is over the limit.
  const newline = tail.indexOf('\n');
  return newline >= 0 && newline < tail.length - 1 ? tail.slice(newline + 1) : tail;
}
