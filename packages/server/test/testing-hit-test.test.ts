/**
 * Squish's plane hit test (what the test kit clicks with) against the browser client's own
 * `hitTest` (what a player's click goes through): on random scenes of every node kind, nested
 * and scaled groups, clickable or not, both find the same node at every probed point, and
 * `nodesAtPoint`'s topmost clickable-or-below-clickable node agrees with them.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Asset, Group, Shape, Text, hitTestPlane, nodeScreenBox, nodesAtPoint, type Node } from '@parlor/squish';
import { hitTest } from '@parlor/client';

const num = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const point = fc.tuple(num(-10, 110), num(-10, 110));

type Spec =
  | { k: 'circle'; x: number; y: number; r: number; click: boolean; stroke: boolean }
  | { k: 'poly'; pts: Array<[number, number]>; click: boolean; line: boolean }
  | { k: 'text'; x: number; y: number; size: number; text: string; align: 'left' | 'center' | 'right'; click: boolean }
  | { k: 'asset'; x: number; y: number; w: number; h: number; click: boolean }
  | { k: 'group'; x: number; y: number; scale: number; click: boolean; kids: Spec[] };

const leaf: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ k: fc.constant('circle' as const), x: num(0, 100), y: num(0, 100), r: num(0, 20), click: fc.boolean(), stroke: fc.boolean() }),
  fc.record({ k: fc.constant('poly' as const), pts: fc.array(point, { minLength: 1, maxLength: 6 }), click: fc.boolean(), line: fc.boolean() }),
  fc.record({
    k: fc.constant('text' as const), x: num(0, 100), y: num(0, 100), size: num(0, 12), text: fc.string({ maxLength: 12 }),
    align: fc.constantFrom('left' as const, 'center' as const, 'right' as const), click: fc.boolean(),
  }),
  fc.record({ k: fc.constant('asset' as const), x: num(0, 100), y: num(0, 100), w: num(-30, 30), h: num(-30, 30), click: fc.boolean() }),
);
const { tree } = fc.letrec<{ tree: Spec }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ k: fc.constant('group' as const), x: num(-20, 20), y: num(-20, 20), scale: num(-2, 2), click: fc.boolean(), kids: fc.array(tie('tree'), { maxLength: 4 }) }),
  ),
}));

function build(s: Spec): Node {
  const onClick = s.click ? () => {} : undefined;
  switch (s.k) {
    case 'circle':
      return new Shape({ shapeType: 'circle', x: s.x, y: s.y, radius: s.r, stroke: s.stroke ? [0, 0, 0, 255] : null, strokeWidth: 2, onClick });
    case 'poly':
      return new Shape({ shapeType: s.line ? 'line' : 'polygon', points: s.pts, strokeWidth: 1, onClick });
    case 'text':
      return new Text({ text: s.text, x: s.x, y: s.y, size: s.size, align: s.align, onClick });
    case 'asset':
      return new Asset({ assetId: 'a', x: s.x, y: s.y, width: s.w, height: s.h, onClick });
    case 'group':
      return new Group({ x: s.x, y: s.y, scale: s.scale, onClick, children: s.kids.map(build) });
  }
}

describe('plane hit test (squish) = the browser client’s hit test', () => {
  it('finds the same node at every point of random scenes, for several aspect ratios', () => {
    let hits = 0;
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 5 }), fc.array(point, { minLength: 1, maxLength: 20 }), fc.constantFrom({ x: 16, y: 9 }, { x: 1, y: 1 }, { x: 3, y: 4 }), (layers, points, aspect) => {
        const root = new Group({ children: layers.map(build) });
        for (const [x, y] of points) {
          const ours = hitTestPlane(root, x, y, aspect);
          if (ours) hits++;
          expect(ours?.id ?? null).toBe(hitTest(root, x, y, aspect)?.id ?? null);
          // nodesAtPoint lists every node there, topmost first: its first node with a clickable
          // ancestor-or-self resolves to the same target
          const under = nodesAtPoint(root, x, y, aspect);
          const first = under.find((n) => clickableSelfOrAncestor(n) !== null);
          expect(first ? clickableSelfOrAncestor(first)!.id : null).toBe(ours?.id ?? null);
        }
      }),
      { numRuns: 300 },
    );
    expect(hits, 'the random scenes are hit somewhere, not only missed').toBeGreaterThan(100);
  });

  it('a node’s screen box contains every point at which it is hit', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 4 }), fc.array(point, { minLength: 1, maxLength: 20 }), (layers, points) => {
        const root = new Group({ children: layers.map(build) });
        for (const [x, y] of points) {
          for (const n of nodesAtPoint(root, x, y, { x: 16, y: 9 })) {
            const b = nodeScreenBox(n, { x: 16, y: 9 })!;
            const eps = 2.5; // strokes and thin lines reach past their points: at most 2 height units here (stroke width 2 at scale 2)
            expect(x).toBeGreaterThanOrEqual(b.x0 - eps);
            expect(x).toBeLessThanOrEqual(b.x1 + eps);
            expect(y).toBeGreaterThanOrEqual(b.y0 - eps);
            expect(y).toBeLessThanOrEqual(b.y1 + eps);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

function clickableSelfOrAncestor(n: Node): Node | null {
  for (let a: Node | null = n; a; a = a.parent) if (a.clickable) return a;
  return null;
}
