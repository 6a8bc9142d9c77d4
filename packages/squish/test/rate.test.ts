import { describe, expect, it } from 'vitest';
import { TokenBucket } from '@parlor/squish';

describe('TokenBucket', () => {
  it('takes a burst at once, then refills at its rate and never above its size', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t); // 10/s, burst 3
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t += 100; // one token's worth
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 60_000; // a long quiet period refills to the burst, no more
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });

  it('a refused take takes nothing: partial tokens keep accumulating', () => {
    let t = 0;
    const b = new TokenBucket(10, 1, () => t);
    expect(b.take()).toBe(true);
    t += 50;
    expect(b.take()).toBe(false); // half a token
    t += 50;
    expect(b.take()).toBe(true); // the two halves make one
  });
});
