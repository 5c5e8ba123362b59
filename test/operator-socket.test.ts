import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectOperatorDatabase } from '../src/db/connect-operator.js';
import { connectPglite } from '../src/db/connect-pglite.js';
import type { Database } from '../src/db/database.js';
import { connectRemoteDatabase } from '../src/db/remote-database.js';
import { operatorSocketPath } from '../src/db/serve-database.js';
import { encodeFrame } from '../src/db/wire-frames.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/**
 * The embedded database's operator socket, from both ends in one process: the holder (as `kodah
 * start` opens it) and an operator command's connection. test/cli.test.ts does it across processes.
 */
describe('operator socket of the embedded database', () => {
  let folder: TestDatabase;
  let dataDir: string;
  let holder: Database;
  const opened: Database[] = [];
  // The holder is this process, whose own pid the lock does not count as another holder: connect
  // to its socket directly, as connectOperatorDatabase does from another process.
  const operator = async () => {
    const db = await connectRemoteDatabase(operatorSocketPath(dataDir)!);
    opened.push(db);
    return db;
  };

  beforeEach(async () => {
    folder = await createTestDatabase('pglite');
    dataDir = folder.env.KODAH_DATA_DIR!;
    holder = await connectPglite(dataDir);
    await holder.exec(
      `CREATE TABLE t (id int PRIMARY KEY, at timestamptz, data bytea, big int8, doc jsonb, note text);
       CREATE TABLE u (id int PRIMARY KEY)`,
    );
  });
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close().catch(() => {});
    await holder.close();
    await folder.drop();
  });

  it('is a socket only its owner can use, in the data folder, gone when the holder closes', async () => {
    const socket = operatorSocketPath(dataDir)!;
    expect(path.dirname(socket)).toBe(dataDir);
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    await holder.close();
    expect(() => statSync(socket)).toThrow(/ENOENT/);
    // The folder is free again: an operator command opens it itself, and serves it in turn.
    const own = await connectOperatorDatabase({ databaseUrl: undefined, databasePoolMax: 1, dataDir });
    expect(statSync(socket).isSocket()).toBe(true);
    await own.close();
    holder = await connectPglite(dataDir);
  });

  it('carries values as they are stored, errors with their code, and parameters', async () => {
    const db = await operator();
    const at = new Date('2026-03-04T05:06:07.891Z');
    const doc = { __proto__x: 1, nested: [1, 'two', null], $date: 'not a date' };
    await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6)', [1, at, new Uint8Array([0, 1, 255]), 9007199254740993n, doc, null]);
    const { rows } = await db.query<{ at: Date; data: Uint8Array; big: unknown; doc: unknown; note: null }>('SELECT * FROM t');
    expect(rows[0]!.at).toBeInstanceOf(Date);
    expect(rows[0]!.at.getTime()).toBe(at.getTime());
    expect([...rows[0]!.data]).toEqual([0, 1, 255]);
    expect(String(rows[0]!.big)).toBe('9007199254740993');
    expect(rows[0]!.doc).toEqual(doc);
    expect(rows[0]!.note).toBeNull();
    // What the holder reads is what the operator wrote.
    expect((await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]!.n).toBe(1);

    const dup = await db.query('INSERT INTO t (id) VALUES (1)').catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: '23505', message: expect.stringMatching(/duplicate key/) });
    // A multi-statement script without parameters, as migrations and pg-boss send them.
    expect((await db.boss.executeSql('INSERT INTO u VALUES (1); SELECT id FROM u')).rows).toEqual([{ id: 1 }]);
  });

  it("runs an operator's transaction alone: committed whole, rolled back whole, the holder's queries waiting", async () => {
    const db = await operator();
    let holderSaw: number | undefined;
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO u VALUES (10)');
      // The holder's own query waits for the transaction instead of running inside it.
      const waiting = holder.query<{ n: number }>('SELECT count(*)::int AS n FROM u').then((r) => (holderSaw = r.rows[0]!.n));
      await new Promise((r) => setTimeout(r, 100));
      expect(holderSaw).toBeUndefined();
      await tx.query('INSERT INTO u VALUES (11)');
      void waiting;
    });
    await expect.poll(() => holderSaw).toBe(2);

    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO u VALUES (12)');
        await tx.query('INSERT INTO u VALUES (10)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await holder.query('SELECT id FROM u ORDER BY id')).rows).toEqual([{ id: 10 }, { id: 11 }]);
  });

  it('rolls back what a client that vanished mid-transaction did, and drops a client that sends garbage', async () => {
    const socket = operatorSocketPath(dataDir)!;
    const raw = createConnection(socket);
    await new Promise((resolve) => raw.once('connect', resolve));
    const answers: unknown[] = [];
    raw.on('data', (d) => answers.push(d));
    raw.write(encodeFrame({ id: 1, op: 'begin' }));
    raw.write(encodeFrame({ id: 2, op: 'query', sql: 'INSERT INTO u VALUES (20)' }));
    await expect.poll(() => answers.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    raw.destroy();
    // The holder is not blocked, and the row never existed.
    await expect.poll(async () => (await holder.query('SELECT id FROM u')).rows, { timeout: 5_000 }).toEqual([]);

    for (const hostile of [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), // a frame past the size limit
      Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('abc')]), // not a value
      encodeFrame({ id: 'x', op: 'drop everything' }), // not a request
    ]) {
      const bad = createConnection(socket);
      const closed = new Promise((resolve) => bad.once('close', resolve));
      bad.on('error', () => {});
      bad.write(hostile);
      await closed;
    }
    // Still serving.
    expect((await (await operator()).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('says who holds the folder when its socket does not answer', async () => {
    await holder.close();
    // A live holder that serves no socket (an older Kodah, say): another process's pid in the lock.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(path.join(dataDir, 'kodah.pid'), String(other.pid));
    try {
      const refused = await connectOperatorDatabase({ databaseUrl: undefined, databasePoolMax: 1, dataDir }, 300).catch((e: Error) => e);
      expect(String(refused)).toMatch(new RegExp(`in use by process ${other.pid}.*kodah\\.sock did not answer`));
    } finally {
      other.kill();
      await new Promise((resolve) => other.once('exit', resolve));
    }
    holder = await connectPglite(dataDir);
  });
});
