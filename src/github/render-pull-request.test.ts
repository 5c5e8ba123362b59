import { describe, expect, it } from 'vitest';
import { bareMentions } from '../../test/helpers/bare-mentions.js';
import type { CheckLine } from './render-parts.js';
import { renderCommitMessage, renderPullRequestBody } from './render-pull-request.js';

const checks: CheckLine[] = [
  { name: 'diff_policy', outcome: 'passed' },
  { name: 'syntax', outcome: 'passed' },
];

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
    const subject = renderCommitMessage({
      issueNumber: 12345,
      title: 'A very long title that goes on and on about the many ways the parser fails',
      closes: true,
    }).split('\n')[0]!;
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
