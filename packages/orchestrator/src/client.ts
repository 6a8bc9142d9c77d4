/**
 * `FleetClient`, the typed client of the orchestrator's REST API and event stream. It is also the
 * `@parlor/orchestrator/client` entry, which loads none of the orchestrator's server code.
 */
import { randomBytes } from 'node:crypto';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent, request, type Dispatcher } from 'undici';
import { ParlorError } from '@parlor/squish';
import type { CreateRoomRequest, FleetStats, InstanceInfo, OrchestratorEvents, RoomInfo, RoomQuery, SeatReservation } from './types.js';

/** Options of {@link FleetClient}. Durations in ms. */
export interface FleetClientOptions {
  /** Orchestrator base URL, e.g. `http://127.0.0.1:7070`. */
  baseUrl: string;
  /** An admin key (sent as `Authorization: Bearer <key>`). */
  adminKey: string;
  /** Per-request timeout (headers and body). Default 10 000. */
  timeoutMs?: number;
  /** Extra attempts of `createRoom` after a 504 or a network error. Default 3. */
  retries?: number;
  /** Delay before the first retry; doubles each time. Default 100. */
  retryDelayMs?: number;
  /** An undici dispatcher; default: a keep-alive `Agent` owned by the client (closed by `close()`). */
  dispatcher?: Dispatcher;
}

/**
 * Thrown by every {@link FleetClient} method: `code` is the orchestrator's `cause` (see `FleetCause`),
 * or `NETWORK` (no HTTP answer) or `BAD_RESPONSE` (not the `/v1` envelope); `status` is the HTTP
 * status (0 for `NETWORK`).
 */
export class FleetClientError extends ParlorError {
  readonly status: number;
  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/** One SSE event: `name` is an {@link OrchestratorEvents} key or `sync` (whole read model, on every (re)connect). */
export interface FleetEvent {
  name: keyof OrchestratorEvents | 'sync' | string;
  data: unknown;
  id?: string;
}

/** A running SSE consumer. */
export interface FleetEventStream {
  /** Stops it (no reconnect). */
  close(): void;
}

/**
 * Typed client of the orchestrator's REST API `/v1` (undici). Every method resolves with the
 * envelope's `data` and throws {@link FleetClientError} on a rejection.
 *
 * `createRoom` carries the safe-retry contract: it always sends a roomId (client-generated when
 * absent), retries after a 504 or a network error, and treats `ROOM_EXISTS` on a retry, followed by
 * a successful `GET /v1/rooms/:roomId` of the same type, as success.
 */
export class FleetClient {
  private readonly base: string;
  private readonly auth: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;

