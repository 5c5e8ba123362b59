import { randomUUID } from 'node:crypto';
import { type Browser, chromium } from 'playwright-core';
import { addCredits } from '../../src/billing/credits.js';
import type { FixResult } from '../../src/jobs/fix-engine.js';
import { claimJob, completeJob, recordCommand, recordStep, reportStage } from '../../src/jobs/job-lifecycle.js';
import { monthOf } from '../../src/lib/clock.js';
import { FAKE_GITHUB_USER_COOKIE, type FakeGitHub } from './fake-github.js';
import type { GitHttpServer } from './git-http-server.js';
import { startSignInApp } from './sign-in-app.js';
import type { TestApp } from './test-app.js';
import type { DatabaseKind } from './test-database.js';

/** Debian's Chromium (apt-get install chromium); .ci/run installs it when missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Text that would run as script if any page or diff2html put it in the page as markup. */
export const HOSTILE = {
  script: '<script>window.pwned=1</script>',
  attribute: '"><img src=x onerror="window.pwned=2">',
  link: '[click me](javascript:alert(1)) javascript:alert(1)',
};

/** A completed fix whose every shown field carries the hostile text; `lines` changed lines in its diff. */
export function hostileResult(lines = 3): FixResult {
  const body = Array.from({ length: lines }, (_, i) => `-const v${i} = 1; // ${HOSTILE.script}\n+const v${i} = 2; // ${HOSTILE.attribute}`);
  const diff =
    `diff --git a/src/app.js b/src/app.js\n--- a/src/app.js\n+++ b/src/app.js\n@@ -1,${lines} +1,${lines} @@\n` + `${body.join('\n')}\n`;
  return {
    diff,
    explanation: `The bug was ${HOSTILE.script} and ${HOSTILE.attribute}; see ${HOSTILE.link}`,
    filesChanged: ['src/app.js'],
    usage: { promptTokens: 1234, completionTokens: 567, costUsd: 0.0123 },
    checks: [
      { name: 'diff_policy', outcome: 'passed' },
      { name: 'tests', outcome: 'passed', detail: HOSTILE.attribute },
    ],
    attempts: 2,
    mode: 'agent',
    steps: [
      { n: 1, candidate: 1, tool: 'search_code', target: HOSTILE.script, outcome: '7 results', ok: true, seconds: 0.2 },
      { n: 2, candidate: 1, tool: 'edit', target: 'src/app.js', outcome: HOSTILE.attribute, ok: true, seconds: 0.1 },
      { n: 3, candidate: 1, tool: 'run', target: 'npm test', outcome: 'exit 0 (1.2 s)', ok: true, seconds: 1.2 },
    ],
    tests: {
      before: { command: 'npm test', exitCode: 1, failed: [`test/app.test.js::${HOSTILE.script}`], passed: 11, seconds: 2.1 },
      after: { command: 'npm test', exitCode: 0, failed: [], passed: 12, seconds: 2.3 },
    },
    candidates: { tried: 2, winner: 1, why: `smaller diff ${HOSTILE.link}` },
  };
}

export interface JobOptions {
  source?: string;
  repo?: string;
  description?: string;
  /** The end of the test command's output; hostile text by default. */
  outputTail?: string;
}

export interface DashboardFixture {
  app: TestApp;
  github: FakeGitHub;
  git: GitHttpServer;
  base: string;
  browser: Browser;
  /** A GitHub user who may sign in; the browser context's fake-GitHub cookie names them. */
  newUser(login: string): { id: number; login: string };
  accountOf(login: string): Promise<string>;
  /** A job row in the account, queued (state via the lifecycle functions afterwards). */
  insertJob(accountId: string, options?: JobOptions): Promise<string>;
  /** A job that ran and completed with `result`, its credit debited from the free pool. */
  completedJob(accountId: string, result: FixResult, options?: JobOptions): Promise<string>;
  /** A job that is running (stage `explore`); finish it with `finish`. */
  runningJob(accountId: string, options?: JobOptions): Promise<string>;
  finish(jobId: string, result: FixResult): Promise<void>;
  grant(accountId: string, cents: number): Promise<void>;
  close(): Promise<void>;
}

/** Kodah with GitHub sign-in against the fake GitHub, and a headless Chromium. */
export async function startDashboardFixture(
  kind: DatabaseKind = 'pglite',
  env: Record<string, string> = {},
  options: { workers?: boolean } = {},
): Promise<DashboardFixture> {
  const { git, github, app, base } = await startSignInApp(kind, env, options);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const db = app.kodah.db;
  const insertJob: DashboardFixture['insertJob'] = async (accountId, options = {}) => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO jobs (id, account_id, task, repo_url, ref, description, visibility, source, state)
       VALUES ($1, $2, 'fix', $3, 'main', $4, 'public', $5, 'queued')`,
      [
        id,
        accountId,
        options.repo ?? 'https://github.com/acme/widgets',
        options.description ?? `Crashes on start ${HOSTILE.script}`,
        options.source ?? 'api',
      ],
    );
    await db.query(`INSERT INTO ledger (account_id, job_id, kind, pool, amount, period) VALUES ($1, $2, 'debit', 'free', -1, $3)`, [
      accountId,
      id,
      monthOf(new Date()),
    ]);
    return id;
  };
  const runningJob = async (accountId: string, options: JobOptions = {}) => {
    const id = await insertJob(accountId, { source: 'github', ...options });
    await claimJob(db, id, 1);
    await reportStage(db, id, 1, 'explore', 40);
    return id;
  };
  const finish = async (jobId: string, result: FixResult) => {
    await completeJob(db, jobId, 1, result);
  };
  return {
    app,
    github,
    git,
    base,
    browser,
    newUser: (login) => github.addOAuthUser({ login, email: `${login}@example.com` }),
    async accountOf(login) {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM accounts WHERE github_login = $1', [login]);
      return rows[0]!.id;
    },
    insertJob,
    runningJob,
    finish,
    async completedJob(accountId, result, options = {}) {
      const id = await runningJob(accountId, options);
      await recordCommand(db, id, 1, {
        phase: 'tests',
        command: 'npm test',
        sandbox: 'bubblewrap',
        exitCode: 0,
        limit: null,
        seconds: 1.5,
        outputTail: options.outputTail ?? `ok 1 ${HOSTILE.script}\n${HOSTILE.attribute}`,
      });
      for (const step of result.steps ?? []) await recordStep(db, id, 1, step);
      await finish(id, result);
      return id;
    },
    grant: (accountId, cents) => db.transaction((tx) => addCredits(tx, accountId, cents, 'grant')),
    async close() {
      await browser.close();
      await app.stop();
      await github.close();
      await git.close();
    },
  };
}

/** Signs `login` in through /login → the fake GitHub's authorize redirect → the callback, in a new context. */
export async function signInContext(fixture: DashboardFixture, login: string) {
  const context = await fixture.browser.newContext();
  await context.addCookies([{ name: FAKE_GITHUB_USER_COOKIE, value: login, url: fixture.github.webUrl }]);
  const page = await context.newPage();
  const response = await page.goto(`${fixture.base}/login`);
  return { context, page, firstPage: response ? await response.text() : '' };
}
