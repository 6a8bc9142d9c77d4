import { describe, expect, it } from 'vitest';
import { ENGINE_MESSAGE_LIMITS, type EngineToHostMessage } from '../src/runtimes.js';
import { checkEngineMessage } from '../src/runtime/sandbox/messages.js';
import { EngineExpectations } from '../src/runtime/sandbox/expectations.js';

/** What a sandbox may answer to turns, orders and saves: shapes and caps (messages.ts), and only what was asked (expectations.ts). */

const check = (m: unknown) => checkEngineMessage(m, 1 << 20);
const L = ENGINE_MESSAGE_LIMITS;

describe('checkEngineMessage: orderResult, turnResult, saved, ended, turnRequest', () => {
  it('passes well-formed answers through, rebuilt', () => {
    const ok = { type: 'orderResult', playerId: 1, id: 2, accepted: true, code: '', message: '', turn: 3, snapshot: '{"a":1}', extra: 'dropped' };
    expect(check(ok)).toEqual({ type: 'orderResult', playerId: 1, id: 2, accepted: true, code: '', message: '', turn: 3, snapshot: '{"a":1}' });
    expect(check({ type: 'turnResult', turn: 1, ok: false, snapshot: null, message: 'boom', stack: 'at x' })).toEqual({ type: 'turnResult', turn: 1, ok: false, snapshot: null, message: 'boom', stack: 'at x' });
    expect(check({ type: 'saved', id: 4, snapshot: null, error: 'NOT_SAVABLE: no save()' })).toEqual({ type: 'saved', id: 4, snapshot: null, error: 'NOT_SAVABLE: no save()' });
    expect(check({ type: 'turnRequest', junk: 1 })).toEqual({ type: 'turnRequest' });
  });

  it('truncates an order refusal’s code and message to orderMessageChars, and drops a refused order’s snapshot', () => {
    const long = check({ type: 'orderResult', playerId: 1, id: 2, accepted: false, code: 'C'.repeat(10_000), message: 'm'.repeat(1_000_000), turn: 1, snapshot: '{}' });
    expect(long).toMatchObject({ accepted: false, snapshot: null });
    const r = long as Extract<EngineToHostMessage, { type: 'orderResult' }>;
    expect([r.code.length, r.message.length]).toEqual([L.orderMessageChars, L.orderMessageChars]);
  });

  it('refuses snapshots over the cap (counted in UTF-8 bytes), not JSON, or of the wrong type', () => {
    const big = JSON.stringify('é'.repeat(L.snapshotBytes / 2)); // under the cap in characters, over it in bytes
    expect(big.length).toBeLessThan(L.snapshotBytes);
    for (const snapshot of [big, '{"a":', 42, { a: 1 }]) {
      expect(check({ type: 'saved', id: 1, snapshot, error: '' })).toHaveProperty('violation');
      expect(check({ type: 'turnResult', turn: 1, ok: true, snapshot, message: '', stack: '' })).toHaveProperty('violation');
      expect(check({ type: 'orderResult', playerId: 1, id: 1, accepted: true, code: '', message: '', turn: 1, snapshot })).toHaveProperty('violation');
    }
    expect(check({ type: 'saved', id: 1, snapshot: big, error: '' })).toEqual({ violation: `a snapshot over ${L.snapshotBytes} bytes` });
  });

  it('refuses answers that break the contract: acknowledged without a snapshot, bad ids, poisoned fields, a refusal without a code', () => {
    const poisoned = { toString: 1, valueOf: 1 };
    for (const m of [
      { type: 'orderResult', playerId: 1, id: 1, accepted: true, code: '', message: '', turn: 1, snapshot: null },
      { type: 'orderResult', playerId: 0, id: 1, accepted: false, code: 'X', message: '', turn: 1, snapshot: null },
      { type: 'orderResult', playerId: 1, id: 2 ** 32, accepted: false, code: 'X', message: '', turn: 1, snapshot: null },
      { type: 'orderResult', playerId: 1, id: 1, accepted: false, code: poisoned, message: '', turn: 1, snapshot: null },
      { type: 'orderResult', playerId: 1, id: 1, accepted: false, code: '', message: 'why', turn: 1, snapshot: null },
      { type: 'orderResult', playerId: 1, id: 1, accepted: 'yes', code: 'X', message: '', turn: 1, snapshot: null },
      { type: 'turnResult', turn: 1, ok: true, snapshot: null, message: '', stack: '' },
      { type: 'turnResult', turn: -1, ok: false, snapshot: null, message: '', stack: '' },
      { type: 'turnResult', turn: 1, ok: false, snapshot: null, message: poisoned, stack: '' },
      { type: 'saved', id: 1, snapshot: null, error: '' },
      { type: 'saved', id: 1.5, snapshot: '{}', error: '' },
      { type: 'ended', result: 'won' },
    ]) {
      expect(check(m), JSON.stringify(m)).toHaveProperty('violation');
    }
  });

  it('bounds an ended result like the engine does', () => {
    const r = check({ type: 'ended', result: { winners: [...Array.from({ length: 99 }, () => 'w'.repeat(999)), 5], scores: { a: 1, b: 'x', c: null }, summary: 's'.repeat(9999) } });
    const e = r as Extract<EngineToHostMessage, { type: 'ended' }>;
    expect(e.result.winners.length).toBe(64);
    expect(e.result.winners[0].length).toBe(256);
    expect(e.result.scores).toEqual({ a: 1 });
    expect(e.result.summary.length).toBe(500);
  });
});

