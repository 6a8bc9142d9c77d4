import { type Color } from './colors.js';
import { SceneError } from './errors.js';

/** A player's id within one session: a positive integer assigned by the server host. */
export type PlayerId = number;

/** Node kinds as they travel on the wire (one byte). */
export const NodeKind = {
  /** A container with an optional transform: children are drawn translated by (x, y) and scaled by `scale`. */
  GROUP: 0,
  /** A polygon, line or circle. */
  SHAPE: 1,
  /** A run of text. */
  TEXT: 2,
  /** An image (optionally cropped from a sprite sheet) or a sound. */
  ASSET: 3,
} as const;
/** One of {@link NodeKind}'s values. */
export type NodeKindValue = (typeof NodeKind)[keyof typeof NodeKind];

/** A point in plane units: `[x, y]`, x to the right, y down; 0–100 spans the screen, values outside are allowed. */
export type Point = readonly [x: number, y: number];

/** Shape geometry: a closed `polygon`, an open `line` (polyline), or a `circle` (x, y, radius). */
export type ShapeType = 'polygon' | 'line' | 'circle';

/** Horizontal anchoring of a {@link Text} at its `x`. */
export type TextAlign = 'left' | 'center' | 'right';

/** A drop shadow drawn under a node. `blur`, `offsetX`, `offsetY` are in plane units. */
export interface Shadow {
  color: Color;
  /** Blur radius in plane units; default 0. */
  blur?: number;
  /** Default 0. */
  offsetX?: number;
  /** Default 0. */
  offsetY?: number;
}

/** A crop rectangle in the source image's pixels (for sprite sheets). */
export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Called when a player clicks (or taps) a node, with the click point in plane units.
 * Only clicks by players who can see the node reach it.
 */
export type ClickHandler = (playerId: PlayerId, x: number, y: number) => void;

/** Options every node accepts. */
export interface NodeOptions {
  /** Players who may see this node and its subtree; `null`/absent = everyone. Default: everyone. */
  playerIds?: readonly PlayerId[] | null;
  /** Makes the node clickable; the client hit-tests it and the server calls this. */
  onClick?: ClickHandler | null;
  /** Drop shadow; default none. */
  shadow?: Shadow | null;
  /** Initial children. */
  children?: readonly Node[];
}

// ---- dirty bits (internal contract between nodes and the Squisher) ----
/** @internal field bits shared by every kind */
export const FIELD_CLICKABLE = 1 << 12;
/** @internal */
export const FIELD_SHADOW = 1 << 13;
/** @internal set on a node when it or a descendant changed since the last flush */
export const FLAG_SUBTREE = 1 << 0;
/** @internal set on a node whose child list changed */
export const FLAG_CHILDREN = 1 << 1;
/** @internal set on a node whose playerIds changed */
export const FLAG_VISIBILITY = 1 << 2;

let nextNodeId = 1;

/**
 * Base of every scene node. A node has a stable numeric `id` (unique in its process), at most
 * one parent, ordered children (later children draw on top), and optional visibility
 * (`playerIds`), click handler and shadow.
 *
 * Setting a property only marks the node dirty: nothing is encoded until the session's
 * {@link Squisher} flushes at the end of the tick, so many changes in one tick cost one frame.
 * Array and object properties (points, colours, crop, shadow) are compared by reference:
 * assign a new value to change them, do not mutate the old one in place.
 */
export abstract class Node {
  /** Stable numeric id, unique within this process (decoded nodes keep the sender's ids). */
  readonly id: number;
  /** The wire kind of this node. */
  abstract readonly kind: NodeKindValue;

  /** @internal */ _parent: Node | null = null;
  /** @internal */ _children: Node[] = [];
  /** @internal bit set of changed fields since the last flush */ _dirty = 0;
  /** @internal FLAG_* bits */ _flags = 0;
  /** @internal scratch slot owned by the Squisher that flushes this tree */ _wire: unknown = undefined;
  /** @internal children that got FLAG_SUBTREE since the last flush (may hold stale entries; check _parent) */
  _dirtyKids: Node[] | null = null;
  /** @internal */ _playerIds: readonly PlayerId[] | null;
  /** @internal */ _onClick: ClickHandler | null;
  /** @internal */ _shadow: Shadow | null;

  constructor(options: NodeOptions = {}, id?: number) {
    this.id = id ?? nextNodeId++;
    this._playerIds = options.playerIds ?? null;
    this._onClick = options.onClick ?? null;
    this._shadow = options.shadow ?? null;
    if (options.children) for (const c of options.children) this.addChild(c);
  }

  /** The parent node, or `null` for a root or a detached node. */
  get parent(): Node | null {
    return this._parent;
  }

  /** Children in draw order (read-only view; use the methods below to change it). */
  get children(): readonly Node[] {
    return this._children;
  }

