import type { Database } from '../db/database.js';
import { insertRows } from '../db/insert-rows.js';
import { readBlobs, type TreeFile } from '../git/git-objects.js';
import { isBinary } from './mime-type.js';
import type { SnippetPool } from './snippet-pool.js';
import type { StoredSnippet } from './cut-blob.js';
import { languageOf } from '../code/tree-sitter.js';

export interface ExtractOptions {
  gitDir: string;
  maxFileBytes: number;
  /** Parallel chunks in flight: one per pool thread keeps every core busy. */
  parallel: number;
  onProgress?: (done: number, total: number) => Promise<void>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  newBlobs: number;
  snippets: number;
}

interface BlobRow {
  sha: string;
  size: number;
  language: string | null;
  binary: boolean;
  content: string | null;
}

/** Files per chunk, and bytes: a chunk is read, cut and stored as one unit. */
const CHUNK_FILES = 150;
const CHUNK_BYTES = 4 * 1024 * 1024;

/** The files whose blob the index has never seen, one per blob. */
async function unseen(db: Database, tree: readonly TreeFile[]): Promise<TreeFile[]> {
  const byBlob = new Map<string, TreeFile>();
  for (const f of tree) if (!byBlob.has(f.sha)) byBlob.set(f.sha, f);
  const shas = [...byBlob.keys()];
  const seen = new Set<string>();
  for (let i = 0; i < shas.length; i += 10_000) {
    const rows = await db.query<{ sha: string }>('SELECT sha FROM code_blobs WHERE sha = ANY($1::text[])', [shas.slice(i, i + 10_000)]);
    for (const r of rows.rows) seen.add(r.sha);
  }
  return [...byBlob.values()].filter((f) => !seen.has(f.sha));
}

function chunks(files: TreeFile[], maxFileBytes: number): TreeFile[][] {
  const out: TreeFile[][] = [];
  let current: TreeFile[] = [];
  let bytes = 0;
  for (const f of files) {
    const size = f.size > maxFileBytes ? 0 : f.size;
    if (current.length && (current.length >= CHUNK_FILES || bytes + size > CHUNK_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * Stores every blob of the tree the index has not seen, with its snippets. A blob row and its
 * snippets are written in one transaction, so "seen" always means "cut": a crash loses at most
 * the chunks in flight, and the next run picks them up. Blobs over the size limit and binary
 * blobs are recorded without content or snippets.
 */
export async function extractBlobs(
  db: Database,
  pool: SnippetPool,
  tree: readonly TreeFile[],
  options: ExtractOptions,
): Promise<ExtractResult> {
  const todo = await unseen(db, tree);
  const queue = chunks(todo, options.maxFileBytes);
  let done = 0;
  let snippets = 0;
  await options.onProgress?.(0, todo.length);
  const work = async () => {
    for (let chunk = queue.shift(); chunk; chunk = queue.shift()) {
      options.signal?.throwIfAborted();
      const readable = chunk.filter((f) => f.size <= options.maxFileBytes).map((f) => f.sha);
      const contents = readable.length ? await readBlobs(options.gitDir, readable) : new Map<string, Buffer>();
      const blobs: BlobRow[] = [];
      const texts: Array<{ path: string; text: string; sha: string }> = [];
      for (const f of chunk) {
        const content = contents.get(f.sha);
        const binary = content ? isBinary(content) : false;
        const text = content && !binary ? content.toString('utf8').replaceAll('\0', '') : null;
        blobs.push({ sha: f.sha, size: f.size, language: text === null ? null : (languageOf(f.path) ?? 'text'), binary, content: text });
        if (text !== null) texts.push({ path: f.path, text, sha: f.sha });
      }
      const cut = await pool.cut(texts.map(({ path, text }) => ({ path, text })));
      const rows: Array<{ sha: string; s: StoredSnippet }> = [];
      cut.forEach((outcome, i) => {
        if (outcome.ok) for (const s of outcome.snippets) rows.push({ sha: texts[i]!.sha, s });
      });
      await storeChunk(db, blobs, rows);
      snippets += rows.length;
      done += chunk.length;
      await options.onProgress?.(done, todo.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, work));
  return { newBlobs: todo.length, snippets };
}

async function storeChunk(db: Database, blobs: BlobRow[], rows: Array<{ sha: string; s: StoredSnippet }>): Promise<void> {
  await db.transaction(async (tx) => {
    await insertRows(
      tx,
      'code_blobs',
      { sha: 'text', size: 'int', language: 'text', is_binary: 'bool', content: 'text' },
      blobs.map((b) => ({ ...b, is_binary: b.binary })),
    );
    await insertRows(
      tx,
      'code_snippets',
      {
        blob_sha: 'text',
        ordinal: 'int',
        kind: 'text',
        name: 'text',
        qualified_name: 'text',
        enclosing: 'text',
        language: 'text',
        start_line: 'int',
        end_line: 'int',
        signature: 'text',
        terms: 'text',
        length: 'int',
      },
      rows.map(({ sha, s }) => ({
        blob_sha: sha,
        ordinal: s.ordinal,
        kind: s.kind,
        name: s.name,
        qualified_name: s.qualifiedName,
        enclosing: s.enclosing,
        language: s.language,
        start_line: s.startLine,
        end_line: s.endLine,
        signature: s.signature,
        terms: s.terms,
        length: s.length,
      })),
    );
  });
}
