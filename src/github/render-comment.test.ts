import { describe, expect, it } from 'vitest';
import {
  type CheckLine,
  hasMarker,
  marker,
  renderCommitMessage,
  renderDiffComment,
  renderFailure,
  renderHelp,
  renderPullRequestBody,
  renderPullRequestDelivered,
  renderRefused,
  renderStatus,
} from './render-comment.js';

const checks: CheckLine[] = [
  { name: 'diff_policy', outcome: 'passed' },
  { name: 'syntax', outcome: 'passed' },
  { name: 'tests', outcome: 'skipped', detail: 'no test command' },
];

const patch = (file: string, body: string) => `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n${body}`;

/**
 * Text GitHub would turn into a mention: an @name outside code spans and fences, after a non-word
 * character. A small model of what the renderers must avoid; the cases below are built so that a
 * wrongly placed backtick would show up here.
 */
function bareMentions(markdown: string): string[] {
  const found: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length && /^ {0,3}[`~]+\s*$/.test(line)) fence = null;
      continue;
    }
    if (f) {
      fence = f[1]!;
      continue;
    }
    // Left to right as CommonMark reads it: a backslash escapes outside code; a run of backticks
    // opens a span closed by the next run of the same length, where backslashes are literal.
    let plain = '';
    let i = 0;
    while (i < line.length) {
      if (line[i] === '\\' && i + 1 < line.length && /[!-/:-@[-`{-~]/.test(line[i + 1]!)) {
        plain += line[i + 1] === '`' ? "'" : line[i + 1];
        i += 2;
        continue;
      }
      if (line[i] !== '`') {
        plain += line[i++];
        continue;
      }
      const run = /^`+/.exec(line.slice(i))![0];
      const close = new RegExp(`(?<!\`)${run}(?!\`)`).exec(line.slice(i + run.length));
      if (close) {
        plain += ' ';
        i += run.length + close.index + run.length;
      } else {
        plain += run;
        i += run.length;
      }
    }
    for (const m of plain.matchAll(/(?:^|[^\w])@([A-Za-z0-9][A-Za-z0-9-]*)/g)) found.push(m[1]!);
  }
  return found;
}

describe('markers', () => {
  it('are hidden HTML comments found again on the first line', () => {
    expect(marker('status:42')).toBe('<!-- kodah:status:42 -->');
    expect(hasMarker('<!-- kodah:status:42 -->\n👀 Working', 'status:42')).toBe(true);
    expect(hasMarker('\r\n  <!-- kodah:status:42 -->\r\nbody', 'status:42')).toBe(true);
    expect(hasMarker('<!-- kodah:status:42 -->', 'status:4')).toBe(false);
    expect(hasMarker('<!-- kodah:status:420 -->', 'status:42')).toBe(false);
    // Quoted in a comment or a diff, a marker is not the first line and does not count.
    expect(hasMarker('> <!-- kodah:status:42 -->\nme too', 'status:42')).toBe(false);
    expect(hasMarker('Look:\n<!-- kodah:status:42 -->', 'status:42')).toBe(false);
  });

  it('refuse keys that could end the comment', () => {
    for (const key of ['a -->', 'a--b', '', 'a b', 'a>b']) expect(() => marker(key)).toThrow(/marker key/);
  });

  it('start every body', () => {
    const bodies = [
      renderStatus({ key: 's:1', jobId: 'j1', state: 'running', trigger: 'x' }),
      renderPullRequestDelivered({ key: 's:1', jobId: 'j1', prUrl: 'https://github.com/a/b/pull/3', prNumber: 3, filesChanged: ['a'], checks }),
      renderDiffComment({ key: 's:1', jobId: 'j1', diff: patch('a', '-x\n+y\n'), filesChanged: ['a'], checks }),
      renderFailure({ key: 's:1', jobId: 'j1', message: 'boom', code: 'internal', kind: 'system', refunded: true }),
      renderRefused({ key: 's:1', reason: 'No credits remaining' }),
    ];
    for (const body of bodies) expect(hasMarker(body, 's:1')).toBe(true);
    expect(hasMarker(renderHelp('kodah-fix'), 'help')).toBe(true);
    expect(hasMarker(renderPullRequestBody({ issueNumber: 1, closes: true, filesChanged: [], checks: [], jobId: 'j', source: 'issue #1' }), 'pull-request')).toBe(true);
  });
});

