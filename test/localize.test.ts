import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactsCache } from '../src/localize/facts-cache.js';
import { localize, localizeFiles } from '../src/localize/localize.js';
import { resolveCommit } from '../src/git/git-objects.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { spawnKodah } from './helpers/kodah-process.js';
import { scratchRepo } from './helpers/scratch-repo.js';

const FILES: Record<string, string> = {
  'shop/processor.py':
    'def calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n',
  'shop/formatting.py':
    'def format_price(value):\n    return "%.2f" % value\n\nclass Receipt:\n    def render(self):\n        return "total"\n',
  'shop/__init__.py': 'from .processor import calculate_total\n',
  'tests/test_processor.py':
    'from shop.processor import calculate_total\n\ndef test_total():\n    assert calculate_total([{"price": "1"}]) == 1\n',
  'docs/conf.py': 'project = "shop"  # calculate_total price total\n',
  'static/jquery.min.js': 'function calculate_total(){return total+price}',
};

const REPORT = `TypeError in calculate_total: unsupported operand type(s) for +=: 'float' and 'str'

Traceback (most recent call last):
  File "app.py", line 4, in <module>
  File "/srv/venv/lib/python3.11/site-packages/shop/processor.py", line 4, in calculate_total
TypeError: unsupported operand type(s) for +=: 'float' and 'str'
`;

