import { describe, expect, it } from 'vitest';
import { bareMentions } from '../../test/helpers/bare-mentions.js';
import { hasMarker } from './comment-marker.js';
import { renderDiffComment, renderFailure, renderHelp, renderPullRequestDelivered, renderRefused, renderStatus } from './render-comment.js';
import type { CheckLine } from './render-parts.js';
import { renderPullRequestBody } from './render-pull-request.js';

const checks: CheckLine[] = [
  { name: 'diff_policy', outcome: 'passed' },
  { name: 'syntax', outcome: 'passed' },
  { name: 'tests', outcome: 'skipped', detail: 'no test command' },
];

const patch = (file: string, body: string) => `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n${body}`;

describe('every body', () => {
  it('starts with its marker', () => {
    const bodies = [
      renderStatus({ key: 's:1', jobId: 'j1', state: 'running', trigger: 'x' }),
      renderPullRequestDelivered({
        key: 's:1',
        jobId: 'j1',
        prUrl: 'https://github.com/a/b/pull/3',
        prNumber: 3,
        filesChanged: ['a'],
        checks,
      }),
      renderDiffComment({ key: 's:1', jobId: 'j1', diff: patch('a', '-x\n+y\n'), filesChanged: ['a'], checks }),
      renderFailure({ key: 's:1', jobId: 'j1', message: 'boom', code: 'internal', kind: 'system', refunded: true }),
      renderRefused({ key: 's:1', code: 'payment_required', reason: 'No credits remaining' }),
    ];
    for (const body of bodies) expect(hasMarker(body, 's:1')).toBe(true);
    expect(hasMarker(renderHelp('kodah-fix'), 'help')).toBe(true);
    expect(
      hasMarker(
        renderPullRequestBody({ issueNumber: 1, closes: true, filesChanged: [], checks: [], jobId: 'j', source: 'issue #1' }),
        'pull-request',
      ),
    ).toBe(true);
  });
});

describe('renderStatus', () => {
  it('shows the stage, a progress bar, the job and how to cancel', () => {
    const body = renderStatus({
      key: 'status:12',
      jobId: 'job-1',
      state: 'running',
      stage: 'localize',
      progress: 40,
      trigger: 'the `kodah-fix` label added by @alice',
    });
    expect(body).toBe(
      [
        '<!-- kodah:status:12 -->',
        '👀 Kodah is working on a fix, triggered by the `kodah-fix` label added by `@alice`.',
        '**Finding the code involved** `████░░░░░░ 40%`',
        'Job `job-1` · comment `/kodah cancel` to stop it.',
      ].join('\n\n'),
    );
    expect(bareMentions(body)).toEqual([]);
  });

  it('names retries and unknown stages, and clamps progress', () => {
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'running', stage: 'generate (attempt 2)', progress: 250, trigger: 't' })).toContain(
      '**Writing a fix (attempt 2)** `██████████ 100%`',
    );
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'running', stage: 'warming up <b>', progress: -5, trigger: 't' })).toContain(
      '**Warming up &lt;b&gt;** `░░░░░░░░░░ 0%`',
    );
  });

  it('shows an agent step as its number, its tool and its target, the target inert', () => {
    const status = (stage: string) => renderStatus({ key: 'k', jobId: 'j', state: 'running', stage, progress: 50, trigger: 't' });
    expect(status('step 7: run pytest -x')).toContain('**Step 7** · run `pytest -x` `█████░░░░░ 50%`');
    expect(status('step 12: read_file shop/processor.py:1-40')).toContain('**Step 12** · read\\_file `shop/processor.py:1-40` ');
    expect(status('step 3: submit')).toContain('**Step 3** · submit `');
    const hostile = status('step 4: run echo `x` <img src=x> @admin\n# heading ** **');
    expect(hostile).toContain('**Step 4** · run ``echo `x` <img src=x> @admin # heading ** **`` ');
    expect(bareMentions(hostile)).toEqual([]);
    expect(hostile.split('\n').some((l) => l.startsWith('#'))).toBe(false);
    // Not a step: an unknown stage, shown as text.
    expect(status('step x: <b>')).toContain('**Step x: &lt;b&gt;**');
  });

  it('offers cancelling only while the job is queued or running', () => {
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'queued', trigger: 't' })).toContain(
      '**Waiting for a free worker** `░░░░░░░░░░ 0%`',
    );
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'queued', stage: 'waiting: Server at capacity', trigger: 't' })).toContain(
      '**Waiting: Server at capacity** `░░░░░░░░░░ 0%`',
    );
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'queued', trigger: 't' })).toContain('`/kodah cancel`');
    for (const state of ['completed', 'failed', 'cancelled'] as const) {
      const body = renderStatus({ key: 'k', jobId: 'j', state, trigger: 't' });
      expect(body).not.toContain('/kodah cancel');
      expect(body).not.toContain('%`');
      expect(body).toContain('Job `j`.');
    }
  });
});

