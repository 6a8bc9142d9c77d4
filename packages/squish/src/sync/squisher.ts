/**
 * The encode-once Squisher: turns one room's scene into per-player frames each tick (see the
 * {@link Squisher} class for what it promises), plus {@link messageFor}, which joins one
 * recipient's parts of a flush into its message.
 *
 * One file of ~600 lines on purpose: it has one owner of one state, the per-tick encoding state
 * (each node's `_wire` record of what was last sent, the players with their private writers,
 * cameras and pending full frames, the shared and full-frame writers, the sequence number). The
 * dirty walk, the shared and per-player encoders and the camera culling all read and write that
 * state in the same flush, in an order that matters (privacy, deltas against the previous flush);
 * split across files they would have to share it back and forth. What owns no per-tick state is
 * already elsewhere: the field encoders in `codec/codec.ts`, frame headers and ops in
 * `codec/frame.ts`, bounds in `scene/bounds.ts`.
 */
import { FIXED_SCALE, quantize, Writer } from '../codec/bytes.js';
import { nodeBounds, type Bounds } from '../scene/bounds.js';
import { rethrowWithNode } from '../codec/encode-context.js';
import { type ChildFilter, includes, KIND_FIELDS, quantizeFixed, quantizePoints, VIEW_PUBLIC, writeFields, writeNode } from '../codec/codec.js';
import { SceneError } from '../wire/errors.js';
import { OpCode, writeFrameHeader, writeOp } from '../codec/frame.js';
import type { View } from '../game/game.js';
import {
  FLAG_CHILDREN, FLAG_SUBTREE, FLAG_VISIBILITY, Group, GROUP_SCALE, GROUP_X, GROUP_Y, type Node, NodeKind,
  type PlayerId, type Shape, SHAPE_POINTS, type Text, TEXT_X, TEXT_Y,
} from '../scene/nodes.js';

/** How a {@link Squisher} finds the scene. */
export interface SquisherOptions {
  /** Returns the layer roots, bottom first (usually `() => game.getLayers()`); called once per flush. */
  layers: () => readonly Node[];
  /**
   * A camera for {@link ViewableGame}: `group` is the world root; its x/y/scale are sent to each
   * player from `view(playerId, spectator)` (top-left corner and zoom), overriding the group's own,
   * and each player receives only the group's children whose {@link nodeBounds} come within
   * `margin` screen units (default 10) of its view.
   */
  camera?: { group: Group; view(playerId: PlayerId, spectator: boolean): View; margin?: number };
  /** Called with errors thrown by `camera.view` (that player keeps its last camera). Default: none (the error is dropped). */
  onError?: (error: unknown) => void;
}

/**
 * The frames of one flush. `parts` are distinct buffers, each encoded once; every recipient's
 * single WebSocket message is the concatenation of `parts[i]` for `i` in its `sends[].parts`,
 * in order (send them as fragments of one message to avoid copying).
 */
export interface TickFrames {
  /** Sequence number of this flush (1, 2, 3…). */
  seq: number;
  parts: Uint8Array[];
  /**
   * One entry per recipient that has something new; recipients with no change are omitted.
   * `full` marks a full frame (the recipient's whole view, for a player added or
   * {@link Squisher.requestFull}ed since the last flush); otherwise it is a delta against the
   * previous flush. The Squisher knows because it produced it: nobody reads the bytes to find out.
   */
  sends: Array<{ playerId: PlayerId; parts: number[]; full: boolean }>;
}

/**
 * The one message a recipient of a flush receives: its parts concatenated in order, which is
 * what a WebSocket peer sees when the host sends them as fragments. For bots, tests and
 * transports without fragments (the host itself sends the parts without copying).
 * @returns `undefined` when the flush has nothing for that recipient
 */
export function messageFor(frames: TickFrames, playerId: PlayerId): Uint8Array | undefined {
  const send = frames.sends.find((s) => s.playerId === playerId);
  if (!send) return undefined;
  let n = 0;
  for (const i of send.parts) n += frames.parts[i].length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const i of send.parts) {
    out.set(frames.parts[i], o);
    o += frames.parts[i].length;
  }
  return out;
}

