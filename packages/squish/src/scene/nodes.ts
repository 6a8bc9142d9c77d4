/**
 * The scene node kinds: Group, Shape, Text, Asset (the base `Node` is in `node.ts`).
 *
 * Their fields (options, slots, defaults, getters, setters, wire bits) are declared once, in the
 * field table `codegen/fields.mjs`. The generator writes them into the marked regions below and
 * into `generated/` (`npm run gen -w @parlor/squish`; a test fails while they are stale); the
 * rest of this file, each kind's methods, is written by hand.
 */
// @generated-begin imports: from codegen/fields.mjs, do not edit (npm run gen -w @parlor/squish)
import type { Color } from './colors.js';
import {
  GROUP_X, GROUP_Y, GROUP_SCALE, SHAPE_POINTS, SHAPE_FILL, SHAPE_TYPE, SHAPE_X, SHAPE_Y, SHAPE_RADIUS, SHAPE_STROKE,
  SHAPE_STROKE_WIDTH, TEXT_TEXT, TEXT_X, TEXT_Y, TEXT_SIZE, TEXT_COLOR, TEXT_ALIGN, TEXT_FONT, ASSET_ID, ASSET_X,
  ASSET_Y, ASSET_WIDTH, ASSET_HEIGHT, ASSET_CROP, ASSET_START, ASSET_LOOP, ASSET_VOLUME, TEXT_COLOR_DEFAULT,
  type ShapeType, type TextAlign,
} from './generated/field-bits.js';
import type { GroupOptions, ShapeOptions, TextOptions, AssetOptions } from './generated/node-options.js';
import { type Crop, Node, NodeKind, type Point } from './node.js';
// @generated-end imports

export {
  Node, NodeKind, FLAG_SUBTREE, FLAG_CHILDREN, FLAG_VISIBILITY,
  type NodeKindValue, type PlayerId, type Point, type Shadow, type Crop, type ClickHandler, type NodeOptions,
} from './node.js';
export type { GroupOptions, ShapeOptions, TextOptions, AssetOptions } from './generated/node-options.js';
export * from './generated/field-bits.js';

/**
 * A container that draws nothing itself: it groups children and applies a transform to them
 * (a child at `p` is drawn at `(x, y) + scale * p`). Layers and cameras are groups.
 */
export class Group extends Node {
  // @generated-begin Group fields: from codegen/fields.mjs, do not edit (npm run gen -w @parlor/squish)
  readonly kind = NodeKind.GROUP;
  /** @internal */ _x: number;
  /** @internal */ _y: number;
  /** @internal */ _scale: number;

  constructor(options: GroupOptions = {}, id?: number) {
    super(options, id);
    this._x = options.x ?? 0;
    this._y = options.y ?? 0;
    this._scale = options.scale ?? 1;
  }

  /** Translation x in plane units. */
  get x(): number { return this._x; }
  set x(v: number) { if (v !== this._x) { this._x = v; this._touch(GROUP_X); } }

  /** Translation y in plane units. */
  get y(): number { return this._y; }
  set y(v: number) { if (v !== this._y) { this._y = v; this._touch(GROUP_Y); } }

  /** Scale factor (1 = none). */
  get scale(): number { return this._scale; }
  set scale(v: number) { if (v !== this._scale) { this._scale = v; this._touch(GROUP_SCALE); } }
  // @generated-end Group fields
}

/** A polygon, polyline or circle with optional fill and border. */
export class Shape extends Node {
  // @generated-begin Shape fields: from codegen/fields.mjs, do not edit (npm run gen -w @parlor/squish)
  readonly kind = NodeKind.SHAPE;
  /** @internal */ _shapeType: ShapeType;
  /** @internal */ _points: readonly Point[];
  /** @internal */ _x: number;
  /** @internal */ _y: number;
  /** @internal */ _radius: number;
  /** @internal */ _fill: Color | null;
  /** @internal */ _stroke: Color | null;
  /** @internal */ _strokeWidth: number;

  constructor(options: ShapeOptions = {}, id?: number) {
    super(options, id);
    this._shapeType = options.shapeType ?? 'polygon';
    this._points = options.points ?? [];
    this._x = options.x ?? 0;
    this._y = options.y ?? 0;
    this._radius = options.radius ?? 0;
    this._fill = options.fill ?? null;
    this._stroke = options.stroke ?? null;
    this._strokeWidth = options.strokeWidth ?? 0.5;
  }

