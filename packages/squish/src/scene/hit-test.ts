/**
 * Hit testing on a scene, in plane units: which node a click at a plane point reaches, and every
 * node whose area contains it. The rules are the browser client's (`@parlor/client`'s `hitTest`,
 * which draws and tests in the pixels of the letterboxed viewport); here the same geometry runs
 * on a virtual viewport `aspect` wide and 100 tall, so a test kit or a bot resolves a click to the
 * node a player's browser would, without a canvas.
 */
import { NodeKind, type Asset, type Group, type Node, type Shape, type Text } from './nodes.js';

/**
 * Measures the width of one line of text, in the same unit as `size` (the browser passes its
 * canvas's `measureText`; widths scale linearly with size).
 * @example
 * const monospace: TextMeasure = (text, _font, size) => text.length * size * 0.6;
 */
export type TextMeasure = (text: string, font: string, size: number) => number;

/**
 * Line height of multi-line text, as a multiple of the font size (the renderer's spacing).
 * @example
 * const height = size * (1 + TEXT_LINE_HEIGHT * (lines - 1));
 */
export const TEXT_LINE_HEIGHT = 1.2;

/**
 * Rough width of text without a canvas: 0.55 × size per character (code points).
 * @example
 * approximateTextWidth('Deal', 'sans-serif', 4); // 8.8 height units
 */
export const approximateTextWidth: TextMeasure = (text, _font, size) => [...text].length * size * 0.55;

/**
 * Width:height of a game's screen (`metadata().aspectRatio`, e.g. `{ x: 16, y: 9 }`).
 * @example
 * const aspect: PlaneAspect = resolveMetadata(Pong.metadata()).aspectRatio;
 */
export interface PlaneAspect {
  x: number;
  y: number;
}

/**
 * Options of {@link hitTestPlane} and {@link nodesAtPoint}.
 * @example
 * hitTestPlane(root, x, y, aspect, { lineTolerance: 1, assetType: (id) => (id === 'music' ? 'audio' : 'image') });
 */
export interface PlaneHitOptions {
  /** Text width measure; default {@link approximateTextWidth}. */
  measureText?: TextMeasure;
  /** The type of an asset id: audio nodes have no area; unknown ids count as images. Default: every asset is an image. */
  assetType?: (assetId: string) => 'image' | 'audio' | undefined;
  /** Extra reach of thin lines, in height units (1 = screen height / 100); default 0.75. */
  lineTolerance?: number;
}

/**
 * The node a click at plane point (`x`, `y`) reaches, as the browser client finds it: walks the
 * scene in reverse draw order (later siblings and children first), honouring group transforms,
 * and returns the first node whose area contains the point and which is clickable itself or has
 * a clickable ancestor — that nearest clickable node is returned (a label drawn on a clickable
 * card clicks the card). Non-clickable nodes do not block clicks to nodes below them.
 *
 * Areas: closed polygon interior (even-odd) plus half its border; a line within half its width
 * (at least `lineTolerance`); circle disc (plus half its stroke); text's box from `measureText`
 * (alignment, `size` per line, {@link TEXT_LINE_HEIGHT} spacing); image rectangle. Circles, stroke
 * widths and text sizes are in height units (1 = screen height / 100), as drawn.
 *
 * @param root the scene root (e.g. `SceneMirror.root`); `null` → `null`
 * @param x plane x (0–100 across the screen)
 * @param y plane y (0–100 down the screen)
 * @param aspect the game's aspect ratio; a non-positive one counts as 16:9
 * @example
 * const target = hitTestPlane(mirror.root, 50, 85, { x: 16, y: 9 });
 * if (target) send({ kind: 'click', nodeId: target.id, x: 50, y: 85 });
 */
export function hitTestPlane(root: Node | null, x: number, y: number, aspect: PlaneAspect, options: PlaneHitOptions = {}): Node | null {
  if (!root) return null;
  const ctx = context(x, y, aspect, options);
  return visitClickable(root, 0, 0, 1, null, ctx);
}

/**
 * Every node whose own area contains plane point (`x`, `y`), topmost first (reverse draw order),
 * clickable or not; groups have no area of their own and are never listed. Same areas as
 * {@link hitTestPlane}.
 * @param root the scene root; `null` → `[]`
 * @example
 * const [top] = nodesAtPoint(mirror.root, 50, 50, { x: 16, y: 9 }); // what is drawn on top there
 */
export function nodesAtPoint(root: Node | null, x: number, y: number, aspect: PlaneAspect, options: PlaneHitOptions = {}): Node[] {
  const out: Node[] = [];
  if (!root) return out;
  const ctx = context(x, y, aspect, options);
  visitAll(root, 0, 0, 1, ctx, out);
  return out;
}