interface Wire {
  /** Children as of the last flush, in order, each with the `playerIds` it had then. */
  kids: Map<Node, readonly PlayerId[] | null> | null;
  /** Whether some child had `playerIds` at the last flush. */
  restricted: boolean;
  /** Points array (shapes) or [x, y] (texts) last sent, for translation detection. */
  pts: readonly (readonly [number, number])[] | null;
  /** `pts` quantized, once computed (hundredths, flat). */
  qp: number[] | null;
  tx: number;
  ty: number;
}

interface PlayerState {
  id: PlayerId;
  spectator: boolean;
  /** A full frame was asked for (added, or `requestFull`): the next flush sends one and clears this. */
  fullRequested: boolean;
  priv: Writer;
  /** Camera transform last sent (NaN before any). */
  camX: number;
  camY: number;
  camS: number;
  /** Camera view this flush, and the world rectangle it culls to. */
  view: { x: number; y: number; zoom: number } | null;
  rect: Bounds;
  /** Children of the camera group this player has, in order. */
  world: Set<Node>;
}

const TEXT_XY = TEXT_X | TEXT_Y;

function wireOf(n: Node): Wire {
  return n._wire as Wire;
}

/**
 * Turns one room's scene into per-player frames, once per tick.
 *
 * - **Dirty walk:** only subtrees flagged by property setters are visited; unchanged nodes cost nothing.
 * - **Encode once:** changes everyone sees are encoded once into a shared buffer; only nodes with
 *   `playerIds` (and cameras) are encoded per player, so fan-out to N players costs one encode plus
 *   N small private parts.
 * - **Privacy:** a node with `playerIds` (or under one) is never written into the bytes of any
 *   other player or any spectator.
 * - **Coalescing:** all mutations of a tick become one frame per player; players with nothing new
 *   get nothing.
 * - **Deltas:** a player added (or `requestFull`ed) gets a full frame; after that, deltas against
 *   the previous flush (property changes, pure translations as two numbers, child-list edits).
 *   Each send is marked `full` or not, so its receiver never parses frame bytes to tell.
 *
 * A scene tree belongs to one Squisher (its dirty flags are cleared by `flush`).
 */
export class Squisher {
  private readonly root = new Group({}, 0);
  private readonly players = new Map<PlayerId, PlayerState>();
  private layersCache: readonly Node[] = [];
  private seq = 0;
  private readonly shared = new Writer(16 * 1024);
  private readonly fullW = new Writer(16 * 1024);
  private readonly tmp = new Writer(1024);
  private synced: PlayerState[] = [];

  constructor(private readonly options: SquisherOptions) {
    this.root._wire = { kids: new Map(), restricted: false, pts: null, qp: null, tx: 0, ty: 0 } satisfies Wire;
  }

  /** Adds a player or spectator; the next flush sends it a full frame. Re-adding resets it to a full frame. */
  addPlayer(playerId: PlayerId, opts: { spectator?: boolean } = {}): void {
    this.players.set(playerId, {
      id: playerId, spectator: !!opts.spectator, fullRequested: true, priv: new Writer(256), camX: NaN, camY: NaN, camS: NaN,
      view: null, rect: [0, 0, 0, 0], world: new Set(),
    });
  }

  /** Forgets a player or spectator. */
  removePlayer(playerId: PlayerId): void {
    this.players.delete(playerId);
  }

  /**
   * The next flush sends this player a full frame (marked `full` in {@link TickFrames.sends}),
   * then deltas again. A one-shot request: whether the player's client is out of sync (frames
   * skipped, a new socket) is known only to whoever delivers the frames (the server's fan-out),
   * which asks through this. Unknown ids are ignored.
   */
  requestFull(playerId: PlayerId): void {
    const p = this.players.get(playerId);
    if (p) p.fullRequested = true;
  }

  /** A node currently in the scene, by id (for routing clicks), or `undefined`. */
  nodeById(id: number): Node | undefined {
    if (id === 0) return undefined;
    return this.root.findById(id);
  }

