import { readdir, readFile } from 'node:fs/promises';
import type { Database } from './database.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE = /^(\d{3,})-[a-z0-9-]+\.sql$/;
// Any constant works; it only has to be the same for every Kodah process on one database.
const LOCK_KEY = 0x6b6f6461;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered SQL files in order; a gap or a duplicate number is a packaging error. */
export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE.exec(file);
    if (!match) throw new Error(`Migration file ${file} must be named NNN-name.sql`);
    const version = Number(match[1]);
    if (version !== migrations.length + 1) throw new Error(`Migration ${file} is out of sequence`);
    migrations.push({ version, name: file, sql: await readFile(new URL(file, dir), 'utf8') });
  }
  return migrations;
}

/**
 * Brings the schema up to date; returns the names applied. Safe to run from many processes at
 * once: an advisory lock lets one apply while the others wait and then find nothing to do.
 */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      // Through the transaction's own connection: a script runs as one simple-protocol query.
      await tx.boss.executeSql(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}
