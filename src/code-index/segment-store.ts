import type { Queryable } from '../db/database.js';
import { SearchSegment } from './search-segment.js';
import { decodeSegment, encodeSegment, SEGMENT_FORMAT_VERSION, segmentFormatVersion } from './segment-codec.js';

/**
 * Builds the commit's segment from the rows and stores it: the index run calls it before the
 * commit becomes the searchable one, so every process finds the stored form ready.
 */
export async function storeSegment(
  db: Queryable,
  repositoryId: string,
  commit: string,
  summaryModel: string | null,
): Promise<SearchSegment> {
  const segment = await SearchSegment.build(db, repositoryId, commit, summaryModel);
  await db.query(
    `INSERT INTO code_segments (repository_id, commit_sha, summary_model, format_version, data) VALUES ($1, $2, $3, $4, decode($5, 'base64'))
     ON CONFLICT (repository_id, commit_sha, summary_model)
     DO UPDATE SET format_version = excluded.format_version, data = excluded.data, created_at = now()`,
    [repositoryId, commit, summaryModel ?? '', SEGMENT_FORMAT_VERSION, encodeSegment(segment).toString('base64')],
  );
  return segment;
}

/** Drops the stored segments of the repository's other commits, once `commit` is the searchable one. */
export async function pruneSegments(db: Queryable, repositoryId: string, commit: string): Promise<void> {
  await db.query('DELETE FROM code_segments WHERE repository_id = $1 AND commit_sha <> $2', [repositoryId, commit]);
}

/**
 * The commit's segment from its stored form; when there is none (indexed before stored forms,
 * or for another summary model) or it is of an older format, built from the rows and stored —
 * only while the commit is still the searchable one, so a late reader leaves no stale blob.
 */
export async function loadSegment(
  db: Queryable,
  repositoryId: string,
  commit: string,
  summaryModel: string | null,
): Promise<SearchSegment> {
  const stored = (
    await db.query<{ data: string }>(
      `SELECT encode(data, 'base64') AS data FROM code_segments WHERE repository_id = $1 AND commit_sha = $2 AND summary_model = $3`,
      [repositoryId, commit, summaryModel ?? ''],
    )
  ).rows[0];
  // Through base64: PGlite reads a bytea's hex text a character at a time (1 s for 10 MB); base64 decodes at memory speed.
  const data = stored && Buffer.from(stored.data, 'base64');
  if (data && segmentFormatVersion(data) === SEGMENT_FORMAT_VERSION) {
    try {
      return decodeSegment(repositoryId, commit, data);
    } catch {
      // A damaged blob is rebuilt below, like a missing one.
    }
  }
  const segment = await SearchSegment.build(db, repositoryId, commit, summaryModel);
  await db.query(
    `INSERT INTO code_segments (repository_id, commit_sha, summary_model, format_version, data)
     SELECT id, $2, $3, $4, decode($5, 'base64') FROM code_repositories WHERE id = $1 AND indexed_commit = $2
     ON CONFLICT (repository_id, commit_sha, summary_model)
     DO UPDATE SET format_version = excluded.format_version, data = excluded.data, created_at = now()`,
    [repositoryId, commit, summaryModel ?? '', SEGMENT_FORMAT_VERSION, encodeSegment(segment).toString('base64')],
  );
  return segment;
}
