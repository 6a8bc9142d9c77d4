/**
 * The node field table: every field of every node kind is declared here, once, with its bit
 * (its place in a field mask and in wire order), its wire type, its default and, for coordinates
 * a translate op moves, its position role. Everything per-field is derived from this table:
 * the public properties and their setters (nodes.ts), the option types, the defaults a
 * constructor applies, the field masks a kind may carry (`KIND_FIELDS`), what a full node
 * leaves out (`fullMask`), the encoder and the decoder (codec.ts) and the mirror's translate.
 *
 * Adding a field to a kind = one entry in that kind's table below (with its TSDoc, which the
 * property and the option inherit). Bits 0–11 belong to the kind, 12–13 to every node; a field's
 * payload goes on the wire in ascending bit order, so a new field takes a bit no old peer uses.
 */
import { type Color } from './colors.js';
import type { ClickHandler, Crop, Point, Shadow, ShapeType, TextAlign } from './nodes.js';
import {
  BOOL, CLICKABLE, COLOR, COLOR_OR_NULL, CROP, enumOf, F32, FIXED, POINTS, SHADOW, STR, STR_COERCED, type WireType,
} from './values.js';

/** How a field takes part in a TRANSLATE op: an x or y coordinate, or a list of points. */
export type PositionRole = 'x' | 'y' | 'points';

/** One field of a node kind. */
export interface FieldSpec<V = unknown> {
  /** Bit index: the field's bit in a mask is `1 << bit`, and payloads go in ascending bit order. */
  readonly bit: number;
  /** How the value is written, read, compared with the default and normalised by the setter. */
  readonly wire: WireType<V>;
  /** Value of a new node; a full node leaves out fields equal to it. */
  readonly def: V;
  /** Set for coordinates a TRANSLATE op moves (quantised to 0.01 like every position). */
  readonly pos?: PositionRole;
}

function field<V>(bit: number, wire: WireType<V>, def: NoInfer<V>, pos?: PositionRole): FieldSpec<V> {
  return { bit, wire, def, pos };
}

const SHAPE_TYPES: readonly ShapeType[] = ['polygon', 'line', 'circle'];
const ALIGNS: readonly TextAlign[] = ['left', 'center', 'right'];
const NO_POINTS: readonly Point[] = Object.freeze([]) as readonly Point[];
const WHITE: Color = [255, 255, 255, 255];

// ------------------------------------------------------------------ the table

/** Fields every node has (bits 12 and 13). */
export const COMMON_FIELDS = {
  /** Makes the node clickable; the client hit-tests it and the server calls this. */
  onClick: field<ClickHandler | null>(12, CLICKABLE, null),
  /** Drop shadow; default none. */
  shadow: field<Shadow | null>(13, SHADOW, null),
};

/** Fields of a {@link Group}. */
export const GROUP_FIELDS = {
  /** Translation of the children in plane units; default 0. */
  x: field(0, FIXED, 0, 'x'),
  /** Translation y in plane units; default 0. */
  y: field(1, FIXED, 0, 'y'),
  /** Scale of the children around the group's origin (after translation); default 1. */
  scale: field(2, F32, 1),
};

/** Fields of a {@link Shape}. */
export const SHAPE_FIELDS = {
  /** Vertices in plane units, for `polygon` (closed automatically) and `line`. Default `[]`. Assign a new array to change them. */
  points: field(0, POINTS, NO_POINTS, 'points'),
  /** Fill colour; `null` = no fill. Default `null`. */
  fill: field(1, COLOR_OR_NULL, null),
  /** Geometry kind; default `'polygon'`. */
  shapeType: field(2, enumOf(SHAPE_TYPES, 'shape type', 3), 'polygon'),
  /** Circle centre x in plane units (circles only); default 0. */
  x: field(3, FIXED, 0, 'x'),
  /** Circle centre y in plane units (circles only); default 0. */
  y: field(4, FIXED, 0, 'y'),
  /** Circle radius in plane units (circles only); default 0. */
  radius: field(5, FIXED, 0),
  /** Border / line colour; `null` = no border. Default `null`. */
  stroke: field(6, COLOR_OR_NULL, null),
  /** Border / line width in plane units; default 0.5. */
  strokeWidth: field(7, FIXED, 0.5),
};

