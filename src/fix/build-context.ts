import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Localization } from '../localize/localize.js';
import { estimateTokens } from '../llm/count-tokens.js';

export interface CodeContext {
  /** Markdown: one section per file, numbered lines in fences. */
  text: string;
  /** The files shown, best first. */
  files: string[];
  tokens: number;
}

/** A file this short is shown whole: the model sees imports, helpers and callers together. */
const WHOLE_FILE_LINES = 400;
/** Lines shown around a snippet, so an edit's SEARCH has context to be unique. */
const MARGIN = 3;
const MAX_FILES = 8;

function fenced(file: string, lines: string[], ranges: Array<[number, number]>, total: number, reasons: string[]): string {
  const language = path.extname(file).slice(1) || 'text';
  const width = String(total).length;
  const parts = ranges.map(([start, end]) => {
    const body = lines.slice(start - 1, end).map((line, i) => `${String(start + i).padStart(width)} | ${line}`);
    const gap = start > 1 ? `${' '.repeat(width)} | …\n` : '';
    return `${gap}${body.join('\n')}${end < total ? `\n${' '.repeat(width)} | …` : ''}`;
  });
  const shown =
    ranges.length === 1 && ranges[0]![0] === 1 && ranges[0]![1] === total
      ? `all ${total} lines`
      : `lines ${ranges.map(([a, b]) => `${a}-${b}`).join(', ')} of ${total}`;
  const why = reasons.length ? `\nWhy: ${reasons.slice(0, 3).join('; ')}` : '';
  return `### ${file} (${shown})${why}\n\`\`\`${language}\n${parts.join('\n')}\n\`\`\``;
}

/** Sorted, merged ranges. */
function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * Packs the localized code into a token budget, best file first: short files whole, longer ones
 * as their ranked functions and classes with a few lines around, always with line numbers (the
 * model cites them; they are never part of an edit).
 */
export async function buildContext(worktree: string, localized: Localization, budgetTokens: number): Promise<CodeContext> {
  const sections: string[] = [];
  const files: string[] = [];
  let tokens = 0;
  for (const file of localized.files.slice(0, MAX_FILES)) {
    const content = await readFile(path.join(worktree, file.path), 'utf8').catch(() => null);
    if (content === null || content.includes('\0')) continue;
    const lines = content.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const snippets = localized.snippets.filter((s) => s.path === file.path);
    const candidates: Array<Array<[number, number]>> = [];
    if (lines.length <= WHOLE_FILE_LINES) candidates.push([[1, lines.length]]);
    if (snippets.length) {
      candidates.push(merge(snippets.map((s) => [Math.max(1, s.startLine - MARGIN), Math.min(lines.length, s.endLine + MARGIN)])));
      // The best snippet alone, when all of them do not fit.
      candidates.push(
        merge(snippets.slice(0, 1).map((s) => [Math.max(1, s.startLine - MARGIN), Math.min(lines.length, s.endLine + MARGIN)])),
      );
    } else if (lines.length > WHOLE_FILE_LINES) {
      candidates.push([[1, Math.min(lines.length, 120)]]);
    }
    for (const ranges of candidates) {
      const section = fenced(file.path, lines, ranges, lines.length, file.reasons);
      const cost = estimateTokens(section);
      if (tokens + cost > budgetTokens) continue;
      sections.push(section);
      files.push(file.path);
      tokens += cost;
      break;
    }
    if (tokens >= budgetTokens * 0.95) break;
  }
  return { text: sections.join('\n\n'), files, tokens };
}
