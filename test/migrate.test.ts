import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { connectDatabase } from '../src/db/connect.js';
import { loadMigrations, migrate } from '../src/db/migrate.js';
import { createTestDatabase, databaseKinds } from './helpers/test-database.js';

describe.each(databaseKinds)('migrations on %s', (kind) => {
  it('apply in order once; running them again (or from several processes at once) changes nothing', async () => {
    const database = await createTestDatabase(kind);
    const config = loadConfig(database.env);
    const db = await connectDatabase(config);
    try {
      const names = (await loadMigrations()).map((m) => m.name);
      expect(names[0]).toMatch(/^001-/);
      // Concurrent runs wait on the advisory lock; exactly one applies each file.
      const runs = kind === 'postgres' ? await Promise.all([migrate(db), migrate(db), migrate(db)]) : [await migrate(db)];
      expect(runs.flat().sort()).toEqual([...names].sort());
      expect(await migrate(db)).toEqual([]);
      const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(names.map((_, i) => i + 1));
    } finally {
      await db.close();
      await database.drop();
    }
  });
});

describe('migration files', () => {
  it('must be numbered NNN-name.sql without gaps', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kodah-mig-'));
    writeFileSync(path.join(dir, '001-a.sql'), 'SELECT 1;');
    writeFileSync(path.join(dir, '003-c.sql'), 'SELECT 1;');
    await expect(loadMigrations(pathToFileURL(`${dir}/`))).rejects.toThrow(/003-c.sql is out of sequence/);
    writeFileSync(path.join(dir, '002 b.sql'), 'SELECT 1;');
    await expect(loadMigrations(pathToFileURL(`${dir}/`))).rejects.toThrow(/must be named NNN-name.sql/);
  });
});