  constructor(options: FleetClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.auth = `Bearer ${options.adminKey}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.ownDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  }

  /** `GET /v1/stats`. */
  stats(): Promise<FleetStats> {
    return this.call('GET', '/v1/stats');
  }
  /** `GET /v1/instances`. */
  instances(): Promise<InstanceInfo[]> {
    return this.call('GET', '/v1/instances');
  }
  /** `GET /v1/instances/:id` (id or processUid). @throws `INSTANCE_NOT_FOUND`. */
  instance(id: string): Promise<InstanceInfo> {
    return this.call('GET', `/v1/instances/${encodeURIComponent(id)}`);
  }
  /** `GET /v1/instances/:id/rooms`. @throws `INSTANCE_NOT_FOUND`. */
  instanceRooms(id: string): Promise<RoomInfo[]> {
    return this.call('GET', `/v1/instances/${encodeURIComponent(id)}/rooms`);
  }
  /** `POST /v1/instances/:id/drain`. */
  drainInstance(id: string): Promise<InstanceInfo> {
    return this.call('POST', `/v1/instances/${encodeURIComponent(id)}/drain`);
  }
  /** `POST /v1/instances/:id/undrain`. */
  undrainInstance(id: string): Promise<InstanceInfo> {
    return this.call('POST', `/v1/instances/${encodeURIComponent(id)}/undrain`);
  }
  /** `GET /v1/rooms?type=&instanceId=&label=k:v`. */
  rooms(query: RoomQuery = {}): Promise<RoomInfo[]> {
    const q = new URLSearchParams();
    if (query.type) q.set('type', query.type);
    if (query.instanceId) q.set('instanceId', query.instanceId);
    for (const [k, v] of Object.entries(query.labels ?? {})) q.append('label', `${k}:${v}`);
    const s = q.toString();
    return this.call('GET', `/v1/rooms${s ? `?${s}` : ''}`);
  }
  /** `GET /v1/rooms/:roomId`. @throws `ROOM_NOT_FOUND`. */
  room(roomId: string): Promise<RoomInfo> {
    return this.call('GET', `/v1/rooms/${encodeURIComponent(roomId)}`);
  }
  /** `POST /v1/rooms/:roomId/seats`: single-use join tickets (count 1–64, default 1; ttlMs default 60 000). @throws `ROOM_NOT_FOUND`, `VALIDATION`. */
  reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number } = {}): Promise<SeatReservation> {
    return this.call('POST', `/v1/rooms/${encodeURIComponent(roomId)}/seats`, opts);
  }
  /** `DELETE /v1/rooms/:roomId`. @throws `ROOM_NOT_FOUND`. */
  async destroyRoom(roomId: string): Promise<void> {
    await this.call('DELETE', `/v1/rooms/${encodeURIComponent(roomId)}`);
  }

  /**
   * `POST /v1/rooms` with the safe-retry contract (see the class doc).
   * @throws {FleetClientError} the last rejection (`ROOM_EXISTS` on a first attempt is a real conflict).
   */
  async createRoom(req: CreateRoomRequest): Promise<RoomInfo> {
    const body = { ...req, roomId: req.roomId ?? randomBytes(9).toString('base64url') };
    let delay = this.retryDelayMs;
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call<RoomInfo>('POST', '/v1/rooms', body);
      } catch (err) {
        const e = err as FleetClientError;
        let retriable = e.code === 'NETWORK' || e.status === 504;
        if (e.code === 'ROOM_EXISTS' && retried) {
          // An earlier attempt may have succeeded: the room is ours if it is there with our type.
          // Not there yet means that attempt is still in flight (its id stays reserved): try again.
          try {
            const room = await this.room(body.roomId);
            if (room.type === body.type) return room;
            throw e;
          } catch (g) {
            if ((g as FleetClientError).code !== 'ROOM_NOT_FOUND') throw g;
            retriable = true;
          }
        }
        if (!retriable || attempt >= this.retries) throw e;
        retried = true;
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  /**
   * Consumes `GET /v1/events`. Reconnects with backoff (1 s up to 10 s) after any drop; each
   * (re)connect starts with a `sync` event carrying the whole read model, so a consumer that
   * rebuilds its state from `sync` never misses a change.
   */
  events(onEvent: (e: FleetEvent) => void, opts: { onError?: (err: Error) => void } = {}): FleetEventStream {
    let closed = false;
    let abort: AbortController | null = null;
    let backoff = 1000;
    const run = async (): Promise<void> => {
      while (!closed) {
        abort = new AbortController();
        try {
          const res = await request(`${this.base}/v1/events`, {
            method: 'GET',
            headers: { authorization: this.auth, accept: 'text/event-stream' },
            dispatcher: this.dispatcher,
            signal: abort.signal,
            headersTimeout: this.timeoutMs,
            bodyTimeout: 0,
          });
          if (res.statusCode !== 200) {
            const text = await res.body.text();
            throw envelopeError(res.statusCode, text);
          }
          backoff = 1000;
          let tooLarge: Error | null = null;
          const parser = createParser({
            maxBufferSize: MAX_SSE_EVENT_CHARS,
            onEvent: (m) => onEvent(toFleetEvent(m)),
            onError: (err) => {
              tooLarge = err;
            },
          });
          const text = new TextDecoder();
          for await (const chunk of res.body) {
            parser.feed(text.decode(chunk as Buffer, { stream: true }));
            if (tooLarge) throw tooLarge;
          }
        } catch (err) {
          if (closed) return;
          opts.onError?.(err as Error);
        }
        if (closed) return;
        await sleep(backoff);
        backoff = Math.min(10_000, backoff * 2);
      }
    };
    void run();
    return {
      close() {
        closed = true;
        abort?.abort();
      },
    };
  }

  /** Closes the client's own connection pool. */
  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.close();
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.base}${path}`, {
        method,
        headers: { authorization: this.auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new FleetClientError('NETWORK', 0, `${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new FleetClientError('NETWORK', 0, `${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        const env = JSON.parse(text) as { status?: string; data?: T };
        if (env.status === 'OK') return env.data as T;
      } catch {
        // fall through
      }
      throw new FleetClientError('BAD_RESPONSE', res.statusCode, `${method} ${path}: not a /v1 envelope`);
    }
    throw envelopeError(res.statusCode, text, `${method} ${path}`);
  }
}

function envelopeError(status: number, text: string, what = ''): FleetClientError {
  try {
    const env = JSON.parse(text) as { status?: string; cause?: string; message?: string };
    if (env.status === 'rejected' && typeof env.cause === 'string') {
      return new FleetClientError(env.cause, status, `${what ? `${what}: ` : ''}${env.message ?? env.cause}`);
    }
  } catch {
    // fall through
  }
  return new FleetClientError('BAD_RESPONSE', status, `${what ? `${what}: ` : ''}HTTP ${status}`);
}

/** Largest event the stream buffers (characters); a larger one drops the stream, which reconnects. */
const MAX_SSE_EVENT_CHARS = 128 * 1024 * 1024;

/** One parsed SSE message as a {@link FleetEvent}: JSON data parsed (kept as text when it is not JSON). */
function toFleetEvent(m: EventSourceMessage): FleetEvent {
  const name = m.event ?? 'message';
  try {
    return { name, id: m.id, data: JSON.parse(m.data) };
  } catch {
    return { name, id: m.id, data: m.data };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