/** Fields of a {@link Text}. */
export const TEXT_FIELDS = {
  /** UTF-8 text of any length; default `''`. */
  text: field(0, STR_COERCED, ''),
  /** Anchor x in plane units; default 0. */
  x: field(1, FIXED, 0, 'x'),
  /** Top of the text in plane units; default 0. */
  y: field(2, FIXED, 0, 'y'),
  /** Font size in plane units (of the screen's height); default 4. */
  size: field(3, FIXED, 4),
  /** Text colour; default white. */
  color: field(4, COLOR, WHITE),
  /** Alignment at x; default `'left'`. */
  align: field(5, enumOf(ALIGNS, 'text align', 0), 'left'),
  /** CSS font family; default `'sans-serif'`. */
  font: field(6, STR, 'sans-serif'),
};

/** Fields of an {@link Asset}. */
export const ASSET_FIELDS = {
  /** Key of the asset in the game's `metadata().assets`. */
  assetId: field(0, STR, ''),
  /** Images: left edge in plane units; default 0. */
  x: field(1, FIXED, 0, 'x'),
  /** Images: top edge in plane units; default 0. */
  y: field(2, FIXED, 0, 'y'),
  /** Images: drawn width in plane units; default 10. */
  width: field(3, FIXED, 10),
  /** Images: drawn height in plane units; default 10. */
  height: field(4, FIXED, 10),
  /** Images: part of the source image to draw (sprite sheets), in source pixels; `null` = the whole image. */
  crop: field<Crop | null>(5, CROP, null),
  /** Audio: offset into the sound to start at, in ms; default 0. */
  startTime: field(6, FIXED, 0),
  /** Audio: loop forever; default false. */
  loop: field(7, BOOL, false),
  /** Audio: 0 (silent) to 1 (full); default 1. */
  volume: field(8, FIXED, 1),
};

/** The kind tables by wire kind (GROUP 0, SHAPE 1, TEXT 2, ASSET 3). */
const BY_KIND = [GROUP_FIELDS, SHAPE_FIELDS, TEXT_FIELDS, ASSET_FIELDS] as const;

// ------------------------------------------------------------------ derived

