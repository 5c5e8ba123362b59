import { codeSpan, safeInlineText } from './safe-markdown.js';

/** One check of a fix (diff policy, syntax, tests) and how it went, as comments and pull requests list it. */
export interface CheckLine {
  name: 'diff_policy' | 'syntax' | 'tests';
  outcome: 'passed' | 'failed' | 'skipped' | 'timeout';
  detail?: string;
}

/** The model's explanation of a fix is shown up to this many characters. */
export const MAX_EXPLANATION = 12_000;
const MAX_FILES_LISTED = 50;
const MAX_DETAIL = 300;
const MAX_CHECKS = 10;

const CHECK_NAMES: Record<string, string> = { diff_policy: 'Diff policy', syntax: 'Syntax', tests: 'Tests' };
const OUTCOMES: Record<string, [string, string]> = {
  passed: ['✅', 'passed'],
  failed: ['❌', 'failed'],
  skipped: ['⏭️', 'skipped'],
  timeout: ['⏱️', 'timed out'],
};

/** The checks as a Markdown list, one line each with an icon; details made safe and capped. */
export function checkList(checks: CheckLine[]): string {
  return checks
    .slice(0, MAX_CHECKS)
    .map((check) => {
      const [icon, said] = OUTCOMES[check.outcome] ?? ['•', safeInlineText(String(check.outcome), 40)];
      const name = CHECK_NAMES[check.name] ?? safeInlineText(String(check.name), 40);
      const detail = check.detail ? safeInlineText(check.detail, MAX_DETAIL) : '';
      return `- ${icon} ${name} ${said}${detail ? `: ${detail}` : ''}`;
    })
    .join('\n');
}

/** The changed files as a Markdown list of code spans, the first fifty and how many more. */
export function fileList(files: string[]): string {
  const lines = files.slice(0, MAX_FILES_LISTED).map((file) => `- ${codeSpan(file)}`);
  if (files.length > MAX_FILES_LISTED) lines.push(`- … and ${files.length - MAX_FILES_LISTED} more`);
  return lines.join('\n');
}

/** The parts that are there, as paragraphs. */
export function paragraphs(parts: Array<string | null | undefined | false>): string {
  return parts.filter((part): part is string => !!part).join('\n\n');
}
