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

it('reads 64 KB of blank lines at once, and a message after them (a watchdog: it took 10 s)', () => {
  const text = `${'\n'.repeat(64_000)}ValueError: cannot reshape array of size 6 into shape (4,)\n${' \n'.repeat(32_000)}`;
  expect(messageFragments(text)).toEqual(['cannot reshape array of size']);
}, 5_000);
