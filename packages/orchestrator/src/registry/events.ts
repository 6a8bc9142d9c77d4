/**
 * The event feed behind `GET /v1/events`: numbers the read model's changes, keeps the recent ones
 * for resuming consumers, and hands new ones to whoever listens.
 *
 * - **Ids** are `<epoch>-<seq>`: `epoch` is the feed's start time (ms since the epoch, so a
 *   restarted orchestrator's ids sort after its predecessor's), `seq` counts the events of this
 *   epoch from 1. Every change is numbered, listened to or not.
 * - **Replay**: the last `replayEvents` events of the last `replayMs` are kept (serialised once).
 *   A consumer that comes back with `Last-Event-ID` gets exactly the events after it when all of
 *   them are still kept; otherwise it gets a `sync` (the whole read model) marked with why.
 * - **Warm-up**: after a start, the read model fills as agents reconnect. A consumer resuming with
 *   an id of an earlier run gets its `restart` sync only once `warmupMs` have passed and every
 *   connected instance has answered its first poll, so it never takes an empty fleet for the real
 *   one. (A new consumer gets its `sync` at once and sees the agents come back as events.)
 */
import type { EventEmitter } from 'eventemitter3';
import type { FleetView, OrchestratorEvents } from '../types.js';

/**
 * The events the feed carries (everything but the per-instance `sync`): the read model's changes,
 * the hosts' typed room events (`room:event`: turn ready, paused, ended with a result…) and the
 * operation log's finished operations (`operation:finished`) and the buffer autoscaler's decisions
 * (`autoscaler`), numbered, kept and replayed alike.
 */
export const FEED_EVENTS: ReadonlyArray<keyof OrchestratorEvents> = [
  'instance:join',
  'instance:leave',
  'instance:stale',
  'instance:update',
  'room:create',
  'room:destroy',
  'player:join',
  'player:leave',
  'room:event',
  'operation:finished',
  'autoscaler',
];

/**
 * Why a stream got a `sync` (its data's `reason`): `new` (no `Last-Event-ID`), `expired` (the
 * events after the given id are no longer all kept, or the id is not one of this feed's),
 * `restart` (the id is from an earlier run of the orchestrator: what happened in between is lost).
 */
export type SyncReason = 'new' | 'expired' | 'restart';

/** One numbered event of the feed, serialised once as its SSE frame. */
export interface FeedEvent {
  /** `<epoch>-<seq>`. */
  id: string;
  event: string;
  data: unknown;
}

/** Settings of the feed. Durations in ms. */
export interface FeedOptions {
  /** Most events kept for replay. */
  replayEvents: number;
  /** How long an event is kept for replay. */
  replayMs: number;
  /** Least time after {@link EventFeed.start} before the first `sync`. */
  warmupMs: number;
}

/** What resuming from a `Last-Event-ID` gives: the missed frames, or a `sync` with its reason. */
export type Resume = { kind: 'replay'; frames: string[] } | { kind: 'sync'; reason: SyncReason };

interface Kept {
  seq: number;
  at: number;
  frame: string;
}

/** The SSE wire form of one event. */
export function sseFrame(e: FeedEvent): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** Numbers, keeps and fans out read-model events. */
export class EventFeed {
  /** This run's epoch (ms since the epoch at construction). */
  readonly epoch: number;
  private seq = 0;
  private readonly kept: Kept[] = [];
  private readonly listeners = new Set<(frame: string) => void>();
  private warm = false;
  private warmTimer: ReturnType<typeof setTimeout> | null = null;
  private timeUp = false;
  private readonly warmWaiters = new Set<() => void>();

  constructor(
    source: EventEmitter<OrchestratorEvents>,
    private readonly view: FleetView,
    private readonly opts: FeedOptions,
    /** Whether some connected instance has not answered its first poll yet. */
    private readonly pendingFirstPoll: () => boolean,
  ) {
    this.epoch = Date.now();
    for (const name of FEED_EVENTS) source.on(name, (payload: unknown) => this.publish(name, payload));
    // Warm-up ends on the first check that finds every instance reported (a snapshot or a leave).
    source.on('sync', () => this.checkWarm());
    source.on('instance:leave', () => this.checkWarm());
  }

  /** Starts the warm-up clock (the orchestrator calls it once listening). */
  start(): void {
    if (this.warmTimer || this.warm) return;
    this.warmTimer = setTimeout(() => {
      this.timeUp = true;
      this.checkWarm();
    }, this.opts.warmupMs);
    this.warmTimer.unref?.();
  }

  /** Stops the warm-up clock. */
  stop(): void {
    if (this.warmTimer) clearTimeout(this.warmTimer);
  }

  /** Whether warm-up is over (a `sync` now shows the fleet as the agents report it). */
  get isWarm(): boolean {
    return this.warm;
  }

  /** Calls `fn` once warm-up is over (at once when it is); returns a function that cancels it. */
  whenWarm(fn: () => void): () => void {
    if (this.warm) {
      fn();
      return () => undefined;
    }
    this.warmWaiters.add(fn);
    return () => this.warmWaiters.delete(fn);
  }

  /** The id of the last event (`<epoch>-0` before any). */
  get lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /** Events kept for replay now. */
  get keptCount(): number {
    this.trim(Date.now());
    return this.kept.length;
  }

  /** A `sync` event: the whole read model now, with why it is sent; its id is that of the last event it includes. */
  sync(reason: SyncReason): FeedEvent {
    return { id: this.lastId, event: 'sync', data: { reason, instances: this.view.instances, rooms: this.view.rooms } };
  }

  /**
   * What a consumer that last saw `lastEventId` is owed: the frames of every event after it, when
   * all are still kept and the id is this run's; else a `sync` and why.
   */
  resume(lastEventId: string | undefined): Resume {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'sync', reason: 'new' };
    const m = /^(\d{1,16})-(\d{1,16})$/.exec(lastEventId.trim());
    if (!m) return { kind: 'sync', reason: 'expired' };
    const epoch = Number(m[1]);
    const seq = Number(m[2]);
    if (epoch < this.epoch) return { kind: 'sync', reason: 'restart' };
    if (epoch !== this.epoch || seq > this.seq) return { kind: 'sync', reason: 'expired' };
    if (seq === this.seq) return { kind: 'replay', frames: [] };
    this.trim(Date.now());
    const first = this.kept[0];
    if (!first || first.seq > seq + 1) return { kind: 'sync', reason: 'expired' };
    return { kind: 'replay', frames: this.kept.slice(seq + 1 - first.seq).map((k) => k.frame) };
  }

  /** Listens to the frames of the events after now; returns the unsubscribe function. */
  subscribe(fn: (frame: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private publish(event: string, data: unknown): void {
    const e: FeedEvent = { id: `${this.epoch}-${++this.seq}`, event, data };
    const frame = sseFrame(e);
    const now = Date.now();
    this.kept.push({ seq: this.seq, at: now, frame });
    this.trim(now);
    for (const fn of this.listeners) fn(frame);
  }

  private trim(now: number): void {
    let drop = Math.max(0, this.kept.length - this.opts.replayEvents);
    while (drop < this.kept.length && now - this.kept[drop].at > this.opts.replayMs) drop++;
    if (drop > 0) this.kept.splice(0, drop);
  }

  private checkWarm(): void {
    if (this.warm || !this.timeUp || this.pendingFirstPoll()) return;
    this.warm = true;
    for (const fn of [...this.warmWaiters]) fn();
    this.warmWaiters.clear();
  }
}
