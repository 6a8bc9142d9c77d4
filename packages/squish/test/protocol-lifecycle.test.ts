import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  MessageType, ROOM_STATUSES, SquishDecodeError, SquishEncodeError,
  decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  type OrderMessage, type OrderResultMessage, type StateMessage,
} from '../src/index.js';

/** Rooms that last on the wire: `state` and `orderResult` (server→client), `order` (client→server). */

const str = fc.string({ unit: 'grapheme', maxLength: 60 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const state: fc.Arbitrary<StateMessage> = fc.record({
  type: fc.constant('state' as const),
  status: fc.constantFrom(...ROOM_STATUSES),
  turn: u32,
  nextTurnAt: fc.option(fc.integer({ min: 0, max: 8.64e15 }), { nil: null }),
  reason: str,
});
const orderResult: fc.Arbitrary<OrderResultMessage> = fc.record({
  type: fc.constant('orderResult' as const), id: u32, accepted: fc.boolean(), code: str, message: str, turn: u32,
});
const order: fc.Arbitrary<OrderMessage> = fc.record({
  type: fc.constant('order' as const),
  id: fc.integer({ min: 1, max: 0xffffffff }),
  order: fc.json({ maxDepth: 3 }),
});

/** Decoding untrusted bytes either yields a message or throws SquishDecodeError: never another error. */
function decodesOrRefuses(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(SquishDecodeError);
    return null;
  }
}

suite('state, orderResult and order round-trip', () => {
  it('state', () => {
    fc.assert(fc.property(state, (m) => void expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m)), { numRuns: 500 });
  });

  it('orderResult', () => {
    fc.assert(fc.property(orderResult, (m) => void expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m)), { numRuns: 500 });
  });

  it('order', () => {
    fc.assert(fc.property(order, (m) => void expect(decodeClientMessage(encodeClientMessage(m))).toEqual(m)), { numRuns: 500 });
  });

  it('refuses to encode an order id outside 1…2^32-1 and an unknown status', () => {
    for (const id of [0, -1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => encodeClientMessage({ type: 'order', id, order: '{}' })).toThrow(SquishEncodeError);
    }
    expect(() => encodeServerMessage({ type: 'state', status: 'sleeping' as never, turn: 0, nextTurnAt: null, reason: '' })).toThrow(SquishEncodeError);
  });

  it('refuses to encode a turn that is not a non-negative integer, and an orderResult id outside 0…2^32-1', () => {
    for (const turn of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => encodeServerMessage({ type: 'state', status: 'running', turn, nextTurnAt: null, reason: '' })).toThrow(SquishEncodeError);
      expect(() => encodeServerMessage({ type: 'orderResult', id: 1, accepted: true, code: '', message: '', turn })).toThrow(SquishEncodeError);
    }
    for (const id of [-1, 2 ** 32, 0.5]) {
      expect(() => encodeServerMessage({ type: 'orderResult', id, accepted: false, code: 'X', message: '', turn: 1 })).toThrow(SquishEncodeError);
    }
  });
});

suite('hostile bytes', () => {
  it('every truncation of a valid message is refused with SquishDecodeError', () => {
    fc.assert(
      fc.property(state, orderResult, order, (s, r, o) => {
        for (const [bytes, decode] of [
          [encodeServerMessage(s), decodeServerMessage],
          [encodeServerMessage(r), decodeServerMessage],
          [encodeClientMessage(o), decodeClientMessage],
        ] as const) {
          for (let n = 1; n < bytes.length; n++) expect(() => decode(bytes.subarray(0, n))).toThrow(SquishDecodeError);
          expect(() => decode(new Uint8Array([...bytes, 0]))).toThrow(SquishDecodeError); // trailing byte
        }
      }),
      { numRuns: 100 },
    );
  });

  it('random bodies after each type byte decode to a well-typed message or are refused, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (body) => {
        const s = decodesOrRefuses(decodeServerMessage, new Uint8Array([MessageType.STATE, ...body])) as StateMessage | null;
        if (s) {
          expect(ROOM_STATUSES).toContain(s.status);
          expect(Number.isSafeInteger(s.turn) && s.turn >= 0).toBe(true);
          expect(s.nextTurnAt === null || (Number.isFinite(s.nextTurnAt) && s.nextTurnAt >= 0)).toBe(true);
          expect(typeof s.reason).toBe('string');
        }
        const r = decodesOrRefuses(decodeServerMessage, new Uint8Array([MessageType.ORDER_RESULT, ...body])) as OrderResultMessage | null;
        if (r) {
          expect(typeof r.accepted).toBe('boolean');
          expect([r.id, r.turn].every((v) => Number.isSafeInteger(v) && v >= 0)).toBe(true);
          expect([typeof r.code, typeof r.message]).toEqual(['string', 'string']);
        }
        const o = decodesOrRefuses(decodeClientMessage, new Uint8Array([MessageType.ORDER, ...body])) as OrderMessage | null;
        if (o) {
          expect(o.id >= 1 && o.id <= 0xffffffff && Number.isInteger(o.id)).toBe(true);
          expect(typeof o.order).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('names what is wrong: a status past the list, a flag other than 0/1, an order id of 0 or over 2^32-1', () => {
    expect(() => decodeServerMessage(new Uint8Array([MessageType.STATE, ROOM_STATUSES.length, 0, ...new Uint8Array(8), 0]))).toThrow(/bad room status 4/);
    const ok = encodeServerMessage({ type: 'orderResult', id: 3, accepted: true, code: '', message: '', turn: 1 });
    const badFlag = Uint8Array.from(ok);
    badFlag[2] = 2;
    expect(() => decodeServerMessage(badFlag)).toThrow(/bad flag 2/);
    expect(() => decodeClientMessage(new Uint8Array([MessageType.ORDER, 0, 0]))).toThrow(/bad order id 0/);
    // 2^32 as a varint: 0x80 0x80 0x80 0x80 0x10
    expect(() => decodeClientMessage(new Uint8Array([MessageType.ORDER, 0x80, 0x80, 0x80, 0x80, 0x10, 0]))).toThrow(/bad order id 4294967296/);
  });

  it('a negative or non-finite nextTurnAt on the wire reads as none', () => {
    const m = encodeServerMessage({ type: 'state', status: 'paused', turn: 3, nextTurnAt: 5, reason: 'r' });
    const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
    for (const v of [-1, Number.NaN, Infinity]) {
      view.setFloat64(3, v, true);
      expect(decodeServerMessage(m)).toEqual({ type: 'state', status: 'paused', turn: 3, nextTurnAt: null, reason: 'r' });
    }
  });
});
