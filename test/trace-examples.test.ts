import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { examplePackage, traceExamples } from '../src/fix/trace-examples.js';
import { bubblewrapDriver } from '../src/sandbox/bubblewrap.js';
import type { Sandbox, SandboxDriver, SandboxLimits } from '../src/sandbox/sandbox.js';

/**
 * A bug report's Python examples, run traced in the real bubblewrap sandbox with the machine's
 * python3: which of the repository's functions they call, and what a hostile example can do to
 * the answer (nothing that leaves the sandbox or outlives the limits).
 */
const MiB = 1024 * 1024;
const LIMITS: SandboxLimits = {
  timeoutMs: 60_000,
  memoryBytes: 512 * MiB,
  processes: 64,
  outputTailBytes: 16 * 1024,
  maxOutputBytes: 4 * MiB,
  diskBytes: 64 * MiB,
};
const SECRET = `kodah-trace-secret-${process.pid}`;

const FILES: Record<string, string> = {
  'shop/__init__.py': 'from .cart import total\n',
  'shop/cart.py':
    'from .money import cents\n\n\ndef total(prices):\n    return sum(cents(p) for p in prices) / 100\n\n\nclass Basket:\n    def add(self, price):\n        return cents(price)\n',
  'shop/money.py':
    'def cents(value):\n    """\n    >>> from shop.money import cents\n    >>> cents("0.5")\n    50\n    """\n    return round(float(value) * 100)\n\n\ndef unused():\n    return 0\n',
  'shop/report.py': 'def render(total):\n    return "%.2f" % total\n',
};

let dataDir: string;
let driver: SandboxDriver;
const opened: Sandbox[] = [];

async function shop(): Promise<{ sandbox: Sandbox; dir: string }> {
  const dir = path.join(dataDir, 'worktrees', `shop-${opened.length}`);
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const sandbox = await driver.open(dir);
  opened.push(sandbox);
  return { sandbox, dir };
}

beforeAll(() => {
  process.env.KODAH_TRACE_TEST_SECRET = SECRET;
  dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-trace-data-'));
  driver = bubblewrapDriver({ scratchDir: path.join(dataDir, 'sandbox'), ownDir: dataDir, hidden: [dataDir], extraPaths: [] });
});

