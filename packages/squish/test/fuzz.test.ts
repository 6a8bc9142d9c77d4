import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Group, SceneMirror, Shape, Squisher, SquishDecodeError, Text, decodeClientMessage, decodeServerMessage, squish, unsquish,
  encodeClientMessage, encodeServerMessage, Colors, ShapeUtils,
} from '../src/index.js';
import { messageFor } from './helpers.js';

/** Runs a decoder on hostile bytes: it may succeed or throw SquishDecodeError, nothing else. */
function hostile<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof SquishDecodeError)) throw new Error(`decoder threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    expect(e.offset).toBeGreaterThanOrEqual(0);
    return undefined;
  }
}

function countNodes(n: { children: readonly unknown[] }): number {
  let c = 1;
  for (const k of n.children) c += countNodes(k as { children: readonly unknown[] });
  return c;
}

function sampleFrames(): Uint8Array[] {
  const layer = new Group();
  const hand = new Group({ playerIds: [1] }).addChild(new Text({ text: 'secret' }));
  const shapes = Array.from({ length: 12 }, (_, i) => new Shape({ points: ShapeUtils.rectangle(i * 5, i * 3, 4, 4), fill: Colors.RED, onClick: () => {} }));
  layer.addChild(...shapes, hand, new Text({ text: 'héllo 🎲', x: 3, y: 4, align: 'center', shadow: { color: Colors.BLACK, blur: 1 } }));
  const sq = new Squisher({ layers: () => [layer] });
  sq.addPlayer(1);
  const out = [messageFor(sq.flush(), 1)!];
  shapes[2].translate(1, 1);
  shapes[3].fill = null;
  layer.removeChild(shapes[4]);
  layer.addChild(new Shape({ shapeType: 'circle', x: 5, y: 5, radius: 2 }));
  out.push(messageFor(sq.flush(), 1)!);
  return out;
}

const mutate = (base: Uint8Array) =>
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 6 }).map((edits) => {
    const b = [...base];
    for (const [pos, val, op] of edits) {
      const i = b.length ? pos % b.length : 0;
      if (op === 'set' && b.length) b[i] = val;
      else if (op === 'insert') b.splice(i, 0, val);
      else if (op === 'delete') b.splice(i, 1);
      else b.length = i;
    }
    return new Uint8Array(b);
  });

suite('decoders on hostile input', () => {
  const frames = sampleFrames();
  const node = squish(new Group().addChild(new Text({ text: 'abc', x: 1 }), new Shape({ points: [[1, 2], [3, 4], [5, 9]], fill: Colors.BLUE })));
  const client = [
    encodeClientMessage({ type: 'join', protocolVersion: 1, game: 'pong', roomId: 'abc', spectate: false, reconnectToken: 't', ticket: '', name: 'n', clientInfo: 'x' }),
    encodeClientMessage({ type: 'input', event: { kind: 'gamepad', index: 0, buttons: [1, 0.5], axes: [-1, 0.25] } }),
    encodeClientMessage({ type: 'input', event: { kind: 'click', nodeId: 77, x: 5.5, y: 6 } }),
  ];
  const server = [
    encodeServerMessage({ type: 'init', protocolVersion: 1, squishVersion: 1, playerId: 3, spectator: false, aspectRatio: { x: 16, y: 9 }, tickRate: 60, reconnectToken: 'tok', roomId: 's', game: 'pong', title: 'Pong' }),
    encodeServerMessage({ type: 'assets', assets: [{ id: 'a', type: 'image', hash: 'ff', url: '/x' }] }),
  ];

  it('random bytes: each decoder returns a value or throws SquishDecodeError, allocating no more nodes than bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const n = hostile(() => unsquish(bytes));
      if (n) expect(countNodes(n)).toBeLessThanOrEqual(bytes.length);
      hostile(() => decodeClientMessage(bytes));
      hostile(() => decodeServerMessage(bytes));
      const m = new SceneMirror();
      hostile(() => m.apply(bytes));
      expect(m.nodes.size).toBeLessThanOrEqual(bytes.length);
    }), { numRuns: 3000 });
  });

  it('mutated valid frames, nodes and messages: a valid result or SquishDecodeError', () => {
    fc.assert(fc.property(mutate(frames[0]), mutate(frames[1]), mutate(node), (f0, f1, n) => {
      const m = new SceneMirror();
      hostile(() => m.apply(f0));
      const m2 = new SceneMirror();
      m2.apply(frames[0]);
      hostile(() => m2.apply(f1));
      expect(m2.nodes.size).toBeLessThanOrEqual(frames[0].length + f1.length);
      if (m2.root) for (const [id, x] of m2.nodes) expect(x.id).toBe(id);
      hostile(() => unsquish(n));
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.constantFrom(...client), fc.constantFrom(...server), (c, s) =>
      fc.assert(fc.property(mutate(c), mutate(s), (mc, ms) => {
        hostile(() => decodeClientMessage(mc));
        hostile(() => decodeServerMessage(ms));
      }), { numRuns: 200 }),
    ), { numRuns: 6 });
  });

  it('a delta that fails leaves the mirror empty until the next full frame', () => {
    const m = new SceneMirror();
    m.apply(frames[0]);
    expect(m.root).not.toBeNull();
    expect(() => m.apply(frames[1].subarray(0, frames[1].length - 1))).toThrow(SquishDecodeError);
    expect(m.root).toBeNull();
    expect(() => m.apply(frames[1])).toThrow(SquishDecodeError);
    m.apply(frames[0]);
    expect(m.root).not.toBeNull();
  });

  it('hostile nesting is bounded: deep frames fail cleanly, never overflow the stack', () => {
    const deep: number[] = [1];
    for (let i = 0; i < 100_000; i++) deep.push(i & 127, 4);
    expect(() => unsquish(new Uint8Array(deep))).toThrow(SquishDecodeError);
    const counts = new Uint8Array([1, 5, 4, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => unsquish(counts)).toThrow(SquishDecodeError);
  });
});
