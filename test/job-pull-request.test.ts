import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/billing/api-keys.js';
import { deliverJobPullRequest, jobBranch } from '../src/github/deliver-job-pull-request.js';
import { GitHubApi } from '../src/github/github-api.js';
import { recordInstallation } from '../src/github/installations.js';
import { CALLBACK_QUEUE } from '../src/jobs/delivery-queues.js';
import type { FixEngine } from '../src/jobs/fix-engine.js';
import { createLogger } from '../src/lib/logger.js';
import { type CallbackReceiver, startCallbackReceiver } from './helpers/callback-receiver.js';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const OWNER = { login: 'octo-org', id: 5001, type: 'Organization' as const };
const INSTALLATION = 1001;
const WIDGETS = { owner: 'octo-org', name: 'widgets', id: 9001 };
const GADGETS = { owner: 'octo-org', name: 'gadgets', id: 9002 };
const PROCESSOR = 'def calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n';
const DIFF = `diff --git a/shop/processor.py b/shop/processor.py
--- a/shop/processor.py
+++ b/shop/processor.py
@@ -1,5 +1,5 @@
 def calculate_total(items):
     total = 0
     for item in items:
-        total += item["price"]
+        total += float(item["price"])
     return total
`;

describe.each(databaseKinds)('REST jobs delivered as draft pull requests on %s', (kind) => {
  let git: GitHttpServer;
  let github: FakeGitHub;
  let receiver: CallbackReceiver;
  let app: TestApp;
  let ownerKey: string;
  const engine: FixEngine = {
    async fix() {
      return {
        diff: DIFF,
        explanation: 'Prices can arrive as strings, so convert each one to a number.',
        filesChanged: ['shop/processor.py'],
        checks: [{ name: 'tests', outcome: 'passed' }],
      };
    },
  };

  beforeAll(async () => {
    git = await startGitHttpServer();
    github = await startFakeGitHub({ git });
    receiver = await startCallbackReceiver();
    for (const repo of [WIDGETS, GADGETS]) {
      git.createRepo(`${repo.owner}/${repo.name}`, { 'shop/__init__.py': '', 'shop/processor.py': PROCESSOR });
      github.addRepo({ ...repo, ownerId: OWNER.id, ownerType: OWNER.type });
    }
    git.git('octo-org/widgets', 'tag', 'v1.0', 'main');
    // The App is installed on widgets only.
    github.addInstallation({ id: INSTALLATION, account: OWNER, repositoryIds: [WIDGETS.id] });
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    app = await startTestApp(kind, {
      engine,
      env: {
        APP_ID: '424242',
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: 'webhook-secret-for-tests',
        GITHUB_API_URL: github.url,
        GITHUB_URL: new URL(git.url('octo-org/widgets')).origin,
        KODAH_GITHUB_WRITE_INTERVAL_MS: '0',
        KODAH_JOB_RETRIES: '0',
      },
    });
    const accountId = await app.kodah.db.transaction((tx) =>
      recordInstallation(tx, { id: INSTALLATION, account: OWNER }, [{ id: WIDGETS.id, full_name: 'octo-org/widgets', private: false }]),
    );
    ownerKey = await createApiKey(app.kodah.db, accountId);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
    await github?.close();
    await git?.close();
  });

  const job = (repo: typeof WIDGETS, over: Record<string, unknown> = {}) => ({
    repo_url: git.url(`${repo.owner}/${repo.name}`),
    task: 'fix',
    description: 'TypeError in calculate_total when a price is a string\n\nSeen with the CSV import.',
    deliver: 'pull_request',
    ...over,
  });

  it('a succeeded job pushes kodah/fix-<job> and opens a draft pull request; the result and the callback carry its URL', async () => {
    const submitted = await app.api(ownerKey, 'POST', '/jobs', job(WIDGETS, { callback_url: `${receiver.url}/hooks/pr` }));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const jobId: string = submitted.body.job_id;
    // The callback goes once the pull request is open, and carries it.
    const [delivery] = await receiver.waitFor('/hooks/pr', 1, 60_000);
    const body = JSON.parse(delivery!.body);
    const branch = jobBranch(jobId);
    const pulls = github.pulls(WIDGETS.owner, WIDGETS.name).filter((p) => p.head.ref === branch);
    expect(pulls).toHaveLength(1);
    const pr = pulls[0]!;
    expect(pr).toMatchObject({ draft: true, base: { ref: 'main' }, title: 'Fix: TypeError in calculate_total when a price is a string' });
    expect(pr.body).toContain('Prices can arrive as strings');
    expect(pr.body).toContain(jobId);
    expect(body).toMatchObject({ job_id: jobId, state: 'completed', deliver: 'pull_request', pull_request_error: null });
    expect(body.pull_request_url).toMatch(new RegExp(`/octo-org/widgets/pull/${pr.number}$`));
    const result = await app.api(ownerKey, 'GET', `/jobs/${jobId}`);
    expect(result.body).toMatchObject({ deliver: 'pull_request', pull_request_url: body.pull_request_url, diff: DIFF });
    // The branch holds the fix, one commit on top of the job's commit.
    expect(git.git('octo-org/widgets', 'show', `${branch}:shop/processor.py`)).toContain('total += float(item["price"])');
    expect(git.git('octo-org/widgets', 'rev-parse', `${branch}^`)).toBe(result.body.commit_sha);

    // A retried delivery (as after a crash before its record was written) finds the branch and the
    // pull request it made, and queues no second callback.
    await app.kodah.db.query('UPDATE job_pull_requests SET pr_url = NULL, pr_number = NULL, branch = NULL WHERE job_id = $1', [jobId]);
    const config = app.kodah.config;
    await deliverJobPullRequest(
      {
        db: app.kodah.db,
        boss: app.kodah.boss,
        api: new GitHubApi(config.github!, createLogger('silent')),
        settings: config.github!,
        push: {
          policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
          mirrorDir: config.index.mirrorDir,
          worktreeDir: config.fix.worktreeDir,
          timeoutMs: 60_000,
          maxRepoBytes: config.index.maxRepoBytes,
        },
        log: createLogger('silent'),
      },
      jobId,
      false,
    );
    expect(github.pulls(WIDGETS.owner, WIDGETS.name).filter((p) => p.head.ref === branch)).toHaveLength(1);
    expect((await app.api(ownerKey, 'GET', `/jobs/${jobId}`)).body.pull_request_url).toBe(body.pull_request_url);
    expect(await app.kodah.boss.findJobs(CALLBACK_QUEUE, { data: { jobId } })).toHaveLength(1);
    expect(github.unhandled).toEqual([]);
  }, 90_000);

  it('422, nothing charged, without an installation this account owns, for a tag, or off the App’s GitHub', async () => {
    const stranger = await app.account();
    const free = async (key: string) => (await app.api(key, 'GET', '/account')).body.free_credits;
    const ownerBefore = await free(ownerKey);
    const cases: Array<[string, unknown, RegExp]> = [
      [ownerKey, job(GADGETS), /^deliver: "pull_request" needs the Kodah GitHub App installed on octo-org\/gadgets/],
      [stranger.key, job(WIDGETS), /^deliver: "pull_request" needs the Kodah GitHub App installed on octo-org\/widgets/],
      [ownerKey, job(WIDGETS, { ref: 'v1.0' }), /^deliver: "pull_request" needs ref to be a branch.*v1\.0 is a tag/],
      [
        ownerKey,
        job(WIDGETS, { repo_url: 'https://gitlab.com/octo-org/widgets' }),
        /^deliver: "pull_request" works for repositories on http:\/\/127\.0\.0\.1/,
      ],
      [ownerKey, job(WIDGETS, { deliver: 'comment' }), /^deliver: must be "pull_request"/],
    ];
    for (const [key, body, detail] of cases) {
      const res = await app.api(key, 'POST', '/jobs', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.detail).toMatch(detail);
    }
    expect(await free(ownerKey)).toBe(ownerBefore);
    expect(await free(stranger.key)).toBe(10);
  });
});
