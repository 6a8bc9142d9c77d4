/**
 * Coordinate mapping between the game's 0–100 plane, the letterboxed viewport and the page.
 *
 * The plane's x 0–100 spans the viewport's width and y 0–100 its height, so plane units are
 * not square unless the aspect ratio is 1:1. Lengths that must stay round (circle radius,
 * stroke width, shadow blur, text size) use the height unit: 1 = viewport height / 100.
 */

/** Width:height of the game's screen, as sent in `init` (e.g. `{ x: 16, y: 9 }`). */
export interface AspectRatio {
  x: number;
  y: number;
}

/** A rectangle in CSS pixels, relative to the canvas's top-left corner. */
export interface Viewport {
  /** Left edge of the game area inside the canvas, CSS px. */
  x: number;
  /** Top edge, CSS px. */
  y: number;
  /** Width of the game area, CSS px. */
  width: number;
  /** Height of the game area, CSS px. */
  height: number;
}

/** A point in plane units. */
export interface PlanePoint {
  x: number;
  y: number;
}

/**
 * The largest rectangle of the given aspect ratio that fits in a `containerWidth` ×
 * `containerHeight` area (CSS px), centred; the rest are letterbox (or pillarbox) bars.
 * A zero or negative container gives a zero-sized viewport; a bad aspect ratio falls back to 16:9.
 */
export function letterbox(containerWidth: number, containerHeight: number, aspect: AspectRatio): Viewport {
  const cw = Math.max(0, containerWidth || 0);
  const ch = Math.max(0, containerHeight || 0);
  const ar = aspect.x > 0 && aspect.y > 0 && Number.isFinite(aspect.x / aspect.y) ? aspect.x / aspect.y : 16 / 9;
  if (cw === 0 || ch === 0) return { x: cw / 2, y: ch / 2, width: 0, height: 0 };
  let width = cw;
  let height = cw / ar;
  if (height > ch) {
    height = ch;
    width = ch * ar;
  }
  return { x: (cw - width) / 2, y: (ch - height) / 2, width, height };
}

/** Maps a plane point to canvas CSS pixels inside `vp`. */
export function planeToCanvas(vp: Viewport, x: number, y: number): PlanePoint {
  return { x: vp.x + (x * vp.width) / 100, y: vp.y + (y * vp.height) / 100 };
}

/**
 * Maps a point in canvas CSS pixels (e.g. `clientX - canvasRect.left`) to plane units.
 * Points on the letterbox bars map outside 0–100. A zero-sized viewport maps everything to (0, 0).
 */
export function canvasToPlane(vp: Viewport, cx: number, cy: number): PlanePoint {
  if (vp.width <= 0 || vp.height <= 0) return { x: 0, y: 0 };
  return { x: ((cx - vp.x) * 100) / vp.width, y: ((cy - vp.y) * 100) / vp.height };
}

/** Whether a plane point lies on the game area (0–100 on both axes, edges included). */
export function insidePlane(p: PlanePoint): boolean {
  return p.x >= 0 && p.x <= 100 && p.y >= 0 && p.y <= 100;
}

/**
 * Size of the canvas backing store for a CSS size and device pixel ratio: CSS px × DPR,
 * rounded, at least 1×1 (so a hidden canvas still has a context). A missing or non-positive
 * DPR counts as 1.
 */
export function backingSize(cssWidth: number, cssHeight: number, dpr: number): { width: number; height: number } {
  const r = dpr > 0 && Number.isFinite(dpr) ? dpr : 1;
  return {
    width: Math.max(1, Math.round(Math.max(0, cssWidth) * r)),
    height: Math.max(1, Math.round(Math.max(0, cssHeight) * r)),
  };
}

/**
 * An accumulated group transform in plane units: a point `p` of a node under it is at
 * `(x + scale * p.x, y + scale * p.y)` on the plane. Lengths scale by `scale`.
 */
export interface PlaneTransform {
  x: number;
  y: number;
  scale: number;
}

/** The identity transform. */
export const IDENTITY: PlaneTransform = Object.freeze({ x: 0, y: 0, scale: 1 });

/** The transform of a group's children: `parent` followed by the group's own (x, y, scale). */
export function composeTransform(parent: PlaneTransform, gx: number, gy: number, gscale: number): PlaneTransform {
  return { x: parent.x + parent.scale * gx, y: parent.y + parent.scale * gy, scale: parent.scale * gscale };
}
