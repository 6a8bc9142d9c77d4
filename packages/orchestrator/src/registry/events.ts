/**
 * The event feed behind `GET /v1/events`: numbers the read model's changes (one sequence for the
 * `sync` snapshot and the events after it) and hands them to whoever listens. No replay: a new or
 * reconnecting consumer starts from a `sync` of the whole read model.
 */
import type { EventEmitter } from 'eventemitter3';
import type { FleetView, OrchestratorEvents } from '../types.js';

/** The events the feed carries (everything but the per-instance `sync`). */
export const FEED_EVENTS: ReadonlyArray<keyof OrchestratorEvents> = [
  'instance:join',
  'instance:leave',
  'instance:stale',
  'instance:update',
  'room:create',
  'room:destroy',
];

/** One numbered event of the feed. */
export interface FeedEvent {
  id: number;
  event: string;
  data: unknown;
}

/** Numbers and fans out read-model events; ids are only spent while someone listens. */
export class EventFeed {
  private seq = 0;
  private readonly listeners = new Set<(e: FeedEvent) => void>();

  constructor(
    source: EventEmitter<OrchestratorEvents>,
    private readonly view: FleetView,
  ) {
    for (const name of FEED_EVENTS) source.on(name, (payload: unknown) => this.publish(name, payload));
  }

  /** A `sync` event: the whole read model now (instances and rooms). */
  sync(): FeedEvent {
    return { id: ++this.seq, event: 'sync', data: { instances: this.view.instances, rooms: this.view.rooms } };
  }

  /** Listens to the events after now; returns the unsubscribe function. */
  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private publish(event: string, data: unknown): void {
    if (this.listeners.size === 0) return;
    const e = { id: ++this.seq, event, data };
    for (const fn of this.listeners) fn(e);
  }
}
