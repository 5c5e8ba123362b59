import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeChatRequest, type FakeOpenAI, type FakeToolCalls, startFakeOpenAI } from './helpers/fake-openai.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';

/**
 * The agent, end to end: a scripted OpenAI-compatible model calls Kodah's tools over the real
 * protocol, on a real Python project whose pytest suite runs in the real sandbox.
 */
const FILES: Record<string, string> = {
  'shop/__init__.py': '',
  'shop/processor.py':
    'def calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n',
  'tests/__init__.py': '',
  'tests/test_processor.py':
    'from shop.processor import calculate_total\n\n\ndef test_numbers():\n    assert calculate_total([{"price": 1}, {"price": 2}]) == 3\n\n\ndef test_string_prices():\n    assert calculate_total([{"price": "1.5"}, {"price": 2}]) == 3.5\n',
  '.github/kodah.yml': 'test_command: python3 -m pytest -q -p no:cacheprovider\n',
};
const REPORT = 'calculate_total crashes when a price is a string: tests/test_processor.py::test_string_prices fails with TypeError.';
const PYTEST = 'python3 -m pytest -q -p no:cacheprovider tests/test_processor.py';
const SECRET = 'sk-agent-secret-model-key';

const call = (name: string, args: object | string): FakeToolCalls => ({ toolCalls: [{ name, arguments: args }] });
const FIX_EDIT = call('edit', {
  path: 'shop/processor.py',
  search: '        total += item["price"]',
  replace: '        total += float(item["price"])',
});
/** The tool answers the model received, in order. */
const toolAnswers = (requests: FakeChatRequest[]) => {
  const last = requests.at(-1)!;
  return last.messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '');
};

/**
 * One suite's world: a git server with `repos`, a fake model and a Kodah on PGlite whose model is
 * that fake (the agent unless `env` says otherwise). Its parts are set in beforeAll.
 */