afterAll(async () => {
  delete process.env.KODAH_TRACE_TEST_SECRET;
  for (const sandbox of opened) await sandbox.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("a report's examples, traced in the sandbox", () => {
  it('names the files and functions a >>> session and a fenced block call, and none that only loaded', async () => {
    const { sandbox, dir } = await shop();
    const report = [
      'total() is off for string prices:',
      '',
      '>>> from shop.cart import total',
      '>>> total(["1.5", "2"])',
      '3.5',
      '',
      '```python',
      'from shop.cart import Basket',
      'Basket().add("0.1")',
      'undefined_name + 1',
      '```',
      '',
      'and in a session:',
      '```',
      '>>> from shop.money import cents',
      '>>> cents("2")',
      '200',
      '```',
    ].join('\n');
    const traced = await traceExamples(sandbox, report, { package: await examplePackage(dir, 'shop'), limits: LIMITS });
    expect(traced).not.toBeNull();
    expect(Object.fromEntries([...traced!.executed].map(([f, names]) => [f, [...names].sort()]))).toEqual({
      // The generator expression inside total() is part of it, not a function of its own.
      'shop/cart.py': ['Basket.add', 'total'],
      'shop/money.py': ['cents'],
    });
    // Seven statements, each run once; the one naming nothing defined fails and the rest still run.
    expect([traced!.statements, traced!.ran]).toEqual([7, 6]);
    expect(traced!.run).toMatchObject({ command: 'python3: the report’s examples, traced', exitCode: 0 });
    expect(traced!.run.outputTail).toContain('6 of 7 statements');
    // The statement that failed failed in the report's own code: no error of the repository's.
    expect(traced!.raised).toEqual([]);
  });

  it("names where an error the examples stop on was raised in the repository's code, innermost first", async () => {
    const { sandbox, dir } = await shop();
    writeFileSync(
      path.join(dir, 'shop', 'cli.py'),
      'import sys\n\n\ndef main():\n    sys.exit(2)\n\n\ndef load(name):\n    return open(name).read()\n\n\n' +
        'def plot():\n    import optional_plotting_library\n',
    );
    const report = [
      '>>> from shop.cart import total',
      '>>> total(["1,5"])',
      'ValueError',
      '>>> raise KeyError("the report\'s own")',
      '>>> total(["2"])',
      '>>> from shop.cli import load, main, plot',
      '>>> main()',
      '>>> load("orders.csv")',
      '>>> plot()',
    ].join('\n');
    const traced = await traceExamples(sandbox, report, { package: await examplePackage(dir, 'shop'), limits: LIMITS });
    expect([traced!.statements, traced!.ran]).toEqual([8, 3]);
    // float() raised in cents(), called from total()'s generator expression (which counts as
    // total's own). Neither the report's own error, a command line's exit, nor a file or a library
    // the reporter had and the sandbox has not is an error of the repository's.
    expect(traced!.raised).toEqual([
      { path: 'shop/money.py', func: 'cents', depth: 0 },
      { path: 'shop/cart.py', func: 'total', depth: 1 },
    ]);
    expect(traced!.run.outputTail).toContain('an error was raised in cents (shop/money.py)');
  });

  it('leaves out what a module an example imports on the way calls as it loads, and keeps a module run as a script', async () => {
    const { sandbox, dir } = await shop();
    // Loading this module prices its table: what an import does, not what the example asked for.
    writeFileSync(
      path.join(dir, 'shop', 'lazy.py'),
      'from .money import cents\n\nTABLE = [cents(p) for p in ("1", "2")]\n\n\ndef late():\n    return TABLE\n',
    );
    writeFileSync(path.join(dir, 'shop', 'script.py'), 'from shop.report import render\n\nrender(1.5)\n');
    const report = [
      '>>> def uses_lazy():',
      '...     from shop import lazy',
      '...     return lazy.late()',
      '>>> uses_lazy()',
      '>>> import runpy',
      ">>> runpy.run_module('shop.script', run_name='__main__')",
    ].join('\n');
    const traced = await traceExamples(sandbox, report, { package: null, limits: LIMITS });
    expect([traced!.statements, traced!.ran]).toEqual([4, 4]);
    expect(Object.fromEntries([...traced!.executed].map(([f, names]) => [f, [...names]]))).toEqual({
      'shop/lazy.py': ['late'],
      'shop/report.py': ['render'],
    });
  });

  it('leaves out the code of a virtual environment in the work tree, and runs with its python', async () => {
    const { sandbox, dir } = await shop();
    const venv = path.join(dir, '.venv');
    const site = path.join(venv, 'lib', 'python3', 'site-packages');
    mkdirSync(path.join(venv, 'bin'), { recursive: true });
    mkdirSync(site, { recursive: true });
    writeFileSync(path.join(site, 'helper.py'), 'def helps():\n    return 1\n');
    // A python that finds the environment's packages, as `python -m venv` makes one.
    writeFileSync(path.join(venv, 'bin', 'python'), `#!/bin/sh\nPYTHONPATH=${'$'}PWD/.venv/lib/python3/site-packages exec python3 "$@"\n`, {
      mode: 0o755,
    });
    const report = '>>> import helper\n>>> helper.helps()\n>>> from shop.money import cents\n>>> cents(helper.helps())\n';
    const traced = await traceExamples(sandbox, report, { package: null, limits: LIMITS });
    expect(traced!.ran).toBe(4);
    expect([...traced!.executed.keys()]).toEqual(['shop/money.py']);
  });

  it("imports a name the report's session had the way the repository's doctests do, and runs the statement again", async () => {
    const { sandbox } = await shop();
    const report = '>>> cents("1.5")\n150\n>>> no_such_name(1)\n';
    const traced = await traceExamples(sandbox, report, { package: 'shop', limits: LIMITS });
    expect([traced!.statements, traced!.ran]).toEqual([2, 1]);
    expect(Object.fromEntries([...traced!.executed].map(([f, names]) => [f, [...names]]))).toEqual({ 'shop/money.py': ['cents'] });
    // Without the package there are no doctests to ask.
    const bare = await traceExamples(sandbox, report, { package: null, limits: LIMITS });
    expect([bare!.ran, bare!.executed.size]).toEqual([0, 0]);
  });

  it('names every file called within a small kept tail, with fewer of their functions', async () => {
    const { sandbox, dir } = await shop();
    for (let i = 0; i < 30; i++)
      writeFileSync(
        path.join(dir, 'shop', `part_${i}.py`),
        Array.from({ length: 20 }, (_, k) => `def step_number_${k}():\n    return ${k}\n`).join('\n'),
      );
    const calls = Array.from(
      { length: 30 },
      (_, i) => `>>> import shop.part_${i} as p; [getattr(p, n)() for n in dir(p) if n.startswith('step')]`,
    );
    const traced = await traceExamples(sandbox, calls.join('\n'), { package: null, limits: { ...LIMITS, outputTailBytes: 2048 } });
    expect(traced!.executed.size).toBe(30);
    const names = [...traced!.executed.values()].map((n) => n.size);
    expect(Math.max(...names)).toBeLessThan(20);
    expect(Math.min(...names)).toBeGreaterThan(0);
  });

  it('uses the package named after the repository, at the top or under src/, as a doctest would', async () => {
    const { dir } = await shop();
    expect(await examplePackage(dir, 'shop')).toBe('shop');
    expect(await examplePackage(dir, 'shop.git')).toBe('shop');
    expect(await examplePackage(dir, 'other')).toBeNull();
    expect(await examplePackage(dir, '../shop')).toBeNull();
    mkdirSync(path.join(dir, 'src', 'flat_pack'), { recursive: true });
    writeFileSync(path.join(dir, 'src', 'flat_pack', '__init__.py'), '');
    expect(await examplePackage(dir, 'flat-pack')).toBe('flat_pack');
  });

  it('runs nothing for a report without code', async () => {
    const { sandbox } = await shop();
    expect(await traceExamples(sandbox, 'The total is wrong when prices are strings.', { package: 'shop', limits: LIMITS })).toBeNull();
  });

  it('keeps its answer when an example floods the output, forges an answer line and looks for secrets', async () => {
    const { sandbox, dir } = await shop();
    const report = [
      '```python',
      'import os, sys',
      'print("x" * 10_000_000)',
      'os.write(1, b"\\nKODAH_TRACE_0 {\\"statements\\":1,\\"ran\\":1,\\"files\\":{\\"../../etc/passwd\\":[\\"x\\"]}}\\n")',
      'found = [k + "=" + v for k, v in os.environ.items()]',
      'try: found.append(open("/proc/1/environ", "rb").read().decode(errors="replace"))',
      'except Exception as e: found.append(repr(e))',
      'open("found.txt", "w").write("\\n".join(found))',
      'from shop.money import cents; cents(len(found))',
      '```',
    ].join('\n');
    const traced = await traceExamples(sandbox, report, { package: null, limits: LIMITS });
    expect([...traced!.executed.keys()]).toEqual(['shop/money.py']);
    expect(traced!.ran).toBe(8);
    // What the examples could read of the environment is the sandbox's, not the server's.
    const found = readFileSync(path.join(dir, 'found.txt'), 'utf8');
    expect(found).toContain('HOME=');
    expect(found).not.toContain(SECRET);
    expect(traced!.run.outputTail).not.toContain('xxxx');
  });

  it('stops examples that never end at its deadline, with what ran before', async () => {
    const { sandbox } = await shop();
    const report = '>>> from shop.money import cents\n>>> cents(1)\n>>> while True: pass\n>>> cents(2)\n';
    const started = performance.now();
    const traced = await traceExamples(sandbox, report, { package: null, limits: LIMITS, seconds: 2 });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect([...traced!.executed.keys()]).toEqual(['shop/money.py']);
    expect(traced!.ran).toBe(2);
  });

  it('reports no files, and the run as it ended, when an example ends the process', async () => {
    const { sandbox } = await shop();
    const traced = await traceExamples(sandbox, '>>> from shop.money import cents\n>>> cents(1)\n>>> import os; os._exit(3)\n', {
      package: null,
      limits: LIMITS,
    });
    expect(traced!.executed.size).toBe(0);
    expect(traced!.run.exitCode).toBe(3);
  });
});
