import { lstat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where an edit may write: `relative` inside `root` through no symbolic link. A repository can
 * commit a link (`docs -> /etc`); following one would read or write outside the work tree, so any
 * link on the way, or at the file itself, is refused. Returns the absolute path, or why not.
 */
export async function safeTarget(root: string, relative: string): Promise<{ path: string } | { problem: string }> {
  const target = path.resolve(root, relative);
  if (target !== root && !target.startsWith(`${root}${path.sep}`)) return { problem: `${relative} is outside the repository.` };
  let current = root;
  for (const part of path.relative(root, target).split(path.sep)) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => null);
    if (!stat) break;
    if (stat.isSymbolicLink())
      return { problem: `${relative} goes through the symbolic link ${path.relative(root, current)}: a fix may not follow it.` };
  }
  return { path: target };
}