  /** Geometry kind. */
  get shapeType(): ShapeType { return this._shapeType; }
  set shapeType(v: ShapeType) { if (v !== this._shapeType) { this._shapeType = v; this._touch(SHAPE_TYPE); } }

  /** Vertices (polygon, line). Assign a new array to change them. */
  get points(): readonly Point[] { return this._points; }
  set points(v: readonly Point[]) { if (v !== this._points) { this._points = v; this._touch(SHAPE_POINTS); } }

  /** Circle centre x. */
  get x(): number { return this._x; }
  set x(v: number) { if (v !== this._x) { this._x = v; this._touch(SHAPE_X); } }

  /** Circle centre y. */
  get y(): number { return this._y; }
  set y(v: number) { if (v !== this._y) { this._y = v; this._touch(SHAPE_Y); } }

  /** Circle radius. */
  get radius(): number { return this._radius; }
  set radius(v: number) { if (v !== this._radius) { this._radius = v; this._touch(SHAPE_RADIUS); } }

  /** Fill colour or `null`. */
  get fill(): Color | null { return this._fill; }
  set fill(v: Color | null) { if (v !== this._fill) { this._fill = v ?? null; this._touch(SHAPE_FILL); } }

  /** Border colour or `null`. */
  get stroke(): Color | null { return this._stroke; }
  set stroke(v: Color | null) { if (v !== this._stroke) { this._stroke = v ?? null; this._touch(SHAPE_STROKE); } }

  /** Border width in plane units. */
  get strokeWidth(): number { return this._strokeWidth; }
  set strokeWidth(v: number) { if (v !== this._strokeWidth) { this._strokeWidth = v; this._touch(SHAPE_STROKE_WIDTH); } }
  // @generated-end Shape fields

  /**
   * Moves the shape by (dx, dy) plane units: translates every vertex (polygon, line) or the
   * centre (circle). The codec sends a pure translation of a polygon as two numbers.
   */
  translate(dx: number, dy: number): this {
    if (this._shapeType === 'circle') {
      this.x = this._x + dx;
      this.y = this._y + dy;
    } else {
      const src = this._points;
      const next: Point[] = new Array(src.length);
      for (let i = 0; i < src.length; i++) next[i] = [src[i][0] + dx, src[i][1] + dy];
      this.points = next;
    }
    return this;
  }

  /** Axis-aligned bounding box `[minX, minY, maxX, maxY]` in plane units (before any group transform). */
  bounds(): [number, number, number, number] {
    if (this._shapeType === 'circle') {
      return [this._x - this._radius, this._y - this._radius, this._x + this._radius, this._y + this._radius];
    }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [px, py] of this._points) {
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
    }
    return this._points.length ? [x0, y0, x1, y1] : [0, 0, 0, 0];
  }
}

/** Helpers to build common geometry (points arrays) in plane units. */
export const ShapeUtils = {
  /** The four corners of an axis-aligned rectangle, clockwise from (x, y). */
  rectangle(x: number, y: number, width: number, height: number): Point[] {
    return [[x, y], [x + width, y], [x + width, y + height], [x, y + height]];
  },
  /** A regular polygon with `sides` vertices around (cx, cy). */
  regular(cx: number, cy: number, radius: number, sides: number, rotation = 0): Point[] {
    const pts: Point[] = [];
    for (let i = 0; i < sides; i++) {
      const a = rotation + (i / sides) * Math.PI * 2;
      pts.push([cx + radius * Math.cos(a), cy + radius * Math.sin(a)]);
    }
    return pts;
  },
};

/** A run of text, anchored at (x, y) (top edge), aligned left, centre or right. */
export class Text extends Node {
  // @generated-begin Text fields: from codegen/fields.mjs, do not edit (npm run gen -w @parlor/squish)
  readonly kind = NodeKind.TEXT;
  /** @internal */ _text: string;
  /** @internal */ _x: number;
  /** @internal */ _y: number;
  /** @internal */ _size: number;
  /** @internal */ _color: Color;
  /** @internal */ _align: TextAlign;
  /** @internal */ _font: string;

  constructor(options: TextOptions = {}, id?: number) {
    super(options, id);
    this._text = options.text ?? '';
    this._x = options.x ?? 0;
    this._y = options.y ?? 0;
    this._size = options.size ?? 4;
    this._color = options.color ?? TEXT_COLOR_DEFAULT;
    this._align = options.align ?? 'left';
    this._font = options.font ?? 'sans-serif';
  }

