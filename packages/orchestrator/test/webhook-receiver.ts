/**
 * A real webhook receiver for tests: node:http on 127.0.0.1 (port 0, or a given one to come back
 * on), recording every request (headers and raw body) and answering with what `answer` says:
 * a status, or `'hang'` (never answers: an endpoint that accepts and stalls). And a memory host
 * that emits room events as a game server does, for a real fleet agent to carry.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RoomEvent } from '@parlor/squish';
import { MemoryHost } from './helpers.js';

/** One request the receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  /** The raw body (as signed). */
  raw: string;
  body: { id: string; kind: string; idempotencyKey: string; payload: Record<string, unknown>; createdAt: number };
  /** The status it was answered with (`0` for a hung request). */
  status: number;
}

/** A running receiver. */
export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Requests answered 2xx. */
  readonly ok: () => Received[];
  /** What the next request gets (by the count of requests before it). */
  answer: (n: number) => number | 'hang';
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (`port` 0: a free one). */
export async function startReceiver(answer: (n: number) => number | 'hang' = () => 200, port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const hung = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const a = r.answer(received.length);
      const entry: Received = { headers: req.headers, raw, body: JSON.parse(raw) as Received['body'], status: a === 'hang' ? 0 : a };
      received.push(entry);
      if (a === 'hang') return void hung.add(res);
      res.writeHead(a, { 'content-type': 'text/plain' }).end(a < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  const r: Receiver = {
    url: `http://127.0.0.1:${p}/hook`,
    port: p,
    received,
    ok: () => received.filter((e) => e.status >= 200 && e.status < 300),
    answer,
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return r;
}

/** A memory host that emits room events as a game server does (`FleetHost.onRoomEvent`). */
export class EventingHost extends MemoryHost {
  private readonly listeners = new Set<(event: RoomEvent) => void>();
  onRoomEvent(listener: (event: RoomEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emitRoomEvent(event: RoomEvent): void {
    for (const l of this.listeners) l(event);
  }
}