  /** Players who may see this node and its subtree, or `null` for everyone. */
  get playerIds(): readonly PlayerId[] | null {
    return this._playerIds;
  }
  set playerIds(v: readonly PlayerId[] | null) {
    this._playerIds = v ?? null;
    this._flags |= FLAG_VISIBILITY;
    if (this._parent) this._parent._childrenChanged();
    this._markSubtree();
  }

  /** Click handler, or `null` when the node is not clickable. */
  get onClick(): ClickHandler | null {
    return this._onClick;
  }
  set onClick(v: ClickHandler | null) {
    if ((v === null) !== (this._onClick === null)) this._touch(FIELD_CLICKABLE);
    this._onClick = v ?? null;
  }

  /** Whether the node is clickable (has an `onClick`). */
  get clickable(): boolean {
    return this._onClick !== null;
  }

  /** Drop shadow, or `null`. */
  get shadow(): Shadow | null {
    return this._shadow;
  }
  set shadow(v: Shadow | null) {
    this._shadow = v ?? null;
    this._touch(FIELD_SHADOW);
  }

  /**
   * Appends children (drawn above the existing ones).
   * @throws {SceneError} if a child already has a parent or is an ancestor of this node.
   */
  addChild(...nodes: Node[]): this {
    for (const n of nodes) this.insertChild(n, this._children.length);
    return this;
  }

  /**
   * Inserts a child at `index` (clamped to 0…children.length).
   * @throws {SceneError} if the child already has a parent or is an ancestor of this node.
   */
  insertChild(node: Node, index: number): this {
    if (node._parent) throw new SceneError(`node ${node.id} already has a parent (${node._parent.id}); remove it first`);
    for (let a: Node | null = this; a; a = a._parent) {
      if (a === node) throw new SceneError(`adding node ${node.id} under ${this.id} would make a cycle`);
    }
    const i = Math.max(0, Math.min(this._children.length, Math.trunc(index)));
    this._children.splice(i, 0, node);
    node._parent = this;
    if (node._flags & FLAG_SUBTREE) this._noteDirtyKid(node);
    this._childrenChanged();
    return this;
  }

  /** Removes a child; returns whether it was a child of this node. */
  removeChild(node: Node): boolean {
    const i = this._children.indexOf(node);
    if (i < 0) return false;
    this._children.splice(i, 1);
    node._parent = null;
    this._childrenChanged();
    return true;
  }

  /** Removes every child. */
  clearChildren(): this {
    if (this._children.length === 0) return this;
    for (const c of this._children) c._parent = null;
    this._children = [];
    this._childrenChanged();
    return this;
  }

  /** Detaches this node from its parent, if any. */
  remove(): void {
    this._parent?.removeChild(this);
  }

  /** Depth-first search of this subtree (this node included) for a node id. */
  findById(id: number): Node | undefined {
    if (this.id === id) return this;
    for (const c of this._children) {
      const f = c.findById(id);
      if (f) return f;
    }
    return undefined;
  }

  /**
   * Whether `playerId` may see this node, considering every ancestor's `playerIds`.
   * Spectators (ids no game hands out) see only nodes with no restriction on the path.
   */
  isVisibleTo(playerId: PlayerId): boolean {
    for (let n: Node | null = this; n; n = n._parent) {
      if (n._playerIds && !n._playerIds.includes(playerId)) return false;
    }
    return true;
  }

  /** @internal */
  _childrenChanged(): void {
    this._flags |= FLAG_CHILDREN;
    this._markSubtree();
  }

  /** @internal marks a field dirty and flags the path to the root. */
  _touch(bit: number): void {
    this._dirty |= bit;
    this._markSubtree();
  }

  /**
   * @internal Flags the path to the root, and records each newly flagged node with its parent,
   * so a flush visits only the changed children of a container, never all of its siblings.
   */
  _markSubtree(): void {
    let n: Node = this;
    while (!(n._flags & FLAG_SUBTREE)) {
      n._flags |= FLAG_SUBTREE;
      const p = n._parent;
      if (p === null) return;
      p._noteDirtyKid(n);
      n = p;
    }
  }

  /** @internal */
  _noteDirtyKid(child: Node): void {
    if (this._dirtyKids === null) this._dirtyKids = [child];
    else this._dirtyKids.push(child);
  }
}

// ---------------------------------------------------------------- Group

/** Options of a {@link Group}. */
export interface GroupOptions extends NodeOptions {
  /** Translation of the children in plane units; default 0. */
  x?: number;
  /** Default 0. */
  y?: number;
  /** Scale of the children around the group's origin (after translation); default 1. */
  scale?: number;
}

/** @internal */ export const GROUP_X = 1 << 0;
/** @internal */ export const GROUP_Y = 1 << 1;
/** @internal */ export const GROUP_SCALE = 1 << 2;

