import type { RankedSnippet } from './rank-snippets.js';

/** The best snippets whose calls are followed. */
const CALLERS = 5;
/** A callee's gain: this share of its best caller's score, relative to the best snippet's. */
const CALLEE_SHARE = 0.3;
const CALL = /([A-Za-z_]\w*)\s*\(/g;

/**
 * Raises the functions the best snippets call in their own file, in place: the code a report
 * names often hands the work to a helper beside it, and the bug is there. Classes gain nothing
 * (a constructor call says little about which of their methods matters).
 */
export function boostCallees(ranked: RankedSnippet[]): void {
  const callers = [...ranked].sort((a, b) => b.score - a.score).slice(0, CALLERS);
  const top = callers[0]?.score || 1;
  const bonus = new Map<RankedSnippet, number>();
  for (const caller of callers) {
    const called = new Set<string>();
    for (const m of caller.text.matchAll(CALL)) if (m[1] !== caller.name) called.add(m[1]!);
    for (const s of ranked) {
      if (s === caller || s.path !== caller.path || s.kind === 'class' || !called.has(s.name)) continue;
      bonus.set(s, Math.max(bonus.get(s) ?? 0, (CALLEE_SHARE * caller.score) / top));
      const why = `called by ${caller.qualifiedName}`;
      if (!s.reasons.includes(why)) s.reasons.push(why);
    }
  }
  for (const [s, b] of bonus) s.score += b;
}
