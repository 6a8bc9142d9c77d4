import { describe, expect, it } from 'vitest';
import { backoffDelay, closeAction, closeCodeMeaning } from '@parlor/client';
import { CloseCode } from '@parlor/squish';

describe('backoffDelay', () => {
  it('doubles from 250 ms up to a 5 s cap, with jitter in [base/2, base]', () => {
    const bases = [250, 500, 1000, 2000, 4000, 5000, 5000, 5000];
    bases.forEach((base, i) => {
      expect(backoffDelay(i + 1, 0)).toBe(base / 2);
      expect(backoffDelay(i + 1, 0.999999)).toBeCloseTo(base, 2);
    });
    expect(backoffDelay(1000, 0.5)).toBe(3750);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(1 + (i % 12));
      expect(d).toBeGreaterThanOrEqual(125);
      expect(d).toBeLessThanOrEqual(5000);
    }
  });
});

describe('close codes', () => {
  it('rejoins on 4401, stops where retrying cannot help, reconnects otherwise', () => {
    expect(closeAction(CloseCode.RECONNECT_REJECTED)).toBe('rejoin');
    for (const c of [CloseCode.MALFORMED, CloseCode.NOT_FOUND, CloseCode.VERSION_MISMATCH, CloseCode.ROOM_FAILED, CloseCode.ROOM_FULL, CloseCode.REPLACED]) {
      expect(closeAction(c)).toBe('stop');
    }
    for (const c of [1001, 1006, CloseCode.JOIN_TIMEOUT, CloseCode.RATE_LIMITED]) expect(closeAction(c)).toBe('reconnect');
    expect(closeCodeMeaning(4404)).toBe('no such game or room');
    expect(closeCodeMeaning(4999)).toContain('4999');
  });
});
