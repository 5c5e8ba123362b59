import { describe, expect, it } from 'vitest';
import { describeMiss } from '../src/fix/describe-miss.js';
import { parseEdits } from '../src/fix/parse-edits.js';
import { failedTests, namedTests, passedCount, whyTestsCannotRun } from '../src/fix/test-outcomes.js';
import { logTail } from '../src/github/log-tail.js';
import { parseCommand } from '../src/github/parse-command.js';
import { safeInlineText, tableCells, userMarkdown } from '../src/github/safe-markdown.js';
import { sanitizeText } from '../src/github/sanitize-text.js';
import { globMatcher } from '../src/lib/glob.js';
import { fileFacts } from '../src/localize/file-facts.js';
import { messageFragments } from '../src/localize/message-fragments.js';
import { readReport } from '../src/localize/report-signals.js';

/**
 * Every reader of text a user, a repository or a model controls, over 64 KB (the API's largest
 * report) built the ways regular expressions backtrack on: long runs of one character or of a
 * short pattern, with and without a line break or a stray character after. Each reader runs in a
 * worker's thread (in `kodah start`, the API's too), so a slow one stops everything; five of them
 * took 3.5–10 s on one of these before they were rewritten. The watchdog is the test's timeout.
 */
const N = 64_000;
const RUNS = [
  'a',
  ' ',
  '\n',
  ' \n',
  '\t',
  '_',
  '`',
  '*',
  '<',
  '>',
  '|',
  '[',
  '(',
  '=',
  '#',
  '-',
  '~',
  '\\',
  '"',
  '&',
  'a.',
  'a/',
  'a:',
  'a. ',
  '::',
  'FAILED ',
  '\u001b[',
  '@a-',
  '/kodah ',
  'Error: ',
  'tests/test_a.py::',
  'http://',
  '<<<<<<< SEARCH\n',
  'from a import ',
  'from a import (\n',
  'func (\n',
];
const TEXTS = RUNS.flatMap((run) => {
  const body = run.repeat(Math.floor(N / run.length));
  return [body, `${body}!`, `x ${body}\n`];
});

const READERS: Record<string, (text: string) => unknown> = {
  readReport,
  messageFragments,
  namedTests,
  failedTests,
  passedCount,
  whyTestsCannotRun: (text) => whyTestsCannotRun('pytest', { exitCode: 1, outputTail: text }),
  parseEdits,
  describeMiss: (text) => describeMiss(text.split('\n'), ['x', 'y']),
  parseCommand,
  sanitizeText,
  logTail,
  userMarkdown: (text) => userMarkdown(text, 60_000),
  safeInlineText: (text) => safeInlineText(text, 60_000),
  tableCells,
  glob: (text) => globMatcher(`*${text.slice(0, 400)}*b`)(text),
  // A repository's files; its own test reads them at the megabyte the localizer allows.
  fileFacts,
};

describe('readers of hostile text', () => {
  it.each(Object.keys(READERS))(
    '%s reads each 64 KB text in milliseconds',
    (name) => {
      for (const text of TEXTS) expect(() => READERS[name]!(text)).not.toThrow(RangeError);
    },
    10_000,
  );
});
