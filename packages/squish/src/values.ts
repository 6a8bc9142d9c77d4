/**
 * Wire types of node fields: how one field value is written, read, compared with its default
 * and normalised by its setter. The field table (fields.ts) names one of these per field; the
 * codec, the setters and the mirror only ever go through it.
 */
import { type Color } from './colors.js';
import { SquishEncodeError } from './errors.js';
import { FIXED_SCALE, type Reader, type Writer } from './bytes.js';
import type { ClickHandler, Crop, Point, Shadow } from './nodes.js';

/** How one field travels on the wire. */
export interface WireType<V> {
  /** Writes a value. */
  write(w: Writer, v: V): void;
  /** Reads a value (fails the reader on malformed input). */
  read(r: Reader): V;
  /** Whether `v` equals the default `d`, i.e. a full node leaves the field out. */
  same(v: V, d: V): boolean;
  /** What a setter stores for an assigned value. */
  norm(v: V): V;
  /** A value that differs from any default (the self-checks at module load use it). */
  readonly sample: V;
}

const identity = <V>(v: V): V => v;
const strictEq = <V>(v: V, d: V): boolean => v === d;

// ------------------------------------------------------------------ numbers

/**
 * A plane coordinate as the wire's integer hundredths.
 * @throws {SquishEncodeError} for NaN, ±Infinity or |v| > 7e11.
 */
export function quantizeFixed(v: number): number {
  return q(v);
}

function q(v: number): number {
  const r = Math.round(v * FIXED_SCALE);
  if (!(r <= 2 ** 46 && r >= -(2 ** 46))) throw new SquishEncodeError(`cannot encode number ${v}: must be finite and within ±7e11`);
  return r;
}

/** A number in fixed-point hundredths (zigzag varint). */
export const FIXED: WireType<number> = {
  // an integer: a double sample would turn the slots' field representation to boxed doubles for every node
  sample: 3,
  write: (w, v) => w.fx(v),
  read: (r) => r.fx(),
  same: strictEq,
  norm: identity,
};

/** A 32-bit float (scales). */
export const F32: WireType<number> = {
  sample: 2,
  write: (w, v) => w.f32(v),
  read: (r) => r.f32(),
  same: strictEq,
  norm: identity,
};

// ------------------------------------------------------------------ strings, booleans, enums

/** UTF-8 with a varint length; the setter stores what it is given. */
export const STR: WireType<string> = {
  sample: 'squish',
  write: (w, v) => w.str(v),
  read: (r) => r.str(),
  same: strictEq,
  norm: identity,
};

/** Like {@link STR}, but the setter converts with `String(v)`. */
export const STR_COERCED: WireType<string> = { ...STR, norm: (v) => String(v) };

/** Reads a boolean byte (0 or 1; anything else fails the reader). */
export function readBool(r: Reader): boolean {
  const at = r.pos;
  const v = r.u8();
  if (v > 1) r.fail(`bad boolean ${v}`, at);
  return v === 1;
}

/** One byte, 0 or 1; the setter stores `!!v`. */
export const BOOL: WireType<boolean> = {
  sample: true,
  write: (w, v) => w.u8(v ? 1 : 0),
  read: readBool,
  same: (v, d) => !v === !d,
  norm: (v) => !!v,
};

/** Reads an enum byte: an index into `values` (out of range fails the reader). */
export function readEnum<T>(r: Reader, values: readonly T[], what: string): T {
  const at = r.pos;
  const v = r.u8();
  if (v >= values.length) r.fail(`bad ${what} ${v}`, at);
  return values[v];
}

/**
 * One byte: the index of the value in `values`; a value not in the list is written as `unknown`.
 * @param what name used in decode errors
 */
export function enumOf<T>(values: readonly T[], what: string, unknown: number): WireType<T> {
  return {
    write: (w, v) => {
      const i = values.indexOf(v);
      w.u8(i < 0 ? unknown : i);
    },
    read: (r) => readEnum(r, values, what),
    sample: values[values.length - 1],
    same: strictEq,
    norm: identity,
  };
}

// ------------------------------------------------------------------ colours

function byte(v: number): number {
  if (!(v >= 0)) {
    if (v !== v) throw new SquishEncodeError('colour channel is NaN');
    return 0;
  }
  return v >= 255 ? 255 : Math.round(v);
}

/** A colour: tag byte (0 none, 1 opaque RGB, 2 RGBA) and the channels. */
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

