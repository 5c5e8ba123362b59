/**
 * The fixed words of the error messages a report quotes ("ValueError: cannot reshape array of
 * size 6 into shape (4,)" → "cannot reshape array of size", "into shape"): the code that raises
 * a message holds those words in a string, whatever values were formatted into it.
 */

// "SomeError: message" lines, as tracebacks and logs print them. Blanks, not \s: from every line
// start \s* ran over all the empty lines below it (64 KB of them: 10 s).
const MESSAGE = /^[ \t]*(?:[\w.]+\.)?\w*(?:Error|Exception|Warning|Exit)\w*:[ \t]*(.+)$/gm;
// What varies between runs: quoted values, numbers, brackets, paths.
const VARIABLE = /'[^']*'|"[^"]*"|`[^`]*`|\S*[\\/]\S*|\d[\w.]*|[()[\]{}<>,:;=]/;
const MIN_CHARS = 12;

/** The fragments, longest first, at most a few per report. */
export function messageFragments(text: string): string[] {
  const fragments = new Set<string>();
  for (const m of text.matchAll(MESSAGE)) {
    for (const part of m[1]!.split(VARIABLE)) {
      const fragment = part?.trim().replace(/\s+/g, ' ');
      if (fragment && fragment.length >= MIN_CHARS && /\s/.test(fragment)) fragments.add(fragment);
    }
  }
  return [...fragments].sort((a, b) => b.length - a.length).slice(0, 8);
}
