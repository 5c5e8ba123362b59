import { describe, expect, it } from 'vitest';
import { centsToUsd, formatUsd, parseUsd } from './money.js';

describe('money', () => {
  it('parses dollars to exact cents', () => {
    expect(parseUsd('10')).toBe(1000);
    expect(parseUsd('10.5')).toBe(1050);
    expect(parseUsd('0.50')).toBe(50);
    expect(parseUsd('0.07')).toBe(7);
    expect(parseUsd(' 19.99 ')).toBe(1999);
  });
  it.each(['-1', '1.001', '1e3', 'abc', '', '0x10', '1,00', '99999999'])('refuses %j', (text) => {
    expect(() => parseUsd(text)).toThrow(/not an amount/);
  });
  it('refuses more than a million dollars at once (balances are 32-bit cents)', () => {
    expect(parseUsd('1000000.00')).toBe(100_000_000);
    expect(() => parseUsd('1000000.01')).toThrow(/more than \$1,000,000.00/);
  });
  it('shows cents as dollars without float noise', () => {
    expect(centsToUsd(1005)).toBe(10.05);
    expect(centsToUsd(7)).toBe(0.07);
    expect(formatUsd(1050)).toBe('$10.50');
    expect(formatUsd(-7)).toBe('-$0.07');
  });
});
