/**
 * The squish node codec (version 1): how one node and its subtree are laid out in bytes.
 *
 * node    := uv id · uv head · payload(mask) · [uv childCount · node*]   (children only if head bit 2)
 * head    := mask << 3 | hasChildren << 2 | kind
 * payload := the fields whose bit is set in `mask`, in ascending bit order
 *
 * Numbers are fixed-point hundredths (zigzag varints), so every coordinate round-trips to
 * 0.01 plane units; colours are a tag byte (0 none, 1 opaque RGB, 2 RGBA) and the channels;
 * strings are UTF-8 with a varint length. In a full node only fields that differ from the
 * defaults are present, so a filled rectangle costs about 16 bytes.
 */
import { type Color } from './colors.js';
import { MAX_DEPTH, SquishEncodeError } from './errors.js';
import { FIXED_SCALE, Reader, Writer } from './bytes.js';
import {
  Asset, ASSET_CROP, ASSET_HEIGHT, ASSET_ID, ASSET_LOOP, ASSET_START, ASSET_VOLUME, ASSET_WIDTH, ASSET_X, ASSET_Y,
  FIELD_CLICKABLE, FIELD_SHADOW, Group, GROUP_SCALE, GROUP_X, GROUP_Y, type Node, NodeKind, type Point, Shape,
  SHAPE_FILL, SHAPE_POINTS, SHAPE_RADIUS, SHAPE_STROKE, SHAPE_STROKE_WIDTH, SHAPE_TYPE, SHAPE_X, SHAPE_Y,
  type ShapeType, type Shadow, Text, TEXT_ALIGN, TEXT_COLOR, TEXT_FONT, TEXT_SIZE, TEXT_TEXT, TEXT_X, TEXT_Y,
  type TextAlign,
} from './nodes.js';

/** Which fields each kind may carry (anything else in a mask is a decode error). */
export const KIND_FIELDS: readonly number[] = [
  GROUP_X | GROUP_Y | GROUP_SCALE | FIELD_CLICKABLE | FIELD_SHADOW,
  SHAPE_POINTS | SHAPE_FILL | SHAPE_TYPE | SHAPE_X | SHAPE_Y | SHAPE_RADIUS | SHAPE_STROKE | SHAPE_STROKE_WIDTH | FIELD_CLICKABLE | FIELD_SHADOW,
  TEXT_TEXT | TEXT_X | TEXT_Y | TEXT_SIZE | TEXT_COLOR | TEXT_ALIGN | TEXT_FONT | FIELD_CLICKABLE | FIELD_SHADOW,
  ASSET_ID | ASSET_X | ASSET_Y | ASSET_WIDTH | ASSET_HEIGHT | ASSET_CROP | ASSET_START | ASSET_LOOP | ASSET_VOLUME | FIELD_CLICKABLE | FIELD_SHADOW,
];

const SHAPE_TYPES: readonly ShapeType[] = ['polygon', 'line', 'circle'];
const ALIGNS: readonly TextAlign[] = ['left', 'center', 'right'];

/** Handler given to decoded clickable nodes: the click is sent to the server, not run here. */
export const REMOTE_CLICK = (): void => {};

// ------------------------------------------------------------------ viewers

/** Encode every node regardless of `playerIds` (standalone `squish`). */
export const VIEW_ALL = -1;
/** Encode only nodes visible to everyone (the shared part of a frame). */
export const VIEW_PUBLIC = -2;

/** Whether a child is included for a viewer (a player id, {@link VIEW_ALL} or {@link VIEW_PUBLIC}). */
export function includes(child: Node, viewer: number): boolean {
  const ids = child._playerIds;
  return ids === null || viewer === VIEW_ALL || (viewer >= 0 && ids.includes(viewer));
}

// ------------------------------------------------------------------ encode