  /**
   * Encodes this tick's changes: a delta for every player in sync, a full frame for every
   * player added or resynced since the last flush.
   * @throws {SceneError} if a layer root already has another parent
   * @throws {SquishEncodeError} if the scene holds a non-finite number or nests too deep
   */
  flush(): TickFrames {
    const seq = ++this.seq;
    this.syncLayers();
    const synced: PlayerState[] = [];
    const fulls: PlayerState[] = [];
    for (const p of this.players.values()) (p.fullRequested ? fulls : synced).push(p);
    this.synced = synced;

    const S = this.shared.reset();
    writeFrameHeader(S, false, seq);
    const headerLen = S.pos;
    for (const p of synced) p.priv.reset();
    const cam = this.options.camera;
    if (cam) {
      this.bounds.clear();
      for (const p of this.players.values()) this.updateView(p);
      // Views move every tick: always walk to the camera group to re-cull its children.
      cam.group._markSubtree();
    }
    if (this.root._flags & FLAG_SUBTREE) this.visit(this.root, null, 1);
    if (cam) for (const p of synced) this.writeCamera(p, false);

    const parts: Uint8Array[] = [];
    const sends: TickFrames['sends'] = [];
    const hasShared = S.pos > headerLen;
    let sharedIdx = -1;
    for (const p of synced) {
      const hasPriv = p.priv.pos > 0;
      if (!hasShared && !hasPriv) continue;
      if (sharedIdx < 0) sharedIdx = parts.push(S.finish()) - 1;
      sends.push({ playerId: p.id, parts: hasPriv ? [sharedIdx, parts.push(p.priv.finish()) - 1] : [sharedIdx], full: false });
    }

    if (fulls.length) {
      const F = this.fullW.reset();
      writeFrameHeader(F, true, seq);
      const restricted: Node[] = [];
      writeNode(F, this.root, VIEW_PUBLIC, 1, restricted, this.filter);
      const fullIdx = parts.push(F.finish()) - 1;
      for (const p of fulls) {
        p.fullRequested = false;
        const w = p.priv.reset();
        for (const r of restricted) this.writeRestricted(p, r, isPublic);
        if (cam) this.writeCamera(p, true);
        sends.push({ playerId: p.id, parts: w.pos > 0 ? [fullIdx, parts.push(w.finish()) - 1] : [fullIdx], full: true });
      }
    }
    this.synced = [];
    return { seq, parts, sends };
  }

  // ---------------------------------------------------------------- internals

  private syncLayers(): void {
    const layers = this.options.layers();
    const cache = this.layersCache;
    let same = layers.length === cache.length;
    for (let i = 0; same && i < layers.length; i++) same = layers[i] === cache[i];
    if (same) return;
    for (const l of layers) {
      if (l._parent !== null && l._parent !== this.root) throw new SceneError(`layer root ${l.id} already has a parent (${l._parent.id})`);
    }
    for (const old of this.root._children) if (!layers.includes(old)) old._parent = null;
    this.root._children = [...layers];
    for (const l of layers) {
      l._parent = this.root;
      if (l._flags & FLAG_SUBTREE) this.root._noteDirtyKid(l);
    }
    this.root._childrenChanged();
    this.layersCache = layers.slice();
  }

  /** The player a per-player encode is for (the culling filter reads its view); null for shared encodes. */
  private cur: PlayerState | null = null;
  /** World bounds of the camera group's children, computed at most once per flush. */
  private readonly bounds = new Map<Node, Bounds | null>();

  /** Children written for a viewer: by `playerIds`, and for the camera group by the current player's view. */
  private readonly filter: ChildFilter = (parent, child, viewer) => {
    if (!includes(child, viewer)) return false;
    if (parent !== this.options.camera?.group) return true;
    const p = this.cur;
    if (p === null) return false; // shared bytes never carry world nodes: they are culled per player
    let b = this.bounds.get(child);
    if (b === undefined) {
      b = nodeBounds(child);
      this.bounds.set(child, b);
    }
    const r = p.rect;
    return b === null || (b[0] <= r[2] && b[2] >= r[0] && b[1] <= r[3] && b[3] >= r[1]);
  };

  private updateView(p: PlayerState): void {
    const cam = this.options.camera!;
    let v: View;
    try {
      v = cam.view(p.id, p.spectator);
    } catch (err) {
      this.options.onError?.(err);
      return; // keeps its last view
    }
    const zoom = v?.zoom ?? 1;
    if (!v || !Number.isFinite(v.x) || !Number.isFinite(v.y) || !(zoom > 0) || !Number.isFinite(zoom)) {
      this.options.onError?.(new TypeError(`camera view for player ${p.id} must have finite x, y and a positive zoom`));
      return;
    }
    p.view = { x: v.x, y: v.y, zoom };
    const m = (cam.margin ?? 10) / zoom;
    const size = 100 / zoom;
    p.rect = [v.x - m, v.y - m, v.x + size + m, v.y + size + m];
  }

