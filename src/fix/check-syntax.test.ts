import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { scratchRepo } from '../../test/helpers/scratch-repo.js';
import { newSyntaxErrors } from './check-syntax.js';

it('judges new syntax errors only, and a file too broken to parse in time as a problem, not a wait', async () => {
  const repo = scratchRepo('kodah-syntax-');
  try {
    const commit = repo.commit('code', { 'ok.py': 'def f():\n    return 1\n', 'legacy.py': 'def f(\n'.repeat(30_000) });
    writeFileSync(path.join(repo.dir, 'ok.py'), 'def f(:\n    return 1\n');
    writeFileSync(path.join(repo.dir, 'new.py'), 'def g(\n'.repeat(30_000));
    writeFileSync(path.join(repo.dir, 'legacy.py'), `${'def f(\n'.repeat(30_000)}x = 1\n`);
    const problems = await newSyntaxErrors(repo.gitDir, commit, repo.dir, ['ok.py', 'new.py', 'legacy.py']);
    // legacy.py was already beyond the parser's time limit: nothing to judge it against.
    expect(problems).toEqual([
      'ok.py no longer parses: syntax errors at line 1.',
      'new.py could not be parsed within the time limit: it is too large or too broken to check.',
    ]);
  } finally {
    repo.remove();
  }
}, 20_000);