describe('renderPullRequestDelivered', () => {
  it('links the pull request and lists checks and files', () => {
    const body = renderPullRequestDelivered({
      key: 'status:12',
      jobId: 'job-1',
      prUrl: 'https://github.com/acme/widgets/pull/13',
      prNumber: 13,
      filesChanged: ['src/config.py', 'tests/test_config.py'],
      checks: [...checks.slice(0, 2), { name: 'tests', outcome: 'failed', detail: '2 failed, ping @bob' }],
    });
    expect(body).toContain('🛠️ Kodah opened a draft pull request with a fix: [#13](https://github.com/acme/widgets/pull/13)');
    expect(body).toContain('- ✅ Diff policy passed\n- ✅ Syntax passed\n- ❌ Tests failed: 2 failed, ping `@bob`');
    expect(body).toContain('- `src/config.py`\n- `tests/test_config.py`');
    expect(bareMentions(body)).toEqual([]);
    expect(
      renderPullRequestDelivered({
        key: 'k',
        jobId: 'j',
        prUrl: 'https://x/pull/1',
        prNumber: 1,
        filesChanged: [],
        checks: [],
        revised: true,
      }),
    ).toContain('updated its draft pull request [#1](https://x/pull/1) with a new fix');
  });

  it('does not link a URL that could break out of the link', () => {
    const body = renderPullRequestDelivered({
      key: 'k',
      jobId: 'j',
      prUrl: 'https://x/pull/1) [click](https://evil',
      prNumber: 1,
      filesChanged: [],
      checks: [],
    });
    expect(body).toContain('a fix: #1');
    expect(body).not.toContain('evil');
  });
});

