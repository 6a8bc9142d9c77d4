import { NodeKind, type Asset, type Group, type Node, type Shape, type Text } from '@parlor/squish';
import { composeTransform, IDENTITY, type AspectRatio, type PlaneTransform } from './coords.js';

/**
 * Measures the width of one line of text, in the same unit as `size` (the renderer passes its
 * canvas's `measureText`; widths scale linearly with size).
 */
export type MeasureText = (text: string, font: string, size: number) => number;

/** Line height of multi-line text, as a multiple of the font size. Shared by renderer and hit test. */
export const LINE_HEIGHT = 1.2;

/** Rough width of text without a canvas: 0.55 × size per character (code points). */
export const approximateMeasureText: MeasureText = (text, _font, size) => [...text].length * size * 0.55;

/** Options of {@link hitTest}. */
export interface HitTestOptions {
  /** Text width measure; default {@link approximateMeasureText}. */
  measureText?: MeasureText;
  /**
   * The type of an asset id (`'image'` / `'audio'`), from the `assets` message. Audio nodes
   * have no area; unknown ids count as images. Default: everything is an image.
   */
  assetType?: (assetId: string) => 'image' | 'audio' | undefined;
  /** Extra reach of thin lines, in height units (1 = viewport height / 100); default 0.75. */
  lineTolerance?: number;
}

/**
 * Finds the clickable node under a plane point: walks the scene in reverse draw order (later
 * siblings and children first), honouring group transforms, and returns the first node whose
 * area contains the point and which is clickable itself or has a clickable ancestor — that
 * nearest clickable node (itself or the ancestor) is returned, so a label drawn on a clickable
 * card clicks the card. Non-clickable nodes do not block clicks to nodes below them.
 *
 * Areas: closed polygon interior (even-odd) plus half its border; a line within half its width
 * (at least `lineTolerance`); circle disc; text's box from `measureText` (alignment, `size`
 * per line, {@link LINE_HEIGHT} spacing); image rectangle. Circles and lines are measured in
 * height units, as drawn, using `aspect`.
 *
 * @param root the scene root (e.g. `SceneMirror.root`); `null` → `null`
 * @param x plane x (0–100 across the viewport)
 * @param y plane y (0–100 down the viewport)
 * @param aspect the game's aspect ratio (width:height)
 */
export function hitTest(
  root: Node | null,
  x: number,
  y: number,
  aspect: AspectRatio,
  options: HitTestOptions = {},
): Node | null {
  if (!root) return null;
  const ctx: HitContext = {
    px: x,
    py: y,
    ar: aspect.x > 0 && aspect.y > 0 ? aspect.x / aspect.y : 16 / 9,
    measure: options.measureText ?? approximateMeasureText,
    assetType: options.assetType ?? (() => 'image'),
    tol: options.lineTolerance ?? 0.75,
  };
  return visit(root, IDENTITY, null, ctx);
}

interface HitContext {
  px: number;
  py: number;
  ar: number;
  measure: MeasureText;
  assetType: (assetId: string) => 'image' | 'audio' | undefined;
  tol: number;
}

function visit(node: Node, t: PlaneTransform, clickableAncestor: Node | null, ctx: HitContext): Node | null {
  const target = node.clickable ? node : clickableAncestor;
  const children = node.children;
  if (children.length > 0) {
    let ct = t;
    if (node.kind === NodeKind.GROUP) {
      const g = node as Group;
      ct = composeTransform(t, g.x, g.y, g.scale);
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const hit = visit(children[i], ct, target, ctx);
      if (hit) return hit;
    }
  }
  if (target && contains(node, t, ctx)) return target;
  return null;
}

/** Whether the node's own area (not its children's) contains the context's point. */
function contains(node: Node, t: PlaneTransform, ctx: HitContext): boolean {
  if (t.scale === 0) return false;
  // the point in the node's local plane coordinates
  const lx = (ctx.px - t.x) / t.scale;
  const ly = (ctx.py - t.y) / t.scale;
  // scale from local units to height units (for round things)
  const k = Math.abs(t.scale);
  switch (node.kind) {
    case NodeKind.SHAPE: {
      const s = node as Shape;
      if (s.shapeType === 'circle') {
        const dx = (lx - s.x) * ctx.ar;
        const dy = ly - s.y;
        const r = Math.abs(s.radius) + (s.stroke ? Math.abs(s.strokeWidth) / 2 : 0);
        return dx * dx + dy * dy <= r * r;
      }
      const pts = s.points;
      if (pts.length === 0) return false;
      const half = Math.abs(s.strokeWidth) / 2;
      if (s.shapeType === 'line') {
        const reach = Math.max(half, ctx.tol / k);
        return distanceToPolyline(lx, ly, pts, false, ctx.ar) <= reach;
      }
      if (pts.length >= 3 && pointInPolygon(lx, ly, pts)) return true;
      return s.stroke !== null && half > 0 && distanceToPolyline(lx, ly, pts, true, ctx.ar) <= half;
    }
    case NodeKind.TEXT: {
      const tx = node as Text;
      if (tx.text.length === 0 || !(tx.size > 0)) return false;
      const lines = tx.text.split('\n');
      let width = 0;
      for (const line of lines) width = Math.max(width, ctx.measure(line, tx.font, tx.size));
      const w = width / ctx.ar; // height units → plane x units
      const h = tx.size * (1 + LINE_HEIGHT * (lines.length - 1));
      const left = tx.align === 'center' ? tx.x - w / 2 : tx.align === 'right' ? tx.x - w : tx.x;
      return lx >= left && lx <= left + w && ly >= tx.y && ly <= tx.y + h;
    }
    case NodeKind.ASSET: {
      const a = node as Asset;
      if (ctx.assetType(a.assetId) === 'audio') return false;
      const x0 = Math.min(a.x, a.x + a.width);
      const y0 = Math.min(a.y, a.y + a.height);
      return lx >= x0 && lx <= x0 + Math.abs(a.width) && ly >= y0 && ly <= y0 + Math.abs(a.height);
    }
    default:
      return false; // groups have no area of their own
  }
}

/** Even-odd point-in-polygon test (ray casting), in any consistent units. */
export function pointInPolygon(x: number, y: number, pts: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Distance (height units) from a point to a polyline given in plane units; x is stretched by `ar`. */
function distanceToPolyline(
  x: number,
  y: number,
  pts: readonly (readonly [number, number])[],
  closed: boolean,
  ar: number,
): number {
  const px = x * ar;
  let best = Infinity;
  const n = pts.length;
  if (n === 1) return Math.hypot(pts[0][0] * ar - px, pts[0][1] - y);
  const segs = closed ? n : n - 1;
  for (let i = 0; i < segs; i++) {
    const a = pts[i];
    const b = pts[(i + 1) % n];
    const ax = a[0] * ar, ay = a[1], bx = b[0] * ar, by = b[1];
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let u = len2 > 0 ? ((px - ax) * dx + (y - ay) * dy) / len2 : 0;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    const d = Math.hypot(ax + u * dx - px, ay + u * dy - y);
    if (d < best) best = d;
  }
  return best;
}
