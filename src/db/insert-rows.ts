import type { Queryable } from './database.js';

/**
 * Inserts many rows in one statement, sent as one JSON document: on PGlite this is about twice
 * as fast as arrays of parameters (JSON.stringify and PostgreSQL's JSON parser beat escaping
 * array literals), and PostgreSQL takes it just as well. `columns` maps each column to its SQL
 * type; rows are objects with those keys. Conflicting rows are skipped (every caller is an upsert
 * of content-addressed or idempotent data). `fixed` gives columns with one value for every row,
 * as [SQL type, value].
 */
export async function insertRows(
  db: Queryable,
  table: string,
  columns: Record<string, string>,
  rows: ReadonlyArray<Record<string, unknown>>,
  fixed: Record<string, [type: string, value: unknown]> = {},
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  const fixedNames = Object.keys(fixed);
  const record = names.map((n) => `${n} ${columns[n]}`).join(', ');
  const params = fixedNames.map((n, i) => `$${i + 2}::${fixed[n]![0]}`);
  await db.query(
    `INSERT INTO ${table} (${[...fixedNames, ...names].join(', ')})
     SELECT ${[...params, ...names].join(', ')} FROM json_to_recordset($1::json) AS x(${record})
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows), ...fixedNames.map((n) => fixed[n]![1])],
  );
}
