import { NodeKind, type Asset, type Group, type Node, type Point, type Shape, type Text } from '@parlor/squish';

/** Options of an {@link Interpolator}. */
export interface InterpolationOptions {
  /**
   * A node whose position moved further than this between two frames, along x or y, in its own
   * plane units (the units its parent group's children use), is drawn at the new position at
   * once: a teleport, a respawn, a wrap around the screen. Default 25 (a quarter of the screen).
   */
  teleportDistance?: number;
  /**
   * Frame interval to start from, in ms, until the arrival times of frames give one; default 50
   * (20 Hz). {@link Interpolator.setTickRate} sets it from the room's tick rate.
   */
  interval?: number;
}

/** Longest frame interval the estimate accepts, ms. */
const MAX_INTERVAL_MS = 1000;
/**
 * A gap between frames longer than this (or than three ticks, if longer) is a pause (nothing
 * changed meanwhile, e.g. a card game between moves), not a frame rate: it is left out of the
 * interval estimate.
 */
const PAUSE_MS = 250;
/** Inter-arrival gaps the interval estimate takes the median of. */
const GAPS = 9;

/** One node's values in the last two frames it was in. */
interface Track {
  node: Node;
  /** Frame generation the node was last seen in (tracks not seen in the newest frame are dropped). */
  seen: number;
  /** What is interpolated, by kind: x, y and a size (group scale, circle radius, text size, asset width and height). */
  from: Float64Array;
  to: Float64Array;
  /** Polygon and line vertices, flat (x0, y0, x1, …), of the two frames; `null` for the other kinds. */
  fromPts: Float64Array | null;
  toPts: Float64Array | null;
  /** The frame's own points array, put back after each paint, and the one drawn meanwhile. */
  framePts: readonly Point[] | null;
  posePts: [number, number][] | null;
  /** Shape type the values were read for (a change of geometry is drawn at once). */
  shapeType: string;
}

/**
 * Entity interpolation for the browser client (the technique of Valve's Source engine and of
 * Gambetta's "Fast-paced multiplayer"): the scene is drawn about one frame interval in the past,
 * each node's x, y and size linearly interpolated between the two latest frames, so a room that
 * sends 20 frames a second moves smoothly on a 60 Hz display. It never extrapolates: the newest
 * frame is the furthest it draws, and with no newer frame it holds there.
 *
 * Drawn at once (snapped), not interpolated: everything in a full frame (joining, a resync); a
 * node that just appeared (or was sent again whole); a node that opted out (`interpolate: false`
 * in the scene); a move longer than {@link InterpolationOptions.teleportDistance}; a polygon whose
 * vertex count or a shape whose geometry changed. Only positions and sizes move; colours, text,
 * visibility and the tree change at the frame.
 *
 * The frame interval is the median gap between the last arrivals of frames (pauses left out), at
 * least one tick of the room (a room sends at most one frame per tick) and at most a second.
 *
 * Usage: call {@link frame} after each frame is applied to the mirror, then {@link pose} before
 * drawing (it writes the drawn values into the mirror's nodes) and {@link restore} right after
 * (the frame's values come back, so game code, audio and bots never see drawn values).
 */
export class Interpolator {
  private readonly tracks = new Map<number, Track>();
  /** Tracks whose two frames differ (the only ones posed). */
  private moving: Track[] = [];
  private posed: Track[] = [];
  private generation = 0;
  private tPrev = -1;
  private tCur = -1;
  private readonly gaps: number[] = [];
  private minInterval = 0;
  private estimate: number;
  private readonly teleport: number;

  constructor(options: InterpolationOptions = {}) {
    this.teleport = options.teleportDistance ?? 25;
    this.estimate = options.interval ?? 50;
  }

  /** The frame interval in use, ms: the median recent gap between frames, or the starting value. */
  get interval(): number {
    return this.estimate;
  }

  /** Number of nodes that move between the two latest frames. */
  get movingNodes(): number {
    return this.moving.length;
  }

  /**
   * Sets the room's tick rate (Hz, from `init`): frames never come faster than one per tick, so
   * the interval is at least `1000 / tickRate` ms. Ignored unless finite and positive.
   */
  setTickRate(tickRate: number): void {
    if (!(tickRate > 0) || !Number.isFinite(tickRate)) return;
    this.minInterval = 1000 / tickRate;
    if (this.gaps.length === 0) this.estimate = this.minInterval;
    this.estimate = Math.max(this.estimate, this.minInterval);
  }

