import { KodahError } from '../lib/errors.js';

/** Marker keys go inside an HTML comment: no spaces, no `>`, no `--` that could end it early. */
const MARKER_KEY = /^[A-Za-z0-9_.:/#-]+$/;

/**
 * The hidden line that identifies a body Kodah wrote: `<!-- kodah:<key> -->`. Every body starts
 * with one, so Kodah can find (and edit) its own comment again instead of adding a second.
 */
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
