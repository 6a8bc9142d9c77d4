/**
 * Hand-specialised encoders and decoders of the node fields, for speed: one straight-line
 * branch per field instead of a loop over the field table, which V8 cannot keep monomorphic
 * (the sandbox forbids generating code from strings, so the table cannot be compiled).
 *
 * These are a cache of the table in fields.ts, not a second declaration: bits and defaults come
 * from the table; `FAST_MASKS` says which fields they handle, and the codec uses them only while
 * that is exactly the table's set (otherwise it runs the table-driven path); the tests check every
 * field of every kind against the table-driven path (same mask, same bytes, same decoded value,
 * `checkFastPaths` in codec.ts). So a new field works as soon as it is in the table, and becomes
 * fast when a branch for it is added here.
 */
import { type Reader, type Writer } from './bytes.js';
import { ASSET_FIELDS, COMMON_FIELDS, GROUP_FIELDS, KIND_FIELDS, SHAPE_FIELDS, TEXT_FIELDS } from './fields.js';
import { type Asset, type Group, type Node, NodeKind, type Shape, type Text } from './nodes.js';
import {
  BOOL, CLICKABLE, CROP, readBool, readColor, readPoints, SHADOW, writeColor, writePoints, writePointsQ,
} from './values.js';

const CLICK = 1 << COMMON_FIELDS.onClick.bit;
const SHADOWED = 1 << COMMON_FIELDS.shadow.bit;

const G = GROUP_FIELDS;
const GX = 1 << G.x.bit, GY = 1 << G.y.bit, GSCALE = 1 << G.scale.bit;

const S = SHAPE_FIELDS;
const SPOINTS = 1 << S.points.bit, SFILL = 1 << S.fill.bit, STYPE = 1 << S.shapeType.bit, SX = 1 << S.x.bit;
const SY = 1 << S.y.bit, SRADIUS = 1 << S.radius.bit, SSTROKE = 1 << S.stroke.bit, SSTROKEW = 1 << S.strokeWidth.bit;
const S_TYPE = S.shapeType.wire;

const T = TEXT_FIELDS;
const TTEXT = 1 << T.text.bit, TX = 1 << T.x.bit, TY = 1 << T.y.bit, TSIZE = 1 << T.size.bit;
const TCOLOR = 1 << T.color.bit, TALIGN = 1 << T.align.bit, TFONT = 1 << T.font.bit;
const T_ALIGN = T.align.wire;


const A = ASSET_FIELDS;
const AID = 1 << A.assetId.bit, AX = 1 << A.x.bit, AY = 1 << A.y.bit, AW = 1 << A.width.bit, AH = 1 << A.height.bit;
const ACROP = 1 << A.crop.bit, ASTART = 1 << A.startTime.bit, ALOOP = 1 << A.loop.bit, AVOL = 1 << A.volume.bit;

// defaults, from the table
const A_ASSETID_DEF = A.assetId.def;
const A_HEIGHT_DEF = A.height.def;
const A_LOOP_DEF = A.loop.def;
const A_STARTTIME_DEF = A.startTime.def;
const A_VOLUME_DEF = A.volume.def;
const A_WIDTH_DEF = A.width.def;
const A_X_DEF = A.x.def;
const A_Y_DEF = A.y.def;
const G_SCALE_DEF = G.scale.def;
const G_X_DEF = G.x.def;
const G_Y_DEF = G.y.def;
const S_RADIUS_DEF = S.radius.def;
const S_SHAPETYPE_DEF = S.shapeType.def;
const S_STROKEWIDTH_DEF = S.strokeWidth.def;
const S_X_DEF = S.x.def;
const S_Y_DEF = S.y.def;
const T_ALIGN_DEF = T.align.def;
const T_COLOR_DEF = T.color.def;
const T_FONT_DEF = T.font.def;
const T_SIZE_DEF = T.size.def;
const T_TEXT_DEF = T.text.def;
const T_X_DEF = T.x.def;
const T_Y_DEF = T.y.def;

/** Per wire kind, the fields these functions handle (the codec uses them only if this is the table's set). */
export const FAST_MASKS: readonly number[] = [
  GX | GY | GSCALE | CLICK | SHADOWED,
  SPOINTS | SFILL | STYPE | SX | SY | SRADIUS | SSTROKE | SSTROKEW | CLICK | SHADOWED,
  TTEXT | TX | TY | TSIZE | TCOLOR | TALIGN | TFONT | CLICK | SHADOWED,
  AID | AX | AY | AW | AH | ACROP | ASTART | ALOOP | AVOL | CLICK | SHADOWED,
];

