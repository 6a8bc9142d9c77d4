/**
 * How each wire type of a node field is written and read (colours, points, crops, shadows,
 * booleans, enumerations). The generated field codec (`generated/field-codec.ts`) calls these;
 * the field table (`codegen/fields.mjs`) says which field has which wire type.
 */
import type { Color } from '../scene/colors.js';
import { SquishEncodeError } from '../wire/errors.js';
import { FIXED_SCALE, toFixed, type Reader, type Writer } from './bytes.js';
import type { Crop, Point, Shadow } from '../scene/node.js';

/** Handler given to decoded clickable nodes: the click is sent to the server, not run here. */
export const REMOTE_CLICK = (): void => {};

// ------------------------------------------------------------------ numbers

/**
 * A plane coordinate as the wire's integer hundredths ({@link toFixed}).
 * @throws {SquishEncodeError} for NaN, ±Infinity or |v| over ~7.03e11.
 */
export function quantizeFixed(v: number): number {
  return toFixed(v);
}

/** A coordinate moved by `d` hundredths, as a decoder of the moved value would see it. */
export function shiftFixed(v: number, d: number): number {
  return (Math.round(v * FIXED_SCALE) + d) / FIXED_SCALE;
}

// ------------------------------------------------------------------ colours

/** Colour payload: tag 0 (none), 1 (opaque: r g b) or 2 (r g b a), one byte a channel. */
export function writeColor(w: Writer, c: Color | null): void {
  if (c === null) {
    w.u8(0);
    return;
  }
  const a = byte(c[3]);
  w.ensure(5);
  const b = w.buf;
  let p = w.pos;
  b[p++] = a === 255 ? 1 : 2;
  b[p++] = byte(c[0]);
  b[p++] = byte(c[1]);
  b[p++] = byte(c[2]);
  if (a !== 255) b[p++] = a;
  w.pos = p;
}

function byte(v: number): number {
  if (!(v >= 0)) {
    if (v !== v) throw new SquishEncodeError('colour channel is NaN');
    return 0;
  }
  return v >= 255 ? 255 : Math.round(v);
}

/** Reads a colour payload (`null` for tag 0). */
export function readColor(r: Reader): Color | null {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0) return null;
  if (tag === 1) return [r.u8(), r.u8(), r.u8(), 255];
  if (tag === 2) return [r.u8(), r.u8(), r.u8(), r.u8()];
  return r.fail(`bad colour tag ${tag}`, at);
}

// ------------------------------------------------------------------ small values

/** Reads a one-byte enumeration index into `values`. */
export function readEnum<T>(r: Reader, values: readonly T[], what: string): T {
  const at = r.pos;
  const v = r.u8();
  if (v >= values.length) r.fail(`bad ${what} ${v}`, at);
  return values[v];
}

/** Reads a boolean byte (0 or 1). */
export function readBool(r: Reader): boolean {
  const at = r.pos;
  const v = r.u8();
  if (v > 1) r.fail(`bad boolean ${v}`, at);
  return v === 1;
}

/** Crop payload: 0, or 1 and x, y, width, height as fixed-point. */
export function writeCrop(w: Writer, c: Crop | null): void {
  if (c === null) w.u8(0);
  else {
    w.u8(1);
    w.fx(c.x);
    w.fx(c.y);
    w.fx(c.width);
    w.fx(c.height);
  }
}

/** Reads a crop payload. */
export function readCrop(r: Reader): Crop | null {
  return readBool(r) ? { x: r.fx(), y: r.fx(), width: r.fx(), height: r.fx() } : null;
}

/** Shadow payload: 0, or 1, a colour and blur, offsetX, offsetY as fixed-point. */
export function writeShadow(w: Writer, s: Shadow | null): void {
  if (s === null) w.u8(0);
  else {
    w.u8(1);
    writeColor(w, s.color);
    w.fx(s.blur ?? 0);
    w.fx(s.offsetX ?? 0);
    w.fx(s.offsetY ?? 0);
  }
}

