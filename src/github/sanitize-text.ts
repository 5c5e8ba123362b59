/**
 * Cleans text people wrote on GitHub (issues, comments) before a language model reads it. What a
 * maintainer sees rendered and what the model reads should be the same words: HTML comments and
 * invisible characters are how instructions get hidden from the one and shown to the other.
 * Everything here is a single pass over the text (or a plain `indexOf` walk), so a hostile
 * megabyte costs milliseconds; no regular expression here can backtrack.
 */

/**
 * Characters that render as nothing or reorder what is shown: zero-width and joiners, bidi
 * embeddings, overrides and isolates, word joiner and invisible operators (U+2060–U+206F, with
 * the deprecated format controls), BOM, soft hyphen, variation selectors, Unicode tag characters
 * (U+E0000–U+E007F, "ASCII smuggling"), and C0/C1 controls other than \n and \t.
 */
const HIDDEN =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFE00-\uFE0F\uFEFF\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;

/** At most two blank lines in a row: more carry nothing and can push text out of a reader's view. */
const MAX_BLANK_LINES = 2;

function removeHtmlComments(text: string): string {
  const start = text.indexOf('<!--');
  if (start < 0) return text;
  const kept: string[] = [];
  let from = 0;
  let open = start;
  while (open >= 0) {
    kept.push(text.slice(from, open));
    // From open + 2 so that `<!-->` and `<!--->`, which HTML also ends right there, are found.
    const close = text.indexOf('-->', open + 2);
    // An unterminated comment hides the rest of the page from the reader, so the model loses it too.
    if (close < 0) return kept.join('');
    from = close + 3;
    open = text.indexOf('<!--', from);
  }
  kept.push(text.slice(from));
  return kept.join('');
}

function collapseBlankLines(text: string): string {
  const out: string[] = [];
  let blanks = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (++blanks <= MAX_BLANK_LINES) out.push('');
    } else {
      blanks = 0;
      out.push(line);
    }
  }
  return out.join('\n');
}

/** Text from GitHub without HTML comments, hidden characters or runs of blank lines, trimmed. */
export function sanitizeText(text: string): string {
  let out = text.replace(/\r\n?/g, '\n');
  // Comments first, as GitHub sees them: a zero-width space inside `-->` must not end one early.
  out = removeHtmlComments(out);
  out = out.replace(/[\u2028\u2029]/g, '\n').replace(HIDDEN, '');
  // Again, for `<!\u200B--` that became a comment once the invisible character was gone: no
  // comment survives, so nothing downstream (markers in Kodah's own comments) can be spoofed.
  out = removeHtmlComments(out);
  return collapseBlankLines(out).trim();
}

/** A value read back from storage (any type) as one sanitised line of at most `max` characters; a cut one ends in `…`. */
export function sanitizeLine(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  const flat = sanitizeText(text).replace(/\s+/g, ' ');
  if (flat.length <= max) return flat;
  // Never end between the two halves of a surrogate pair.
  const end = (flat.charCodeAt(max - 2) & 0xfc00) === 0xd800 ? max - 2 : max - 1;
  return `${flat.slice(0, Math.max(0, end))}…`;
}
