import type { TestApp } from './test-app.js';

const pause = () => new Promise((r) => setTimeout(r, 100));

/**
 * Polls until the repository's searchable commit is `commit`; resolves to the run's steps. A step
 * that failed for good fails the test at once with its error (one that will retry is waited out).
 */
export async function waitForIndex(app: Pick<TestApp, 'api'>, key: string, id: string, commit: string, timeoutMs = 30_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const repo = await app.api(key, 'GET', `/api/v1/repositories/${id}`);
    const status = await app.api(key, 'GET', `/api/v1/indexes/${id}/status`);
    if (repo.body.data?.attributes.indexed_commit_sha === commit) return status.body.data;
    const failed = status.body.data?.find((s: any) => s.attributes.state === 'failed');
    if (failed && !failed.attributes.error.includes('will retry')) throw new Error(`index failed: ${failed.attributes.error}`);
    if (Date.now() > deadline) throw new Error(`index did not reach ${commit}: ${JSON.stringify(status.body)}`);
    await pause();
  }
}

/** Polls until a step of the repository's latest run has failed (for good or to be retried); resolves to it. */
export async function waitForFailedStep(app: Pick<TestApp, 'api'>, key: string, id: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await app.api(key, 'GET', `/api/v1/indexes/${id}/status`);
    const failed = status.body.data?.find((s: any) => s.attributes.state === 'failed');
    if (failed) return failed;
    if (Date.now() > deadline) throw new Error(`index did not fail: ${JSON.stringify(status.body)}`);
    await pause();
  }
}
