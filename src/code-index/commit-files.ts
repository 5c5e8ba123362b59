import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../db/database.js';
import type { GitCredentials } from '../git/credentials.js';
import { listTree, readBlobs } from '../git/git-objects.js';
import { ensureMirror } from '../git/mirror-cache.js';
import type { RepoUrlPolicy } from '../git/url-policy.js';
import { KodahError } from '../lib/errors.js';
import { extensionOf, isBinary } from './mime-type.js';
import type { RepositoryRow } from './repositories.js';

export interface CommitFile {
  path: string;
  blob_sha: string;
  size: number;
  extension: string;
  /** Null when not known without reading the blob (a commit the index did not scan). */
  binary: boolean | null;
}

export interface MirrorSettings {
  policy: RepoUrlPolicy;
  mirrorDir: string;
  credentials: GitCredentials;
  timeoutMs: number;
  maxRepoBytes: number;
  maxFiles: number;
  /** Blobs larger than this are listed but their content is not returned (the index's own limit). */
  maxFileBytes: number;
}

/** Listings of commits the index did not scan, kept for the next page of a client walking them. */
const CACHED_LISTINGS = 32;

/**
 * The files of any commit of a repository. Commits the index scanned answer from their rows;
 * any other commit the commit list offers is read from the repository's mirror on demand (the
 * one on this machine, or a fetched one where an API process has none), and its listing kept.
 */
export class CommitFiles {
  private readonly listings = new Map<string, CommitFile[]>();

  constructor(
    private readonly db: Queryable,
    private readonly settings: MirrorSettings,
  ) {}

  async list(repository: RepositoryRow, commit: string): Promise<CommitFile[]> {
    const scanned = await this.db.query<CommitFile>(
      `SELECT f.path, f.blob_sha, f.size, f.extension, b.is_binary AS binary FROM code_files f LEFT JOIN code_blobs b ON b.sha = f.blob_sha
        WHERE f.repository_id = $1 AND f.commit_sha = $2 ORDER BY f.path COLLATE "C"`,
      [repository.id, commit],
    );
    if (scanned.rows.length) return scanned.rows;
    const key = `${repository.id}:${commit}`;
    const cached = this.listings.get(key);
    if (cached) {
      this.listings.delete(key);
      this.listings.set(key, cached);
      return cached;
    }
    const tree = await listTree(await this.mirrorOf(repository), commit).catch((err: unknown) => {
      throw new KodahError('not_found', `Commit ${commit} is no longer in the repository's history`, { kind: 'input', cause: err });
    });
    if (tree.length > this.settings.maxFiles) {
      throw new KodahError(
        'invalid_input',
        `Commit ${commit.slice(0, 12)} has ${tree.length} files, more than the limit of ${this.settings.maxFiles}`,
        { kind: 'input' },
      );
    }
    const files = tree
      .map((f) => ({ path: f.path, blob_sha: f.sha, size: f.size, extension: extensionOf(f.path), binary: null }))
      // The order of the scanned commits' rows (ORDER BY path in the database's collation, C in both).
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.listings.set(key, files);
    if (this.listings.size > CACHED_LISTINGS) this.listings.delete(this.listings.keys().next().value!);
    return files;
  }

  /** One file of the commit with its content (null for a binary or too large blob); null when the commit has no such blob. */
  async read(repository: RepositoryRow, commit: string, blobSha: string): Promise<(CommitFile & { content: string | null }) | null> {
    const file = (await this.list(repository, commit)).find((f) => f.blob_sha === blobSha);
    if (!file) return null;
    const stored = await this.db.query<{ is_binary: boolean; content: string | null }>(
      'SELECT is_binary, content FROM code_blobs WHERE sha = $1',
      [blobSha],
    );
    const row = stored.rows[0];
    if (row) return { ...file, binary: row.is_binary, content: row.content };
    if (file.size > this.settings.maxFileBytes) return { ...file, content: null };
    const blob = (await readBlobs(await this.mirrorOf(repository), [blobSha])).get(blobSha);
    if (!blob) return { ...file, content: null };
    const binary = isBinary(blob);
    return { ...file, binary, content: binary ? null : blob.toString('utf8').replaceAll('\0', '') };
  }

  private async mirrorOf(repository: RepositoryRow): Promise<string> {
    const local = repository.cloned_path;
    if (local && existsSync(path.join(local, 'HEAD'))) return local;
    const { policy, mirrorDir, credentials, timeoutMs, maxRepoBytes } = this.settings;
    return ensureMirror(repository.remote_uri, {
      policy,
      cacheDir: mirrorDir,
      token: await credentials.tokenFor(repository.remote_uri, repository.account_id),
      timeoutMs,
      maxBytes: maxRepoBytes,
    });
  }
}
