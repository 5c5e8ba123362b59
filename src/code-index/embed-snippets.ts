import type { Database } from '../db/database.js';
import { type Embedder, vectorToBytes } from './embeddings.js';
import { snippetText } from './snippet-text.js';

const BATCH = 64;
/** Embedding models take a few thousand tokens; the head of a long snippet says what it is. */
const MAX_CHARS = 6000;

/**
 * Embeds the snippets of a commit that have no vector from this model yet (content-addressed
 * like everything else: a later commit embeds only its new snippets).
 */
export async function embedMissing(
  db: Database,
  embedder: Embedder,
  repositoryId: string,
  commit: string,
  onProgress: (done: number, total: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  const missing = (
    await db.query<{ id: string; blob_sha: string; start_line: number; end_line: number; path: string }>(
      `SELECT DISTINCT ON (s.id) s.id, s.blob_sha, s.start_line, s.end_line, f.path
         FROM code_files f JOIN code_snippets s ON s.blob_sha = f.blob_sha
        WHERE f.repository_id = $1 AND f.commit_sha = $2 AND f.indexed
          AND NOT EXISTS (SELECT 1 FROM code_embeddings e WHERE e.snippet_id = s.id AND e.model = $3)
        ORDER BY s.id`,
      [repositoryId, commit, embedder.model],
    )
  ).rows;
  for (let i = 0; i < missing.length; i += BATCH) {
    signal?.throwIfAborted();
    const batch = missing.slice(i, i + BATCH);
    const blobs = new Map(
      (
        await db.query<{ sha: string; content: string }>('SELECT sha, content FROM code_blobs WHERE sha = ANY($1::text[])', [
          [...new Set(batch.map((s) => s.blob_sha))],
        ])
      ).rows.map((r) => [r.sha, r.content]),
    );
    const texts = batch.map((s) => `${s.path}\n${snippetText(blobs.get(s.blob_sha) ?? '', s.start_line, s.end_line)}`.slice(0, MAX_CHARS));
    const vectors = await embedder.embed(texts, signal);
    await db.query(
      // Hex text, decoded in SQL: both drivers pass text arrays the same way.
      `INSERT INTO code_embeddings (snippet_id, model, vector)
       SELECT id, $2, decode(v, 'hex') FROM unnest($1::bigint[], $3::text[]) AS e(id, v) ON CONFLICT DO NOTHING`,
      [batch.map((s) => s.id), embedder.model, vectors.map((v) => vectorToBytes(v).toString('hex'))],
    );
    await onProgress(Math.min(i + BATCH, missing.length), missing.length);
  }
  return missing.length;
}