describe('renderStatus', () => {
  it('shows the stage, a progress bar, the job and how to cancel', () => {
    const body = renderStatus({ key: 'status:12', jobId: 'job-1', state: 'running', stage: 'localize', progress: 40, trigger: 'the `kodah-fix` label added by @alice' });
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

  it('offers cancelling only while the job is queued or running', () => {
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'queued', trigger: 't' })).toContain('**Waiting for a free worker** `░░░░░░░░░░ 0%`');
    expect(renderStatus({ key: 'k', jobId: 'j', state: 'queued', stage: 'waiting: Server at capacity', trigger: 't' })).toContain('**Waiting: Server at capacity** `░░░░░░░░░░ 0%`');
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
    expect(renderPullRequestDelivered({ key: 'k', jobId: 'j', prUrl: 'https://x/pull/1', prNumber: 1, filesChanged: [], checks: [], revised: true })).toContain(
      'updated its draft pull request [#1](https://x/pull/1) with a new fix',
    );
  });

  it('does not link a URL that could break out of the link', () => {
    const body = renderPullRequestDelivered({ key: 'k', jobId: 'j', prUrl: 'https://x/pull/1) [click](https://evil', prNumber: 1, filesChanged: [], checks: [] });
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
    expect(body).toMatch(/✂️ The diff is too long for a comment: \d+ of 40004 lines are shown\. The whole diff is at `GET \/jobs\/job-9` on the Kodah server\./);
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
      explanation: 'Thanks @alice and @org/team! Use `@decorator` and `<div>`.\n<img src=x onerror=alert(1)> <!-- kodah:k -->\n```py\n@app.route("/")\n```',
      intro: 'Kodah could not open a pull request, cc @bob, so here is the diff.',
      filesChanged: ['a.py'],
      checks,
    });
    expect(body).toContain('Thanks `@alice` and `@org/team`! Use `@decorator` and `<div>`.\n&lt;img src=x onerror=alert(1)&gt; \n```py\n@app.route("/")\n```');
    expect(body).toContain('cc `@bob`, so');
    expect(body.match(/<!-- kodah:k -->/g)).toHaveLength(1);
    expect(bareMentions(body)).toEqual([]);
  });
});

