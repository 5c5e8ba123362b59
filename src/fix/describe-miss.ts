/**
 * Why a SEARCH text was not found, told so the model can fix it in one go: the place in the file
 * that agrees with most of SEARCH, and the first line where the two part ways. Models usually miss
 * by one stale or misremembered line, and quoting it is what gets the next answer right.
 */
import { isBlank } from './match-lines.js';

const quote = (text: string) => `\`${text.length > 100 ? `${text.slice(0, 100)}…` : text}\``;

/** A sentence (or an empty string) pointing at the nearest near-match of SEARCH in the file. */
export function describeMiss(file: readonly string[], search: readonly string[]): string {
  const at = new Map<string, number[]>();
  file.forEach((text, i) => {
    const key = text.trim();
    if (!key) return;
    const list = at.get(key);
    if (list) list.push(i);
    else at.set(key, [i]);
  });
  // Each SEARCH line that occurs in the file votes for the start it implies.
  const votes = new Map<number, number>();
  let nonBlank = 0;
  search.forEach((s, j) => {
    if (isBlank(s)) return;
    nonBlank++;
    const hits = at.get(s.trim()) ?? [];
    // A line found all over the file (`}`, `return None`) says nothing about where SEARCH was meant.
    if (hits.length > 20) return;
    for (const i of hits) votes.set(i - j, (votes.get(i - j) ?? 0) + 1);
  });
  let best = -1;
  let bestVotes = 0;
  for (const [start, n] of votes) {
    if (n > bestVotes || (n === bestVotes && start < best)) [best, bestVotes] = [start, n];
  }
  if (bestVotes === 0 || bestVotes < nonBlank / 2) {
    return ' None of its lines are near each other in the file; check the file path and copy the lines from the current file.';
  }
  for (let j = 0; j < search.length; j++) {
    const i = best + j;
    const s = search[j]!;
    if (i < 0) continue;
    if (i >= file.length) return ` The closest place starts at line ${best + 1}, but SEARCH runs past the end of the file.`;
    if (s.trim() !== file[i]!.trim()) {
      return ` The closest place starts at line ${Math.max(best, 0) + 1}, where SEARCH line ${j + 1} ${quote(s)} differs from the file's line ${i + 1} ${quote(file[i]!)}; copy the current lines exactly.`;
    }
  }
  // Every line agrees once trimmed, so the difference is in indentation that is not uniform.
  return ` The closest place starts at line ${Math.max(best, 0) + 1}; its lines agree with SEARCH except for indentation that differs unevenly, so copy the indentation exactly.`;
}
