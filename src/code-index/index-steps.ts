import type { Queryable } from '../db/database.js';

/** The steps of an index run, in order, as the status endpoint lists them. */
const INDEX_STEPS = ['clone', 'map', 'scan', 'extract_snippets', 'summarize', 'build_search_index'] as const;
export type IndexStep = (typeof INDEX_STEPS)[number];
export type StepState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface StepRow {
  repository_id: string;
  step: IndexStep;
  state: StepState;
  current: number;
  total: number;
  error: string;
  message: string;
  created_at: Date;
  updated_at: Date;
}

/** Writes each step's state as an index run advances; progress writes are throttled. */
export class StepRecorder {
  readonly #db: Queryable;
  readonly #repositoryId: string;
  #lastWrite = 0;

  constructor(db: Queryable, repositoryId: string) {
    this.#db = db;
    this.#repositoryId = repositoryId;
  }

  /** Marks every step pending: a new run begins. */
  async reset(): Promise<void> {
    await this.#db.query(
      `INSERT INTO code_index_steps (repository_id, step, position, state)
       SELECT $1, step, position, 'pending' FROM unnest($2::text[]) WITH ORDINALITY AS s(step, position)
       ON CONFLICT (repository_id, step) DO UPDATE
         SET state = 'pending', current = 0, total = 0, error = '', message = '', created_at = now(), updated_at = now()`,
      [this.#repositoryId, [...INDEX_STEPS]],
    );
  }

  start(step: IndexStep, total = 0, message = ''): Promise<void> {
    return this.#write(step, { state: 'running', current: 0, total, message, created: true });
  }

  /** Progress within a step; written at most every 250 ms unless the step is done. */
  async progress(step: IndexStep, current: number, total: number): Promise<void> {
    const now = Date.now();
    if (now - this.#lastWrite < 250 && current < total) return;
    this.#lastWrite = now;
    await this.#write(step, { current, total });
  }

  complete(step: IndexStep, message = ''): Promise<void> {
    return this.#db
      .query(
        `UPDATE code_index_steps SET state = 'completed', current = greatest(total, current), message = $3, updated_at = now()
          WHERE repository_id = $1 AND step = $2`,
        [this.#repositoryId, step, message],
      )
      .then(() => {});
  }

  skip(step: IndexStep, message: string): Promise<void> {
    return this.#write(step, { state: 'skipped', message });
  }

  /** Fails the running step (or the first unfinished one) and skips the rest. */
  async fail(error: string): Promise<void> {
    await this.#db.query(
      `WITH failed AS (
         SELECT step FROM code_index_steps WHERE repository_id = $1 AND state IN ('running', 'pending') ORDER BY position LIMIT 1)
       UPDATE code_index_steps s
          SET state = CASE WHEN s.step = (SELECT step FROM failed) THEN 'failed' ELSE 'skipped' END,
              error = CASE WHEN s.step = (SELECT step FROM failed) THEN $2 ELSE '' END, updated_at = now()
        WHERE s.repository_id = $1 AND s.state IN ('running', 'pending')`,
      [this.#repositoryId, error],
    );
  }

  async #write(
    step: IndexStep,
    fields: { state?: StepState; current?: number; total?: number; message?: string; created?: boolean },
  ): Promise<void> {
    await this.#db.query(
      `UPDATE code_index_steps
          SET state = coalesce($3, state), current = coalesce($4, current), total = coalesce($5, total),
              message = coalesce($6, message), created_at = CASE WHEN $7 THEN now() ELSE created_at END, updated_at = now()
        WHERE repository_id = $1 AND step = $2`,
      [
        this.#repositoryId,
        step,
        fields.state ?? null,
        fields.current ?? null,
        fields.total ?? null,
        fields.message ?? null,
        fields.created ?? false,
      ],
    );
  }
}

export async function listSteps(db: Queryable, repositoryId: string): Promise<StepRow[]> {
  return (await db.query<StepRow>('SELECT * FROM code_index_steps WHERE repository_id = $1 ORDER BY position', [repositoryId])).rows;
}