/** The bits of fields that differ from their defaults (what a full node carries). */
export function fullMask(n: Node): number {
  let m = 0;
  if (n._onClick !== null) m |= FIELD_CLICKABLE;
  if (n._shadow !== null) m |= FIELD_SHADOW;
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (s._points.length) m |= SHAPE_POINTS;
      if (s._fill !== null) m |= SHAPE_FILL;
      if (s._shapeType !== 'polygon') m |= SHAPE_TYPE;
      if (s._x !== 0) m |= SHAPE_X;
      if (s._y !== 0) m |= SHAPE_Y;
      if (s._radius !== 0) m |= SHAPE_RADIUS;
      if (s._stroke !== null) m |= SHAPE_STROKE;
      if (s._strokeWidth !== 0.5) m |= SHAPE_STROKE_WIDTH;
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (t._text !== '') m |= TEXT_TEXT;
      if (t._x !== 0) m |= TEXT_X;
      if (t._y !== 0) m |= TEXT_Y;
      if (t._size !== 4) m |= TEXT_SIZE;
      const c = t._color;
      if (c[0] !== 255 || c[1] !== 255 || c[2] !== 255 || c[3] !== 255) m |= TEXT_COLOR;
      if (t._align !== 'left') m |= TEXT_ALIGN;
      if (t._font !== 'sans-serif') m |= TEXT_FONT;
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (a._assetId !== '') m |= ASSET_ID;
      if (a._x !== 0) m |= ASSET_X;
      if (a._y !== 0) m |= ASSET_Y;
      if (a._width !== 10) m |= ASSET_WIDTH;
      if (a._height !== 10) m |= ASSET_HEIGHT;
      if (a._crop !== null) m |= ASSET_CROP;
      if (a._startTime !== 0) m |= ASSET_START;
      if (a._loop) m |= ASSET_LOOP;
      if (a._volume !== 1) m |= ASSET_VOLUME;
      break;
    }
    default: {
      const g = n as Group;
      if (g._x !== 0) m |= GROUP_X;
      if (g._y !== 0) m |= GROUP_Y;
      if (g._scale !== 1) m |= GROUP_SCALE;
    }
  }
  return m;
}

function writeColor(w: Writer, c: Color | null): void {
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

function writePoints(w: Writer, pts: readonly Point[]): void {
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

/** Writes the payloads of the fields in `mask`, in ascending bit order. */
export function writeFields(w: Writer, n: Node, mask: number, points?: readonly number[]): void {
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (mask & SHAPE_POINTS) {
        if (points) writePointsQ(w, points);
        else writePoints(w, s._points);
      }
      if (mask & SHAPE_FILL) writeColor(w, s._fill);
      if (mask & SHAPE_TYPE) w.u8(SHAPE_TYPES.indexOf(s._shapeType) & 3);
      if (mask & SHAPE_X) w.fx(s._x);
      if (mask & SHAPE_Y) w.fx(s._y);
      if (mask & SHAPE_RADIUS) w.fx(s._radius);
      if (mask & SHAPE_STROKE) writeColor(w, s._stroke);
      if (mask & SHAPE_STROKE_WIDTH) w.fx(s._strokeWidth);
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (mask & TEXT_TEXT) w.str(t._text);
      if (mask & TEXT_X) w.fx(t._x);
      if (mask & TEXT_Y) w.fx(t._y);
      if (mask & TEXT_SIZE) w.fx(t._size);
      if (mask & TEXT_COLOR) writeColor(w, t._color);
      if (mask & TEXT_ALIGN) w.u8(Math.max(0, ALIGNS.indexOf(t._align)));
      if (mask & TEXT_FONT) w.str(t._font);
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (mask & ASSET_ID) w.str(a._assetId);
      if (mask & ASSET_X) w.fx(a._x);
      if (mask & ASSET_Y) w.fx(a._y);
      if (mask & ASSET_WIDTH) w.fx(a._width);
      if (mask & ASSET_HEIGHT) w.fx(a._height);
      if (mask & ASSET_CROP) {
        const c = a._crop;
        if (c === null) w.u8(0);
        else {
          w.u8(1);
          w.fx(c.x);
          w.fx(c.y);
          w.fx(c.width);
          w.fx(c.height);
        }
      }
      if (mask & ASSET_START) w.fx(a._startTime);
      if (mask & ASSET_LOOP) w.u8(a._loop ? 1 : 0);
      if (mask & ASSET_VOLUME) w.fx(a._volume);
      break;
    }
    default: {
      const g = n as Group;
      if (mask & GROUP_X) w.fx(g._x);
      if (mask & GROUP_Y) w.fx(g._y);
      if (mask & GROUP_SCALE) w.f32(g._scale);
    }
  }
  if (mask & FIELD_CLICKABLE) w.u8(n._onClick !== null ? 1 : 0);
  if (mask & FIELD_SHADOW) {
    const s = n._shadow;
    if (s === null) w.u8(0);
    else {
      w.u8(1);
      writeColor(w, s.color);
      w.fx(s.blur ?? 0);
      w.fx(s.offsetX ?? 0);
      w.fx(s.offsetY ?? 0);
    }
  }
}