/**
 * A container that draws nothing itself: it groups children and applies a transform to them
 * (a child at `p` is drawn at `(x, y) + scale * p`). Layers and cameras are groups.
 */
export class Group extends Node {
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
}

// ---------------------------------------------------------------- Shape

/** Options of a {@link Shape}. */
export interface ShapeOptions extends NodeOptions {
  /** Default `'polygon'`. */
  shapeType?: ShapeType;
  /** Vertices in plane units, for `polygon` (closed automatically) and `line`. Default `[]`. */
  points?: readonly Point[];
  /** Circle centre x in plane units (circles only); default 0. */
  x?: number;
  /** Circle centre y; default 0. */
  y?: number;
  /** Circle radius in plane units (circles only); default 0. */
  radius?: number;
  /** Fill colour; `null` = no fill. Default `null`. */
  fill?: Color | null;
  /** Border / line colour; `null` = no border. Default `null`. */
  stroke?: Color | null;
  /** Border / line width in plane units; default 0.5. */
  strokeWidth?: number;
}

/** @internal */ export const SHAPE_TYPE = 1 << 2;
/** @internal */ export const SHAPE_POINTS = 1 << 0;
/** @internal */ export const SHAPE_X = 1 << 3;
/** @internal */ export const SHAPE_Y = 1 << 4;
/** @internal */ export const SHAPE_RADIUS = 1 << 5;
/** @internal */ export const SHAPE_FILL = 1 << 1;
/** @internal */ export const SHAPE_STROKE = 1 << 6;
/** @internal */ export const SHAPE_STROKE_WIDTH = 1 << 7;

/** A polygon, polyline or circle with optional fill and border. */
export class Shape extends Node {
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

// ---------------------------------------------------------------- Text

/** Options of a {@link Text}. */
export interface TextOptions extends NodeOptions {
  /** UTF-8 text of any length; default `''`. */
  text?: string;
  /** Anchor x in plane units; default 0. */
  x?: number;
  /** Top of the text in plane units; default 0. */
  y?: number;
  /** Font size in plane units (of the screen's height); default 4. */
  size?: number;
  /** Default white. */
  color?: Color;
  /** Default `'left'`. */
  align?: TextAlign;
  /** CSS font family; default `'sans-serif'`. */
  font?: string;
}

/** @internal */ export const TEXT_TEXT = 1 << 0;
/** @internal */ export const TEXT_X = 1 << 1;
/** @internal */ export const TEXT_Y = 1 << 2;
/** @internal */ export const TEXT_SIZE = 1 << 3;
/** @internal */ export const TEXT_COLOR = 1 << 4;
/** @internal */ export const TEXT_ALIGN = 1 << 5;
/** @internal */ export const TEXT_FONT = 1 << 6;

const WHITE: Color = [255, 255, 255, 255];

/** A run of text, anchored at (x, y) (top edge), aligned left, centre or right. */
export class Text extends Node {
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
    this._color = options.color ?? WHITE;
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
}

// ---------------------------------------------------------------- Asset

/** Options of an {@link Asset}. */
export interface AssetOptions extends NodeOptions {
  /** Key of the asset in the game's `metadata().assets`. Required. */
  assetId: string;
  /** Images: left edge in plane units; default 0. */
  x?: number;
  /** Images: top edge; default 0. */
  y?: number;
  /** Images: drawn width in plane units; default 10. */
  width?: number;
  /** Images: drawn height in plane units; default 10. */
  height?: number;
  /** Images: part of the source image to draw (sprite sheets), in source pixels; default the whole image. */
  crop?: Crop | null;
  /** Audio: offset into the sound to start at, in ms; default 0. */
  startTime?: number;
  /** Audio: loop forever; default false. */
  loop?: boolean;
  /** Audio: 0 (silent) to 1 (full); default 1. */
  volume?: number;
}

/** @internal */ export const ASSET_ID = 1 << 0;
/** @internal */ export const ASSET_X = 1 << 1;
/** @internal */ export const ASSET_Y = 1 << 2;
/** @internal */ export const ASSET_WIDTH = 1 << 3;
/** @internal */ export const ASSET_HEIGHT = 1 << 4;
/** @internal */ export const ASSET_CROP = 1 << 5;
/** @internal */ export const ASSET_START = 1 << 6;
/** @internal */ export const ASSET_LOOP = 1 << 7;
/** @internal */ export const ASSET_VOLUME = 1 << 8;

/**
 * An image or a sound declared in the game's `metadata().assets`. An image is drawn in the
 * rectangle (x, y, width, height), optionally from a `crop` of its source; a sound plays while
 * the node is in the scene (from `startTime`, looping if `loop`, at `volume`).
 */
export class Asset extends Node {
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
}

/** Any concrete scene node. */
export type AnyNode = Group | Shape | Text | Asset;