describe('EngineExpectations: answers must match questions', () => {
  const turnResult = (turn: number): EngineToHostMessage => ({ type: 'turnResult', turn, ok: true, snapshot: '{}', message: '', stack: '' });
  const orderResult = (playerId: number, id: number): EngineToHostMessage => ({ type: 'orderResult', playerId, id, accepted: false, code: 'ORDER_REJECTED', message: '', turn: 1, snapshot: null });

  it('a turnResult only for the turn the host sent, once', () => {
    const x = new EngineExpectations();
    expect(x.check(turnResult(1))).toBe('a turnResult for turn 1 that nobody asked for');
    x.sent({ type: 'turn', turn: 4 });
    expect(x.check(turnResult(3))).toMatch(/nobody asked for/);
    expect(x.check(turnResult(4))).toBeNull();
    expect(x.check(turnResult(4))).toMatch(/nobody asked for/);
  });

  it('an orderResult only for an admitted player (even after their leave), for an order sent with that id, or id 0', () => {
    const x = new EngineExpectations();
    expect(x.check(orderResult(5, 0))).toBe('an orderResult for player 5, who is not a member');
    x.sent({ type: 'join', playerId: 5, name: 'E', spectator: false });
    expect(x.check(orderResult(5, 0))).toBeNull();
    expect(x.check(orderResult(5, 9))).toBe('an orderResult for order 9 of player 5 that nobody sent');
    x.sent({ type: 'order', playerId: 5, id: 9, order: {} });
    x.sent({ type: 'order', playerId: 5, id: 9, order: {} }); // a retried id is answered twice
    x.sent({ type: 'leave', playerId: 5 });
    expect(x.check(orderResult(5, 9))).toBeNull();
    expect(x.check(orderResult(5, 9))).toBeNull();
    expect(x.check(orderResult(5, 9))).toMatch(/nobody sent/);
  });

  it('saved only for a save sent (or id 0); ended at most once', () => {
    const x = new EngineExpectations();
    expect(x.check({ type: 'saved', id: 0, snapshot: '{}', error: '' })).toBeNull();
    expect(x.check({ type: 'saved', id: 3, snapshot: '{}', error: '' })).toMatch(/nobody asked for/);
    x.sent({ type: 'save', id: 3 });
    expect(x.check({ type: 'saved', id: 3, snapshot: '{}', error: '' })).toBeNull();
    const ended: EngineToHostMessage = { type: 'ended', result: { winners: [], scores: {}, summary: '' } };
    expect(x.check(ended)).toBeNull();
    expect(x.check(ended)).toBe('a second ended message');
  });
});
