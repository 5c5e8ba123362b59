import { describe, expect, it } from 'vitest';
import { bareMentions } from '../../test/helpers/bare-mentions.js';
import type { FixStep } from '../jobs/fix-engine.js';
import { type Evidence, renderEvidence } from './render-evidence.js';
import { renderDiffComment, renderPullRequestDelivered } from './render-comment.js';
import { renderPullRequestBody } from './render-pull-request.js';

const step = (n: number, over: Partial<FixStep> = {}): FixStep => ({
  n,
  candidate: 1,
  tool: 'read_file',
  target: `shop/file_${n}.py`,
  outcome: '40 lines',
  ok: true,
  seconds: 0.04,
  ...over,
});

const evidence: Evidence = {
  mode: 'agent',
  steps: [
    step(1, { tool: 'search_code', target: 'calculate_total', outcome: '7 results' }),
    step(2, { tool: 'run', target: 'pytest -x', outcome: 'exit 1 (1.2 s)', ok: false, seconds: 1.24 }),
    step(3, { tool: 'edit', target: 'shop/processor.py', outcome: 'applied', candidate: 2 }),
  ],
  tests: {
    before: { command: 'pytest -x', exitCode: 1, failed: ['tests/test_processor.py::test_string_prices'], passed: 4, seconds: 3.2 },
    after: { command: 'pytest -x', exitCode: 0, failed: [], passed: 5, seconds: 12.6 },
  },
  candidates: { tried: 3, winner: 2, why: 'its tests passed and its diff was the smallest' },
  usage: { promptTokens: 12345, completionTokens: 678, costUsd: 0.0421 },
};

/** Raw HTML, mentions, fences, links and Kodah's own markers, in every field the model or repository fills. */
const HOSTILE =
  '</details><img src=x onerror=alert(1)> @admin ``` <!-- kodah:task:x --> ![](https://evil.example/p.png)\n# heading\n| a | b |';

/** What of each line is outside code spans (as CommonMark reads them): where markup would act. */
function outsideCode(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => {
      let out = '';
      for (let i = 0; i < line.length;) {
        if (line[i] === '\\') {
          i += 2;
          continue;
        }
        const run = /^`+/.exec(line.slice(i))?.[0];
        if (!run) {
          out += line[i++];
          continue;
        }
        // A span closes at the next run of exactly as many backticks; without one, the run is text.
        const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
        close.lastIndex = i + run.length;
        const found = close.exec(line);
        i = found ? found.index + run.length : i + run.length;
      }
      return out;
    })
    .join('\n');
}

describe('renderEvidence', () => {
  it('folds the steps, the tests before and after, the candidates and the usage', () => {
    const block = renderEvidence(evidence)!;
    expect(
      block.startsWith('<details><summary>How Kodah made this fix: 3 steps, tests before and after, 3 candidates, $0.04</summary>\n\n'),
    ).toBe(true);
    expect(block.endsWith('\n\n</details>')).toBe(true);
    expect(block).toContain('**Steps** (the model searched, read, ran and edited the code with tools)');
    expect(block).toContain('- ✅ **1** `search_code` `calculate_total` → 7 results · 0.0 s');
    expect(block).toContain('- ❌ **2** `run` `pytest -x` → exit 1 (1.2 s) · 1.2 s');
    expect(block).toContain('- ✅ **3** (candidate 2) `edit` `shop/processor.py` → applied');
    expect(block).toContain(
      '- Before the fix: `pytest -x` → exit 1 · 1 failed, 4 passed · 3.2 s\n  - `tests/test_processor.py::test_string_prices`',
    );
    expect(block).toContain('- With the fix: `pytest -x` → exit 0 · 5 passed · 13 s');
    expect(block).toContain(
      '**Candidates:** 3 independent attempts. Candidate 2 was chosen: its tests passed and its diff was the smallest',
    );
    expect(block).toContain('**Usage:** 12,345 prompt + 678 completion tokens · $0.0421');
  });

  it('is absent when the result has none of it, and says what it has', () => {
    expect(renderEvidence(undefined)).toBeNull();
    expect(renderEvidence({})).toBeNull();
    expect(renderEvidence({ steps: [] })).toBeNull();
    const usageOnly = renderEvidence({ mode: 'single-shot', attempts: 2, usage: { promptTokens: 10, completionTokens: 5 } })!;
    expect(usageOnly).toContain('**Usage:** 10 prompt + 5 completion tokens · 2 model answers');
    expect(usageOnly).not.toContain('**Steps**');
    const stopped = renderEvidence({
      tests: { before: { command: 'make test', exitCode: null, failed: [], passed: null, seconds: 600 }, after: null },
    })!;
    expect(stopped).toContain('- Before the fix: `make test` → stopped by a limit · 600 s');
    expect(stopped).not.toContain('With the fix');
  });

  it('keeps hostile text from the model and the repository inert', () => {
    const block = renderEvidence({
      mode: 'agent',
      steps: [step(1, { tool: HOSTILE, target: HOSTILE, outcome: HOSTILE })],
      tests: { before: { command: HOSTILE, exitCode: 1, failed: [HOSTILE, '`@team`'], passed: 0, seconds: 1 }, after: null },
      candidates: { tried: 2, winner: 1, why: HOSTILE },
    })!;
    // One <details>, closed once, at the end: outside code spans (where `</details>` is text), nothing
    // in the texts closes it early or opens HTML.
    expect(outsideCode(block).match(/<\/?details>/g)).toEqual(['<details>', '</details>']);
    expect(outsideCode(block)).not.toMatch(/<img|<!--/);
    expect(block).not.toContain('\n# heading');
    expect(bareMentions(block)).toEqual([]);
    // Every field stays on its line: a step is one list item, a failed test one nested item.
    const lines = block.split('\n');
    expect(lines.filter((l) => l.startsWith('- ❌') || l.startsWith('- ✅') || l.startsWith('- •'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('  - '))).toHaveLength(2);
    expect(lines.every((l) => !l.startsWith('|') && !l.startsWith('#') && !l.startsWith('```'))).toBe(true);
  });

  it('survives a stored result of the wrong shape', () => {
    const broken = {
      steps: [null, 7, { n: 'x', tool: 5, target: {}, outcome: ['a'] }],
      tests: { before: 'x', after: 3 },
      candidates: { tried: 'many' },
      usage: null,
    };
    const block = renderEvidence(broken as unknown as Evidence)!;
    expect(block).toContain('- • **1** `step`');
    expect(block).toContain('- • **3** `5`');
    expect(block).not.toContain('Tests');
    expect(block).not.toContain('Candidates');
  });

  it('shows at most 40 steps and 20 failed tests, then how many more, within its size', () => {
    const many = Array.from({ length: 250 }, (_, i) => step(i + 1));
    const failed = Array.from({ length: 75 }, (_, i) => `tests/test_${i}.py::test_case`);
    const block = renderEvidence({
      steps: many,
      tests: { before: { command: 'pytest', exitCode: 1, failed, passed: 0, seconds: 1 }, after: null },
    })!;
    expect(block.split('\n').filter((l) => /^- ✅ \*\*\d+\*\*/.test(l))).toHaveLength(40);
    expect(block).toContain('- ✅ **40** ');
    expect(block).not.toContain('**41**');
    expect(block).toContain('- … and 210 more');
    expect(block.split('\n').filter((l) => l.startsWith('  - `tests/'))).toHaveLength(20);
    expect(block).toContain('  - … and 55 more');
    expect(block).toContain('How Kodah made this fix: 250 steps');

    // Long targets and outcomes fill the room before 40 steps: fewer are shown, never more characters.
    const wide = Array.from({ length: 40 }, (_, i) => step(i + 1, { target: '<'.repeat(400), outcome: '&'.repeat(400) }));
    const bounded = renderEvidence(
      {
        steps: wide,
        tests: {
          before: { command: '`'.repeat(300), exitCode: 1, failed: Array(30).fill('<&>'.repeat(100)), passed: 0, seconds: 1 },
          after: null,
        },
      },
      8_000,
    )!;
    expect(bounded.length).toBeLessThanOrEqual(8_000);
    expect(bounded).toMatch(/- … and \d+ more\n/);
    expect(renderEvidence({ steps: wide }, 100)).toBeNull();
  });
});

