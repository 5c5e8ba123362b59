import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltCli, buildCli } from './helpers/build-cli.js';
import { freePort, spawnKodah, waitForHealthy, type KodahProcess } from './helpers/kodah-process.js';
import { provided } from './helpers/provided.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** Bare specifiers a compiled file imports (node: builtins and relative paths left out), as package names. */
function importedPackages(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const code = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s*)['"]([^'"./][^'"]*)['"]/gm)) {
      const spec = m[1]!;
      // tsx is named in a string that only runs from source (code-index/snippet-pool.ts), never from dist/.
      if (spec.startsWith('node:') || spec.startsWith('tsx/')) continue;
      names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return names;
}

/**
 * Kodah as a user installs it: `npm pack` of the project (its package.json, bin/ and the compiled
 * dist/), installed globally into a prefix by npm, then `kodah` run from a folder that has nothing
 * to do with the checkout. The packed package's dependencies are not fetched from the registry
 * (half a minute): its node_modules is the checkout's, and a separate check holds every package
 * the compiled code imports to the package's own `dependencies`.
 */
describe('the packed and installed kodah command, from another folder', { timeout: 90_000 }, () => {
  let work: string;
  let elsewhere: string;
  let kodahBin: string;
  let packed: string[];
  let built: BuiltCli | undefined;
  let database: TestDatabase;
  let server: KodahProcess | undefined;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'kodah-pack-'));
    elsewhere = mkdtempSync(path.join(tmpdir(), 'kodah-elsewhere-'));
    // What `npm run build` puts in dist/: the run's compiled copy of src/ (test/helpers/build-cli.ts).
    const entry = provided('kodahCli') ?? (built = buildCli()).entry;
    const stage = path.join(work, 'stage');
    mkdirSync(stage);
    for (const file of ['package.json', 'README.md', 'bin']) cpSync(path.join(ROOT, file), path.join(stage, file), { recursive: true });
    cpSync(path.resolve(path.dirname(entry), '../../src'), path.join(stage, 'dist'), { recursive: true });
    cpSync(path.join(ROOT, 'src'), path.join(stage, 'src'), { recursive: true }); // must stay out of the package

    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: stage });
    const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = pack!.files.map((f) => f.path);
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', path.join(work, pack!.filename), '-C', unpacked, '--strip-components=1']);
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(unpacked, 'node_modules'));
    const prefix = path.join(work, 'prefix');
    await run('npm', ['install', '--global', '--prefix', prefix, unpacked, '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
    kodahBin = path.join(prefix, 'bin/kodah');
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await database?.drop();
    built?.remove();
    rmSync(work, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const kodah = (args: string[], env: Record<string, string> = {}) =>
    run(kodahBin, args, { cwd: elsewhere, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'silent', ...env } });

  it('packs the compiled code, its migrations and the command, and no sources', () => {
    const migrations = readdirSync(path.join(ROOT, 'src/db/migrations')).map((f) => `dist/db/migrations/${f}`);
    expect(packed).toEqual(expect.arrayContaining(['bin/kodah.js', 'dist/cli/main.js', 'package.json', ...migrations]));
    expect(packed.filter((p) => p.startsWith('src/') || p.startsWith('test/') || p.endsWith('.ts'))).toEqual([]);
    // Installed packages get `dependencies` only: the compiled code may import nothing else.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = [...importedPackages(path.join(work, 'unpacked/dist'))];
    expect(imported.length).toBeGreaterThan(10);
    expect(imported.filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it('runs --help, the operator commands beside a running server, and the MCP stdio server', async () => {
    const help = await kodah(['--help']);
    expect(help.stdout).toMatch(/Usage: kodah/);
    expect(help.stdout).toMatch(/accounts\s/);
    // Nothing was made in the folder it ran from.
    expect(readdirSync(elsewhere)).toEqual([]);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = spawnKodah(['start'], { ...database.env, PORT: String(port) });
    await waitForHealthy(base, server);
    await kodah(['accounts', 'create', '--email', 'agent@example.com'], database.env);
    const key = (await kodah(['keys', 'create', '--account', 'agent@example.com'], database.env)).stdout.trim();
    const list = JSON.parse((await kodah(['accounts', 'list', '--json'], database.env)).stdout);
    expect(list).toEqual([expect.objectContaining({ email: 'agent@example.com', activeKeys: 1 })]);

    // As an MCP client starts it: the installed command, in the client's folder.
    const transport = new StdioClientTransport({
      command: kodahBin,
      args: ['mcp', '--url', base, '--key', key],
      cwd: elsewhere,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'warn' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'kodah-install-test', version: '1' });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()?.name, stderr).toMatch(/kodah/);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['get_file', 'list_repositories', 'search_code']);
      const repos = await client.callTool({ name: 'list_repositories', arguments: {} });
      expect(repos.isError, stderr).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
