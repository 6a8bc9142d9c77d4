/**
 * `FleetClient`, the typed client of the orchestrator's REST API and event stream. It is also the
 * `@parlor/orchestrator/client` entry, which loads none of the orchestrator's server code.
 */
import { randomBytes } from 'node:crypto';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Agent, request, type Dispatcher } from 'undici';
import { backoffDelay, ParlorError, type BackoffOptions } from '@parlor/squish';
import type { FleetCauseValue } from './errors.js';
import type { Operation } from '@parlor/squish';
import type { OperationQuery } from './operations/log.js';
import type { CreateRoomRequest, FleetStats, InstanceInfo, OrchestratorEvents, RoomInfo, RoomOperationResult, RoomQuery, RoomStopResult, SeatReservation } from './types.js';

/** Options of {@link FleetClient}. Durations in ms. */
export interface FleetClientOptions {
  /** Orchestrator base URL, e.g. `http://127.0.0.1:7070`. */
  baseUrl: string;
  /** An admin key (sent as `Authorization: Bearer <key>`). */
  adminKey: string;
  /** Per-request timeout (headers and body), ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Extra attempts of `createRoom` after a 504 or a network error (an integer ≥ 0). Default 3.
   * Waiting for an earlier attempt still in flight (see {@link FleetClient}) spends none of them.
   */
  retries?: number;
  /**
   * Ceiling of the delay before `createRoom`'s first retry, ms. Delays use squish's `backoffDelay`
   * ("full jitter": uniformly random below a ceiling that doubles per retry, up to
   * `retryMaxDelayMs`). Default 100.
   */
  retryDelayMs?: number;
  /** Largest ceiling of `createRoom`'s retry delay, ms. Default 2 000. */
  retryMaxDelayMs?: number;
  /**
   * Ceiling of the delay before the event stream's first reconnect, ms; it doubles per failed
   * attempt up to `reconnectMaxDelayMs` and starts over once a stream delivers an event (full
   * jitter, as `retryDelayMs`). Default 1 000.
   */
  reconnectDelayMs?: number;
  /** Largest ceiling of the event stream's reconnect delay, ms. Default 10 000. */
  reconnectMaxDelayMs?: number;
  /** An undici dispatcher; default: a keep-alive `Agent` owned by the client (closed by `close()`). */
  dispatcher?: Dispatcher;
}

/**
 * The codes of {@link FleetClientError} that are the client's own, all `ORCHESTRATOR_CLIENT_*` (a
 * rejection by the orchestrator carries its bare REST `cause` instead, see `FleetCause`).
 * Callers switch on `error.code`, never on messages.
 */
export const FleetClientErrorCode = {
  /**
   * No HTTP answer: connection refused or reset, a name that does not resolve, no headers or body
   * within `timeoutMs`. `status` is 0; `cause` is undici's error. `createRoom` retries it.
   */
  NETWORK: 'ORCHESTRATOR_CLIENT_NETWORK',
  /**
   * An answer that is not the `/v1` envelope (a wrong `baseUrl`, a proxy in the way), or an event
   * of the event stream over 128 MiB (the stream drops and reconnects). `status` is the HTTP status.
   */
  BAD_RESPONSE: 'ORCHESTRATOR_CLIENT_BAD_RESPONSE',
  /** Invalid {@link FleetClientOptions} (a `baseUrl` that is not http(s), a negative duration…); thrown by the constructor. */
  CONFIG: 'ORCHESTRATOR_CLIENT_CONFIG',
} as const;

/** One of {@link FleetClientErrorCode}'s values. */
export type FleetClientErrorCodeValue = (typeof FleetClientErrorCode)[keyof typeof FleetClientErrorCode];

/**
 * Thrown by every {@link FleetClient} method (and given to `events()`'s `onError`): `code` is the
 * orchestrator's REST `cause` (a `FleetCause`, e.g. `ROOM_NOT_FOUND`; a newer orchestrator may send
 * one this client does not know, kept as it is) or one of {@link FleetClientErrorCode};
 * `status` is the HTTP status (0 for `ORCHESTRATOR_CLIENT_NETWORK` and `ORCHESTRATOR_CLIENT_CONFIG`);
 * `cause` is the underlying error, when there is one.
 */
