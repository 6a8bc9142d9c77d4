/**
 * The SSE transport of `GET /v1/events`: open streams, resume from `Last-Event-ID`, keep-alive
 * pings, and a bounded buffer per consumer.
 *
 * Each event is serialised once (by the feed) and written to every live stream. The events of one
 * change of the fleet (an instance leaving with its rooms, a snapshot with many new rooms: one
 * turn of the event loop) are a burst, written whole. A stream that still holds more than
 * `sseMaxBufferBytes` unsent when the next burst (or keep-alive ping) comes, that is a consumer
 * that stopped reading or reads slower than the fleet changes, gets a last `overflow` event and is
 * closed. A consumer thus costs at most the bound plus one burst (a burst is bounded by one agent
 * snapshot, 4 MiB); it reconnects with `Last-Event-ID` and is resumed or resynchronised.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OrchestratorMetrics } from '../metrics.js';
import { sseFrame, type EventFeed } from '../registry/events.js';

/** Settings of the streams (from the orchestrator's options). */
export interface SseOptions {
  maxSseStreams: number;
  sseKeepAliveMs: number;
  sseMaxBufferBytes: number;
}

interface Consumer {
  res: ServerResponse;
  /** Receives live events (its `sync` or replay is written). */
  live: boolean;
  /** Dropped for overflow: nothing more is written. */
  dropped: boolean;
}

/** How long a dropped stream's socket is given to flush its `overflow` event before it is destroyed (ms). */
const DROP_GRACE_MS = 5000;

/** The open event streams. */
export class SseStreams {
  private readonly consumers = new Set<Consumer>();
  private unsubscribe: (() => void) | null = null;
  /** Within a burst (the rest of this event-loop turn): streams are not checked again. */
  private inBurst = false;

  constructor(
    private readonly feed: EventFeed,
    private readonly opts: SseOptions,
    private readonly metrics: OrchestratorMetrics,
  ) {}

  /** Whether a new stream would go over `maxSseStreams`. */
  get full(): boolean {
    return this.consumers.size >= this.opts.maxSseStreams;
  }

  /** Open streams now. */
  get size(): number {
    return this.consumers.size;
  }

  /**
   * Turns the response into an event stream. With a `Last-Event-ID` (header, or `?lastEventId=`
   * for clients that cannot set headers) whose following events are all kept, the stream starts
   * with exactly those; otherwise with a `sync` of the whole read model (`reason` says why). A
   * `restart` sync (the id is from before this run) is sent once the feed's warm-up is over.
   */
  open(req: IncomingMessage, res: ServerResponse, lastEventId: string | undefined): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const c: Consumer = { res, live: false, dropped: false };
    this.consumers.add(c);
    this.metrics.sseConsumers.set(this.consumers.size);
    // Events are serialised once for every stream; the feed is listened to only while a stream is open.
    this.unsubscribe ??= this.feed.subscribe((frame) => {
      const check = !this.inBurst;
      if (check) {
        this.inBurst = true;
        setImmediate(() => (this.inBurst = false));
      }
      for (const s of this.consumers) if (s.live && (!check || this.keepsUp(s))) s.res.write(frame);
    });
    let cancelWait = (): void => undefined;
    const resume = this.feed.resume(lastEventId);
    if (resume.kind === 'replay') {
      res.write(resume.frames.join(''));
      c.live = true;
    } else if (resume.reason === 'restart') {
      // A consumer that knew the fleet before this restart: its sync waits for the agents to report.
      cancelWait = this.feed.whenWarm(() => {
        if (c.dropped || res.destroyed) return;
        c.live = true;
        res.write(sseFrame(this.feed.sync('restart')));
      });
    } else {
      c.live = true;
      res.write(sseFrame(this.feed.sync(resume.reason)));
    }
    const ping = setInterval(() => {
      if (this.keepsUp(c)) res.write(': ping\n\n');
    }, this.opts.sseKeepAliveMs);
    res.on('close', () => {
      clearInterval(ping);
      cancelWait();
      this.consumers.delete(c);
      this.metrics.sseConsumers.set(this.consumers.size);
      this.idle();
    });
    req.socket.setTimeout(0);
  }

  /** Ends every stream, each with a last `shutdown` event (`{ reason }`). */
  closeAll(): void {
    // a last `shutdown` event tells the consumer the orchestrator went away on purpose (it reconnects as after any drop)
    for (const c of this.consumers) c.res.end(`event: shutdown\ndata: ${JSON.stringify({ reason: 'orchestrator shutting down' })}\n\n`);
    this.consumers.clear();
    this.metrics.sseConsumers.set(0);
    this.idle();
  }

  /** Whether the stream may be written to: not dropped, and not holding more than the bound unsent (else it is dropped now). */
  private keepsUp(c: Consumer): boolean {
    if (c.dropped) return false;
    const buffered = c.res.writableLength;
    if (buffered <= this.opts.sseMaxBufferBytes) return true;
    this.drop(c, buffered);
    return false;
  }

  /** Drops a consumer that fell behind: a last `overflow` event (past the bound), then the stream ends. */
  private drop(c: Consumer, buffered: number): void {
    c.dropped = true;
    c.live = false;
    // it no longer counts as a stream (slot and gauge); its socket lingers only to flush the last event
    this.consumers.delete(c);
    this.metrics.sseConsumers.set(this.consumers.size);
    this.metrics.sseDropped.inc({ reason: 'overflow' });
    this.idle();
    const data = { bufferedBytes: buffered, maxBufferBytes: this.opts.sseMaxBufferBytes };
    // the response's socket (the response lets go of it once finished): closed, not kept alive for
    // another request, once the last event is flushed; destroyed if the consumer never reads it
    const socket = c.res.socket;
    c.res.end(`event: overflow\ndata: ${JSON.stringify(data)}\n\n`, () => socket?.end());
    const t = setTimeout(() => socket?.destroy(), DROP_GRACE_MS);
    t.unref?.();
    socket?.once('close', () => clearTimeout(t));
  }

  private idle(): void {
    if (this.consumers.size > 0 || !this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = null;
  }
}
