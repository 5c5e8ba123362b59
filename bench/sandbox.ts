/**
 * What the sandbox costs: each command's overhead over a plain spawn of the same `bash -c`, p50
 * and p95 over 200 runs, for `true` and for a Python import of 100 modules; and the time to
 * prepare a sympy-size work tree (git worktree add, then the sandbox made around it and its
 * first command). Goal: p95 overhead ≤ 50 ms per command.
 *
 *   npm run bench:sandbox [-- --runs 200 --mirror /work/.mirror/sympy+sympy/repo]
 *
 * Without --mirror (or when it is absent) the last part is skipped. Run as root for the
 * watchdog's per-uid accounting, as the server runs in the Docker image.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addWorktree } from '../src/git/checkout.js';
import { localGit } from '../src/git/git-objects.js';
import { bubblewrapDriver } from '../src/sandbox/bubblewrap.js';
import type { SandboxLimits } from '../src/sandbox/sandbox.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '200' }, mirror: { type: 'string', default: '/work/.mirror/sympy+sympy/repo' } },
});
const runs = Number(values.runs);

const limits: SandboxLimits = {
  timeoutMs: 60_000,
  memoryBytes: 2 * 1024 ** 3,
  processes: 256,
  outputTailBytes: 16 * 1024,
  maxOutputBytes: 64 * 1024 ** 2,
  diskBytes: 4 * 1024 ** 3,
};

const root = mkdtempSync(path.join(tmpdir(), 'kodah-bench-sandbox-'));
const tree = path.join(root, 'tree');
mkdirSync(path.join(tree, 'pkg'), { recursive: true });
writeFileSync(path.join(tree, 'pkg', '__init__.py'), '');
for (let i = 0; i < 100; i++) writeFileSync(path.join(tree, 'pkg', `m${i}.py`), `VALUE_${i} = ${i}\n\ndef f(x):\n    return x + ${i}\n`);
const importAll = `python3 -c "import importlib; [importlib.import_module(f'pkg.m{i}') for i in range(100)]"`;

function plain(command: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      cwd: tree,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command}: exit ${code}`))));
  });
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const ms = (x: number) => x.toFixed(1);

const driver = bubblewrapDriver({ scratchDir: path.join(root, 'scratch'), hidden: [], extraPaths: [], ownDir: root });
const sandbox = await driver.open(tree);
try {
  console.log(`| command | plain p50 | plain p95 | sandbox p50 | sandbox p95 | overhead p50 | overhead p95 |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|`);
  for (const [label, command] of [
    ['true', 'true'],
    ['python3 import of 100 modules', importAll],
  ] as const) {
    const bare: number[] = [];
    const boxed: number[] = [];
    // Interleaved, so that load on the machine falls on both alike.
    for (let i = 0; i < runs; i++) {
      bare.push(await plain(command));
      const started = performance.now();
      const run = await sandbox.run(command, { limits });
      if (run.exitCode !== 0) throw new Error(`${command} in the sandbox: ${run.limit ?? run.exitCode} ${run.outputTail}`);
      boxed.push(performance.now() - started);
    }
    const over = (q: number) => quantile(boxed, q) - quantile(bare, q);
    console.log(
      `| ${label} | ${ms(quantile(bare, 0.5))} ms | ${ms(quantile(bare, 0.95))} ms | ${ms(quantile(boxed, 0.5))} ms | ${ms(quantile(boxed, 0.95))} ms | ${ms(over(0.5))} ms | ${ms(over(0.95))} ms |`,
    );
  }
} finally {
  await sandbox.close();
}

if (values.mirror && existsSync(values.mirror)) {
  const head = (await localGit(values.mirror, ['rev-parse', 'HEAD'])).trim();
  const files = (await localGit(values.mirror, ['ls-tree', '-r', '--name-only', '-z', head])).split('\0').length - 1;
  const times: Array<[number, number, number]> = [];
  for (let i = 0; i < 5; i++) {
    let started = performance.now();
    const checkout = await addWorktree(values.mirror, head, { worktreeDir: path.join(root, 'worktrees'), timeoutMs: 120_000 });
    const added = performance.now() - started;
    started = performance.now();
    const boxed = await driver.open(checkout.dir);
    const run = await boxed.run('true', { limits });
    const first = performance.now() - started;
    await boxed.close();
    await checkout.remove();
    if (run.exitCode !== 0) throw new Error(`first command: ${run.outputTail}`);
    times.push([added, first, added + first]);
  }
  const median = (k: 0 | 1 | 2) =>
    quantile(
      times.map((t) => t[k]),
      0.5,
    );
  console.log(
    `\nsympy-size work tree (${files} files at ${head.slice(0, 12)}), median of 5: git worktree add ${ms(median(0))} ms, sandbox open and first command ${ms(median(1))} ms, together ${ms(median(2))} ms`,
  );
} else {
  console.log(`\n(no mirror at ${values.mirror}: the work tree preparation was not measured)`);
}
rmSync(root, { recursive: true, force: true });
