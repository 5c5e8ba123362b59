import { describe, expect, it } from 'vitest';
import { hasMarker, marker } from './comment-marker.js';

describe('markers', () => {
  it('are hidden HTML comments found again on the first line', () => {
    expect(marker('status:42')).toBe('<!-- kodah:status:42 -->');
    expect(hasMarker('<!-- kodah:status:42 -->\n👀 Working', 'status:42')).toBe(true);
    expect(hasMarker('\r\n  <!-- kodah:status:42 -->\r\nbody', 'status:42')).toBe(true);
    expect(hasMarker('<!-- kodah:status:42 -->', 'status:4')).toBe(false);
    expect(hasMarker('<!-- kodah:status:420 -->', 'status:42')).toBe(false);
    // Quoted in a comment or a diff, a marker is not the first line and does not count.
    expect(hasMarker('> <!-- kodah:status:42 -->\nme too', 'status:42')).toBe(false);
    expect(hasMarker('Look:\n<!-- kodah:status:42 -->', 'status:42')).toBe(false);
  });

  it('refuse keys that could end the comment', () => {
    for (const key of ['a -->', 'a--b', '', 'a b', 'a>b']) expect(() => marker(key)).toThrow(/marker key/);
  });
});