/** A table entry with its name, its storage slot on the node and its mask bit. */
export interface FieldEntry extends FieldSpec {
  /** Property name (`x`). */
  readonly key: string;
  /** Storage slot on the node (`_x`). */
  readonly slot: string;
  /** `1 << bit`. */
  readonly mask: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a table mixes value types; entries are read back through FieldSpec<unknown>
type FieldTable = Readonly<Record<string, FieldSpec<any>>>;

/** A table's entries in wire order (ascending bit). Checks the bits at module load. */
export function entries(table: FieldTable, lo: number, hi: number): readonly FieldEntry[] {
  const list = Object.entries(table).map(([key, f]): FieldEntry => {
    const spec = f as FieldSpec<unknown>;
    if (!(spec.bit >= lo && spec.bit <= hi) || spec.bit !== Math.trunc(spec.bit)) throw new Error(`field ${key}: bit ${spec.bit} outside ${lo}–${hi}`);
    return { ...spec, key, slot: `_${key}`, mask: 1 << spec.bit };
  });
  list.sort((a, b) => a.bit - b.bit);
  for (let i = 1; i < list.length; i++) if (list[i].bit === list[i - 1].bit) throw new Error(`fields ${list[i - 1].key} and ${list[i].key} share bit ${list[i].bit}`);
  return list;
}

/** {@link COMMON_FIELDS} in wire order. */
export const COMMON_LIST = entries(COMMON_FIELDS, 12, 13);
/** Each kind's own fields in wire order, by wire kind. */
export const KIND_LIST: readonly (readonly FieldEntry[])[] = BY_KIND.map((t) => entries(t, 0, 11));
/** Each kind's fields followed by the common ones: the full wire order, by wire kind. */
export const WIRE_LIST: readonly (readonly FieldEntry[])[] = KIND_LIST.map((l) => [...l, ...COMMON_LIST]);

const maskOf = (l: readonly FieldEntry[]): number => l.reduce((m, f) => m | f.mask, 0);

/** Which fields each kind may carry (anything else in a mask is a decode error). */
export const KIND_FIELDS: readonly number[] = WIRE_LIST.map(maskOf);

// ------------------------------------------------------------------ types from the table

type ValueOf<F> = F extends FieldSpec<infer V> ? V : never;
/** The public properties a table gives a node class (documented by the table's comments). */
export type FieldValues<T> = { -readonly [K in keyof T]: ValueOf<T[K]> };
/** The constructor options a table gives a node class. */
export type FieldOptions<T> = { [K in keyof T]?: ValueOf<T[K]> };

// ------------------------------------------------------------------ setters and defaults

/** What a node offers the generated accessors. */
interface Touchable {
  _touch(bit: number): void;
}

/**
 * Installs a getter and a setter per field on a node class's prototype. Setting a different value
 * stores the wire type's normalised value and marks the field's bit dirty; an equal value is a no-op.
 */
export function installFields(proto: object, list: readonly FieldEntry[]): void {
  for (const f of list) {
    const { slot, mask, wire } = f;
    Object.defineProperty(proto, f.key, {
      get(this: Record<string, unknown>) {
        return this[slot];
      },
      set(this: Record<string, unknown> & Touchable, v: never) {
        if (v !== this[slot]) {
          this[slot] = wire.norm(v);
          this._touch(mask);
        }
      },
      enumerable: false,
      configurable: true,
    });
  }
}

/** What a node constructor needs from its kind's table. */
export interface KindInit {
  /** The kind's fields by property (= option) name. */
  readonly byKey: ReadonlyMap<string, FieldEntry>;
  /** Fields the class declares no slot for (set by {@link finishKind}); they get their defaults here. */
  missing: readonly FieldEntry[] | null;
}

/** The constructor support of a kind's field list. */
export function kindInit(list: readonly FieldEntry[]): KindInit {
  return { byKey: new Map(list.map((f) => [f.key, f])), missing: null };
}

/** Gives the fields a class declares no slot for their option or default (see {@link finishKind}). */
export function applyOptions(node: object, init: KindInit, options: object): void {
  const missing = init.missing;
  if (missing === null) return;
  const n = node as Record<string, unknown>;
  const o = options as Record<string, unknown>;
  for (let i = 0; i < missing.length; i++) {
    const f = missing[i];
    n[f.slot] = o[f.key] ?? f.def;
  }
}

/**
 * Completes a node class from its table: installs the accessors and records the fields the class
 * has no hand-written slot for, which {@link applyOptions} then sets, so a new field works without
 * a line in the class. (One probe node built with `{}`, as decoding builds them: probing with
 * other values at load measurably slowed the decoder, so {@link checkKind} runs in the tests.)
 */
export function finishKind(proto: object, make: (options: object) => object, list: readonly FieldEntry[], init: KindInit): void {
  installFields(proto, list);
  const plain = make({});
  const missing = list.filter((f) => !Object.hasOwn(plain, f.slot));
  init.missing = missing.length ? missing : null;
}

/**
 * Checks a class's hand-written slots and constructor against its table: a node built with no
 * options holds every default, and each option reaches its slot. Returns the disagreements.
 */
export function checkKind(make: (options: object) => object, list: readonly FieldEntry[]): string[] {
  const plain = make({}) as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const f of list) options[f.key] = f.wire.sample;
  const given = make(options) as Record<string, unknown>;
  const problems: string[] = [];
  for (const f of list) {
    if (!f.wire.same(plain[f.slot] as never, f.def as never)) problems.push(`${f.key}: default ${String(plain[f.slot])}, table says ${String(f.def)}`);
    if (given[f.slot] !== f.wire.sample) problems.push(`${f.key}: the option does not reach ${f.slot}`);
  }
  return problems;
}