  /** The text. */
  get text(): string { return this._text; }
  set text(v: string) { if (v !== this._text) { this._text = String(v); this._touch(TEXT_TEXT); } }

  /** Anchor x. */
  get x(): number { return this._x; }
  set x(v: number) { if (v !== this._x) { this._x = v; this._touch(TEXT_X); } }

  /** Top y. */
  get y(): number { return this._y; }
  set y(v: number) { if (v !== this._y) { this._y = v; this._touch(TEXT_Y); } }

  /** Font size in plane units. */
  get size(): number { return this._size; }
  set size(v: number) { if (v !== this._size) { this._size = v; this._touch(TEXT_SIZE); } }

  /** Text colour. */
  get color(): Color { return this._color; }
  set color(v: Color) { if (v !== this._color) { this._color = v; this._touch(TEXT_COLOR); } }

  /** Alignment at x. */
  get align(): TextAlign { return this._align; }
  set align(v: TextAlign) { if (v !== this._align) { this._align = v; this._touch(TEXT_ALIGN); } }

  /** CSS font family. */
  get font(): string { return this._font; }
  set font(v: string) { if (v !== this._font) { this._font = v; this._touch(TEXT_FONT); } }
  // @generated-end Text fields
}

/**
 * An image or a sound declared in the game's `metadata().assets`. An image is drawn in the
 * rectangle (x, y, width, height), optionally from a `crop` of its source; a sound plays while
 * the node is in the scene (from `startTime`, looping if `loop`, at `volume`).
 */
export class Asset extends Node {
  // @generated-begin Asset fields: from codegen/fields.mjs, do not edit (npm run gen -w @parlor/squish)
  readonly kind = NodeKind.ASSET;
  /** @internal */ _assetId: string;
  /** @internal */ _x: number;
  /** @internal */ _y: number;
  /** @internal */ _width: number;
  /** @internal */ _height: number;
  /** @internal */ _crop: Crop | null;
  /** @internal */ _startTime: number;
  /** @internal */ _loop: boolean;
  /** @internal */ _volume: number;

  constructor(options: AssetOptions, id?: number) {
    super(options, id);
    this._assetId = options.assetId;
    this._x = options.x ?? 0;
    this._y = options.y ?? 0;
    this._width = options.width ?? 10;
    this._height = options.height ?? 10;
    this._crop = options.crop ?? null;
    this._startTime = options.startTime ?? 0;
    this._loop = options.loop ?? false;
    this._volume = options.volume ?? 1;
  }

  /** Asset key. */
  get assetId(): string { return this._assetId; }
  set assetId(v: string) { if (v !== this._assetId) { this._assetId = v; this._touch(ASSET_ID); } }

  /** Left edge. */
  get x(): number { return this._x; }
  set x(v: number) { if (v !== this._x) { this._x = v; this._touch(ASSET_X); } }

  /** Top edge. */
  get y(): number { return this._y; }
  set y(v: number) { if (v !== this._y) { this._y = v; this._touch(ASSET_Y); } }

  /** Drawn width. */
  get width(): number { return this._width; }
  set width(v: number) { if (v !== this._width) { this._width = v; this._touch(ASSET_WIDTH); } }

  /** Drawn height. */
  get height(): number { return this._height; }
  set height(v: number) { if (v !== this._height) { this._height = v; this._touch(ASSET_HEIGHT); } }

  /** Source crop or `null`. */
  get crop(): Crop | null { return this._crop; }
  set crop(v: Crop | null) { if (v !== this._crop) { this._crop = v ?? null; this._touch(ASSET_CROP); } }

  /** Audio start offset in ms. */
  get startTime(): number { return this._startTime; }
  set startTime(v: number) { if (v !== this._startTime) { this._startTime = v; this._touch(ASSET_START); } }

  /** Audio loop flag. */
  get loop(): boolean { return this._loop; }
  set loop(v: boolean) { if (v !== this._loop) { this._loop = !!v; this._touch(ASSET_LOOP); } }

  /** Audio volume 0–1. */
  get volume(): number { return this._volume; }
  set volume(v: number) { if (v !== this._volume) { this._volume = v; this._touch(ASSET_VOLUME); } }
  // @generated-end Asset fields
}

/** Any concrete scene node. */
export type AnyNode = Group | Shape | Text | Asset;