  /** A per-player child-list op for a parent left out of (or trimmed in) the shared bytes. */
  private writeRestricted(p: PlayerState, r: Node, isRef: (k: Node) => boolean): void {
    const isCamera = r === this.options.camera?.group;
    if (p.spectator && !isCamera) return; // spectators see exactly the public children
    this.cur = p;
    // The shared bytes carry none of the camera group's children, so nothing there can be referenced.
    this.writeChildrenFor(p.priv, r, p.spectator ? VIEW_PUBLIC : p.id, isCamera ? never : isRef, depthOf(r));
    if (isCamera) p.world = this.visibleWorld(p);
    this.cur = null;
  }

  private visibleWorld(p: PlayerState): Set<Node> {
    const g = this.options.camera!.group;
    const viewer = p.spectator ? VIEW_PUBLIC : p.id;
    const out = new Set<Node>();
    for (const k of g._children) if (this.filter(g, k, viewer)) out.add(k);
    return out;
  }

  /**
   * The camera group: each recipient gets its own culled child list when it changed, and
   * changes inside a world child go only to the players who already had that child.
   */
  private visitCamera(g: Node, ctx: PlayerState[] | null, depth: number): void {
    if (g._dirty) this.emitProps(g, ctx);
    const prev = wireOf(g).kids;
    const keptBy = new Map<Node, PlayerState[]>();
    for (const p of ctx ?? this.synced) {
      this.cur = p;
      const now = this.visibleWorld(p);
      const old = p.world;
      const isRef = (k: Node): boolean => old.has(k) && prev !== null && prev.has(k) && !(k._flags & FLAG_VISIBILITY);
      let same = !(g._flags & FLAG_CHILDREN) && now.size === old.size;
      if (same) {
        const a = now.values(), b = old.values();
        for (let x = a.next(), y = b.next(); !x.done; x = a.next(), y = b.next()) if (x.value !== y.value || !isRef(x.value)) { same = false; break; }
      }
      if (!same) this.writeChildrenFor(p.priv, g, p.spectator ? VIEW_PUBLIC : p.id, isRef, depth);
      for (const k of now) {
        if (!isRef(k)) continue;
        const list = keptBy.get(k);
        if (list) list.push(p);
        else keptBy.set(k, [p]);
      }
      p.world = now;
    }
    this.cur = null;
    // A new child is sent whole to whoever sees it: record it as sent.
    for (const k of g._children) if (prev === null || !prev.has(k)) initWire(k);
    const dirtyKids = g._dirtyKids;
    if (dirtyKids !== null) {
      for (const k of dirtyKids) if (k._parent === g && k._flags & FLAG_SUBTREE) this.visit(k, keptBy.get(k) ?? [], depth + 1);
    }
    for (const k of g._children) k._flags &= ~FLAG_VISIBILITY;
    wireOf(g).kids = kidsMap(g._children);
    wireOf(g).restricted = true;
    g._dirtyKids = null;
    g._dirty = 0;
    g._flags = 0;
  }

  private visit(n: Node, ctx: PlayerState[] | null, depth: number): void {
    if (n === this.options.camera?.group) {
      this.visitCamera(n, ctx, depth);
      return;
    }
    if (n._dirty) this.emitProps(n, ctx);
    if (n._flags & FLAG_CHILDREN) this.emitChildren(n, ctx, depth);
    const dirtyKids = n._dirtyKids;
    if (dirtyKids !== null) {
      // Entries may be stale (moved away since) or repeated (flags already cleared): both skipped.
      for (let i = 0; i < dirtyKids.length; i++) {
        const k = dirtyKids[i];
        if (k._parent === n && k._flags & FLAG_SUBTREE) this.visit(k, k._playerIds ? this.narrow(ctx, k._playerIds) : ctx, depth + 1);
      }
      n._dirtyKids = null;
    }
    n._dirty = 0;
    n._flags = 0;
  }

  private narrow(ctx: PlayerState[] | null, ids: readonly PlayerId[]): PlayerState[] {
    const from = ctx ?? this.synced;
    const out: PlayerState[] = [];
    for (const p of from) if (!p.spectator && ids.includes(p.id)) out.push(p);
    return out;
  }

  /** Copies bytes encoded once into each recipient's private buffer. */
  private deliver(w: Writer, ctx: PlayerState[]): void {
    if (w.pos === 0) return;
    const bytes = w.buf.subarray(0, w.pos);
    for (const p of ctx) p.priv.bytes(bytes);
  }