  /**
   * Records a frame just applied to the mirror: reads each node's values and starts drawing from
   * the previous frame's towards them.
   * @param root the mirror's root after the frame (`null` forgets every node)
   * @param full whether it was a full frame (everything snaps)
   * @param now arrival time, ms, on the clock later passed to {@link pose} (`performance.now()`)
   */
  frame(root: Node | null, full: boolean, now: number): void {
    const gap = now - this.tCur;
    if (this.tCur >= 0 && gap > 0 && gap <= Math.max(PAUSE_MS, 3 * this.minInterval)) {
      this.gaps.push(gap);
      if (this.gaps.length > GAPS) this.gaps.shift();
      const sorted = [...this.gaps].sort((a, b) => a - b);
      this.estimate = Math.min(MAX_INTERVAL_MS, Math.max(this.minInterval, sorted[sorted.length >> 1]));
    }
    this.tPrev = this.tCur;
    this.tCur = now;
    const gen = ++this.generation;
    const moving: Track[] = [];
    if (root) {
      const stack: Node[] = [root];
      while (stack.length > 0) {
        const n = stack.pop()!;
        const kids = n.children;
        for (let i = 0; i < kids.length; i++) stack.push(kids[i]);
        let t = this.tracks.get(n.id);
        if (t === undefined || t.node !== n) {
          t = newTrack(n);
          this.tracks.set(n.id, t);
          read(t);
          snap(t);
        } else {
          const f = t.from;
          t.from = t.to;
          t.to = f;
          const fp = t.fromPts;
          t.fromPts = t.toPts;
          t.toPts = fp;
          if (!read(t) || full || !n.interpolate || this.jumped(t)) snap(t);
        }
        t.seen = gen;
        if (differs(t)) moving.push(t);
      }
    }
    for (const [id, t] of this.tracks) if (t.seen !== gen) this.tracks.delete(id);
    this.moving = moving;
  }

  /**
   * How far the drawing is from the previous frame towards the newest one, 0–1, at `now`: the
   * drawn time is `now − interval`, placed between the two frames' arrival times. After a pause
   * (frames further apart than the interval) the previous frame counts as arrived one interval
   * before the newest, so the move takes one interval from where it was drawn, with no jump.
   */
  alpha(now: number): number {
    if (this.tPrev < 0) return 1;
    const d = this.estimate;
    const span = Math.min(this.tCur - this.tPrev, d);
    if (!(span > 0)) return 1;
    const a = (now - d - (this.tCur - span)) / span;
    return a <= 0 ? 0 : a >= 1 ? 1 : a;
  }

  /** Whether something is still on its way to the newest frame at `now` (keep painting every animation frame). */
  pending(now: number): boolean {
    return this.moving.length > 0 && this.alpha(now) < 1;
  }

  /**
   * Writes the values to draw at `now` into the moving nodes of the mirror; returns whether it
   * wrote any (then call {@link restore} once drawing is done, also when drawing threw).
   */
  pose(now: number): boolean {
    if (this.posed.length > 0) this.restore();
    const a = this.alpha(now);
    if (a >= 1 || this.moving.length === 0) return false;
    for (const t of this.moving) {
      poseTrack(t, a);
      this.posed.push(t);
    }
    return true;
  }

  /** Puts the newest frame's values back into the nodes {@link pose} changed. */
  restore(): void {
    for (const t of this.posed) poseTrack(t, 1);
    this.posed.length = 0;
  }

  /** Runs `fn` with the nodes posed as drawn at `now` (e.g. a hit test of what the player sees). */
  withPose<T>(now: number, fn: () => T): T {
    const posed = this.pose(now);
    try {
      return fn();
    } finally {
      if (posed) this.restore();
    }
  }

  /** Forgets every node and frame time (the next frame is drawn as it is). */
  reset(): void {
    this.restore();
    this.tracks.clear();
    this.moving = [];
    this.tPrev = this.tCur = -1;
  }

  /** Whether the node moved further than the teleport distance between the two frames. */
  private jumped(t: Track): boolean {
    const d = this.teleport;
    if (t.fromPts !== null && t.toPts !== null) {
      return t.toPts.length > 0 && (Math.abs(t.toPts[0] - t.fromPts[0]) > d || Math.abs(t.toPts[1] - t.fromPts[1]) > d);
    }
    return Math.abs(t.to[0] - t.from[0]) > d || Math.abs(t.to[1] - t.from[1]) > d;
  }
}

