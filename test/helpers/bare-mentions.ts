/**
 * A test model of GitHub's mentions, for the tests of the Markdown Kodah writes (safe-markdown,
 * render-comment, render-pull-request): what in a body would ping someone.
 */
/**
 * Text GitHub would turn into a mention: an @name outside code spans and fences, after a non-word
 * character. A small model of what the renderers must avoid; the cases below are built so that a
 * wrongly placed backtick would show up here.
 */
export function bareMentions(markdown: string): string[] {
  const found: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length && /^ {0,3}[`~]+\s*$/.test(line)) fence = null;
      continue;
    }
    if (f) {
      fence = f[1]!;
      continue;
    }
    // Left to right as CommonMark reads it: a backslash escapes outside code; a run of backticks
    // opens a span closed by the next run of the same length, where backslashes are literal.
    let plain = '';
    let i = 0;
    while (i < line.length) {
      if (line[i] === '\\' && i + 1 < line.length && /[!-/:-@[-`{-~]/.test(line[i + 1]!)) {
        plain += line[i + 1] === '`' ? "'" : line[i + 1];
        i += 2;
        continue;
      }
      if (line[i] !== '`') {
        plain += line[i++];
        continue;
      }
      const run = /^`+/.exec(line.slice(i))![0];
      const close = new RegExp(`(?<!\`)${run}(?!\`)`).exec(line.slice(i + run.length));
      if (close) {
        plain += ' ';
        i += run.length + close.index + run.length;
      } else {
        plain += run;
        i += run.length;
      }
    }
    for (const m of plain.matchAll(/(?:^|[^\w])@([A-Za-z0-9][A-Za-z0-9-]*)/g)) found.push(m[1]!);
  }
  return found;
}
