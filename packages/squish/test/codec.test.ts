import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Asset, Group, type Node, Shape, Text, squish, unsquish, SquishDecodeError, SquishEncodeError, MAX_DEPTH, type Color,
} from '../src/index.js';
import { describe } from './helpers.js';

const num = fc.double({ min: -10_000, max: 10_000, noNaN: true, noDefaultInfinity: true });
const color: fc.Arbitrary<Color> = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
const common = fc.record({
  clickable: fc.boolean(),
  interpolate: fc.boolean(),
  shadow: fc.option(fc.record({ color, blur: num, offsetX: num, offsetY: num }), { nil: null }),
});
const shape = fc.tuple(common, fc.record({
  shapeType: fc.constantFrom('polygon' as const, 'line' as const, 'circle' as const),
  points: fc.array(fc.tuple(num, num), { maxLength: 40 }),
  x: num, y: num, radius: num,
  fill: fc.option(color, { nil: null }), stroke: fc.option(color, { nil: null }), strokeWidth: num,
})).map(([c, o]) => new Shape({ ...o, shadow: c.shadow, interpolate: c.interpolate, onClick: c.clickable ? () => {} : null }));
const text = fc.tuple(common, fc.record({
  text: fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 })),
  x: num, y: num, size: num, color, align: fc.constantFrom('left' as const, 'center' as const, 'right' as const), font: fc.string(),
})).map(([c, o]) => new Text({ ...o, shadow: c.shadow, interpolate: c.interpolate, onClick: c.clickable ? () => {} : null }));
const asset = fc.tuple(common, fc.record({
  assetId: fc.string(), x: num, y: num, width: num, height: num,
  crop: fc.option(fc.record({ x: num, y: num, width: num, height: num }), { nil: null }),
  startTime: fc.double({ min: 0, max: 1e7, noNaN: true }), loop: fc.boolean(), volume: fc.double({ min: 0, max: 1, noNaN: true }),
})).map(([c, o]) => new Asset({ ...o, shadow: c.shadow, interpolate: c.interpolate, onClick: c.clickable ? () => {} : null }));
const group = fc.record({ x: num, y: num, scale: fc.double({ min: 0.01, max: 100, noNaN: true }) }).map((o) => new Group(o));
const leaf: fc.Arbitrary<Node> = fc.oneof(shape, text, asset, group);
const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.tuple(group, fc.array(tie('node'), { maxLength: 6 })).map(([g, kids]) => g.addChild(...kids))),
})).node;

/** Lone UTF-16 surrogates cannot be UTF-8; the codec sends U+FFFD as TextEncoder does. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

suite('squish / unsquish', () => {
  it('round-trips every property of every node kind, to 0.01 over ±10 000', () => {
    fc.assert(fc.property(tree, (node) => {
      const back = unsquish(squish(node));
      const norm = (d: unknown): unknown => JSON.parse(JSON.stringify(d, (k, v) => (typeof v === 'string' && (k === 'text' || k === 'font' || k === 'assetId') ? wellFormed(v) : v)));
      expect(norm(describe(back))).toEqual(norm(describe(node)));
    }), { numRuns: 400 });
  });

  it('keeps exact values that are multiples of 0.01, and any number of vertices and children', () => {
    const pts = Array.from({ length: 5000 }, (_, i) => [i * 0.01 - 20, -i * 0.37] as const);
    const s = new Shape({ shapeType: 'line', points: pts });
    const g = new Group().addChild(...Array.from({ length: 3000 }, (_, i) => new Text({ text: `t${i}`, x: i / 100 })));
    g.addChild(s);
    const back = unsquish(squish(g));
    expect(back.children).toHaveLength(3001);
    expect((back.children[3000] as Shape).points).toEqual(pts.map(([x, y]) => [Math.round(x * 100) / 100 + 0, Math.round(y * 100) / 100 + 0]));
    expect((back.children[1234] as Text).x).toBe(12.34);
  });

  it('carries text of any length and any script', () => {
    const long = 'héllo wörld — 漢字 🎲 '.repeat(20_000);
    const back = unsquish(squish(new Text({ text: long }))) as Text;
    expect(back.text).toBe(long);
  });

  it('a filled rectangle costs at most 20 bytes', () => {
    const r = new Shape({ points: [[10.5, 20.25], [30.5, 20.25], [30.5, 40], [10.5, 40]], fill: [200, 10, 10, 255] });
    expect(squish(r).length).toBeLessThanOrEqual(20);
  });

  it('rejects non-finite numbers and too-deep trees with SquishEncodeError', () => {
    expect(() => squish(new Text({ x: NaN }))).toThrow(SquishEncodeError);
    expect(() => squish(new Shape({ points: [[Infinity, 0]] }))).toThrow(SquishEncodeError);
    let n: Group = new Group();
    const top = n;
    for (let i = 0; i < MAX_DEPTH + 5; i++) {
      const c = new Group();
      n.addChild(c);
      n = c;
    }
    expect(() => squish(top)).toThrow(SquishEncodeError);
  });

  it('an encode error names the node (kind, id, path), the property and the value', () => {
    const bad = new Shape({ shapeType: 'circle', x: 50, y: 50, radius: 'big' as unknown as number });
    const inner = new Group({ children: [bad] });
    const root = new Group({ children: [new Text({ text: 'ok' }), inner] });
    let err: unknown;
    try {
      squish(root);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SquishEncodeError);
    const e = err as SquishEncodeError;
    expect(e.property).toBe('radius');
    expect(e.node).toEqual({ kind: 'Shape', id: bad.id, path: `Group #${root.id} › Group #${inner.id} › Shape #${bad.id}` });
    expect(e.message).toContain(`cannot encode Shape #${bad.id} property radius = "big" (a string)`);
    expect(e.message).toContain(`(at Group #${root.id} › Group #${inner.id} › Shape #${bad.id})`);
  });

  it('rejects trailing bytes, truncation and bad tags with SquishDecodeError carrying the offset', () => {
    const bytes = squish(new Text({ text: 'abc', x: 5 }));
    const withTail = new Uint8Array([...bytes, 0]);
    expect(() => unsquish(withTail)).toThrow(SquishDecodeError);
    try {
      unsquish(bytes.subarray(0, bytes.length - 2));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SquishDecodeError);
      expect((e as SquishDecodeError).offset).toBeGreaterThan(0);
      expect((e as SquishDecodeError).code).toBe('SQUISH_DECODE');
    }
  });
});
