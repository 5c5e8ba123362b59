import { describe, expect, it } from 'vitest';
import { messageFragments } from './message-fragments.js';

describe('the fixed words of quoted error messages', () => {
  it('drops the values formatted into the message, and fragments too short to tell code apart', () => {
    const report =
      'Reshaping fails:\n```\nTraceback (most recent call last):\nValueError: cannot reshape array of size 6 into shape (4,)\n```';
    expect(messageFragments(report)).toEqual(['cannot reshape array of size']);
  });

  it('finds nothing in prose without an error line', () => {
    expect(messageFragments('The plot has the wrong colour: see `Plot.scale`.')).toEqual([]);
  });
});