  /** Encodes a node's changed fields; an encode error names the node and the property (see `rethrowWithNode`). */
  private emitProps(n: Node, ctx: PlayerState[] | null): void {
    try {
      this.emitChangedFields(n, ctx);
    } catch (err) {
      rethrowWithNode(err, n);
    }
  }

  private emitChangedFields(n: Node, ctx: PlayerState[] | null): void {
    let mask = n._dirty & KIND_FIELDS[n.kind];
    // Public changes go straight into the shared buffer; private ones are encoded once, then copied per recipient.
    const w = ctx === null ? this.shared : this.tmp.reset();
    const wire = wireOf(n);
    let qp: number[] | undefined;
    if (n.kind === NodeKind.SHAPE && mask & SHAPE_POINTS && (n as Shape)._shapeType !== 'circle') {
      const pts = (n as Shape)._points;
      const old = wire.qp ?? (wire.pts ? quantizePoints(wire.pts) : null);
      if (old !== null && old.length === pts.length * 2 && pts.length > 0) {
        // A pure translation is two numbers on the wire; test for one without allocating.
        const dx = quantizeFixed(pts[0][0]) - old[0];
        const dy = quantizeFixed(pts[0][1]) - old[1];
        let translated = true;
        for (let i = 1; i < pts.length; i++) {
          if (quantizeFixed(pts[i][0]) - old[2 * i] !== dx || quantizeFixed(pts[i][1]) - old[2 * i + 1] !== dy) {
            translated = false;
            break;
          }
        }
        if (translated) {
          mask &= ~SHAPE_POINTS;
          if (dx !== 0 || dy !== 0) {
            writeOp(w, n.id, OpCode.TRANSLATE);
            w.fq(dx);
            w.fq(dy);
            for (let i = 0; i < old.length; i += 2) {
              old[i] += dx;
              old[i + 1] += dy;
            }
          }
          qp = old;
        }
      }
      qp ??= quantizePoints(pts);
      wire.pts = pts;
      wire.qp = qp;
    } else if (n.kind === NodeKind.TEXT && (mask & TEXT_XY) === TEXT_XY) {
      const t = n as Text;
      const dx = Math.round(t._x * FIXED_SCALE) - Math.round(wire.tx * FIXED_SCALE);
      const dy = Math.round(t._y * FIXED_SCALE) - Math.round(wire.ty * FIXED_SCALE);
      if (Number.isFinite(dx) && Number.isFinite(dy)) {
        mask &= ~TEXT_XY;
        writeOp(w, n.id, OpCode.TRANSLATE);
        w.fq(dx);
        w.fq(dy);
      }
    }
    if (n.kind === NodeKind.TEXT) {
      wire.tx = (n as Text)._x;
      wire.ty = (n as Text)._y;
    }
    if (mask) {
      writeOp(w, n.id, OpCode.PROPS);
      w.uv(mask);
      writeFields(w, n, mask, qp);
    }
    if (ctx !== null) this.deliver(w, ctx);
  }

