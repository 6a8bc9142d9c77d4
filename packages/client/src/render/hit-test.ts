import { NodeKind, distanceToPolyline, inPolygon, type Asset, type Group, type Node, type Shape, type Text } from '@parlor/squish';
import { composeTransform, IDENTITY, type AspectRatio, type PlaneTransform } from './coords.js';
import {
  assetPixels, newAssetPixels, newShapePixels, newTextPixels, shapePixels, textPixels,
  type AssetPixels, type PixelMap, type ShapePixels, type TextPixels,
} from './generated/node-pixels.js';

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
 * per line, {@link LINE_HEIGHT} spacing); image rectangle. The test runs in the renderer's own
 * geometry (the same generated per-kind pixel views), on a viewport `aspect` wide and 100 tall,
 * so circles and lines are measured in height units, as drawn.
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
  const ar = aspect.x > 0 && aspect.y > 0 ? aspect.x / aspect.y : 16 / 9;
  const ctx: HitContext = {
    px: x * ar,
    py: y,
    ar,
    measure: options.measureText ?? approximateMeasureText,
    assetType: options.assetType ?? (() => 'image'),
    tol: options.lineTolerance ?? 0.75,
    map: { ox: 0, oy: 0, kx: 0, ky: 0, kl: 0 },
    shape: newShapePixels(),
    text: newTextPixels(),
    asset: newAssetPixels(),
  };
  return visit(root, IDENTITY, null, ctx);
}

/**
 * One hit test's state. Geometry is in the pixels of a virtual viewport `ar` × 100 wide (one
 * height unit = 1): the click point (`px`, `py`) and each node's pixel view under its transform.
 */
interface HitContext {
  px: number;
  py: number;
  ar: number;
  measure: MeasureText;
  assetType: (assetId: string) => 'image' | 'audio' | undefined;
  tol: number;
  map: PixelMap;
  shape: ShapePixels;
  text: TextPixels;
  asset: AssetPixels;
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
  const m = ctx.map;
  m.ox = t.x * ctx.ar;
  m.oy = t.y;
  m.kx = t.scale * ctx.ar;
  m.ky = t.scale;
  m.kl = Math.abs(t.scale);
  const x = ctx.px;
  const y = ctx.py;
  switch (node.kind) {
    case NodeKind.SHAPE: {
      const p = shapePixels(node as Shape, m, ctx.shape);
      if (p.shapeType === 'circle') {
        const dx = x - p.x;
        const dy = y - p.y;
        const r = Math.abs(p.radius) + (p.stroke ? Math.abs(p.strokeWidth) / 2 : 0);
        return dx * dx + dy * dy <= r * r;
      }
      const n = p.pointsCount;
      if (n === 0) return false;
      const half = Math.abs(p.strokeWidth) / 2;
      if (p.shapeType === 'line') return distanceToPolyline(x, y, p.points, n, false) <= Math.max(half, ctx.tol);
      if (n >= 3 && inPolygon(x, y, p.points, n)) return true;
      return p.stroke !== null && half > 0 && distanceToPolyline(x, y, p.points, n, true) <= half;
    }
    case NodeKind.TEXT: {
      const p = textPixels(node as Text, m, ctx.text);
      if (p.text.length === 0 || !(p.size > 0)) return false;
      const lines = p.text.split('\n');
      let w = 0;
      for (const line of lines) w = Math.max(w, ctx.measure(line, p.font, p.size));
      const h = p.size * (1 + LINE_HEIGHT * (lines.length - 1));
      const left = p.align === 'center' ? p.x - w / 2 : p.align === 'right' ? p.x - w : p.x;
      return x >= left && x <= left + w && y >= p.y && y <= p.y + h;
    }
    case NodeKind.ASSET: {
      const p = assetPixels(node as Asset, m, ctx.asset);
      if (ctx.assetType(p.assetId) === 'audio') return false;
      const x0 = Math.min(p.x, p.x + p.width);
      const y0 = Math.min(p.y, p.y + p.height);
      return x >= x0 && x <= x0 + Math.abs(p.width) && y >= y0 && y <= y0 + Math.abs(p.height);
    }
    default:
      return false; // groups have no area of their own
  }
}

/** Even-odd point-in-polygon test (ray casting), in any consistent units. */
export function pointInPolygon(x: number, y: number, pts: readonly (readonly [number, number])[]): boolean {
  return inPolygon(x, y, pts.flat(), pts.length);
}