export class FleetClientError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.FleetClientError');
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  /**
   * @param code a REST cause or a {@link FleetClientErrorCode}.
   * @param status the HTTP status, 0 when there was no answer.
   * @param options.cause the underlying error, kept as `error.cause`.
   */
  constructor(code: FleetCauseValue | FleetClientErrorCodeValue, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/**
 * One SSE event: `name` is an {@link OrchestratorEvents} key, `sync` (the whole read model:
 * `{ reason, instances, rooms }`, first on a connect that cannot resume) or `overflow` (the
 * orchestrator drops this stream: it read too slowly; it reconnects) or `shutdown` (the
 * orchestrator is stopping; it reconnects). `id` is `<epoch>-<seq>`.
 */
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
 * envelope's `data` and throws {@link FleetClientError} on a rejection or a failure.
 *
 * `createRoom` carries the safe-retry contract: it always sends a roomId (client-generated when
 * absent), retries after a 504 or a network error, and treats `ROOM_EXISTS` on a retry, followed by
 * a successful `GET /v1/rooms/:roomId` of the same type (or catalog game and named version), as success.
 * A create by catalog `game` (`{ game: 'pong', env: 'prod' }`, `{ game: 'pong@1.2.0' }`) is sent as it is.
 * It never reports a failure for a create that may still land: the orchestrator keeps the roomId
 * reserved until it knows an attempt's outcome and answers a retry with it (the room, or a fresh
 * create when the attempt did not happen); `ROOM_EXISTS` on a retry with no room yet means an
 * attempt is still in flight, which the client waits for (up to `timeoutMs`, spending no retry).
 * When the outcome is still unknown after all that, it throws `COMMAND_TIMEOUT` (504): call
 * `createRoom` again later with the same roomId to learn it. `NO_CANDIDATE` on a retry is retried
 * too (a restarted orchestrator whose agents are not back yet); on a first attempt it is thrown.
 */
export class FleetClient {
  private readonly base: string;
  private readonly auth: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoff: BackoffOptions;
  private readonly reconnectBackoff: BackoffOptions;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;

