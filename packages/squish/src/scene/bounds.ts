import { type Asset, type Group, type Node, NodeKind, type Shape, type Text } from './nodes.js';

/** An axis-aligned box `[minX, minY, maxX, maxY]` in plane (or world) units. */
export type Bounds = [minX: number, minY: number, maxX: number, maxY: number];

/**
 * The area a node and its subtree cover, in its parent's coordinates, or `null` when it covers
 * nothing (an empty group). Text is estimated (0.75 × size per character, 1.25 × size tall),
 * since glyph widths are only known in the browser; strokes add half their width. Used to cull
 * world nodes outside a player's camera in a {@link ViewableGame}.
 */
export function nodeBounds(n: Node): Bounds | null {
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      const b = s.bounds();
      const pad = s._stroke !== null || s._shapeType === 'line' ? s._strokeWidth / 2 : 0;
      return [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      const w = t._text.length * t._size * 0.75;
      const x0 = t._align === 'left' ? t._x : t._align === 'center' ? t._x - w / 2 : t._x - w;
      return [x0, t._y, x0 + w, t._y + t._size * 1.25];
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      return [Math.min(a._x, a._x + a._width), Math.min(a._y, a._y + a._height), Math.max(a._x, a._x + a._width), Math.max(a._y, a._y + a._height)];
    }
    default: {
      const g = n as Group;
      let out: Bounds | null = null;
      for (const c of g._children) {
        const b = nodeBounds(c);
        if (b === null) continue;
        const x0 = g._x + g._scale * b[0], y0 = g._y + g._scale * b[1];
        const x1 = g._x + g._scale * b[2], y1 = g._y + g._scale * b[3];
        if (out === null) out = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
        else {
          out[0] = Math.min(out[0], x0, x1);
          out[1] = Math.min(out[1], y0, y1);
          out[2] = Math.max(out[2], x0, x1);
          out[3] = Math.max(out[3], y0, y1);
        }
      }
      return out;
    }
  }
}