/** Decides whether a child is written for a viewer (default: {@link includes}). */
export type ChildFilter = (parent: Node, child: Node, viewer: number) => boolean;

const byPlayerIds: ChildFilter = (_parent, child, viewer) => includes(child, viewer);

/**
 * Writes a node and the subtree a viewer may see.
 * @param restricted when given (public encodes), collects nodes that have a child left out for this viewer
 * @param filter which children to write; default: by `playerIds`
 */
export function writeNode(w: Writer, n: Node, viewer: number, depth: number, restricted?: Node[], filter: ChildFilter = byPlayerIds): void {
  if (depth > MAX_DEPTH) throw new SquishEncodeError(`scene is nested deeper than ${MAX_DEPTH} levels`);
  const mask = fullMask(n);
  const kids = n._children;
  let count = 0;
  for (let i = 0; i < kids.length; i++) {
    if (filter(n, kids[i], viewer)) count++;
    else if (restricted && (restricted.length === 0 || restricted[restricted.length - 1] !== n)) restricted.push(n);
  }
  w.uv(n.id);
  w.uv(mask * 8 + (count > 0 ? 4 : 0) + n.kind);
  writeFields(w, n, mask);
  if (count > 0) {
    w.uv(count);
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (filter(n, c, viewer)) writeNode(w, c, viewer, depth + 1, restricted, filter);
    }
  }
}

// ------------------------------------------------------------------ decode

function readColor(r: Reader): Color | null {
  const at = r.pos;
  const tag = r.u8();
  if (tag === 0) return null;
  if (tag === 1) return [r.u8(), r.u8(), r.u8(), 255];
  if (tag === 2) return [r.u8(), r.u8(), r.u8(), r.u8()];
  return r.fail(`bad colour tag ${tag}`, at);
}

function readEnum<T>(r: Reader, values: readonly T[], what: string): T {
  const at = r.pos;
  const v = r.u8();
  if (v >= values.length) r.fail(`bad ${what} ${v}`, at);
  return values[v];
}

function readBool(r: Reader): boolean {
  const at = r.pos;
  const v = r.u8();
  if (v > 1) r.fail(`bad boolean ${v}`, at);
  return v === 1;
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

/** Applies the payloads of `mask` to a node (decoders and delta application share this). */
export function readFields(r: Reader, n: Node, mask: number, at: number): void {
  if (mask > 0x3fff || mask & ~KIND_FIELDS[n.kind]) r.fail(`field mask ${mask} not valid for node kind ${n.kind}`, at);
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (mask & SHAPE_POINTS) s._points = readPoints(r);
      if (mask & SHAPE_FILL) s._fill = readColor(r);
      if (mask & SHAPE_TYPE) s._shapeType = readEnum(r, SHAPE_TYPES, 'shape type');
      if (mask & SHAPE_X) s._x = r.fx();
      if (mask & SHAPE_Y) s._y = r.fx();
      if (mask & SHAPE_RADIUS) s._radius = r.fx();
      if (mask & SHAPE_STROKE) s._stroke = readColor(r);
      if (mask & SHAPE_STROKE_WIDTH) s._strokeWidth = r.fx();
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (mask & TEXT_TEXT) t._text = r.str();
      if (mask & TEXT_X) t._x = r.fx();
      if (mask & TEXT_Y) t._y = r.fx();
      if (mask & TEXT_SIZE) t._size = r.fx();
      if (mask & TEXT_COLOR) {
        const at2 = r.pos;
        const c = readColor(r);
        if (c === null) r.fail('text colour cannot be empty', at2);
        t._color = c;
      }
      if (mask & TEXT_ALIGN) t._align = readEnum(r, ALIGNS, 'text align');
      if (mask & TEXT_FONT) t._font = r.str();
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (mask & ASSET_ID) a._assetId = r.str();
      if (mask & ASSET_X) a._x = r.fx();
      if (mask & ASSET_Y) a._y = r.fx();
      if (mask & ASSET_WIDTH) a._width = r.fx();
      if (mask & ASSET_HEIGHT) a._height = r.fx();
      if (mask & ASSET_CROP) a._crop = readBool(r) ? { x: r.fx(), y: r.fx(), width: r.fx(), height: r.fx() } : null;
      if (mask & ASSET_START) a._startTime = r.fx();
      if (mask & ASSET_LOOP) a._loop = readBool(r);
      if (mask & ASSET_VOLUME) a._volume = r.fx();
      break;
    }
    default: {
      const g = n as Group;
      if (mask & GROUP_X) g._x = r.fx();
      if (mask & GROUP_Y) g._y = r.fx();
      if (mask & GROUP_SCALE) g._scale = r.f32();
    }
  }
  if (mask & FIELD_CLICKABLE) n._onClick = readBool(r) ? REMOTE_CLICK : null;
  if (mask & FIELD_SHADOW) {
    if (readBool(r)) {
      const at2 = r.pos;
      const color = readColor(r);
      if (color === null) r.fail('shadow colour cannot be empty', at2);
      const shadow: Shadow = { color, blur: r.fx(), offsetX: r.fx(), offsetY: r.fx() };
      n._shadow = shadow;
    } else n._shadow = null;
  }
}