function newTrack(n: Node): Track {
  const size = n.kind === NodeKind.ASSET ? 4 : 3;
  return { node: n, seen: 0, from: new Float64Array(size), to: new Float64Array(size), fromPts: null, toPts: null, framePts: null, posePts: null, shapeType: '' };
}

/** Reads the node's current values into `to`; false when they cannot be interpolated from `from` (geometry changed). */
function read(t: Track): boolean {
  const n = t.node;
  const v = t.to;
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      const same = s._shapeType === t.shapeType;
      t.shapeType = s._shapeType;
      if (s._shapeType === 'circle') {
        v[0] = s._x;
        v[1] = s._y;
        v[2] = s._radius;
        t.framePts = null;
        return same;
      }
      const pts = s._points;
      t.framePts = pts;
      let to = t.toPts;
      const fits = to !== null && to.length === pts.length * 2;
      if (!fits) to = t.toPts = new Float64Array(pts.length * 2);
      for (let i = 0; i < pts.length; i++) {
        to![2 * i] = pts[i][0];
        to![2 * i + 1] = pts[i][1];
      }
      return same && t.fromPts !== null && t.fromPts.length === to!.length;
    }
    case NodeKind.TEXT: {
      const x = n as Text;
      v[0] = x._x;
      v[1] = x._y;
      v[2] = x._size;
      return true;
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      v[0] = a._x;
      v[1] = a._y;
      v[2] = a._width;
      v[3] = a._height;
      return true;
    }
    default: {
      const g = n as Group;
      v[0] = g._x;
      v[1] = g._y;
      v[2] = g._scale;
      return true;
    }
  }
}

/** Makes the previous frame's values equal the newest ones: the node is drawn as it is now. */
function snap(t: Track): void {
  t.from.set(t.to);
  if (t.toPts !== null) {
    if (t.fromPts === null || t.fromPts.length !== t.toPts.length) t.fromPts = new Float64Array(t.toPts.length);
    t.fromPts.set(t.toPts);
  }
}

function differs(t: Track): boolean {
  const a = t.from;
  const b = t.to;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
  const p = t.fromPts;
  const q = t.toPts;
  if (p !== null && q !== null && t.framePts !== null) for (let i = 0; i < q.length; i++) if (p[i] !== q[i]) return true;
  return false;
}

/** Value `i` at `a` of the way from `f` to `v` (exactly `v[i]` at 1). */
function lerp(f: Float64Array, v: Float64Array, i: number, a: number): number {
  return a >= 1 ? v[i] : f[i] + a * (v[i] - f[i]);
}

/** Writes `from + a·(to − from)` into the node (a = 1: the newest frame's own values and points array). */
function poseTrack(t: Track, a: number): void {
  const n = t.node;
  const f = t.from;
  const v = t.to;
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      if (t.framePts === null) {
        s._x = lerp(f, v, 0, a);
        s._y = lerp(f, v, 1, a);
        s._radius = lerp(f, v, 2, a);
        return;
      }
      if (a >= 1) {
        s._points = t.framePts;
        return;
      }
      const p = t.fromPts!;
      const q = t.toPts!;
      const count = q.length >> 1;
      let out = t.posePts;
      if (out === null || out.length !== count) out = t.posePts = Array.from({ length: count }, () => [0, 0] as [number, number]);
      for (let i = 0; i < count; i++) {
        out[i][0] = p[2 * i] + a * (q[2 * i] - p[2 * i]);
        out[i][1] = p[2 * i + 1] + a * (q[2 * i + 1] - p[2 * i + 1]);
      }
      s._points = out;
      return;
    }
    case NodeKind.TEXT: {
      const x = n as Text;
      x._x = lerp(f, v, 0, a);
      x._y = lerp(f, v, 1, a);
      x._size = lerp(f, v, 2, a);
      return;
    }
    case NodeKind.ASSET: {
      const s = n as Asset;
      s._x = lerp(f, v, 0, a);
      s._y = lerp(f, v, 1, a);
      s._width = lerp(f, v, 2, a);
      s._height = lerp(f, v, 3, a);
      return;
    }
    default: {
      const g = n as Group;
      g._x = lerp(f, v, 0, a);
      g._y = lerp(f, v, 1, a);
      g._scale = lerp(f, v, 2, a);
    }
  }
}
