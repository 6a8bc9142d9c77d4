/**
 * The base of every scene node: identity, the tree (parent, ordered children), visibility
 * (`playerIds`), the fields every kind has (`onClick`, `shadow`) and the dirty tracking the
 * Squisher reads. The kinds' own fields are declared in the field table (`codegen/fields.mjs`).
 */
import type { Color } from './colors.js';
import { SceneError } from '../wire/errors.js';
import { FIELD_CLICKABLE, FIELD_INTERPOLATE, FIELD_SHADOW } from './generated/field-bits.js';

/** A player's id within one room: a positive integer assigned by the server host. */
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
  /**
   * Whether clients may interpolate this node's position and size between frames (a 20 Hz room
   * looks smooth at 60 fps); `false` makes it jump to each frame's values, for a cursor, a HUD
   * text or a card that must snap. Default true. Costs at most one byte per opted-out node.
   */
  interpolate?: boolean;
  /** Initial children. */
  children?: readonly Node[];
}

// ---- dirty flags (internal contract between nodes and the Squisher; field bits are in generated/field-bits.ts) ----
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
 * Setting a property only marks the node dirty: nothing is encoded until the room's
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
  /** @internal */ _interpolate: boolean;

  constructor(options: NodeOptions = {}, id?: number) {
    this.id = id ?? nextNodeId++;
    this._playerIds = options.playerIds ?? null;
    this._onClick = options.onClick ?? null;
    this._shadow = options.shadow ?? null;
    this._interpolate = options.interpolate ?? true;
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
   * Whether clients may interpolate this node between frames (default true); `false` opts it out:
   * it is drawn exactly at each frame's values. It does not apply to its children.
   */
  get interpolate(): boolean {
    return this._interpolate;
  }
  set interpolate(v: boolean) {
    v = !!v;
    if (v === this._interpolate) return;
    this._interpolate = v;
    // The wire's flag bit flips the value: toggling the dirty bit means a change undone within
    // the same tick sends nothing, and a change sends the bit exactly once.
    this._dirty ^= FIELD_INTERPOLATE;
    this._markSubtree();
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

