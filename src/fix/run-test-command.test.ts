import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTestCommand } from './run-test-command.js';

describe('running the repository test command', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kodah-tests-'));

  it('reports passing and failing commands with the end of their output', async () => {
    expect(await runTestCommand(dir, 'echo all good', 10_000)).toMatchObject({ outcome: 'passed', exitCode: 0, outputTail: 'all good\n' });
    expect(await runTestCommand(dir, 'echo broken >&2; exit 3', 10_000)).toMatchObject({
      outcome: 'failed',
      exitCode: 3,
      outputTail: 'broken\n',
    });
  });

  it('sees none of our environment', async () => {
    process.env.KODAH_TEST_SECRET = 'do-not-leak';
    try {
      const run = await runTestCommand(dir, 'env', 10_000);
      expect(run.outputTail).not.toContain('do-not-leak');
      expect(run.outputTail).not.toMatch(/DATABASE_URL|OPENAI_API_KEY/);
    } finally {
      delete process.env.KODAH_TEST_SECRET;
    }
  });

  it('kills the whole process group at the time limit', async () => {
    const started = Date.now();
    // A child that would outlive a killed shell keeps the output pipe open unless the group dies.
    const run = await runTestCommand(dir, 'sleep 30 & sleep 30', 500);
    expect(run.outcome).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
