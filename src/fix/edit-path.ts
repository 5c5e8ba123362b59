/**
 * Paths named by the model, checked before anything touches the file system. The policy stage
 * checks the final diff again; this is the first gate, so a hostile or confused answer never
 * reads or writes outside the work tree or inside its .git directory.
 */

/** Names of files that are commonly written without an extension, accepted as bare path lines. */
const EXTENSIONLESS_NAMES = new Set([
  'Makefile',
  'Dockerfile',
  'Procfile',
  'Gemfile',
  'Rakefile',
  'Jenkinsfile',
  'Vagrantfile',
  'LICENSE',
  'README',
  'CHANGELOG',
  'AUTHORS',
  'NOTICE',
  'CODEOWNERS',
]);

/**
 * The repository-relative path in its one canonical form (`a/b.py`: no `./`, no doubled
 * slashes), or a reason it is refused, phrased for the model.
 */
export function checkEditPath(raw: string): { path: string } | { problem: string } {
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { problem: 'contains a NUL or control character' };
  if (raw.includes('\\')) return { problem: 'uses backslashes; write paths with forward slashes' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('~')) {
    return { problem: 'is absolute; give the path relative to the repository root' };
  }
  if (raw.endsWith('/')) return { problem: 'names a directory, not a file' };
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) return { problem: 'is empty' };
  if (segments.includes('..')) return { problem: "contains '..'; paths must stay inside the repository" };
  // Windows and macOS resolve `.GIT`, `.git.` and the short name `GIT~1` to the same directory.
  if (segments.some((s) => /^\.git[. ]*$/i.test(s) || /^git~\d+$/i.test(s))) {
    return { problem: 'points into .git/, which a fix may never change' };
  }
  return { path: segments.join('/') };
}

/**
 * The path a line names, if the line is nothing but a path: bare, in backticks or quotes, bold,
 * as a heading or comment (`# a.py`, `// a.py`), or after `File:`. Null for prose, so an
 * explanation sentence is never mistaken for a file name.
 */
export function pathFromLine(line: string): string | null {
  let s = line.trim();
  const before = s;
  s = s.replace(/\*\*/g, '');
  let decorated = s !== before;
  s = s.replace(/^(?:#{1,6}|\/\/|--|[-*])\s+/, '').trim();
  const prefixed = s.replace(/^(?:file(?:name)?|path)\s*:\s*/i, '');
  if (prefixed !== s) [s, decorated] = [prefixed, true];
  s = s.replace(/:$/, '');
  for (let unwrapped = true; unwrapped;) {
    unwrapped = false;
    const m = /^(`|"|')(.+)\1:?$/.exec(s);
    if (m) [s, decorated, unwrapped] = [m[2]!.trim(), true, true];
  }
  if (s === '' || /[\s`*"]/.test(s)) return null;
  if (!decorated && !/[./]/.test(s) && !EXTENSIONLESS_NAMES.has(s)) return null;
  return s;
}
