import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A PGlite data folder straight after initdb, before any migration: what `PGlite.create` makes of
 * an empty folder. Making one takes 6–7 s of CPU, copying one a tenth of a second, so the test
 * database helper copies this one. Kept between runs, one per PGlite version; built beside its
 * final place and renamed into it, so concurrent runs never see half of one.
 */
export async function pgliteTemplate(): Promise<string> {
  const pkg = path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  const dir = path.join(ROOT, 'node_modules/.cache/kodah-test', `pglite-${version}`);
  if (existsSync(dir)) return dir;
  const building = `${dir}.${process.pid}.tmp`;
  mkdirSync(building, { recursive: true });
  try {
    const db = await PGlite.create(path.join(building, 'pgdata'));
    await db.close();
    renameSync(building, dir);
  } catch (err) {
    if (!existsSync(dir)) throw err;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}
