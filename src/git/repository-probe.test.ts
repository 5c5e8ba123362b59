import { describe, expect, it } from 'vitest';
import { parseLsRemote } from './ls-remote.js';
import { resolveRef } from './repository-probe.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const refs = parseLsRemote(
  [
    `ref: refs/heads/main\tHEAD`,
    `${A}\tHEAD`,
    `${A}\trefs/heads/main`,
    `${B}\trefs/heads/feature/x`,
    `${C}\trefs/tags/v1`,
    `${B}\trefs/tags/v1^{}`,
    '',
  ].join('\n'),
);

describe('resolving refs from ls-remote', () => {
  it('reads HEAD, branches and peeled tags', () => {
    expect(refs.head).toBe('refs/heads/main');
    expect(resolveRef(refs, 'main')).toEqual({ kind: 'branch', sha: A });
    expect(resolveRef(refs, 'HEAD')).toEqual({ kind: 'branch', sha: A });
    expect(resolveRef(refs, 'feature/x')).toEqual({ kind: 'branch', sha: B });
    expect(resolveRef(refs, 'refs/heads/feature/x')).toEqual({ kind: 'branch', sha: B });
    // The annotated tag resolves to the commit it points at, not the tag object.
    expect(resolveRef(refs, 'v1')).toEqual({ kind: 'tag', sha: B });
  });

  it('accepts commit shas: abbreviated ones of a tip, full ones of any commit (checked at checkout)', () => {
    expect(resolveRef(refs, 'aaaaaaa')).toEqual({ kind: 'commit', sha: A });
    expect(resolveRef(refs, 'D'.repeat(40))).toEqual({ kind: 'commit', sha: 'd'.repeat(40) });
    expect(resolveRef(refs, 'ddddddd')).toBeNull();
  });

  it('a name that is neither is not found', () => {
    expect(resolveRef(refs, 'develop')).toBeNull();
    expect(resolveRef(refs, 'xyz1234')).toBeNull();
  });
});
