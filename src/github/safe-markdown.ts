/**
 * Text from users or the model, made safe to put in Markdown that Kodah writes to GitHub: it
 * cannot break out of where it is put (fences and code spans are longer than any backtick run
 * inside them, raw HTML is escaped, link targets are checked), and @mentions are put in code
 * spans, so a comment of Kodah's never pings anyone, whatever an issue or a model says.
 */
import { sanitizeText } from './sanitize-text.js';

/** The longest run of backticks in the text (0 when it has none). */
export function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

/** A fence no line of the text can close: longer than any backtick run in it. */
export function fenceFor(text: string): string {
  return '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
}

/** At most `max` UTF-16 units, never ending between the two halves of a surrogate pair. */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max > 0 && (text.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max;
  return text.slice(0, Math.max(0, end));
}

/** Long enough for a file path; longer texts in a code span are cut. */
const MAX_SPAN = 200;

/** A one-line code span around any text (file names, ids): its delimiters outnumber its backticks. */
export function codeSpan(text: string, max = MAX_SPAN): string {
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
 * and every @mention (and @org/team) becomes a code span. Escaping the stray backticks is what
 * makes this safe: afterwards the spans GitHub sees are exactly the spans seen here, so no mention
 * that is plain text to GitHub can be mistaken for code and left alone.
 */
export function safeInline(line: string): string {
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

/** A table row's cells: GFM splits rows at every unescaped pipe, even inside a code span; so must we. */
export function tableCells(line: string): string[] {
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

/** An open fence: its character (backtick or tilde), its length, and how far it is indented. */
export interface Fence {
  char: string;
  length: number;
  indent: number;
}

const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/** The fence a line opens, or null for any other line. */
export function openingFence(line: string): Fence | null {
  const open = FENCE_OPEN.exec(line);
  // A backtick fence's info string cannot contain a backtick; such a line is a paragraph.
  if (!open || (open[2]![0] === '`' && open[3]!.includes('`'))) return null;
  return { char: open[2]![0]!, length: open[2]!.length, indent: open[1]!.length };
}

/** Whether a line inside `fence` closes it: the same character, at least as many, nothing after. */
export function closesFence(line: string, fence: Fence): boolean {
  const close = FENCE_CLOSE.exec(line);
  return !!close && close[1]![0] === fence.char && close[1]!.length >= fence.length;
}

/**
 * Sanitised Markdown from users or the model, safe to embed: fenced code blocks are kept whole
 * (and closed if left open, so they cannot swallow what follows), every other line goes through
 * safeInline. Where this reading and GitHub's could differ (lists, quotes), it errs towards
 * treating text as plain: a mention wrapped needlessly looks odd, one left bare pings someone.
 */
export function safeMarkdown(sanitized: string): string {
  const lines = sanitized.split('\n');
  const table = lines.some((l) => l.includes('|') && l.includes('-') && /^[\s|:-]+$/.test(l));
  const out: string[] = [];
  let fence: Fence | null = null;
  for (const line of lines) {
    if (fence) {
      // An indented fence may sit in a list item, which (and its code block) ends at the first
      // line indented less; the fence is taken to end there too, and the line read afresh.
      const outdented = fence.indent > 0 && line.trim() !== '' && /^ */.exec(line)![0].length < fence.indent;
      if (!outdented) {
        out.push(line);
        if (closesFence(line, fence)) fence = null;
        continue;
      }
    }
    fence = openingFence(line);
    if (fence) {
      out.push(line);
      continue;
    }
    out.push(table ? tableCells(line).map(safeInline).join('|') : safeInline(line));
  }
  if (fence) out.push(fence.char.repeat(fence.length));
  return out.join('\n');
}

/** User or model Markdown, sanitised, made safe and at most `maxChars` long once made safe. */
export function userMarkdown(text: string | null | undefined, maxChars: number): string {
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
export function safeInlineText(text: string, maxChars: number): string {
  const flat = sanitizeText(text).replace(/\s+/g, ' ');
  const out = safeInline(flat.length > maxChars ? `${cutChars(flat, maxChars - 1)}…` : flat);
  // A trailing backslash would escape whatever Kodah writes next.
  return out.endsWith('\\') ? `${out} ` : out;
}

/** An https link target GitHub gave us, or null: nothing in it can end the link early. */
export function safeUrl(url: string | null | undefined): string | null {
  return url && /^https:\/\/[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+$/.test(url) && url.length <= 2_000 ? url : null;
}
