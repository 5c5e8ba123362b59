/** The lines a snippet covers (1-based, inclusive) out of its blob's content. */
export function snippetText(content: string, startLine: number, endLine: number): string {
  let start = 0;
  for (let line = 1; line < startLine && start >= 0; line++) start = content.indexOf('\n', start) + 1 || -1;
  if (start < 0) return '';
  let end = start;
  for (let line = startLine; line <= endLine; line++) {
    const next = content.indexOf('\n', end);
    if (next < 0) return content.slice(start);
    end = next + 1;
  }
  return content.slice(start, end - 1);
}