/** Reads a colour written by {@link writeColor} (`null` for tag 0). */
export function readColor(r: Reader): Color | null {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0) return null;
  if (tag === 1) return [r.u8(), r.u8(), r.u8(), 255];
  if (tag === 2) return [r.u8(), r.u8(), r.u8(), r.u8()];
  return r.fail(`bad colour tag ${tag}`, at);
}

/** A colour or `null` (compared by reference; the setter stores `v ?? null`). */
export const COLOR_OR_NULL: WireType<Color | null> = {
  sample: [1, 2, 3, 255],
  write: writeColor,
  read: readColor,
  same: strictEq,
  norm: (v) => v ?? null,
};

/** A colour that cannot be empty (compared with its default channel by channel). */
export const COLOR: WireType<Color> = {
  sample: [1, 2, 3, 4],
  write: writeColor,
  read: (r) => {
    const at = r.pos;
    const c = readColor(r);
    return c === null ? r.fail('text colour cannot be empty', at) : c;
  },
  same: (v, d) => v[0] === d[0] && v[1] === d[1] && v[2] === d[2] && v[3] === d[3],
  norm: identity,
};

// ------------------------------------------------------------------ points

/** Quantizes points into a flat array of hundredths `[x0, y0, x1, y1, …]`. */
export function quantizePoints(pts: readonly Point[]): number[] {
  const out = new Array<number>(pts.length * 2);
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    out[2 * i] = q(p[0]);
    out[2 * i + 1] = q(p[1]);
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

/** Writes plane-unit points (quantizing them). */
export function writePoints(w: Writer, pts: readonly Point[]): void {
  if (pts.length === 4) {
    // Rectangles are most of most scenes: test for one without allocating.
    const p0 = pts[0], p1 = pts[1], p2 = pts[2], p3 = pts[3];
    const x0 = q(p0[0]), y0 = q(p0[1]), x1 = q(p1[0]), y1 = q(p1[1]);
    const x2 = q(p2[0]), y2 = q(p2[1]), x3 = q(p3[0]), y3 = q(p3[1]);
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

/** Polygon / polyline vertices (empty by default). */
export const POINTS: WireType<readonly Point[]> = {
  sample: [[1, 2], [3, 5.5], [-1, 4]],
  write: writePoints,
  read: readPoints,
  same: (v) => v.length === 0,
  norm: identity,
};

// ------------------------------------------------------------------ composite values

/** A sprite-sheet crop or `null`: a presence byte, then x, y, width, height in hundredths. */
export const CROP: WireType<Crop | null> = {
  sample: { x: 1, y: 2, width: 3, height: 4 },
  write: (w, c) => {
    if (c === null) w.u8(0);
    else {
      w.u8(1);
      w.fx(c.x);
      w.fx(c.y);
      w.fx(c.width);
      w.fx(c.height);
    }
  },
  read: (r) => (readBool(r) ? { x: r.fx(), y: r.fx(), width: r.fx(), height: r.fx() } : null),
  same: strictEq,
  norm: (v) => v ?? null,
};

/** Handler given to decoded clickable nodes: the click is sent to the server, not run here. */
export const REMOTE_CLICK = (): void => {};

/** A click handler travels as one byte: whether there is one. Decoded nodes get {@link REMOTE_CLICK}. */
export const CLICKABLE: WireType<ClickHandler | null> = {
  sample: REMOTE_CLICK,
  write: (w, v) => w.u8(v !== null ? 1 : 0),
  read: (r) => (readBool(r) ? REMOTE_CLICK : null),
  same: strictEq,
  norm: (v) => v ?? null,
};

/** A drop shadow or `null`: a presence byte, the colour, then blur and offsets in hundredths. */
export const SHADOW: WireType<Shadow | null> = {
  sample: { color: [0, 0, 0, 128], blur: 1, offsetX: 2, offsetY: 3 },
  write: (w, s) => {
    if (s === null) w.u8(0);
    else {
      w.u8(1);
      writeColor(w, s.color);
      w.fx(s.blur ?? 0);
      w.fx(s.offsetX ?? 0);
      w.fx(s.offsetY ?? 0);
    }
  },
  read: (r) => {
    if (!readBool(r)) return null;
    const at = r.pos;
    const color = readColor(r);
    if (color === null) return r.fail('shadow colour cannot be empty', at);
    return { color, blur: r.fx(), offsetX: r.fx(), offsetY: r.fx() };
  },
  same: strictEq,
  norm: (v) => v ?? null,
};
