// Compiles src/ into dist/ (tsc, then the SQL migrations beside the code) and records what it
// compiled: a hash of every input in dist/.build-stamp. `--if-stale` compiles only when that hash
// differs, so `npm start` on a current build starts at once (tsc takes 20 s on two cores) while an
// edit under src/ is still compiled before the next start.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(ROOT, 'dist/.build-stamp');
/** What the output depends on besides src/: the compiler's options, its version, this script. */
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.js', 'node_modules/typescript/package.json'];

/** Every file under dir that tsc compiles or the build copies, as paths relative to ROOT, sorted. */
function filesUnder(dir) {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

/** A hash of the names and contents of the inputs: mtimes change on checkout and copy, contents do not. */
function sourceHash() {
  const hash = createHash('sha256');
  for (const file of [...INPUTS, ...filesUnder('src')]) {
    hash.update(`${file}\0`);
    hash.update(existsSync(path.join(ROOT, file)) ? readFileSync(path.join(ROOT, file)) : '\0missing');
    hash.update('\0');
  }
  return hash.digest('hex');
}

function build(hash) {
  // A build that fails halfway must not leave a stamp that calls its output current.
  rmSync(STAMP, { force: true });
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  cpSync(path.join(ROOT, 'src/db/migrations'), path.join(ROOT, 'dist/db/migrations'), { recursive: true });
  writeFileSync(STAMP, `${hash}\n`);
}

const ifStale = process.argv.includes('--if-stale');
const hash = sourceHash();
const current = existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash;
if (ifStale && current) process.exit(0);
if (ifStale) process.stderr.write('kodah: src/ changed since the last build; compiling (tsc, about 20 s)…\n');
build(hash);