  /** @throws {FleetClientError} `ORCHESTRATOR_CLIENT_CONFIG` on invalid options. */
  constructor(options: FleetClientOptions) {
    this.base = baseUrl(options.baseUrl);
    if (typeof options.adminKey !== 'string' || options.adminKey === '' || /\s/.test(options.adminKey)) throw configError('adminKey must be a non-empty string without whitespace');
    this.auth = `Bearer ${options.adminKey}`;
    this.timeoutMs = duration('timeoutMs', options.timeoutMs, 10_000);
    this.retries = options.retries ?? 3;
    if (!Number.isInteger(this.retries) || this.retries < 0) throw configError(`retries must be an integer ≥ 0 (got ${String(options.retries)})`);
    this.retryBackoff = { initialMs: duration('retryDelayMs', options.retryDelayMs, 100), maxMs: duration('retryMaxDelayMs', options.retryMaxDelayMs, 2000) };
    this.reconnectBackoff = { initialMs: duration('reconnectDelayMs', options.reconnectDelayMs, 1000), maxMs: duration('reconnectMaxDelayMs', options.reconnectMaxDelayMs, 10_000) };
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
  /**
   * `POST /v1/rooms/:roomId/seats`: single-use join tickets (count 1–64, default 1; ttlMs default 60 000).
   * Seats never oversell: players + live tickets + `count` ≤ the game's `maxPlayers` (expired tickets free their seats).
   * @throws {FleetClientError} `ROOM_FULL` (409) when fewer than `count` seats are free (the message says how many are),
   *   `ROOM_NOT_FOUND`, `VALIDATION`. With `userIds` (one per seat), ticket i admits only the signed-in player with that user id.
   */
  reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number; userIds?: string[] } = {}): Promise<SeatReservation> {
    return this.call('POST', `/v1/rooms/${encodeURIComponent(roomId)}/seats`, opts);
  }
  /**
   * `DELETE /v1/rooms/:roomId`: stops the room, recorded in the operation log as `stop`
   * (`operation`; `state` is `null`). A room that ended by itself meanwhile (racing its natural
   * end, or its instance left) is `{ ok: true, alreadyGone: true }`, not an error.
   * @throws `ROOM_NOT_FOUND` (never known, or ended over 10 minutes ago).
   */
  destroyRoom(roomId: string): Promise<RoomStopResult> {
    return this.call('DELETE', `/v1/rooms/${encodeURIComponent(roomId)}`);
  }
  /**
   * `POST /v1/rooms/:roomId/pause`: ticks and turns stop; players stay connected and see the paused
   * state with `reason` (≤ 200 characters; default the host's). Every lifecycle call resolves with the
   * recorded operation (`succeeded`) and the room's state after it, and throws a {@link FleetClientError}
   * whose `code` is the REST cause (the failed operation is recorded; its id is in the message):
   * `ROOM_NOT_FOUND` (404), `ROOM_FINISHED`, `INSTANCE_UNSUPPORTED` (the room's host is older than
   * fleet protocol 1.3) (409), `COMMAND_FAILED`, `INSTANCE_DISCONNECTED` (502), `COMMAND_TIMEOUT` (504).
   */
  pauseRoom(roomId: string, opts: { reason?: string } = {}): Promise<RoomOperationResult> {
    return this.lifecycle(roomId, 'pause', opts.reason !== undefined ? { reason: opts.reason } : {});
  }
  /** `POST /v1/rooms/:roomId/resume` (errors as {@link pauseRoom}). */
  resumeRoom(roomId: string): Promise<RoomOperationResult> {
    return this.lifecycle(roomId, 'resume');
  }
  /** `POST /v1/rooms/:roomId/restart`: the same version again from its saved state; players stay connected (errors as {@link pauseRoom}). */
  restartRoom(roomId: string): Promise<RoomOperationResult> {
    return this.lifecycle(roomId, 'restart');
  }
  /**
   * `POST /v1/rooms/:roomId/patch`: moves the room to `version` of its game (a catalog version within
   * the same major.minor) from its saved state; players stay connected.
   * @throws {FleetClientError} as {@link pauseRoom}, and `PATCH_SEMVER_INCOMPATIBLE` / `NOT_VERSIONED`
   *   (409), the catalog's `UNKNOWN_VERSION` (404), `NO_CATALOG` (409), `CATALOG_UNAVAILABLE` (502).
   */
  patchRoom(roomId: string, version: string): Promise<RoomOperationResult> {
    return this.lifecycle(roomId, 'patch', { version });
  }
  /** `POST /v1/rooms/:roomId/turn`: generates the next turn now; resolves once it is generated. @throws as {@link pauseRoom}, and `NOT_TURN_BASED` (409). */
  forceTurn(roomId: string): Promise<RoomOperationResult> {
    return this.lifecycle(roomId, 'turn');
  }
  /**
   * `GET /v1/operations` (with `roomId`: `GET /v1/rooms/:roomId/operations`): the operation log,
   * newest first, filtered by state, op and creation time; `next` is the `before` of the next page (`null`: none).
   */
  operations(query: OperationQuery = {}): Promise<{ operations: Operation[]; next: string | null }> {
    const q = new URLSearchParams();
    for (const k of ['state', 'op', 'since', 'until', 'limit', 'before'] as const) if (query[k] !== undefined) q.set(k, String(query[k]));
    const s = q.toString() ? `?${q.toString()}` : '';
    return this.call('GET', query.roomId !== undefined ? `/v1/rooms/${encodeURIComponent(query.roomId)}/operations${s}` : `/v1/operations${s}`);
  }

  private lifecycle(roomId: string, op: string, body: Record<string, unknown> = {}): Promise<RoomOperationResult> {
    return this.call('POST', `/v1/rooms/${encodeURIComponent(roomId)}/${op}`, body);
  }

  /**
   * `POST /v1/rooms` with the safe-retry contract (see the class doc).
   * @throws {FleetClientError} the last rejection (`ROOM_EXISTS` on a first attempt is a real conflict);
   *   `COMMAND_TIMEOUT` (504) when an earlier attempt is still in flight after `timeoutMs` of waiting.
   */
  async createRoom(req: CreateRoomRequest): Promise<RoomInfo> {
    const body = { ...req, roomId: req.roomId ?? randomBytes(9).toString('base64url') };
    let retried = false;
    let inFlightSince: number | null = null;
    for (let attempt = 0; ; ) {
      try {
        return await this.call<RoomInfo>('POST', '/v1/rooms', body);
      } catch (err) {
        const e = err as FleetClientError;
        // NO_CANDIDATE on a retry: the orchestrator may have restarted and its agents not be back yet
        const retriable = e.code === FleetClientErrorCode.NETWORK || e.status === 504 || (retried && e.code === NO_CANDIDATE);
        let inFlight = false;
        if (e.code === ROOM_EXISTS && retried) {
          // An earlier attempt may have succeeded: the room is ours if it is there with our type
          // (or our catalog game, and its version when we named one).
          // Not there yet means that attempt is still in flight (its id stays reserved): wait for it.
          try {
            const room = await this.room(body.roomId);
            if (body.game === undefined ? room.type === body.type : sameGame(room, body.game)) return room;
            throw e;
          } catch (g) {
            if ((g as FleetClientError).code !== ROOM_NOT_FOUND) throw g;
            inFlight = true;
          }
        }
        if (inFlight) {
          inFlightSince ??= Date.now();
          if (Date.now() - inFlightSince > this.timeoutMs) {
            throw new FleetClientError(COMMAND_TIMEOUT, 504, `an earlier attempt to create room ${body.roomId} is still in flight after ${this.timeoutMs} ms; its id stays reserved: call createRoom again with this roomId to learn its outcome`, { cause: e });
          }
        } else {
          if (!retriable || attempt >= this.retries) throw e;
          attempt++;
        }
        retried = true;
        await sleep(backoffDelay(attempt + 1, Math.random(), this.retryBackoff));
      }
    }
  }

  /**
   * Consumes `GET /v1/events`. Reconnects after any drop (the orchestrator's `overflow` included),
   * after a delay from squish's `backoffDelay` (full jitter; ceilings from `reconnectDelayMs`,
   * default 1 000 ms, doubling up to `reconnectMaxDelayMs`, default 10 000 ms; back to the first
   * once a stream delivers an event). A reconnect sends `Last-Event-ID` (the id of the last event
   * `onEvent` returned from): the orchestrator then resends exactly the events missed, or, when
   * it no longer holds them all (or restarted), starts with a `sync` carrying the whole read model
   * (`data.reason`: `expired`, `restart`). The first connect starts with a `sync` (`reason: 'new'`).
   * A consumer that rebuilds its state from `sync` and applies the other events never misses a change.
   * @param opts.onError called with each failure before the reconnect: a {@link FleetClientError}
   *   (a refusal such as `UNAUTHORIZED` or `SSE_LIMIT`, `ORCHESTRATOR_CLIENT_NETWORK`,
   *   `ORCHESTRATOR_CLIENT_BAD_RESPONSE`), or what `onEvent` itself threw, unchanged (it drops the
   *   stream too).
   */
  events(onEvent: (e: FleetEvent) => void, opts: { onError?: (err: Error) => void } = {}): FleetEventStream {
    let closed = false;
    let abort: AbortController | null = null;
    let lastEventId: string | undefined;
    const run = async (): Promise<void> => {
      let attempt = 0;
      while (!closed) {
        abort = new AbortController();
        try {
          await this.stream(abort.signal, lastEventId, (e) => {
            attempt = 0;
            onEvent(e);
            // only an event the consumer took counts as seen: one it threw on is sent again
            if (e.id) lastEventId = e.id;
          });
        } catch (err) {
          if (closed) return;
          opts.onError?.(err as Error);
        }
        if (closed) return;
        await sleep(backoffDelay(++attempt, Math.random(), this.reconnectBackoff));
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

  /** One event stream, until it ends or fails; `deliver`'s own exceptions go through unchanged. */
  private async stream(signal: AbortSignal, lastEventId: string | undefined, deliver: (e: FleetEvent) => void): Promise<void> {
    const what = 'GET /v1/events';
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.base}/v1/events`, {
        method: 'GET',
        headers: { authorization: this.auth, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        dispatcher: this.dispatcher,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: 0,
      });
    } catch (err) {
      throw networkError(what, err);
    }
    const body = res.body;
    try {
      if (res.statusCode !== 200) {
        let text: string;
        try {
          text = await body.text();
        } catch (err) {
          throw networkError(what, err);
        }
        throw envelopeError(res.statusCode, text, what);
      }
      let tooLarge: Error | null = null;
      const parser = createParser({
        maxBufferSize: MAX_SSE_EVENT_CHARS,
        onEvent: (m) => deliver(toFleetEvent(m)),
        onError: (err) => {
          tooLarge = err;
        },
      });
      const text = new TextDecoder();
      const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await chunks.next();
        } catch (err) {
          throw networkError(what, err);
        }
        if (next.done) return;
        parser.feed(text.decode(next.value, { stream: true }));
        if (tooLarge) throw new FleetClientError(FleetClientErrorCode.BAD_RESPONSE, res.statusCode, `${what}: an event over ${MAX_SSE_EVENT_CHARS} characters`, { cause: tooLarge });
      }
    } finally {
      body.destroy();
    }
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
      throw networkError(`${method} ${path}`, err);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw networkError(`${method} ${path}`, err);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        const env = JSON.parse(text) as { status?: string; data?: T };
        if (env.status === 'OK') return env.data as T;
      } catch {
        // fall through
      }
      throw new FleetClientError(FleetClientErrorCode.BAD_RESPONSE, res.statusCode, `${method} ${path}: not a /v1 envelope`);
    }
    throw envelopeError(res.statusCode, text, `${method} ${path}`);
  }
}

/** The REST causes the client itself acts on (it loads nothing of the orchestrator, so not `FleetCause`). */
const ROOM_EXISTS: FleetCauseValue = 'ROOM_EXISTS';
const ROOM_NOT_FOUND: FleetCauseValue = 'ROOM_NOT_FOUND';
const COMMAND_TIMEOUT: FleetCauseValue = 'COMMAND_TIMEOUT';
const NO_CANDIDATE: FleetCauseValue = 'NO_CANDIDATE';

/** The error of a non-2xx answer: its REST `cause` (kept as it is), or `BAD_RESPONSE` when it is not the envelope. */
function envelopeError(status: number, text: string, what: string): FleetClientError {
  try {
    const env = JSON.parse(text) as { status?: string; cause?: string; message?: string };
    if (env.status === 'rejected' && typeof env.cause === 'string') {
      return new FleetClientError(env.cause as FleetCauseValue, status, `${what}: ${env.message ?? env.cause}`);
    }
  } catch {
    // fall through
  }
  return new FleetClientError(FleetClientErrorCode.BAD_RESPONSE, status, `${what}: HTTP ${status}`);
}

/** `ORCHESTRATOR_CLIENT_NETWORK` for undici's `err` (kept as `cause`). */
function networkError(what: string, err: unknown): FleetClientError {
  return new FleetClientError(FleetClientErrorCode.NETWORK, 0, `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function configError(message: string): FleetClientError {
  return new FleetClientError(FleetClientErrorCode.CONFIG, 0, `FleetClient: ${message}`);
}

/** `baseUrl` without trailing slashes, checked to be an http(s) URL. */
function baseUrl(v: unknown): string {
  let url: URL;
  try {
    url = new URL(String(v));
  } catch (err) {
    throw new FleetClientError(FleetClientErrorCode.CONFIG, 0, `FleetClient: baseUrl is not a URL: ${String(v).slice(0, 200)}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError(`baseUrl must be http: or https: (got ${url.protocol})`);
  return String(v).replace(/\/+$/, '');
}

/** A duration option in ms: a finite number ≥ 0, or `def` when absent. */
function duration(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw configError(`${name} must be a number of ms ≥ 0 (got ${String(v)})`);
  return v;
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

/** Whether a room runs the catalog game `pong` (any version) or `pong@1.2.0` (that version). */
function sameGame(room: RoomInfo, game: string): boolean {
  const at = game.indexOf('@');
  return at < 0 ? room.type === game : room.type === game.slice(0, at) && room.version === game.slice(at + 1);
}
