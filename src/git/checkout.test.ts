import { describe, expect, it } from 'vitest';
import { treeSize } from './checkout.js';

describe('treeSize', () => {
  it('counts entries and adds up blob sizes of `ls-tree -r -l -z` output', () => {
    const listing = [
      '100644 blob 1111111111111111111111111111111111111111   20971520\tzeros.bin',
      '100755 blob 2222222222222222222222222222222222222222        7\tdir/run me.sh',
      '120000 blob 3333333333333333333333333333333333333333       11\tlink',
      '160000 commit 4444444444444444444444444444444444444444       -\tvendor/sub',
      '100644 blob 5555555555555555555555555555555555555555       -\tmissing',
      '100644 blob 6666666666666666666666666666666666666666        3\tname\twith tab',
      '',
    ].join('\0');
    expect(treeSize(listing)).toEqual({ files: 6, bytes: 20971520 + 7 + 11 + 3 });
  });

  it('is empty for an empty tree', () => {
    expect(treeSize('')).toEqual({ files: 0, bytes: 0 });
  });
});