describe('renderDiffComment', () => {
  it('folds the diff in a fence longer than any backtick run inside it', () => {
    const diff = patch('README.md', '-Run:\n+Run:\n+```````\n+npm test\n+```\n');
    const body = renderDiffComment({ key: 'k', jobId: 'job-9', diff, explanation: 'Fixed the docs.', filesChanged: ['README.md'], checks });
    expect(body).toContain('<details><summary>The diff: 1 file, +4 −1</summary>\n\n````````diff\n' + diff + '````````\n\n</details>');
    expect(body).toContain('Fixed the docs.');
    expect(body).not.toContain('too long');
  });

  it('keeps a 2 MB diff under the limit, cut at a line, and says how to get all of it', () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `+line ${i} with some code and @mention and \`\`\` ticks`);
    const diff = patch('big.txt', `${lines.join('\n')}\n`);
    expect(diff.length).toBeGreaterThan(2_000_000);
    const body = renderDiffComment({
      key: 'k',
      jobId: 'job-9',
      diff,
      explanation: 'x'.repeat(100_000),
      filesChanged: Array.from({ length: 500 }, (_, i) => `dir/file-${i}.txt`),
      checks,
      prUrl: 'https://github.com/a/b/pull/2',
    });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body.length).toBeGreaterThan(60_000);
    expect(body).toMatch(
      /✂️ The diff is too long for a comment: \d+ of 40004 lines are shown\. The whole diff is at `GET \/jobs\/job-9` on the Kodah server\./,
    );
    expect(body).toContain('- … and 450 more');
    const inside = /\n(`{3,})diff\n([\s\S]*?)\n\1\n/.exec(body)!;
    expect(inside[1]).toBe('````');
    expect(inside[2]!.split('\n').at(-1)).toMatch(/^\+line \d+ with some code and @mention and ``` ticks$/);
    expect(hasMarker(body, 'k')).toBe(true);
    expect(body).toContain('Job `job-9` · pull request: https://github.com/a/b/pull/2.');
  });

  it('cuts a diff of one enormous line too, and never halves a character', () => {
    const body = renderDiffComment({ key: 'k', jobId: 'j', diff: '🐛'.repeat(1_000_000), filesChanged: [], checks: [] });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('neutralises mentions and HTML in the explanation but keeps its code', () => {
    const body = renderDiffComment({
      key: 'k',
      jobId: 'j',
      diff: patch('a.py', '-x\n+y\n'),
      explanation:
        'Thanks @alice and @org/team! Use `@decorator` and `<div>`.\n<img src=x onerror=alert(1)> <!-- kodah:k -->\n```py\n@app.route("/")\n```',
      intro: 'Kodah could not open a pull request, cc @bob, so here is the diff.',
      filesChanged: ['a.py'],
      checks,
    });
    expect(body).toContain(
      'Thanks `@alice` and `@org/team`! Use `@decorator` and `<div>`.\n&lt;img src=x onerror=alert(1)&gt; \n```py\n@app.route("/")\n```',
    );
    expect(body).toContain('cc `@bob`, so');
    expect(body.match(/<!-- kodah:k -->/g)).toHaveLength(1);
    expect(bareMentions(body)).toEqual([]);
  });
});

