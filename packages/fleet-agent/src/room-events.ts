/**
 * The agent's outbox of room events (fleet protocol 1.3): the host's typed events, sent to the
 * orchestrator as `roomEvent` frames in the order the host emitted them, within
 * {@link ROOM_EVENT_LIMITS} (a rate with bursts; the rest waits in a bounded queue, also while the
 * agent is disconnected, oldest dropped first). Owns no socket: the agent tells it where events go.
 */
import { TokenBucket, type RoomEvent } from '@parlor/squish';
import type { FleetAgentLogger } from './options.js';
import { ROOM_EVENT_LIMITS } from './protocol.js';

/** Where queued events go now: `send` them (a session with an orchestrator of minor ≥ 3), `hold` them (no session), or `drop` them (an older orchestrator takes none). */
export type RoomEventRoute = { mode: 'send'; send: (event: RoomEvent) => void } | { mode: 'hold' } | { mode: 'drop' };

/** See the file's opening comment. */
export class RoomEventOutbox {
  private readonly queue: RoomEvent[] = [];
  private readonly bucket = new TokenBucket(ROOM_EVENT_LIMITS.perSecond, ROOM_EVENT_LIMITS.burst);
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Events dropped since the last warning about it (the queue was full). */
  private overflowed = 0;

  constructor(
    private readonly route: () => RoomEventRoute,
    private readonly logger: FleetAgentLogger,
  ) {}

  /** Events waiting to be sent. */
  get size(): number {
    return this.queue.length;
  }

  /** Queues one event of the host and sends what the rate allows. An event over the size cap is dropped with a warning. */
  push(event: RoomEvent): void {
    let bytes: number;
    try {
      bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, 'room event not serialisable; dropped');
      return;
    }
    if (bytes > ROOM_EVENT_LIMITS.eventBytes) {
      this.logger.warn({ kind: String(event?.kind).slice(0, 32), room: String(event?.roomId).slice(0, 64), bytes, max: ROOM_EVENT_LIMITS.eventBytes }, 'room event over the size cap; dropped');
      return;
    }
    if (this.route().mode === 'drop') return;
    this.queue.push(event);
    if (this.queue.length > ROOM_EVENT_LIMITS.queue) {
      this.queue.shift();
      if (this.overflowed++ === 0) this.logger.warn({ max: ROOM_EVENT_LIMITS.queue }, 'room event queue full; dropping the oldest events');
    }
    this.flush();
  }

  /** Sends queued events as the rate allows (call it when a session starts); an older orchestrator's session drops them. */
  flush(): void {
    const route = this.route();
    if (route.mode === 'drop') {
      this.queue.length = 0;
      return;
    }
    if (route.mode === 'hold') return;
    while (this.queue.length > 0 && this.bucket.take()) route.send(this.queue.shift()!);
    if (this.queue.length === 0 && this.overflowed > 0) {
      this.logger.warn({ dropped: this.overflowed }, 'room event queue drained; events were dropped while it was full');
      this.overflowed = 0;
    }
    if (this.queue.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, Math.ceil(1000 / ROOM_EVENT_LIMITS.perSecond));
      this.timer.unref?.();
    }
  }

  /** Stops the retry timer (the queue is kept). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