describe('localizing a bug report in a real repository', () => {
  let git: GitHttpServer;
  let gitDir: string;

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', FILES);
    gitDir = path.join(mkdtempSync(path.join(tmpdir(), 'kodah-loc-')), 'shop.git');
    // Asynchronously: the git server answering this clone runs in this very process.
    await promisify(execFile)('git', ['clone', '-q', '--bare', git.url('shop'), gitDir]);
  });
  afterAll(async () => {
    await git?.close();
  });

  it('puts the file of the innermost own stack frame first, with its reasons; tests, docs and vendored code after', async () => {
    const ranked = await localizeFiles(gitDir, await resolveCommit(gitDir, 'main'), REPORT, { cache: new FactsCache() });
    expect(ranked[0]!.path).toBe('shop/processor.py');
    expect(ranked[0]!.reasons).toEqual(
      expect.arrayContaining(['stack frame (innermost of ours) in calculate_total', 'defines calculate_total']),
    );
    const position = (p: string) => ranked.findIndex((r) => r.path === p);
    // Each of these says "calculate_total" too, but a fix rarely goes there.
    for (const elsewhere of ['tests/test_processor.py', 'docs/conf.py', 'static/jquery.min.js']) {
      expect(position(elsewhere)).toBeGreaterThan(position('shop/__init__.py'));
      expect(ranked[position(elsewhere)]!.score).toBeLessThan(ranked[0]!.score / 3);
    }
  });

  it('ranks the functions of the best files: the one in the trace first, with its lines and signature', async () => {
    const {
      snippets: [best],
    } = await localize(gitDir, await resolveCommit(gitDir, 'main'), REPORT, { cache: new FactsCache() });
    expect(best).toMatchObject({
      path: 'shop/processor.py',
      qualifiedName: 'calculate_total',
      kind: 'function',
      startLine: 1,
      endLine: 5,
      signature: 'def calculate_total(items)',
      reasons: expect.arrayContaining(['innermost frame of the stack trace']),
    });
  });

  it("lifts the files and functions the report's examples ran, with the reason", async () => {
    const commit = await resolveCommit(gitDir, 'main');
    const report = 'The receipt shows the total with too many digits.';
    const before = await localize(gitDir, commit, report, { cache: new FactsCache(), files: 10, snippets: 20 });
    const executed = new Map([['shop/formatting.py', new Set(['format_price', 'Receipt.render'])]]);
    const after = await localize(gitDir, commit, report, { cache: new FactsCache(), files: 10, snippets: 20, executed });
    const score = (l: typeof before, p: string) => l.files.find((f) => f.path === p)?.score ?? 0;
    expect(score(after, 'shop/formatting.py')).toBeGreaterThan(score(before, 'shop/formatting.py'));
    expect(score(after, 'shop/processor.py')).toBe(score(before, 'shop/processor.py'));
    expect(after.files[0]).toMatchObject({
      path: 'shop/formatting.py',
      reasons: expect.arrayContaining(["ran when the report's example ran (format_price, Receipt.render)"]),
    });
    // Matched by qualified name: the method ran, and so did the function of the same file.
    const ran = after.snippets.filter((s) => s.reasons.includes("ran when the report's example ran")).map((s) => s.qualifiedName);
    expect(ran.sort()).toEqual(['Receipt.render', 'format_price']);
  });

  it("lifts the files an example's error was raised in, the innermost most, with the reason", async () => {
    const commit = await resolveCommit(gitDir, 'main');
    const report = 'The receipt shows the total with too many digits.';
    const options = { cache: new FactsCache(), files: 10, snippets: 20 };
    const before = await localize(gitDir, commit, report, options);
    const raised = [
      { path: 'shop/formatting.py', func: 'format_price', depth: 0 },
      { path: 'shop/processor.py', func: 'process', depth: 3 },
    ];
    const after = await localize(gitDir, commit, report, { ...options, raised });
    const file = (l: typeof before, p: string) => l.files.find((f) => f.path === p)!;
    expect(after.files[0]).toMatchObject({
      path: 'shop/formatting.py',
      signals: { raised: 1 },
      reasons: expect.arrayContaining(["the report's example raised an error here (in format_price)"]),
    });
    expect(file(after, 'shop/formatting.py').score).toBeGreaterThan(file(before, 'shop/formatting.py').score);
    // Three frames out it counts as a traceback's frame three out does: 1 / (1 + 0.5 · 3).
    expect(file(after, 'shop/processor.py').signals.raised).toBeCloseTo(0.4);
    expect(file(after, 'shop/processor.py').reasons).toContain("the report's example raised an error through here (in process)");
  });

  it('finds a class member named in prose without any trace', async () => {
    const ranked = await localizeFiles(gitDir, await resolveCommit(gitDir, 'main'), '`Receipt.render` prints the wrong total', {
      cache: new FactsCache(),
    });
    expect(ranked[0]).toMatchObject({ path: 'shop/formatting.py', reasons: expect.arrayContaining(['defines Receipt.render']) });
  });

  it('kodah localize clones a URL into the mirror cache and prints JSON', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-loc-data-'));
    const report = path.join(dataDir, 'report.txt');
    writeFileSync(report, REPORT);
    const run = async () => {
      const proc = spawnKodah(['localize', '--repo', git.url('shop'), '--ref', 'main', '--description-file', report, '--json'], {
        KODAH_DATA_DIR: dataDir,
        KODAH_ALLOW_LOCAL_GIT: '1',
        LOG_LEVEL: 'silent',
      });
      let stdout = '';
      proc.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      expect(await proc.exited).toBe(0);
      return JSON.parse(stdout) as { commit: string; files: Array<{ path: string }> };
    };
    const first = await run();
    expect(first.commit).toBe(git.git('shop', 'rev-parse', 'main'));
    expect(first.files[0]!.path).toBe('shop/processor.py');
    // A second run fetches into the existing mirror and sees a new commit.
    const next = git.git(
      'shop',
      '-c',
      'user.name=T',
      '-c',
      'user.email=t@example.com',
      'commit-tree',
      '-p',
      'main',
      '-m',
      'again',
      'main^{tree}',
    );
    git.git('shop', 'branch', '-f', 'main', next);
    expect((await run()).commit).toBe(git.git('shop', 'rev-parse', 'main'));
  });
});

it('`within` picks the files before their functions are ranked: a folder whose files rank low is still searched', async () => {
  const repo = scratchRepo('kodah-within-');
  try {
    // A dozen files match "parse the price" better than the one in legacy/, which ranks below
    // the eight whose functions are ranked.
    const files: Record<string, string> = { 'legacy/money.py': 'def read_amount(text):\n    return float(text)  # price\n' };
    for (let i = 0; i < 12; i++)
      files[`shop/price_${i}.py`] = `def parse_price_${i}(text):\n    """Parse the price."""\n    return parse(text, price=True)\n`;
    const commit = repo.commit('shop', files);
    const search = (within?: (p: string) => boolean) =>
      localize(repo.gitDir, commit, 'parse the price', { cache: new FactsCache(), pastFunctions: false, within });
    expect((await search()).snippets.map((s) => s.path)).not.toContain('legacy/money.py');
    const inLegacy = await search((p) => p.startsWith('legacy/'));
    expect(inLegacy.files.map((f) => f.path)).toEqual(['legacy/money.py']);
    expect(inLegacy.snippets.map((s) => s.qualifiedName)).toEqual(['read_amount']);
  } finally {
    repo.remove();
  }
});