/**
 * A node's drawn box on the screen, in plane units: its own area (the subtree's, for a group)
 * under every ancestor group's transform. Text is measured with `measureText` (default
 * {@link approximateTextWidth}); an empty group → `null`.
 * @example
 * const box = nodeScreenBox(card); // { x0, y0, x1, y1 }
 */
export function nodeScreenBox(node: Node, aspect: PlaneAspect, options: Pick<PlaneHitOptions, 'measureText'> = {}): ScreenBox | null {
  let tx = 0, ty = 0, s = 1;
  const chain: Group[] = [];
  for (let a = node.parent; a; a = a.parent) if (a.kind === NodeKind.GROUP) chain.push(a as Group);
  for (let i = chain.length - 1; i >= 0; i--) {
    const g = chain[i];
    tx += s * g.x;
    ty += s * g.y;
    s *= g.scale;
  }
  const ar = aspectOf(aspect);
  const measure = options.measureText ?? approximateTextWidth;
  return ownBox(node, tx, ty, s, ar, measure);
}

/**
 * A box on the screen in plane units (`x0` ≤ `x1`, `y0` ≤ `y1`).
 * @example
 * const { x0, y0, x1, y1 }: ScreenBox = nodeScreenBox(card, aspect)!;
 */
export interface ScreenBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function ownBox(node: Node, tx: number, ty: number, s: number, ar: number, measure: TextMeasure): ScreenBox | null {
  const box = (ax: number, ay: number, bx: number, by: number): ScreenBox => {
    const x0 = tx + s * ax, x1 = tx + s * bx, y0 = ty + s * ay, y1 = ty + s * by;
    return { x0: Math.min(x0, x1), y0: Math.min(y0, y1), x1: Math.max(x0, x1), y1: Math.max(y0, y1) };
  };
  switch (node.kind) {
    case NodeKind.SHAPE: {
      const sh = node as Shape;
      if (sh.shapeType === 'circle') {
        // the radius is in height units: across, it spans radius / aspect plane units
        const r = Math.abs(sh.radius);
        return box(sh.x - r / ar, sh.y - r, sh.x + r / ar, sh.y + r);
      }
      const [a, b, c, d] = sh.bounds();
      return box(a, b, c, d);
    }
    case NodeKind.TEXT: {
      const t = node as Text;
      const lines = t.text.split('\n');
      let w = 0;
      for (const line of lines) w = Math.max(w, measure(line, t.font, t.size));
      w /= ar; // measured in height units
      const h = t.size * (1 + TEXT_LINE_HEIGHT * (lines.length - 1));
      const left = t.align === 'center' ? t.x - w / 2 : t.align === 'right' ? t.x - w : t.x;
      return box(left, t.y, left + w, t.y + h);
    }
    case NodeKind.ASSET: {
      const a = node as Asset;
      return box(a.x, a.y, a.x + a.width, a.y + a.height);
    }
    default: {
      const g = node as Group;
      let out: ScreenBox | null = null;
      const cx = tx + s * g.x, cy = ty + s * g.y, cs = s * g.scale;
      for (const c of g.children) {
        const b = ownBox(c, cx, cy, cs, ar, measure);
        if (!b) continue;
        out = out ? { x0: Math.min(out.x0, b.x0), y0: Math.min(out.y0, b.y0), x1: Math.max(out.x1, b.x1), y1: Math.max(out.y1, b.y1) } : b;
      }
      return out;
    }
  }
}

// ------------------------------------------------------------------ the walk

/** One test's state: the point in the virtual viewport's pixels (`ar` × 100, one height unit = 1). */
interface HitContext {
  px: number;
  py: number;
  ar: number;
  measure: TextMeasure;
  assetType: (assetId: string) => 'image' | 'audio' | undefined;
  tol: number;
}

function aspectOf(aspect: PlaneAspect): number {
  return aspect.x > 0 && aspect.y > 0 && Number.isFinite(aspect.x / aspect.y) ? aspect.x / aspect.y : 16 / 9;
}

function context(x: number, y: number, aspect: PlaneAspect, options: PlaneHitOptions): HitContext {
  const ar = aspectOf(aspect);
  return {
    px: x * ar,
    py: y,
    ar,
    measure: options.measureText ?? approximateTextWidth,
    assetType: options.assetType ?? (() => 'image'),
    tol: options.lineTolerance ?? 0.75,
  };
}

function visitClickable(node: Node, tx: number, ty: number, s: number, clickableAncestor: Node | null, ctx: HitContext): Node | null {
  const target = node.clickable ? node : clickableAncestor;
  const children = node.children;
  if (children.length > 0) {
    let cx = tx, cy = ty, cs = s;
    if (node.kind === NodeKind.GROUP) {
      const g = node as Group;
      cx = tx + s * g.x;
      cy = ty + s * g.y;
      cs = s * g.scale;
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const hit = visitClickable(children[i], cx, cy, cs, target, ctx);
      if (hit) return hit;
    }
  }
  if (target && contains(node, tx, ty, s, ctx)) return target;
  return null;
}

