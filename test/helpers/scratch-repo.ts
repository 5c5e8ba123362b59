import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A throwaway git repository on disk, with commits written file by file. */
export interface ScratchRepo {
  dir: string;
  gitDir: string;
  /** Runs git in it; its trimmed output. */
  git(...args: string[]): string;
  /** Writes the files, commits them all and returns the commit's sha. */
  commit(message: string, files: Record<string, string>): string;
  remove(): void;
}

export function scratchRepo(prefix: string): ScratchRepo {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args])
      .toString()
      .trim();
  git('init', '-q');
  return {
    dir,
    gitDir: path.join(dir, '.git'),
    git,
    commit(message, files) {
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        writeFileSync(path.join(dir, p), text);
      }
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
