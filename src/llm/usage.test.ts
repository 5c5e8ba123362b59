import { describe, expect, it } from 'vitest';
import { UsageMeter } from './usage.js';

describe('UsageMeter', () => {
  it('adds up tokens, cost and calls, and hands out snapshots', () => {
    const meter = new UsageMeter();
    expect(meter.totals).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 });
    meter.add({ usage: { promptTokens: 1000, completionTokens: 200 }, costUsd: 0.00027 });
    const first = meter.totals;
    meter.add({ usage: { promptTokens: 10, completionTokens: 5 }, costUsd: 0.00001 });
    expect(first).toEqual({ promptTokens: 1000, completionTokens: 200, costUsd: 0.00027, calls: 1 });
    expect(meter.totals).toMatchObject({ promptTokens: 1010, completionTokens: 205, calls: 2 });
    expect(meter.totals.costUsd).toBeCloseTo(0.00028, 10);
  });
});