describe('mentions', () => {
  const render = (explanation: string) =>
    renderDiffComment({ key: 'k', jobId: 'j', diff: '', explanation, filesChanged: [], checks: [] }).split('\n\n')[2]!;

  it.each([
    ['@alice', '`@alice`'],
    ['(@alice)', '(`@alice`)'],
    ['mail me at me@example.com', 'mail me at me@example.com'],
    ['`code` then @alice', '`code` then `@alice`'],
    ['`code`@alice', '`code` `@alice`'],
    ['@alice`code`', '`@alice` `code`'],
    ['a stray ` then @alice', 'a stray \\` then `@alice`'],
    ['`open @alice` and ` unclosed @bob', '`open @alice` and \\` unclosed `@bob`'],
    ['`a\\` @alice`', '`a\\` `@alice` \\`'],
    ['\\`@alice', '\\` `@alice`'],
    ['\\@alice', '\\ `@alice`'],
    ['&#64;alice', '&amp;#64;alice'],
    ['``a ` @alice``', '``a ` @alice``'],
    // After a code span or emphasis GitHub's text starts afresh: `a@b` is an address, `x`@b is not.
    ['@carol@bob', '`@carol` `@bob`'],
    ['_a_@bob', '_a_`@bob`'],
    ['é@bob', 'é`@bob`'],
  ])('%s', (input, expected) => {
    expect(render(input)).toBe(expected);
    expect(bareMentions(render(input))).toEqual([]);
  });

  it('treats every unescaped pipe as a cell boundary once the text has a table', () => {
    const out = render('| a | b |\n|---|---|\n| `x | @alice` | ok |');
    expect(out).toBe('| a | b |\n|---|---|\n| \\`x | `@alice` \\` | ok |');
  });

  it('ends a list item\u2019s fence where the item ends, and closes a fence left open', () => {
    // GitHub ends the item at `@alice` and reads the last line as a new fence, left open: so here.
    expect(render('- item\n  ```\n  @kept\n@alice\n  ```')).toBe('- item\n  ```\n  @kept\n`@alice`\n  ```\n```');
    expect(render('```\n@inside')).toBe('```\n@inside\n```');
  });

  it('does not take a backtick fence with a backtick in its info string for a fence', () => {
    expect(render('``` a`b\n@alice')).toBe('\\`\\`\\` a\\`b\n`@alice`');
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

  it('says an input failure costs the credit', () => {
    const body = renderFailure({ key: 'k', jobId: 'j', message: 'Ref not found', code: 'ref_not_found', kind: 'input', refunded: false });
    expect(body).toContain('This counts as a fix attempt; no credit was restored.');
    expect(body).not.toContain('Your credit was restored.');
    expect(body).toContain('❌ Kodah could not fix this (job `j`).');
  });

  it('reports a cancellation without a reason block', () => {
    const body = renderFailure({ key: 'k', jobId: 'j', message: 'Job cancelled', code: 'cancelled', kind: null, refunded: true, cancelled: true });
    expect(body).toContain('🛑 The fix was cancelled (job `j`).');
    expect(body).toContain('Your credit was restored.');
    expect(body).not.toContain('Why it failed');
  });

  it('stays under the limit with an enormous message', () => {
    const body = renderFailure({ key: 'k', jobId: 'j', message: '`'.repeat(10) + 'x'.repeat(1_000_000), code: null, kind: 'system', refunded: false });
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toContain('No credit was restored.');
    expect(body).toContain('\n```````````\n``````````x');
  });
});

describe('renderRefused', () => {
  it.each([
    ['No credits remaining', /Add credits/],
    ['Private repos require paid credits', /paid credits/],
    ['Job already in progress', /`\/kodah cancel`/],
    ['Server at capacity', /in a few minutes/],
    ['There is no fix in progress here to cancel.', /`\/kodah help` for the commands/],
  ])('%s', (reason, advice) => {
    const body = renderRefused({ key: 'k', reason });
    expect(body).toContain(`🚫 Kodah did not start a fix: ${reason}`);
    expect(body).toMatch(advice);
  });

  it('adds no advice to a reason that already names a command', () => {
    const reason = 'There is no earlier fix here to retry. Use `/kodah fix [more context]` to start one.';
    expect(renderRefused({ key: 'k', reason })).toBe(`<!-- kodah:k -->\n\n🚫 Kodah did not start a fix: ${reason}`);
  });

  it('neutralises what it echoes', () => {
    const body = renderRefused({ key: 'k', reason: 'Nope @alice\n# <script>' });
    expect(body).toContain('Nope `@alice` # &lt;script&gt;');
    expect(bareMentions(body)).toEqual([]);
  });
});

describe('renderHelp', () => {
  it('lists the commands, the label and who may use them', () => {
    const body = renderHelp('kodah-fix');
    for (const command of ['`/kodah fix [context]`', '`/kodah retry`', '`/kodah cancel`', '`/kodah help`', '`kodah-fix` label']) expect(body).toContain(command);
    expect(body).toContain('write access');
    expect(renderHelp('we`ird')).toContain('``we`ird``');
  });
});

describe('renderPullRequestBody', () => {
  it('closes the issue, explains, lists checks and files, and says it is a draft to review', () => {
    const body = renderPullRequestBody({
      issueNumber: 12,
      closes: true,
      explanation: 'load_config returned None for an empty file; it now returns an empty Config. Thanks @alice.',
      filesChanged: ['src/config.py'],
      checks: [...checks.slice(0, 2), { name: 'tests', outcome: 'timeout', detail: 'after 600 s' }],
      jobId: 'job-1',
      source: 'issue #12',
    });
    expect(body.split('\n\n').slice(0, 3)).toEqual([
      '<!-- kodah:pull-request -->',
      'Closes #12',
      'load_config returned None for an empty file; it now returns an empty Config. Thanks `@alice`.',
    ]);
    expect(body).toContain('Kodah made this fix from issue #12 (job `job-1`).');
    expect(body).toContain('### Checks\n\n- ✅ Diff policy passed\n- ✅ Syntax passed\n- ⏱️ Tests timed out: after 600 s');
    expect(body).toContain('### Files changed\n\n- `src/config.py`');
    expect(body).toContain('draft pull request made by Kodah');
    expect(body).toContain('Review the changes before merging');
    expect(bareMentions(body)).toEqual([]);
  });

  it('refers to the issue without closing it, and defuses closing keywords from the model', () => {
    const body = renderPullRequestBody({
      issueNumber: 12,
      closes: false,
      explanation: 'This fixes #1 and Closes: acme/other#2, resolves\u200B https://github.com/acme/widgets/issues/3.',
      filesChanged: [],
      checks: [],
      jobId: 'j',
      source: 'failed check `test` on abc1234',
    });
    expect(body).toContain('Refs #12');
    expect(body).not.toContain('Closes #12');
    expect(body).toContain('This fixes issue #1 and Closes: issue acme/other#2, resolves issue https://github.com/acme/widgets/issues/3.');
    expect(body).toContain('from failed check `test` on abc1234');
  });
});

describe('renderCommitMessage', () => {
  it('writes a subject, the wrapped explanation and a Closes trailer', () => {
    const message = renderCommitMessage({
      issueNumber: 12,
      title: 'Crash on empty config',
      explanation:
        'load_config returned None for an empty file and the caller indexed it, raising TypeError. It now returns an empty Config.\n\n- a list item that is long enough to need wrapping onto a second line of text\n\n```\nkeep_this_code_line_even_though_it_is_much_longer_than_seventy_two_characters()\n```',
      closes: true,
    });
    expect(message).toBe(
      [
        'Fix #12: Crash on empty config',
        '',
        'load_config returned None for an empty file and the caller indexed it,',
        'raising TypeError. It now returns an empty Config.',
        '',
        '- a list item that is long enough to need wrapping onto a second line of',
        '  text',
        '',
        '```',
        'keep_this_code_line_even_though_it_is_much_longer_than_seventy_two_characters()',
        '```',
        '',
        'Closes #12',
      ].join('\n'),
    );
  });

  it('keeps the subject to 72 characters', () => {
    const subject = renderCommitMessage({ issueNumber: 12345, title: 'A very long title that goes on and on about the many ways the parser fails', closes: true }).split('\n')[0]!;
    expect([...subject].length).toBeLessThanOrEqual(72);
    expect(subject).toBe('Fix #12345: A very long title that goes on and on about the many ways…');
    const unbroken = renderCommitMessage({ issueNumber: null, title: 'x'.repeat(200), closes: false });
    expect(unbroken).toBe(`Fix: ${'x'.repeat(66)}…`);
  });

  it('does not close the issue when it should not, even through the subject', () => {
    const message = renderCommitMessage({ issueNumber: 12, title: 'Crash', explanation: 'Fixes #12.', closes: false });
    expect(message).toBe('Fix for #12: Crash\n\nFixes issue #12.');
    expect(renderCommitMessage({ issueNumber: null, title: 'Failing test\u200B job\n', closes: true })).toBe('Fix: Failing test job');
  });
});