describe('evidence in bodies', () => {
  const longest = {
    steps: Array.from({ length: 500 }, (_, i) => step(i + 1, { tool: '`'.repeat(40), target: '<'.repeat(200), outcome: '&@x'.repeat(70) })),
    tests: {
      before: { command: '<'.repeat(300), exitCode: 1, failed: Array(500).fill('&'.repeat(300)), passed: 1, seconds: 1 },
      after: { command: '<'.repeat(300), exitCode: 1, failed: Array(500).fill('&'.repeat(300)), passed: 1, seconds: 1 },
    },
    candidates: { tried: 9, winner: 3, why: '<'.repeat(5_000) },
    usage: { promptTokens: 1e9, completionTokens: 1e9, costUsd: 12345.678 },
  } satisfies Evidence;

  it('goes under the pull request body, which stays under GitHub’s limit however long everything is', () => {
    const body = renderPullRequestBody({
      issueNumber: 12,
      closes: true,
      explanation: '<b>'.repeat(20_000),
      filesChanged: Array.from({ length: 80 }, (_, i) => `${'`'.repeat(60)}${'x'.repeat(140)}${i}`),
      checks: Array.from({ length: 12 }, () => ({ name: 'tests' as const, outcome: 'failed' as const, detail: '<'.repeat(400) })),
      jobId: 'job-1',
      source: 'issue #12',
      evidence: longest,
    });
    expect(body.length).toBeLessThanOrEqual(65_536);
    const plain = renderPullRequestBody({
      issueNumber: 1,
      closes: true,
      explanation: 'x',
      filesChanged: ['a.py'],
      checks: [],
      jobId: 'j',
      source: 'issue #1',
      evidence,
    });
    expect(plain.indexOf('<details>')).toBeGreaterThan(plain.indexOf('### Files changed'));
    expect(plain.indexOf('<details>')).toBeLessThan(plain.indexOf('> [!NOTE]'));
    expect(bareMentions(body)).toEqual([]);
  });

  it('goes after the diff in a comment, which stays under the limit, and into a revision’s pull request comment', () => {
    const diff = `diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n${'+x\n'.repeat(30_000)}`;
    const comment = renderDiffComment({
      key: 'k',
      jobId: 'j',
      diff,
      explanation: '<'.repeat(20_000),
      filesChanged: ['a.py'],
      checks: [],
      evidence: longest,
    });
    expect(comment.length).toBeLessThanOrEqual(65_536);
    expect(comment.indexOf('How Kodah made this fix')).toBeGreaterThan(comment.indexOf('```diff'));
    expect(comment).toContain('The diff is too long for a comment');
    const revised = renderPullRequestDelivered({
      key: 'k',
      jobId: 'j',
      prUrl: 'https://github.com/a/b/pull/3',
      prNumber: 3,
      filesChanged: [],
      checks: [],
      revised: true,
      evidence,
    });
    expect(revised).toContain('<details><summary>How Kodah made this fix');
  });
});