/** The bits of fields that differ from their defaults. */
export function fastMask(n: Node): number {
  let m = 0;
  if (n._onClick !== null) m |= CLICK;
  if (n._shadow !== null) m |= SHADOWED;
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (s._points.length) m |= SPOINTS;
      if (s._fill !== null) m |= SFILL;
      if (s._shapeType !== S_SHAPETYPE_DEF) m |= STYPE;
      if (s._x !== S_X_DEF) m |= SX;
      if (s._y !== S_Y_DEF) m |= SY;
      if (s._radius !== S_RADIUS_DEF) m |= SRADIUS;
      if (s._stroke !== null) m |= SSTROKE;
      if (s._strokeWidth !== S_STROKEWIDTH_DEF) m |= SSTROKEW;
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (t._text !== T_TEXT_DEF) m |= TTEXT;
      if (t._x !== T_X_DEF) m |= TX;
      if (t._y !== T_Y_DEF) m |= TY;
      if (t._size !== T_SIZE_DEF) m |= TSIZE;
      const c = t._color;
      if (c[0] !== T_COLOR_DEF[0] || c[1] !== T_COLOR_DEF[1] || c[2] !== T_COLOR_DEF[2] || c[3] !== T_COLOR_DEF[3]) m |= TCOLOR;
      if (t._align !== T_ALIGN_DEF) m |= TALIGN;
      if (t._font !== T_FONT_DEF) m |= TFONT;
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (a._assetId !== A_ASSETID_DEF) m |= AID;
      if (a._x !== A_X_DEF) m |= AX;
      if (a._y !== A_Y_DEF) m |= AY;
      if (a._width !== A_WIDTH_DEF) m |= AW;
      if (a._height !== A_HEIGHT_DEF) m |= AH;
      if (a._crop !== null) m |= ACROP;
      if (a._startTime !== A_STARTTIME_DEF) m |= ASTART;
      if (!a._loop !== !A_LOOP_DEF) m |= ALOOP;
      if (a._volume !== A_VOLUME_DEF) m |= AVOL;
      break;
    }
    default: {
      const g = n as Group;
      if (g._x !== G_X_DEF) m |= GX;
      if (g._y !== G_Y_DEF) m |= GY;
      if (g._scale !== G_SCALE_DEF) m |= GSCALE;
    }
  }
  return m;
}

/** Writes the payloads of the fields in `mask`, in ascending bit order. */
export function fastWrite(w: Writer, n: Node, mask: number, points?: readonly number[]): void {
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (mask & SPOINTS) {
        if (points) writePointsQ(w, points);
        else writePoints(w, s._points);
      }
      if (mask & SFILL) writeColor(w, s._fill);
      if (mask & STYPE) S_TYPE.write(w, s._shapeType);
      if (mask & SX) w.fx(s._x);
      if (mask & SY) w.fx(s._y);
      if (mask & SRADIUS) w.fx(s._radius);
      if (mask & SSTROKE) writeColor(w, s._stroke);
      if (mask & SSTROKEW) w.fx(s._strokeWidth);
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (mask & TTEXT) w.str(t._text);
      if (mask & TX) w.fx(t._x);
      if (mask & TY) w.fx(t._y);
      if (mask & TSIZE) w.fx(t._size);
      if (mask & TCOLOR) writeColor(w, t._color);
      if (mask & TALIGN) T_ALIGN.write(w, t._align);
      if (mask & TFONT) w.str(t._font);
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (mask & AID) w.str(a._assetId);
      if (mask & AX) w.fx(a._x);
      if (mask & AY) w.fx(a._y);
      if (mask & AW) w.fx(a._width);
      if (mask & AH) w.fx(a._height);
      if (mask & ACROP) CROP.write(w, a._crop);
      if (mask & ASTART) w.fx(a._startTime);
      if (mask & ALOOP) BOOL.write(w, a._loop);
      if (mask & AVOL) w.fx(a._volume);
      break;
    }
    default: {
      const g = n as Group;
      if (mask & GX) w.fx(g._x);
      if (mask & GY) w.fx(g._y);
      if (mask & GSCALE) w.f32(g._scale);
    }
  }
  if (mask & CLICK) CLICKABLE.write(w, n._onClick);
  if (mask & SHADOWED) SHADOW.write(w, n._shadow);
}

/** Checks `mask` against the node's kind, then applies its payloads to the node. */
export function fastRead(r: Reader, n: Node, mask: number, at: number): void {
  if (mask > 0x3fff || mask & ~KIND_FIELDS[n.kind]) r.fail(`field mask ${mask} not valid for node kind ${n.kind}`, at);
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (mask & SPOINTS) s._points = readPoints(r);
      if (mask & SFILL) s._fill = readColor(r);
      if (mask & STYPE) s._shapeType = S_TYPE.read(r);
      if (mask & SX) s._x = r.fx();
      if (mask & SY) s._y = r.fx();
      if (mask & SRADIUS) s._radius = r.fx();
      if (mask & SSTROKE) s._stroke = readColor(r);
      if (mask & SSTROKEW) s._strokeWidth = r.fx();
      break;
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      if (mask & TTEXT) t._text = r.str();
      if (mask & TX) t._x = r.fx();
      if (mask & TY) t._y = r.fx();
      if (mask & TSIZE) t._size = r.fx();
      if (mask & TCOLOR) {
        const at2 = r.pos;
        const c = readColor(r);
        if (c === null) r.fail('text colour cannot be empty', at2);
        t._color = c;
      }
      if (mask & TALIGN) t._align = T_ALIGN.read(r);
      if (mask & TFONT) t._font = r.str();
      break;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      if (mask & AID) a._assetId = r.str();
      if (mask & AX) a._x = r.fx();
      if (mask & AY) a._y = r.fx();
      if (mask & AW) a._width = r.fx();
      if (mask & AH) a._height = r.fx();
      if (mask & ACROP) a._crop = CROP.read(r);
      if (mask & ASTART) a._startTime = r.fx();
      if (mask & ALOOP) a._loop = readBool(r);
      if (mask & AVOL) a._volume = r.fx();
      break;
    }
    default: {
      const g = n as Group;
      if (mask & GX) g._x = r.fx();
      if (mask & GY) g._y = r.fx();
      if (mask & GSCALE) g._scale = r.f32();
    }
  }
  if (mask & CLICK) n._onClick = CLICKABLE.read(r);
  if (mask & SHADOWED) n._shadow = SHADOW.read(r);
}