/** Creates an empty node of a wire kind with the sender's id. */
export function createNode(kind: number, id: number): Node {
  switch (kind) {
    case NodeKind.GROUP: return new Group({}, id);
    case NodeKind.SHAPE: return new Shape({}, id);
    case NodeKind.TEXT: return new Text({}, id);
    default: return new Asset({ assetId: '' }, id);
  }
}

/**
 * Reads a node and its subtree. Each node takes at least 2 bytes, so child counts larger than
 * half the remaining input are rejected before anything is allocated for them.
 */
export function readNode(r: Reader, depth: number, onNode?: (n: Node) => void): Node {
  const at = r.pos;
  if (depth > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  const id = r.uv();
  const head = r.uv();
  const kind = head & 3;
  const mask = Math.floor(head / 8);
  const n = createNode(kind, id);
  readFields(r, n, mask, at);
  if (head & 4) {
    const count = r.count(2);
    if (count === 0) r.fail('empty child list flagged as present', at);
    const kids = n._children;
    for (let i = 0; i < count; i++) {
      const c = readNode(r, depth + 1, onNode);
      c._parent = n;
      kids.push(c);
    }
  }
  onNode?.(n);
  return n;
}

// ------------------------------------------------------------------ single nodes

const scratch = new Writer(4096);

/**
 * Encodes one node and its whole subtree (every child, whatever its `playerIds`; visibility is
 * applied by the {@link Squisher}, not here). Numbers are quantized to 0.01 plane units.
 * @throws {SquishEncodeError} for a non-finite number or nesting deeper than {@link MAX_DEPTH}.
 */
export function squish(node: Node): Uint8Array {
  const w = scratch.reset();
  w.u8(SQUISH_NODE_MAGIC);
  writeNode(w, node, VIEW_ALL, 1);
  return w.finish();
}

/**
 * Decodes bytes made by {@link squish} into a new node tree (real `Group`/`Shape`/`Text`/`Asset`
 * instances carrying the sender's ids; clickable nodes get a placeholder handler).
 * @throws {SquishDecodeError} on any input that is not exactly one encoded node; nothing else.
 */
export function unsquish(bytes: Uint8Array): Node {
  const r: Reader = new Reader(bytes);
  const v = r.u8();
  if (v !== SQUISH_NODE_MAGIC) r.fail(`not a squish v1 node (first byte ${v})`, 0);
  const n = readNode(r, 1);
  if (r.remaining !== 0) r.fail(`${r.remaining} trailing bytes after the node`);
  return n;
}

/** First byte of a standalone squished node: the codec version. */
export const SQUISH_NODE_MAGIC = 1;
