/**
 * Screenshots of the dashboard and a job page for the README, taken in headless Chromium against a
 * seeded PGlite server: docs/dashboard.png and docs/job-page.png.
 *
 *   npm run screenshots
 */
import path from 'node:path';
import type { FixResult } from '../src/jobs/fix-engine.js';
import { signInContext, startDashboardFixture } from '../test/helpers/dashboard-fixture.js';

const DOCS = path.join(import.meta.dirname, '..', 'docs');

const result: FixResult = {
  diff: [
    'diff --git a/src/parse_date.py b/src/parse_date.py',
    '--- a/src/parse_date.py',
    '+++ b/src/parse_date.py',
    '@@ -10,7 +10,9 @@ def parse_date(text: str) -> date:',
    '     """Parses YYYY-MM-DD; raises ValueError on anything else."""',
    '-    year, month, day = text.split("-")',
    '+    parts = text.strip().split("-")',
    '+    if len(parts) != 3:',
    '+        raise ValueError(f"not a date: {text!r}")',
    '+    year, month, day = parts',
    '     return date(int(year), int(month), int(day))',
    ' ',
    ' ',
    '',
  ].join('\n'),
  explanation:
    'parse_date unpacked the split without checking its length, so " 2024-01-02\\n" from the CSV reader raised an unhelpful ' +
    'error. It now strips the text and says which value is not a date.',
  filesChanged: ['src/parse_date.py'],
  usage: { promptTokens: 18234, completionTokens: 1422, costUsd: 0.0615 },
  checks: [
    { name: 'diff_policy', outcome: 'passed' },
    { name: 'syntax', outcome: 'passed' },
    { name: 'tests', outcome: 'passed' },
  ],
  attempts: 4,
  mode: 'agent',
  steps: [
    { n: 1, candidate: 1, tool: 'search_code', target: 'parse_date split', outcome: '4 results', ok: true, seconds: 0.1 },
    { n: 2, candidate: 1, tool: 'read_file', target: 'src/parse_date.py:1-40', outcome: '40 lines', ok: true, seconds: 0.0 },
    { n: 3, candidate: 1, tool: 'edit', target: 'src/parse_date.py', outcome: 'applied', ok: true, seconds: 0.0 },
    { n: 4, candidate: 1, tool: 'run', target: 'python -m pytest -q', outcome: 'exit 0 (1.9 s)', ok: true, seconds: 1.9 },
  ],
  tests: {
    before: { command: 'python -m pytest -q', exitCode: 1, failed: ['tests/test_dates.py::test_padded'], passed: 41, seconds: 1.8 },
    after: { command: 'python -m pytest -q', exitCode: 0, failed: [], passed: 42, seconds: 1.9 },
  },
};

const fx = await startDashboardFixture('pglite');
try {
  const user = fx.newUser('octocat');
  const { page } = await signInContext(fx, user.login);
  await page.setViewportSize({ width: 1280, height: 900 });
  const accountId = await fx.accountOf(user.login);
  await fx.grant(accountId, 2000);
  const done = await fx.completedJob(accountId, result, {
    repo: 'https://github.com/octocat/calendar',
    description: 'parse_date crashes with "not enough values to unpack" on dates read from the CSV export',
    outputTail: '..........................................\n42 passed in 1.86s',
  });
  await fx.runningJob(accountId, {
    repo: 'https://github.com/octocat/calendar',
    description: 'Timezone offset is lost when saving events',
  });
  await page.goto(`${fx.base}/dashboard.html`);
  await page.screenshot({ path: path.join(DOCS, 'dashboard.png'), fullPage: true });
  await page.goto(`${fx.base}/jobs/${done}.html`);
  await page.waitForSelector('.d2h-file-wrapper');
  await page.screenshot({ path: path.join(DOCS, 'job-page.png'), fullPage: true });
  console.log('wrote docs/dashboard.png and docs/job-page.png');
} finally {
  await fx.close();
}
