import { describe, expect, it } from 'vitest';
import { backingSize, canvasToPlane, composeTransform, IDENTITY, insidePlane, letterbox, planeToCanvas } from '@parlor/client';

describe('letterbox', () => {
  it('fits the largest centred rectangle of the aspect ratio', () => {
    // 1600×900 is exactly 16:9: no bars
    expect(letterbox(1600, 900, { x: 16, y: 9 })).toEqual({ x: 0, y: 0, width: 1600, height: 900 });
    // a tall window: bars top and bottom
    const tall = letterbox(800, 1000, { x: 16, y: 9 });
    expect(tall.width).toBe(800);
    expect(tall.height).toBeCloseTo(450);
    expect(tall.x).toBe(0);
    expect(tall.y).toBeCloseTo(275);
    // a wide window: bars left and right
    const wide = letterbox(2000, 900, { x: 16, y: 9 });
    expect(wide).toEqual({ x: 200, y: 0, width: 1600, height: 900 });
  });

  it('handles square and degenerate inputs', () => {
    expect(letterbox(300, 200, { x: 1, y: 1 })).toEqual({ x: 50, y: 0, width: 200, height: 200 });
    expect(letterbox(0, 500, { x: 16, y: 9 })).toEqual({ x: 0, y: 250, width: 0, height: 0 });
    // a bad aspect ratio falls back to 16:9
    expect(letterbox(1600, 1000, { x: 0, y: 9 })).toEqual(letterbox(1600, 1000, { x: 16, y: 9 }));
  });
});

describe('plane ↔ canvas mapping', () => {
  const vp = letterbox(2000, 900, { x: 16, y: 9 }); // x 200…1800, y 0…900

  it('maps plane corners to the viewport corners', () => {
    expect(planeToCanvas(vp, 0, 0)).toEqual({ x: 200, y: 0 });
    expect(planeToCanvas(vp, 100, 100)).toEqual({ x: 1800, y: 900 });
    expect(planeToCanvas(vp, 50, 50)).toEqual({ x: 1000, y: 450 });
  });

  it('inverts, and points on the bars fall outside 0–100', () => {
    for (const [x, y] of [[0, 0], [12.5, 87.25], [100, 100], [33.3, 66.6]]) {
      const c = planeToCanvas(vp, x, y);
      const p = canvasToPlane(vp, c.x, c.y);
      expect(p.x).toBeCloseTo(x, 9);
      expect(p.y).toBeCloseTo(y, 9);
    }
    const bar = canvasToPlane(vp, 100, 450);
    expect(bar.x).toBeLessThan(0);
    expect(insidePlane(bar)).toBe(false);
    expect(insidePlane(canvasToPlane(vp, 1000, 450))).toBe(true);
  });

  it('sizes the backing store by device pixel ratio', () => {
    expect(backingSize(800, 450, 2)).toEqual({ width: 1600, height: 900 });
    expect(backingSize(801, 451, 1.5)).toEqual({ width: 1202, height: 677 });
    expect(backingSize(0, 0, 3)).toEqual({ width: 1, height: 1 });
    expect(backingSize(100, 50, 0)).toEqual({ width: 100, height: 50 });
  });

  it('composes group transforms: children at (x, y) + scale × p', () => {
    const a = composeTransform(IDENTITY, 10, 20, 2);
    const b = composeTransform(a, 5, 5, 0.5);
    // a point p under b is at a.(5 + 0.5 p) = 10 + 2(5 + 0.5 p)
    expect(b).toEqual({ x: 20, y: 30, scale: 1 });
  });
});
