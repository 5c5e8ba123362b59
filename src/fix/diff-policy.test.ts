import { describe, expect, it } from 'vitest';
import { checkDiffPolicy } from './diff-policy.js';

const patch = (file: string, header = '') =>
  `diff --git a/${file} b/${file}\n${header}--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-old\n+new\n`;

describe('diff policy', () => {
  it('passes an ordinary change', () => {
    expect(checkDiffPolicy(patch('src/app.py'))).toEqual([]);
  });

  it.each([
    ['.git/config', /inside \.git/],
    ['.github/workflows/ci.yml', /CI workflow/],
    ['.gitlab-ci.yml', /CI configuration/],
    ['.github/kodah.yml', /Kodah's own configuration/],
    ['../outside.py', /leaves the repository/],
    ['/etc/passwd', /absolute path/],
  ])('refuses %s', (file, why) => {
    expect(checkDiffPolicy(patch(file)).join(' ')).toMatch(why);
  });

  it('refuses binaries, symlinks, empty and oversized diffs', () => {
    expect(checkDiffPolicy('diff --git a/logo.png b/logo.png\nindex 1..2 100644\nGIT binary patch\nliteral 3\n').join(' ')).toMatch(
      /logo\.png is a binary file/,
    );
    expect(
      checkDiffPolicy('diff --git a/x b/x\nnew file mode 120000\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+/etc/passwd\n').join(' '),
    ).toMatch(/symbolic link/);
    expect(checkDiffPolicy('')).toEqual(['The edits changed nothing.']);
    const big = Array.from({ length: 30 }, (_, i) => patch(`f${i}.py`)).join('');
    expect(checkDiffPolicy(big, { maxFiles: 20, maxChangedLines: 2000, maxBytes: 1e6 }).join(' ')).toMatch(/changes 30 files/);
  });
});