/** Reads a shadow payload. */
export function readShadow(r: Reader): Shadow | null {
  if (!readBool(r)) return null;
  const at = r.pos;
  const color = readColor(r);
  if (color === null) r.fail('shadow colour cannot be empty', at);
  return { color, blur: r.fx(), offsetX: r.fx(), offsetY: r.fx() };
}

// ------------------------------------------------------------------ points

/** Quantizes points into a flat array of hundredths `[x0, y0, x1, y1, …]`. */
export function quantizePoints(pts: readonly Point[]): number[] {
  const out = new Array<number>(pts.length * 2);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    out[2 * i] = toFixed(p[0]);
    out[2 * i + 1] = toFixed(p[1]);
  }
  return out;
}

/**
 * Points payload: `uv h`; h = count << 2 → first point absolute, the rest as deltas;
 * h = 2 → an axis-aligned rectangle (x, y, width, height) whose corners run clockwise from (x, y).
 */
export function writePointsQ(w: Writer, f: readonly number[]): void {
  const n = f.length >> 1;
  if (n === 4 && f[1] === f[3] && f[2] === f[4] && f[5] === f[7] && f[6] === f[0] && f[2] !== f[0] && f[5] !== f[1]) {
    w.uv(2);
    w.fq(f[0]);
    w.fq(f[1]);
    w.fq(f[2] - f[0]);
    w.fq(f[5] - f[1]);
    return;
  }
  w.uv(n * 4);
  if (n === 0) return;
  let px = f[0], py = f[1];
  w.fq(px);
  w.fq(py);
  for (let i = 2; i < f.length; i += 2) {
    const x = f[i], y = f[i + 1];
    w.fq(x - px);
    w.fq(y - py);
    px = x;
    py = y;
  }
}

/** Writes a points payload from plane-unit points. */
export function writePoints(w: Writer, pts: readonly Point[]): void {
  if (pts.length === 4) {
    // Rectangles are most of most scenes: test for one without allocating.
    const p0 = pts[0], p1 = pts[1], p2 = pts[2], p3 = pts[3];
    const x0 = toFixed(p0[0]), y0 = toFixed(p0[1]), x1 = toFixed(p1[0]), y1 = toFixed(p1[1]);
    const x2 = toFixed(p2[0]), y2 = toFixed(p2[1]), x3 = toFixed(p3[0]), y3 = toFixed(p3[1]);
    if (y0 === y1 && x1 === x2 && y2 === y3 && x3 === x0 && x1 !== x0 && y2 !== y0) {
      w.uv(2);
      w.fq(x0);
      w.fq(y0);
      w.fq(x1 - x0);
      w.fq(y2 - y0);
      return;
    }
    writePointsQ(w, [x0, y0, x1, y1, x2, y2, x3, y3]);
    return;
  }
  writePointsQ(w, quantizePoints(pts));
}

/** Reads a points payload into plane-unit points. */
export function readPoints(r: Reader): Point[] {
  const at = r.pos;
  const h = r.uv();
  if (h === 2) {
    const x = r.fq(), y = r.fq(), w = r.fq(), hh = r.fq();
    return [
      [x / FIXED_SCALE, y / FIXED_SCALE],
      [(x + w) / FIXED_SCALE, y / FIXED_SCALE],
      [(x + w) / FIXED_SCALE, (y + hh) / FIXED_SCALE],
      [x / FIXED_SCALE, (y + hh) / FIXED_SCALE],
    ];
  }
  if (h & 3) r.fail(`bad points header ${h}`, at);
  const n = h / 4;
  if (n * 2 > r.remaining) r.fail(`point count ${n} exceeds the remaining input`, at);
  const pts: Point[] = new Array(n);
  let x = 0, y = 0;
  for (let i = 0; i < n; i++) {
    x += r.fq();
    y += r.fq();
    pts[i] = [x / FIXED_SCALE, y / FIXED_SCALE];
  }
  return pts;
}
