import { describe, expect, it } from 'vitest';
import { Group, messageFor, SceneMirror, Shape, ShapeUtils, Squisher, squish, Text, unsquish } from '../src/index.js';

/**
 * The per-node interpolation opt-out (`interpolate: false`) on the wire: a bare field bit (10)
 * with no payload that flips the flag. A full node carries it only when opted out; a delta
 * carries it only when the flag changed since the last frame.
 */

/** Bytes of one varint. */
function uv(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const FLAG = 1 << 10;

describe('the interpolation flag on the wire', () => {
  it('a full node: no bit by default; opted out = the bit and no payload, one byte more at most', () => {
    const on = new Shape({ points: ShapeUtils.rectangle(10, 10, 4, 3), fill: [255, 0, 0, 255] }, 7);
    const off = new Shape({ points: ShapeUtils.rectangle(10, 10, 4, 3), fill: [255, 0, 0, 255], interpolate: false }, 7);
    const a = squish(on);
    const b = squish(off);
    // magic · uv id · uv head (mask << 3 | kind 1) · payloads
    const maskOn = 0b11; // points, fill
    expect([...a.subarray(0, 3)]).toEqual([1, 7, ...uv(maskOn * 8 + 1)]);
    expect([...b.subarray(0, 4)]).toEqual([1, 7, ...uv((maskOn | FLAG) * 8 + 1)]);
    // the same payload bytes follow: the flag has none
    expect([...b.subarray(4)]).toEqual([...a.subarray(3)]);
    expect(b.length - a.length).toBe(1);
    expect(unsquish(a).interpolate).toBe(true);
    expect(unsquish(b).interpolate).toBe(false);
    // a node whose head is two bytes already pays nothing for it
    const t1 = squish(new Text({ text: 'hi', x: 1, y: 2, size: 3, color: [1, 2, 3, 255] }, 9));
    const t2 = squish(new Text({ text: 'hi', x: 1, y: 2, size: 3, color: [1, 2, 3, 255], interpolate: false }, 9));
    expect(t2.length).toBe(t1.length);
    expect(unsquish(t2).interpolate).toBe(false);
  });

  it('a delta: a PROPS op with the bare bit when the flag changed; nothing when a change was undone within the tick', () => {
    const dot = new Shape({ shapeType: 'circle', x: 5, y: 5, radius: 1 }, 1001);
    const root = new Group({}, 1000).addChild(dot);
    const sq = new Squisher({ layers: () => [root] });
    sq.addPlayer(1);
    const mirror = new SceneMirror();
    mirror.apply(messageFor(sq.flush(), 1)!);
    expect(mirror.nodes.get(dot.id)!.interpolate).toBe(true);

    dot.interpolate = false;
    const off = messageFor(sq.flush(), 1)!;
    // type · kind delta · uv seq | uv (id * 4 + PROPS) · uv mask — and no payload
    const seqLen = off.length - 2 - uv(dot.id * 4).length - uv(FLAG).length;
    expect([...off.subarray(2 + seqLen)]).toEqual([...uv(dot.id * 4), ...uv(FLAG)]);
    mirror.apply(off);
    expect(mirror.nodes.get(dot.id)!.interpolate).toBe(false);

    // set back and forth within one tick: the flag did not change, nothing is sent
    dot.interpolate = true;
    dot.interpolate = false;
    expect(sq.flush().sends).toHaveLength(0);
    // setting the value it already has sends nothing either
    dot.interpolate = false;
    expect(sq.flush().sends).toHaveLength(0);

    // with a move in the same tick: one PROPS op, the bit next to x's
    dot.interpolate = true;
    dot.x = 6;
    const both = messageFor(sq.flush(), 1)!;
    mirror.apply(both);
    const m = mirror.nodes.get(dot.id) as Shape;
    expect([m.interpolate, m.x]).toEqual([true, 6]);

    // a node created opted out and switched back within its first tick arrives interpolated
    const late = new Shape({ shapeType: 'circle', x: 1, y: 1, radius: 1, interpolate: false });
    root.addChild(late);
    late.interpolate = true;
    mirror.apply(messageFor(sq.flush(), 1)!);
    expect(mirror.nodes.get(late.id)!.interpolate).toBe(true);
    late.interpolate = false;
    mirror.apply(messageFor(sq.flush(), 1)!);
    expect(mirror.nodes.get(late.id)!.interpolate).toBe(false);

    // a player joining later gets the current flag in its full frame
    sq.addPlayer(2);
    const fresh = new SceneMirror();
    fresh.apply(messageFor(sq.flush(), 2)!);
    expect([fresh.nodes.get(dot.id)!.interpolate, fresh.nodes.get(late.id)!.interpolate]).toEqual([true, false]);
  });
});
