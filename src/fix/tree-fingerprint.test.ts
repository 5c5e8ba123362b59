import { writeFileSync, unlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchRepo } from '../../test/helpers/scratch-repo.js';
import { treeFingerprint } from './validate-worktree.js';

const repo = scratchRepo('kodah-fingerprint-');
const { dir, git } = repo;
const tree = { gitDir: repo.gitDir, dir, commit: repo.commit('start', { 'a.py': 'x = 1\n', 'b.py': 'y = 1\n' }) };
afterAll(() => repo.remove());

/** A write as a command makes it, a little later than the last (timestamps move on every write anyway). */
let tick = Date.now() / 1000;
const write = (file: string, text: string) => {
  writeFileSync(path.join(dir, file), text);
  tick += 1;
  utimesSync(path.join(dir, file), tick, tick);
};

describe('the tree fingerprint', () => {
  it('stays the same while nothing changes, and moves with every change, a file already changed included', async () => {
    const clean = await treeFingerprint(tree);
    expect(await treeFingerprint(tree)).toBe(clean);

    write('a.py', 'x = 2\n');
    const edited = await treeFingerprint(tree);
    expect(edited).not.toBe(clean);
    expect(await treeFingerprint(tree)).toBe(edited);

    // The same file again, same size: git status lists it as before; its metadata tells.
    write('a.py', 'x = 3\n');
    const again = await treeFingerprint(tree);
    expect(again).not.toBe(edited);

    write('new_test.py', 'def test(): pass\n');
    const created = await treeFingerprint(tree);
    expect(created).not.toBe(again);
    write('new_test.py', 'def test(): assert 1\n');
    expect(await treeFingerprint(tree)).not.toBe(created);

    unlinkSync(path.join(dir, 'b.py'));
    const removed = await treeFingerprint(tree);
    expect(removed).not.toBe(created);

    git('checkout', '-q', '--', '.');
    unlinkSync(path.join(dir, 'new_test.py'));
    expect(await treeFingerprint(tree)).toBe(clean);
  });
});