describe('renderFailure', () => {
  it('says what was tried, why, and that the credit was restored', () => {
    const body = renderFailure({
      key: 'status:12',
      jobId: 'job-1',
      message: 'No fix passed the checks:\n```\nFAILED test_x\n```\n@alice <b>',
      code: 'job_failed',
      kind: 'system',
      refunded: true,
      attempts: 3,
    });
    expect(body).toContain('it wrote 3 candidate fixes and none got through its checks (job `job-1`)');
    expect(body).toContain('Why it failed (`job_failed`):\n\n````\nNo fix passed the checks:\n```\nFAILED test_x\n```\n@alice <b>\n````');
    expect(body).toContain('Your credit was restored.');
    expect(body).toContain('`/kodah retry`');
    expect(body).toContain('`/kodah fix <more context>`');
    expect(bareMentions(body)).toEqual([]);
  });

  it('for a job that ended without a fix, points at what was tried and says the credit came back', () => {
    const body = renderFailure({
      key: 'k',
      jobId: 'j',
      message: 'The tests could not run before any edit … Its output ended:\n/usr/bin/python3: No module named pytest',
      code: 'no_fix',
      kind: 'input',
      refunded: true,
    });
    expect(body).toContain('❌ Kodah could not fix this: what it tried and why it stopped are below (job `j`).');
    expect(body).toContain('Why it failed (`no_fix`)');
    expect(body).toContain('No module named pytest');
    expect(body).toContain('No fix was delivered, so your credit was restored.');
    // Charged (KODAH_CHARGE_UNFIXED=1): said as for any input failure.
    expect(renderFailure({ key: 'k', jobId: 'j', message: 'x', code: 'no_fix', kind: 'input', refunded: false })).toContain(
      'This counts as a fix attempt; no credit was restored.',
    );
  });

  it("shows the last sandbox command and the end of its output, fenced so the repository's output cannot format the comment", () => {
    const body = renderFailure({
      key: 'k',
      jobId: 'j',
      message: 'No valid fix within 3 attempts.',
      code: 'job_failed',
      kind: 'input',
      refunded: false,
      lastCommand: {
        phase: 'tests',
        command: 'python -m pytest -q',
        sandbox: 'bubblewrap',
        exitCode: 1,
        limit: null,
        seconds: 0.4,
        outputTail: 'x'.repeat(5000) + '\n```\n@alice <img src=x>\n/usr/bin/python: No module named pytest\n',
      },
    });
    expect(body).toContain('<details><summary>Last command in the sandbox: `python -m pytest -q` (tests, exit code 1, 0.4 s)</summary>');
    expect(body).toContain('````\n[…]\n');
    expect(body).toContain('No module named pytest\n````\n\n</details>');
    expect(body).not.toContain('x'.repeat(3001));
    expect(bareMentions(body)).toEqual([]);
  });

  it('says an input failure costs the credit', () => {
    const body = renderFailure({ key: 'k', jobId: 'j', message: 'Ref not found', code: 'ref_not_found', kind: 'input', refunded: false });
    expect(body).toContain('This counts as a fix attempt; no credit was restored.');
    expect(body).not.toContain('Your credit was restored.');
    expect(body).toContain('❌ Kodah could not fix this (job `j`).');
  });

  it('reports a cancellation without a reason block', () => {
    const body = renderFailure({
      key: 'k',
      jobId: 'j',
      message: 'Job cancelled',
      code: 'cancelled',
      kind: null,
      refunded: true,
      cancelled: true,
    });
    expect(body).toContain('🛑 The fix was cancelled (job `j`).');
    expect(body).toContain('Your credit was restored.');
    expect(body).not.toContain('Why it failed');
  });

  it('stays under the limit with an enormous message', () => {
    const body = renderFailure({
      key: 'k',
      jobId: 'j',
      message: '`'.repeat(10) + 'x'.repeat(1_000_000),
      code: null,
      kind: 'system',
      refunded: false,
    });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toContain('No credit was restored.');
    expect(body).toContain('\n```````````\n``````````x');
  });
});

describe('renderRefused', () => {
  it.each([
    ['No credits remaining', 'payment_required', /Add credits/],
    ['Private repos require paid credits', 'payment_required', /paid credits/],
    ['Job already in progress', 'job_in_progress', /`\/kodah cancel`/],
    ['Server at capacity', 'at_capacity', /in a few minutes/],
    ['There is no fix in progress here to cancel.', 'not_found', /`\/kodah help` for the commands/],
  ] as const)('%s', (reason, code, advice) => {
    const body = renderRefused({ key: 'k', code, reason });
    expect(body).toContain(`🚫 Kodah did not start a fix: ${reason}`);
    expect(body).toMatch(advice);
  });

  it('adds no advice to a reason that already names a command', () => {
    const reason = 'There is no earlier fix here to retry. Use `/kodah fix [more context]` to start one.';
    expect(renderRefused({ key: 'k', code: 'not_found', reason, reasonAdvises: true })).toBe(
      `<!-- kodah:k -->\n\n🚫 Kodah did not start a fix: ${reason}`,
    );
  });

  it('neutralises what it echoes', () => {
    const body = renderRefused({ key: 'k', code: 'invalid_input', reason: 'Nope @alice\n# <script>' });
    expect(body).toContain('Nope `@alice` # &lt;script&gt;');
    expect(bareMentions(body)).toEqual([]);
  });
});

describe('renderHelp', () => {
  it('lists the commands, the label and who may use them', () => {
    const body = renderHelp('kodah-fix');
    for (const command of ['`/kodah fix [context]`', '`/kodah retry`', '`/kodah cancel`', '`/kodah help`', '`kodah-fix` label'])
      expect(body).toContain(command);
    expect(body).toContain('write access');
    expect(renderHelp('we`ird')).toContain('``we`ird``');
  });
});
