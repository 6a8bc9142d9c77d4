/** The SSE transport of `GET /v1/events`: open streams, keep-alive pings, the wire format. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventFeed, FeedEvent } from '../registry/events.js';

function frame(e: FeedEvent): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** The open event streams. */
export class SseStreams {
  private readonly streams = new Set<ServerResponse>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly feed: EventFeed,
    private readonly opts: { maxSseStreams: number; sseKeepAliveMs: number },
  ) {}

  /** Whether a new stream would go over `maxSseStreams`. */
  get full(): boolean {
    return this.streams.size >= this.opts.maxSseStreams;
  }

  /** Turns the response into an event stream; it starts with a `sync` of the whole read model. */
  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    this.streams.add(res);
    // Events are serialised once for every stream; the feed is listened to only while a stream is open.
    this.unsubscribe ??= this.feed.subscribe((e) => {
      const msg = frame(e);
      for (const s of this.streams) s.write(msg);
    });
    // A new stream (or a reconnect) starts with the whole read model: consumers resynchronise from it.
    res.write(`retry: 1000\n${frame(this.feed.sync())}`);
    const ping = setInterval(() => res.write(': ping\n\n'), this.opts.sseKeepAliveMs);
    res.on('close', () => {
      clearInterval(ping);
      this.streams.delete(res);
      this.idle();
    });
    req.socket.setTimeout(0);
  }

  /** Ends every stream. */
  closeAll(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.idle();
  }

  private idle(): void {
    if (this.streams.size > 0 || !this.unsubscribe) return;
    this.unsubscribe();
    this.unsubscribe = null;
  }
}