function visitAll(node: Node, tx: number, ty: number, s: number, ctx: HitContext, out: Node[]): void {
  const children = node.children;
  if (children.length > 0) {
    let cx = tx, cy = ty, cs = s;
    if (node.kind === NodeKind.GROUP) {
      const g = node as Group;
      cx = tx + s * g.x;
      cy = ty + s * g.y;
      cs = s * g.scale;
    }
    for (let i = children.length - 1; i >= 0; i--) visitAll(children[i], cx, cy, cs, ctx, out);
  }
  if (contains(node, tx, ty, s, ctx)) out.push(node);
}

/** Whether the node's own area (not its children's) contains the context's point, under transform (tx, ty, s). */
function contains(node: Node, tx: number, ty: number, s: number, ctx: HitContext): boolean {
  if (s === 0) return false;
  const ar = ctx.ar;
  const ox = tx * ar, oy = ty, kx = s * ar, ky = s, kl = Math.abs(s);
  const x = ctx.px;
  const y = ctx.py;
  switch (node.kind) {
    case NodeKind.SHAPE: {
      const sh = node as Shape;
      if (sh.shapeType === 'circle') {
        const dx = x - (ox + kx * sh.x);
        const dy = y - (oy + ky * sh.y);
        const r = Math.abs(kl * sh.radius) + (sh.stroke ? Math.abs(kl * sh.strokeWidth) / 2 : 0);
        return dx * dx + dy * dy <= r * r;
      }
      const pts = sh.points;
      const n = pts.length;
      if (n === 0) return false;
      const xy: number[] = new Array(2 * n);
      for (let i = 0; i < n; i++) {
        xy[2 * i] = ox + kx * pts[i][0];
        xy[2 * i + 1] = oy + ky * pts[i][1];
      }
      const half = Math.abs(kl * sh.strokeWidth) / 2;
      if (sh.shapeType === 'line') return distanceToPolyline(x, y, xy, n, false) <= Math.max(half, ctx.tol);
      if (n >= 3 && inPolygon(x, y, xy, n)) return true;
      return sh.stroke !== null && half > 0 && distanceToPolyline(x, y, xy, n, true) <= half;
    }
    case NodeKind.TEXT: {
      const t = node as Text;
      const size = kl * t.size;
      if (t.text.length === 0 || !(size > 0)) return false;
      const lines = t.text.split('\n');
      let w = 0;
      for (const line of lines) w = Math.max(w, ctx.measure(line, t.font, size));
      const h = size * (1 + TEXT_LINE_HEIGHT * (lines.length - 1));
      const px = ox + kx * t.x;
      const py = oy + ky * t.y;
      const left = t.align === 'center' ? px - w / 2 : t.align === 'right' ? px - w : px;
      return x >= left && x <= left + w && y >= py && y <= py + h;
    }
    case NodeKind.ASSET: {
      const a = node as Asset;
      if (ctx.assetType(a.assetId) === 'audio') return false;
      const ax = ox + kx * a.x, ay = oy + ky * a.y, aw = kx * a.width, ah = ky * a.height;
      const x0 = Math.min(ax, ax + aw);
      const y0 = Math.min(ay, ay + ah);
      return x >= x0 && x <= x0 + Math.abs(aw) && y >= y0 && y <= y0 + Math.abs(ah);
    }
    default:
      return false; // groups have no area of their own
  }
}

/**
 * Even-odd point-in-polygon test (ray casting) over the first `n` points of a flat
 * `[x0, y0, x1, y1, …]` list, in any consistent units. The one test the client's hit test and
 * this one share.
 */
export function inPolygon(x: number, y: number, xy: readonly number[], n: number): boolean {
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = xy[2 * i], yi = xy[2 * i + 1];
    const xj = xy[2 * j], yj = xy[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Distance from a point to the polyline through the first `n` points of a flat list (`closed`:
 * back to the first), in the list's units. Shared with the client's hit test.
 */
export function distanceToPolyline(x: number, y: number, xy: readonly number[], n: number, closed: boolean): number {
  if (n === 1) return Math.hypot(xy[0] - x, xy[1] - y);
  let best = Infinity;
  const segs = closed ? n : n - 1;
  for (let i = 0; i < segs; i++) {
    const j = (i + 1) % n;
    const ax = xy[2 * i], ay = xy[2 * i + 1], bx = xy[2 * j], by = xy[2 * j + 1];
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let u = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    const d = Math.hypot(ax + u * dx - x, ay + u * dy - y);
    if (d < best) best = d;
  }
  return best;
}
