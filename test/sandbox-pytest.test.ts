import { existsSync, readdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';

/**
 * A real test suite, run green inside the sandbox: a Python project tested with pytest (Debian's
 * python3-pytest), prepared by its own `setup` (a venv), whose bug the fake model fixes.
 */
const FILES: Record<string, string> = {
  'cart/__init__.py': '',
  'cart/total.py': 'def total(prices):\n    result = 0\n    for price in prices:\n        result += price\n    return result\n',
  'tests/test_total.py':
    'from cart.total import total\n\n\ndef test_numbers():\n    assert total([1, 2]) == 3\n\n\ndef test_strings():\n    assert total(["1.5", 2]) == 3.5\n',
  'requirements.txt': 'pytest\n',
  '.github/kodah.yml': [
    'setup: python3 -m venv --system-site-packages .venv && .venv/bin/python -c "import pytest; print(\'pytest\', pytest.__version__)"',
    'setup_cache_key: requirements.txt',
    'test_command: .venv/bin/python -m pytest -q -s -p no:cacheprovider',
    '',
  ].join('\n'),
};

const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
const FIX = `Convert each price to a number.\n\n${block('cart/total.py', '        result += price', '        result += float(price)')}`;

describe('a pytest suite in the sandbox', () => {
  let git: GitHttpServer;
  let model: FakeOpenAI;
  let app: TestApp;
  const marker = `/tmp/kodah-os-system-${process.pid}`;

  beforeAll(async () => {
    git = await startGitHttpServer();
    model = await startFakeOpenAI();
    git.createRepo('cart', FILES);
    app = await startTestApp('pglite', {
      env: {
        OPENAI_BASE_URL: model.baseUrl,
        KODAH_MODEL: 'fake-model',
        KODAH_MODEL_MAX_RETRIES: '0',
        KODAH_JOB_RETRIES: '0',
        KODAH_FIX_MAX_ATTEMPTS: '2',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await model?.close();
    await git?.close();
    rmSync(marker, { force: true });
  });

  async function fix(key: string, ...replies: string[]) {
    model.reply(...replies);
    const submitted = await app.api(key, 'POST', '/jobs', {
      repo_url: git.url('cart'),
      task: 'fix',
      description: 'total() fails on string prices',
      ref: 'main',
    });
    expect(submitted.status).toBe(202);
    const status = await waitForJob(app, key, submitted.body.job_id, 120_000);
    return { status, result: (await app.api(key, 'GET', `/jobs/${submitted.body.job_id}`)).body };
  }

  it('prepares the venv, runs pytest, and shows every command: the failing attempt, then the passing one', async () => {
    const { key } = await app.account();
    // The first answer changes nothing that matters: pytest fails, and its output goes back to the model.
    const useless = `Tidy up.\n\n${block('cart/total.py', '    result = 0', '    result = 0  # running sum')}`;
    const { status, result } = await fix(key, useless, FIX);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    expect(result.checks).toContainEqual({
      name: 'tests',
      outcome: 'passed',
      detail: expect.stringMatching(/pytest .*bubblewrap sandbox/),
    });
    expect(result.diff).toContain('+        result += float(price)');
    // The venv setup made is not part of the fix.
    expect(result.diff).not.toContain('.venv');
    expect(result.files_changed).toEqual(['cart/total.py']);

    const commands = status.commands as Array<Record<string, unknown>>;
    // Setup, the tests before any edit, with the useless answer, with the fix.
    expect(commands.map((c) => [c.phase, c.exit_code, c.cached])).toEqual([
      ['setup', 0, false],
      ['tests', 1, false],
      ['tests', 1, false],
      ['tests', 0, false],
    ]);
    expect(commands[0]!.output_tail).toMatch(/^pytest \d/m);
    expect(commands[1]!.output_tail).toMatch(/1 failed, 1 passed/);
    expect(commands[2]!.output_tail).toMatch(/1 failed, 1 passed/);
    expect(commands[3]!.output_tail).toMatch(/2 passed/);
    expect(result.tests.before).toMatchObject({ exit_code: 1, failed: ['tests/test_total.py::test_strings'], passed: 1 });
    expect(result.tests.after).toMatchObject({ exit_code: 0, failed: [], passed: 2 });
    expect(commands.every((c) => c.sandbox === 'bubblewrap' && c.limit === null)).toBe(true);
    // The model saw pytest's failure.
    expect(JSON.stringify(model.requests.at(-1)!.messages)).toMatch(/test_strings/);
  }, 180_000);

  it('reuses the prepared environment for the next job with the same lockfile', async () => {
    const { key } = await app.account();
    const first = await fix(key, FIX);
    const second = await fix(key, FIX);
    expect(first.status.status).toBe('completed');
    expect(second.status.status).toBe('completed');
    expect(second.status.commands[0]).toMatchObject({ phase: 'setup', exit_code: 0, cached: true });
    expect(second.status.commands.at(-1)).toMatchObject({ phase: 'tests', exit_code: 0 });
  }, 240_000);

  it("runs the model's os.system only inside the sandbox", async () => {
    const { key } = await app.account();
    const hostile = `Convert prices, and log.\n\n${block(
      'cart/total.py',
      'def total(prices):',
      `import os\nos.system("id; touch ${marker}; ls / | tr '\\\\n' ' '; echo")\n\n\ndef total(prices):`,
    )}${block('cart/total.py', '        result += price', '        result += float(price)')}`;
    const { status } = await fix(key, hostile);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    // The run with the model's edits: the last one (the first ran the code as committed).
    const tests = status.commands.findLast((c: { phase: string }) => c.phase === 'tests');
    // It ran, as the sandbox's user, in the sandbox's file system…
    expect(tests.output_tail).toMatch(/uid=1000\(kodah\)/);
    expect(tests.output_tail).toMatch(/workspace/);
    // …and the host never saw its file.
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync('/tmp').filter((f) => f.startsWith('kodah-os-system-'))).toEqual([]);
  }, 180_000);
});