function agentWorld(options: { repos: Record<string, Record<string, string>>; env?: Record<string, string>; tools?: boolean }) {
  const world = {} as { git: GitHttpServer; model: FakeOpenAI; app: TestApp };
  beforeAll(async () => {
    world.git = await startGitHttpServer();
    world.model = await startFakeOpenAI({ tools: options.tools ?? true });
    for (const [name, files] of Object.entries(options.repos)) world.git.createRepo(name, files);
    world.app = await startTestApp('pglite', {
      env: {
        OPENAI_BASE_URL: world.model.baseUrl,
        KODAH_MODEL: 'fake-model',
        KODAH_MODEL_MAX_RETRIES: '0',
        KODAH_JOB_RETRIES: '0',
        KODAH_FIX_MODE: 'agent',
        ...options.env,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await world.app?.stop();
    await world.model?.close();
    await world.git?.close();
  });
  return world;
}

/** Submits a fix of `repo` and waits for its end: the last status, and the result when it completed. */
async function fixJob(world: ReturnType<typeof agentWorld>, key: string, options: { repo?: string; description?: string } = {}) {
  const submitted = await world.app.api(key, 'POST', '/jobs', {
    repo_url: world.git.url(options.repo ?? 'shop'),
    task: 'fix',
    description: options.description ?? REPORT,
    ref: 'main',
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const status = await waitForJob(world.app, key, submitted.body.job_id, 120_000);
  const result = status.status === 'completed' ? (await world.app.api(key, 'GET', `/jobs/${submitted.body.job_id}`)).body : null;
  return { status, result, id: submitted.body.job_id as string };
}

describe('the agent fixes a real bug in the sandbox', () => {
  const world = agentWorld({
    repos: { shop: FILES, 'shop-small-budget': { ...FILES, '.github/kodah.yml': `${FILES['.github/kodah.yml']}budget:\n  steps: 3\n` } },
    env: { OPENAI_API_KEY: SECRET },
  });
  let key: string;
  beforeAll(async () => {
    ({ key } = await world.app.account({ paidCents: 5000 }));
  });

  it('search → read → run the failing test → edit → run → submit: a diff that applies and passes the tests', async () => {
    world.model.requests.length = 0;
    world.model.reply(
      call('search_code', { query: 'calculate_total price', path_glob: 'shop/**' }),
      call('read_file', { path: 'shop/processor.py' }),
      call('run', { command: PYTEST }),
      FIX_EDIT,
      call('run', { command: PYTEST }),
      call('submit', { explanation: 'Prices may be strings: convert each one to a number before adding it.' }),
    );
    const { status, result, id } = await fixJob(world, key);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    expect(result.mode).toBe('agent');
    expect(result.diff).toContain('+        total += float(item["price"])');
    expect(result.files_changed).toEqual(['shop/processor.py']);
    expect(result.steps.map((s: { tool: string }) => s.tool)).toEqual(['search_code', 'read_file', 'run', 'edit', 'run', 'submit']);
    expect(result.tests.before).toMatchObject({ exit_code: 1, failed: ['tests/test_processor.py::test_string_prices'] });
    expect(result.tests.after).toMatchObject({ exit_code: 0, failed: [], passed: 2 });
    expect(result.candidates).toMatchObject({ tried: 1, winner: 1 });

    // The tool answers carried the real code and the real failure.
    const answers = toolAnswers(world.model.requests);
    expect(answers[0]).toMatch(/shop\/processor\.py:1-5/);
    expect(answers[0]).toContain('total += item["price"]');
    expect(answers[1]).toContain('4\t        total += item["price"]');
    expect(answers[2]).toMatch(/^exit code 1/);
    expect(answers[2]).toMatch(/TypeError/);
    expect(answers[3]).toMatch(/applied at line 4/);
    expect(answers[4]).toMatch(/^exit code 0[\s\S]*2 passed/);

    // The steps were shown while the job ran, and the diff applies to a clean checkout where the tests pass.
    const events = await world.app.api(key, 'GET', `/jobs/${id}/events`);
    expect(events.body.events.map((e: { tool: string }) => e.tool)).toEqual(result.steps.map((s: { tool: string }) => s.tool));
    const work = mkdtempSync(path.join(tmpdir(), 'kodah-agent-apply-'));
    try {
      // Asynchronously: the git server answers from this very process.
      await promisify(execFile)('git', ['clone', '-q', world.git.url('shop'), work]);
      writeFileSync(path.join(work, 'fix.diff'), result.diff);
      execFileSync('git', ['apply', '--check', 'fix.diff'], { cwd: work });
      execFileSync('git', ['apply', 'fix.diff'], { cwd: work });
      const out = execFileSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: work, encoding: 'utf8' });
      expect(out).toMatch(/2 passed/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);

  it('hostile calls end cleanly: outside edits, secrets, huge output, bad arguments, unknown tools', async () => {
    world.model.requests.length = 0;
    world.model.reply(
      call('edit', { path: '../../../../etc/kodah-owned', search: '', replace: 'x' }),
      call('run', {
        command: 'env; tr "\\0" "\\n" < /proc/1/environ; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; ls / /root 2>&1; true',
      }),
      call('run', { command: "head -c 10000000 /dev/zero | tr '\\0' a" }),
      call('read_file', '{"path": "shop/processor.py"'),
      call('rm_rf', { path: '/' }),
      call('edit', { path: '.git/config', search: '', replace: '[core]\n\tfsmonitor = /bin/sh\n' }),
      call('run', { command: 'mkfifo shop/pipe' }),
      call('read_file', { path: 'shop/pipe' }),
      FIX_EDIT,
      call('submit', { explanation: 'Convert prices to numbers.' }),
    );
    const { status, result } = await fixJob(world, key);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    const answers = toolAnswers(world.model.requests);
    expect(answers[0]).toMatch(/outside the repository/);
    expect(answers[1]).not.toContain(SECRET);
    expect(answers[1]).not.toMatch(/OPENAI_API_KEY|KODAH_DATA_DIR|DATABASE_URL/);
    expect(answers[2]!.length).toBeLessThanOrEqual(12_000);
    expect(answers[2]).toMatch(/characters left out|stopped at the sandbox's output limit/);
    expect(answers[3]).toMatch(/not valid JSON/);
    expect(answers[4]).toMatch(/There is no tool "rm_rf"/);
    expect(answers[5]).toMatch(/\.git/);
    // A FIFO a command left is not opened (that would wait for ever), and is not part of the diff.
    expect(answers[7]).toMatch(/not a regular file/);
    expect(result.steps.map((s: { ok: boolean }) => s.ok)).toEqual([false, true, true, false, false, false, true, false, true, true]);
    expect(result.diff).not.toMatch(/kodah-owned|fsmonitor|shop\/pipe/);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  }, 180_000);

  it('a rejected submit comes back with the failing test, and the model can go on', async () => {
    world.model.requests.length = 0;
    world.model.reply(
      call('edit', { path: 'shop/processor.py', search: '    total = 0', replace: '    total = 0  # sum' }),
      call('submit', { explanation: 'Tidy.' }),
      FIX_EDIT,
      call('submit', { explanation: 'Convert prices to numbers.' }),
    );
    const { status, result } = await fixJob(world, key);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    const answers = toolAnswers(world.model.requests);
    expect(answers[1]).toMatch(/not accepted[\s\S]*test_string_prices/);
    expect(result.steps.filter((s: { tool: string }) => s.tool === 'submit').map((s: { ok: boolean }) => s.ok)).toEqual([false, true]);
  }, 180_000);

  it('a model that never submits, one that loops on one call, and a spent budget each end with what was tried', async () => {
    world.model.reply('I think the bug is in processor.py.', 'Still thinking.', 'Done, I guess.');
    const idle = await fixJob(world, key);
    // Ended without a fix: `no_fix`, refunded (KODAH_CHARGE_UNFIXED is off).
    expect(idle.status).toMatchObject({ status: 'failed', error_kind: 'input', refunded: true });
    expect(idle.status.error).toMatch(/stopped calling tools without submitting/);

    const read = call('read_file', { path: 'shop/processor.py' });
    world.model.reply(read, read, read, read);
    const looping = await fixJob(world, key);
    expect(looping.status.status).toBe('failed');
    expect(looping.status.error).toMatch(/kept repeating calls/);
    expect(looping.status.error).toMatch(/Files it looked at: shop\/processor\.py/);

    // `.github/kodah.yml` lowers the steps to 3.
    world.model.reply(call('run', { command: PYTEST }), call('read_file', { path: 'tests/test_processor.py' }), read, read);
    const spent = await fixJob(world, key, { repo: 'shop-small-budget' });
    expect(spent.status.status).toBe('failed');
    expect(spent.status.error).toMatch(/before it used its 3 steps/);
    expect(spent.status.error).toMatch(/Commands it ran: `python3 -m pytest[^`]*` → exit code 1/);
    expect(spent.status.error).toMatch(/The last test output ended: [\s\S]*TypeError/);
    expect(world.model.pending).toBe(1);
  }, 180_000);
});

describe("the report's examples", () => {
  // Nothing in the report's words points at money.py: only running its example does.
  const world = agentWorld({
    repos: {
      shop: {
        ...FILES,
        'shop/money.py': 'def to_number(value):\n    return value\n',
        'shop/processor.py':
          'from shop.money import to_number\n\n\ndef calculate_total(items):\n    total = 0\n    for item in items:\n        total += to_number(item["price"])\n    return total\n',
      },
    },
  });

  it('run traced in the sandbox before the first prompt, which shows the code they called and why', async () => {
    const { key } = await world.app.account();
    world.model.requests.length = 0;
    world.model.reply(
      call('edit', {
        path: 'shop/processor.py',
        search: '        total += to_number(item["price"])',
        replace: '        total += float(item["price"])',
      }),
      call('submit', { explanation: 'Convert prices to numbers.' }),
    );
    // The example also overwrites a file and leaves one behind: neither reaches the prompt or the diff.
    const description = [
      'Totals crash for string prices:',
      '',
      '```python',
      'from shop.processor import calculate_total',
      'calculate_total([{"price": "1.5"}])',
      'open("shop/__init__.py", "w").write("raise SystemExit\\n")',
      'open("leftover.txt", "w").write("x")',
      '```',
      '',
    ].join('\n');
    const { status, result } = await fixJob(world, key, { description });
    expect(status.status, JSON.stringify(status)).toBe('completed');
    expect(status.commands[0]).toMatchObject({
      phase: 'examples',
      command: 'python3: the report’s examples, traced',
      sandbox: 'bubblewrap',
      exit_code: 0,
      // The import and the two writes ran; the call raised the report's TypeError, after calling into both files.
      output_tail:
        "3 of 4 statements of the report's examples ran; they called into 2 files: shop/processor.py, shop/money.py; " +
        'an error was raised in calculate_total (shop/processor.py)',
    });
    const prompt = world.model.requests[0]!.messages[1]!.content ?? '';
    expect(prompt).toContain("### shop/money.py (all 2 lines)\nWhy: ran when the report's example ran (to_number)\n");
    expect(prompt).toMatch(/### shop\/processor\.py .*\nWhy: [^\n]*the report's example raised an error here \(in calculate_total\)/);
    expect(prompt).toContain('### shop/__init__.py (all 0 lines)');
    expect(result.files_changed).toEqual(['shop/processor.py']);
  }, 180_000);
});

describe('a conversation longer than the model takes', () => {
  // A 4,000-token model: the conversation may fill 2,400 before old answers are left out.
  const world = agentWorld({ repos: { shop: FILES }, env: { KODAH_MODEL_CONTEXT_TOKENS: '4000' } });

  it('leaves out all but the latest answers once it passes its share, and a left-out call may be made again', async () => {
    const { key } = await world.app.account();
    world.model.requests.length = 0;
    // Each answer is about 400 numbered lines: some 800 tokens.
    const counts = Array.from({ length: 8 }, (_, i) => call('run', { command: `seq ${i + 1} ${i + 400}` }));
    world.model.reply(...counts, counts[0]!, FIX_EDIT, call('submit', { explanation: 'Convert prices to numbers.' }));
    const { status } = await fixJob(world, key);
    expect(status.status, JSON.stringify(status)).toBe('completed');

    const answers = toolAnswers(world.model.requests.slice(0, -1));
    // The first answers stand as a note; the latest five are whole.
    expect(answers[0]).toMatch(/^\[Left out to keep the conversation within the model's context: the answer to step 1 \(run seq 1 400\)/);
    expect(answers.slice(-5).every((a) => /^exit code 0/.test(a))).toBe(true);
    // The first call, made again once its answer was left out, is answered, not refused as a repeat.
    expect(answers.at(-1)).toMatch(/^exit code 0[\s\S]*\n400\n/);
    // The answers sent with the last request: five whole, the others notes (nine whole were 13,000 characters).
    const sent = answers.reduce((sum, a) => sum + a.length, 0);
    expect(sent).toBeLessThan(6 * answers.at(-1)!.length);
  }, 180_000);
});

describe('a model without tool calling', () => {
  const world = agentWorld({ repos: { shop: FILES }, env: { KODAH_FIX_MODE: 'auto' }, tools: false });

  it('is fixed single-shot in auto mode, and asked about tools once', async () => {
    const { key } = await world.app.account();
    const block =
      'shop/processor.py\n<<<<<<< SEARCH\n        total += item["price"]\n=======\n        total += float(item["price"])\n>>>>>>> REPLACE\n';
    for (let job = 0; job < 2; job++) {
      world.model.reply(`Convert prices.\n\n${block}`);
      const { status, result } = await fixJob(world, key);
      expect(status.status, JSON.stringify(status)).toBe('completed');
      expect(result.mode).toBe('single-shot');
      expect(result.tests.after).toMatchObject({ exit_code: 0 });
    }
    // One probe with tools (refused), then two plain answers.
    expect(world.model.requests.map((r) => r.tools !== undefined)).toEqual([true, false, false]);
  }, 180_000);
});

describe('several candidates', () => {
  const world = agentWorld({ repos: { shop: FILES }, env: { KODAH_FIX_CANDIDATES: '3' } });

  it('run from the same commit; the fix passing the tests with the smallest diff wins, and the result says why', async () => {
    const { key } = await world.app.account();
    const wordy = call('edit', {
      path: 'shop/processor.py',
      search: '        total += item["price"]',
      replace: '        price = item["price"]\n        # Prices may come as text.\n        total += float(price)',
    });
    world.model.reply(
      // 1: a working fix, but a longer one.
      wordy,
      call('submit', { explanation: 'Convert prices.' }),
      // 2: gives up without a fix.
      'I cannot fix this.',
      'No.',
      'Really no.',
      // 3: the smallest working fix; its edit applies because the work tree was reset.
      FIX_EDIT,
      call('submit', { explanation: 'Convert prices to numbers.' }),
    );
    const { status, result } = await fixJob(world, key);
    expect(status.status, JSON.stringify(status)).toBe('completed');
    expect(result.candidates).toEqual({
      tried: 3,
      winner: 3,
      why: expect.stringMatching(/smallest diff \(2 changed lines\) of the 2 fixes/),
    });
    expect(result.diff).toContain('+        total += float(item["price"])');
    expect(result.diff).not.toContain('Prices may come as text');
    expect(result.steps.map((s: { candidate: number; tool: string }) => `${s.candidate}:${s.tool}`)).toEqual([
      '1:edit',
      '1:submit',
      '2:model',
      '2:model',
      '2:model',
      '3:edit',
      '3:submit',
    ]);
    expect(world.model.pending).toBe(0);
  }, 180_000);
});

describe('reproduction tests', () => {
  // No failing test in the suite: the bug is only shown by the agent's own test.
  const world = agentWorld({
    repos: {
      shop: { ...FILES, 'tests/test_processor.py': FILES['tests/test_processor.py']!.split('\n\n\ndef test_string_prices')[0] + '\n' },
    },
  });

  it('one that failed before the fix and passes with it stays in the diff; one that passes either way is left out', async () => {
    const { key } = await world.app.account();
    const test = (body: string) => `from shop.processor import calculate_total\n\n\n${body}`;
    world.model.reply(
      call('edit', {
        path: 'tests/test_repro.py',
        search: '',
        replace: test('def test_string_price():\n    assert calculate_total([{"price": "2"}]) == 2\n'),
      }),
      call('edit', { path: 'tests/test_always.py', search: '', replace: test('def test_empty():\n    assert calculate_total([]) == 0\n') }),
      FIX_EDIT,
      call('submit', { explanation: 'Convert prices to numbers; a test shows the bug.' }),
    );
    const { status, result } = await fixJob(world, key, { description: 'calculate_total crashes on string prices' });
    expect(status.status, JSON.stringify(status)).toBe('completed');
    expect(result.files_changed.sort()).toEqual(['shop/processor.py', 'tests/test_repro.py']);
    expect(result.checks).toContainEqual({
      name: 'tests',
      outcome: 'skipped',
      detail: 'reproduction test tests/test_always.py left out: it passes without the fix too, so it does not reproduce the bug',
    });
  }, 180_000);
});
