import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS } from '@parlor/squish';

describe('backoffDelay (exponential backoff, full jitter)', () => {
  it('has a ceiling doubling from 250 ms up to a 5 s cap, and a delay anywhere in [0, ceiling]', () => {
    expect([DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS]).toEqual([250, 5000]);
    const ceilings = [250, 500, 1000, 2000, 4000, 5000, 5000, 5000];
    ceilings.forEach((ceiling, i) => {
      expect(backoffDelay(i + 1, 0)).toBe(0);
      expect(backoffDelay(i + 1, 0.5)).toBe(ceiling / 2);
      expect(backoffDelay(i + 1, 0.999999)).toBeLessThan(ceiling);
      expect(backoffDelay(i + 1, 0.999999)).toBeGreaterThan(ceiling * 0.999);
    });
    expect(backoffDelay(1000, 0.5)).toBe(2500);
    expect(backoffDelay(Infinity, 1)).toBe(5000);
    for (let i = 0; i < 200; i++) {
      const attempt = 1 + (i % 12);
      const d = backoffDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(5000, 250 * 2 ** (attempt - 1)));
    }
  });

  it('takes its own base and cap (ms), and clamps odd inputs', () => {
    expect(backoffDelay(1, 1, { initialMs: 100, maxMs: 1000 })).toBe(100);
    expect(backoffDelay(5, 1, { initialMs: 100, maxMs: 1000 })).toBe(1000);
    expect(backoffDelay(0, 1)).toBe(250);
    expect(backoffDelay(-3, 1)).toBe(250);
    expect(backoffDelay(Number.NaN, 1)).toBe(250);
    expect(backoffDelay(3, 7)).toBe(1000);
    expect(backoffDelay(3, -1)).toBe(0);
    expect(backoffDelay(3, Number.NaN)).toBe(0);
  });
});
