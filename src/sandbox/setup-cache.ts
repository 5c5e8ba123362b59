import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { diskUsage } from './disk-usage.js';
import { runHostTool } from './host-tool.js';

/** What a repository's `setup` made: paths in the work tree (relative) and the sandbox user's HOME. */
interface Entry {
  paths: string[];
  bytes: number;
}

/**
 * Prepared environments, kept outside the mirrors and out of every sandbox's sight: `setup`'s
 * output in the work tree (a `.venv`, an `node_modules`) and HOME, copied in by later jobs with
 * the same key instead of running `setup` again. Keys are made by the caller (repository,
 * account, setup commands, lockfile contents); least recently used entries go first once the
 * whole passes `maxBytes`.
 */
export class SetupCache {
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  private entryDir(key: string): string {
    return path.join(this.dir, key);
  }

  /** Copies a cached environment into the work tree and HOME; the paths it restored, or null when there is none. */
  async restore(key: string, worktree: string, home: string): Promise<string[] | null> {
    if (this.maxBytes === 0) return null;
    const dir = this.entryDir(key);
    const entry = await readFile(path.join(dir, 'entry.json'), 'utf8')
      .then((text) => JSON.parse(text) as Entry)
      .catch(() => null);
    if (!entry) return null;
    await copyInto(path.join(dir, 'tree'), worktree);
    await copyInto(path.join(dir, 'home'), home);
    const now = new Date();
    await utimes(path.join(dir, 'entry.json'), now, now).catch(() => {});
    return entry.paths;
  }

  /** Keeps what setup made under `key` (written whole, then renamed into place), then evicts down to the size limit. */
  async save(key: string, worktree: string, paths: string[], home: string): Promise<void> {
    if (this.maxBytes === 0) return;
    await mkdir(this.dir, { recursive: true });
    const staging = path.join(this.dir, `.staging-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(path.join(staging, 'tree'), { recursive: true });
      for (const relative of paths) {
        await mkdir(path.dirname(path.join(staging, 'tree', relative)), { recursive: true });
        await copy(path.join(worktree, relative), path.join(staging, 'tree', relative));
      }
      await copy(home, path.join(staging, 'home'));
      const bytes = await diskUsage(staging);
      if (bytes > this.maxBytes) return;
      await writeFile(path.join(staging, 'entry.json'), JSON.stringify({ paths, bytes } satisfies Entry));
      await rm(this.entryDir(key), { recursive: true, force: true });
      await rename(staging, this.entryDir(key));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    await this.evict();
  }

  private async evict(): Promise<void> {
    const entries: Array<{ dir: string; bytes: number; used: number }> = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      const file = path.join(this.dir, name, 'entry.json');
      const [text, info] = await Promise.all([readFile(file, 'utf8').catch(() => null), stat(file).catch(() => null)]);
      if (!text || !info) continue;
      entries.push({ dir: path.join(this.dir, name), bytes: (JSON.parse(text) as Entry).bytes, used: info.mtimeMs });
    }
    entries.sort((a, b) => b.used - a.used);
    let total = 0;
    for (const entry of entries) {
      total += entry.bytes;
      if (total > this.maxBytes) await rm(entry.dir, { recursive: true, force: true });
    }
  }
}

/** `cp -a` (links kept as links, modes and times kept; reflinks where the file system has them). */
function copy(from: string, to: string): Promise<void> {
  return cp(['-a', '--reflink=auto', '--no-target-directory', from, to]);
}

/** The contents of `from` merged into `to`. */
function copyInto(from: string, to: string): Promise<void> {
  return cp(['-a', '--reflink=auto', `${from}/.`, to]);
}

function cp(args: string[]): Promise<void> {
  return runHostTool('cp', args, 'copying the prepared environment');
}
