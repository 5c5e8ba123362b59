import parseDiff from 'parse-diff';

export interface DiffPolicy {
  maxFiles: number;
  maxChangedLines: number;
  maxBytes: number;
}

const DEFAULT_DIFF_POLICY: DiffPolicy = { maxFiles: 20, maxChangedLines: 2000, maxBytes: 256 * 1024 };

/** Files a fix must never touch: the repository's metadata and what its CI runs with our trust. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/(^|\/)\.git(\/|$)/, 'is inside .git/'],
  [/^\.github\/workflows\//, 'is a CI workflow'],
  [/^\.github\/actions\//, 'is a CI action'],
  [/^(\.gitlab-ci\.yml|\.travis\.yml|azure-pipelines\.yml|Jenkinsfile|\.circleci\/|\.buildkite\/)/, 'is CI configuration'],
  [/^\.github\/kodah\.yml$/, "is Kodah's own configuration"],
];

function pathProblem(file: string): string | null {
  if (file.startsWith('/') || /^[A-Za-z]:/.test(file)) return 'is an absolute path';
  if (file.split('/').some((segment) => segment === '..')) return 'leaves the repository';
  if (file.includes('\0')) return 'contains a NUL byte';
  for (const [pattern, why] of FORBIDDEN) if (pattern.test(file)) return why;
  return null;
}

/**
 * Checks a unified diff (from `git diff --binary`) against what a fix may be: inside the
 * repository, nothing under .git/, no CI configuration, no binaries or symlinks, within size
 * limits. Returns the problems, each a sentence fit to send back to the model; empty means fine.
 */
export function checkDiffPolicy(diff: string, policy: DiffPolicy = DEFAULT_DIFF_POLICY): string[] {
  const problems: string[] = [];
  if (!diff.trim()) return ['The edits changed nothing.'];
  if (Buffer.byteLength(diff) > policy.maxBytes)
    problems.push(`The diff is ${Buffer.byteLength(diff)} bytes, over the limit of ${policy.maxBytes}.`);
  const files = parseDiff(diff);
  if (files.length > policy.maxFiles) problems.push(`The diff changes ${files.length} files, more than the limit of ${policy.maxFiles}.`);
  let changed = 0;
  for (const file of files) {
    for (const name of new Set([file.from, file.to].filter((p): p is string => !!p && p !== '/dev/null'))) {
      const problem = pathProblem(name);
      if (problem) problems.push(`${name} ${problem}: a fix may not change it.`);
    }
    if (file.newMode === '120000' || /^new file mode 120000/m.test(file.index?.join('\n') ?? ''))
      problems.push(`${file.to} would be a symbolic link.`);
    changed += file.additions + file.deletions;
  }
  // parse-diff does not flag binary files; git says so in each file's section of the patch.
  for (const section of diff.split(/^diff --git /m).slice(1)) {
    if (/^(Binary files |GIT binary patch)/m.test(section)) {
      problems.push(`${/^a\/(.+?) b\//.exec(section)?.[1] ?? 'a file'} is a binary file: a fix changes text only.`);
    }
  }
  if (changed > policy.maxChangedLines)
    problems.push(`The diff changes ${changed} lines, more than the limit of ${policy.maxChangedLines}.`);
  return [...new Set(problems)];
}