  private emitChildren(n: Node, ctx: PlayerState[] | null, depth: number): void {
    const wire = wireOf(n);
    const prev = wire.kids;
    const kids = n._children;
    let restrictedNow = false;
    for (let i = 0; i < kids.length; i++) if (kids[i]._playerIds !== null) { restrictedNow = true; break; }
    const keep = (k: Node): boolean => prev !== null && prev.has(k) && !(k._flags & FLAG_VISIBILITY);

    if (ctx === null && !restrictedNow && !wire.restricted) {
      // Everyone sees the same list: one shared op.
      const S = this.shared;
      writeOp(S, n.id, OpCode.CHILDREN);
      S.uv(kids.length);
      const restricted: Node[] = [];
      for (let i = 0; i < kids.length; i++) {
        const k = kids[i];
        if (keep(k)) S.uv(k.id * 2);
        else {
          S.uv(1);
          writeNode(S, k, VIEW_PUBLIC, depth + 1, restricted, this.filter);
        }
      }
      // Private (and camera-culled) parts inside newly sent public subtrees.
      for (const r of restricted) for (const p of this.synced) this.writeRestricted(p, r, isPublic);
    } else {
      for (const p of ctx ?? this.synced) {
        this.cur = p;
        const viewer = p.spectator ? VIEW_PUBLIC : p.id;
        const sawBefore = (pv: readonly PlayerId[] | null | undefined): boolean => pv === null || (pv !== undefined && viewer >= 0 && pv.includes(viewer));
        const isRef = (k: Node): boolean => keep(k) && sawBefore(prev!.get(k));
        if (prev !== null && sameListFor(prev, kids, viewer, isRef, sawBefore)) continue;
        this.writeChildrenFor(p.priv, n, viewer, isRef, depth);
      }
      this.cur = null;
    }
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      if (!keep(k)) initWire(k);
      else k._flags &= ~FLAG_VISIBILITY;
    }
    wire.kids = kidsMap(kids);
    wire.restricted = restrictedNow;
  }

  /** A CHILDREN op for one viewer: kept children by id, the others inline (filtered for the viewer). */
  private writeChildrenFor(w: Writer, n: Node, viewer: number, isRef: (k: Node) => boolean, depth: number): void {
    const kids = n._children;
    const filter = this.filter;
    let count = 0;
    for (let i = 0; i < kids.length; i++) if (filter(n, kids[i], viewer)) count++;
    writeOp(w, n.id, OpCode.CHILDREN);
    w.uv(count);
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      if (!filter(n, k, viewer)) continue;
      if (isRef(k)) w.uv(k.id * 2);
      else {
        w.uv(1);
        writeNode(w, k, viewer, depth + 1, undefined, this.filter);
      }
    }
  }

  private writeCamera(p: PlayerState, force: boolean): void {
    const cam = this.options.camera!;
    const view = p.view;
    if (view === null || !cam.group.isVisibleTo(p.spectator ? -1 : p.id) || !this.inTree(cam.group)) return;
    const zoom = view.zoom;
    const x = quantize(-view.x * zoom);
    const y = quantize(-view.y * zoom);
    if (!force && x === p.camX && y === p.camY && zoom === p.camS) return;
    p.camX = x;
    p.camY = y;
    p.camS = zoom;
    const w = p.priv;
    writeOp(w, cam.group.id, OpCode.PROPS);
    w.uv(GROUP_X | GROUP_Y | GROUP_SCALE);
    w.fx(x);
    w.fx(y);
    w.f32(zoom);
  }

  private inTree(n: Node): boolean {
    let a: Node | null = n;
    while (a && a !== this.root) a = a._parent;
    return a === this.root;
  }
}

/** Whether a viewer's list of children is unchanged since the last flush (nothing to send it). */
function sameListFor(
  prev: Map<Node, readonly PlayerId[] | null>, kids: readonly Node[], viewer: number,
  isRef: (k: Node) => boolean, sawBefore: (pv: readonly PlayerId[] | null) => boolean,
): boolean {
  const it = prev.entries();
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i];
    if (!includes(k, viewer)) continue;
    if (!isRef(k)) return false;
    let before = it.next();
    while (!before.done && !sawBefore(before.value[1])) before = it.next();
    if (before.done || before.value[0] !== k) return false;
  }
  for (let before = it.next(); !before.done; before = it.next()) if (sawBefore(before.value[1])) return false;
  return true;
}

function kidsMap(kids: readonly Node[]): Map<Node, readonly PlayerId[] | null> {
  const m = new Map<Node, readonly PlayerId[] | null>();
  for (let i = 0; i < kids.length; i++) m.set(kids[i], kids[i]._playerIds);
  return m;
}

function never(): boolean {
  return false;
}

function isPublic(k: Node): boolean {
  return k._playerIds === null;
}

function depthOf(n: Node): number {
  let d = 0;
  for (let a: Node | null = n; a; a = a._parent) d++;
  return d;
}

/** Records a freshly sent subtree as the baseline for future deltas, and clears its dirty state. */
function initWire(n: Node): void {
  const kids = n._children;
  let restricted = false;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i];
    if (k._playerIds !== null) restricted = true;
    initWire(k);
  }
  let pts: Wire['pts'] = null;
  let tx = 0, ty = 0;
  if (n.kind === NodeKind.SHAPE) pts = (n as Shape)._points;
  else if (n.kind === NodeKind.TEXT) {
    tx = (n as Text)._x;
    ty = (n as Text)._y;
  }
  n._wire = { kids: kids.length ? kidsMap(kids) : null, restricted, pts, qp: null, tx, ty } satisfies Wire;
  n._dirty = 0;
  n._flags = 0;
  n._dirtyKids = null;
}
