/**
 * The fleet agent's session with the orchestrator, one owner of its state: the socket and its
 * reconnects, the `hello`/`welcome` handshake, answering polls with snapshots of the host (and the
 * rate-limited `dirty` nudge), the drain flag, the rooms the fleet created here, and `place`
 * requests awaiting their answer. The host's room events wait in `room-events.ts`'s outbox.
 *
 * Over ~400 lines on purpose: each method here reads or writes that same state (the socket, the
 * welcome, the last snapshot sent, the drain flag), so splitting it would only pass it back and forth.
 * What owns no agent state lives beside it: options, events and the logger in `options.ts`; running
 * the orchestrator's commands on the host in `commands.ts` (through a narrow `CommandTarget`); the
 * wire format in `protocol.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import WebSocket from 'ws';
import { backoffDelay, isLabel, isRoomId, ROOM_STATUSES } from '@parlor/squish';
import { runCommand, type CommandTarget } from './commands.js';
import { FleetAgentError, FleetAgentErrorCode } from './errors.js';
import type { FleetHost, HostRoom } from './host.js';
import { agentLogger, agentSquishVersions, type FleetAgentEvents, type FleetAgentLogger, type FleetAgentOptions, type FleetAgentStatus } from './options.js';
import { RoomEventOutbox } from './room-events.js';
import {
  FleetAckCode,
  FLEET_MAX_FRAME_BYTES,
  FLEET_PLACE_MINOR,
  FLEET_PROTOCOL_MAJOR,
  FLEET_ROOM_OP_MINOR,
  FLEET_SUBPROTOCOL,
  FLEET_WS_PATH,
  FleetCloseCode,
  agentSubprotocols,
  decodeFrame,
  encodeFrame,
  type AgentSnapshot,
  type CmdFrame,
  type FleetFrame,
  type InstanceCapacity,
  type PlacedFrame,
  type PlacedRoom,
  type RoomSnapshot,
} from './protocol.js';

/**
 * The fleet agent: embeds in a server host (through {@link FleetHost}), keeps a WebSocket to the
 * orchestrator, answers its polls with snapshots of the host's rooms (full, or hash-only when
 * nothing changed), runs its commands (`createRoom`, `destroyRoom`, `reserveSeats`, `drain`,
 * `undrain`, and since 1.3 `roomOp`: pause, resume, restart, patch, turn) and acks them by
 * correlation id. Beyond Rivalis fleet v3, a local change (a player joins, a room ends) is pushed
 * as a rate-limited `dirty` nudge so the orchestrator learns it within ~250 ms, and the host's typed
 * room events (`FleetHost.onRoomEvent`) go to an orchestrator of 1.3 or later as `roomEvent`
 * frames, in order (queued while no session is up; see `ROOM_EVENT_LIMITS`).
 *
 * Network failures never reach the host: the agent reconnects with exponential backoff, forever
 * (or until `connectTimeoutMs` for the first `connect()`). `processUid` is random per process and
 * stable across reconnects, so the orchestrator recognises the instance.
 */
export class FleetAgent extends EventEmitter<FleetAgentEvents> {
  /** Random per agent object, stable across reconnects (base64url, 16 chars). */
  readonly processUid: string = randomBytes(12).toString('base64url');
  /** The instance name. */
  readonly name: string;
  private readonly url: string;
  private key: string;
  private readonly endpointUrl: string;
  private readonly labels: Record<string, string>;
  private readonly capacity: InstanceCapacity;
  private readonly autoCreate: boolean;
  /** The squish versions declared in `hello` (the option, else the host's, else SUPPORTED_SQUISH_VERSIONS). */
  private readonly squishVersions: number[];
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly sampleMs: number;
  private readonly dirtyMinIntervalMs: number;
  private readonly logger: FleetAgentLogger;

  private _status: FleetAgentStatus = 'closed';
  private draining = false;
  private stopped = true;
  private ws: WebSocket | null = null;
  private welcomed = false;
  private _instanceId: string | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** No reconnect before this time (ms since the epoch): the orchestrator's `Retry-After` of a throttled attempt. */
  private retryNotBefore = 0;
  private sampleTimer: ReturnType<typeof setInterval> | null = null;
  private readonly fleetRooms = new Set<string>();
  /** Room ids whose `createRoom` is running on the host (reported as the snapshot's `creating`). */
  private readonly creating = new Set<string>();
  /** The current session's epoch (`welcome.session`); commands of another one are refused. */
  private session: string | null = null;
  /**
   * The orchestrator's monotonic clock minus ours (ms): the largest `now − performance.now()` of
   * this session's frames. Each sample is the true offset minus that frame's transit time, so the
   * largest is never above the true offset: a command's deadline mapped with it is late by at most
   * the fastest one-way delay, never early. `null` before the session's first `now`.
   */
  private clockOffset: number | null = null;
  private readonly firstSeen = new Map<string, number>();
  private lastSentKey: string | null = null;
  private lastSampleKey: string | null = null;
  private nudgePending = false;
  private lastNudgeAt = 0;
  private connectWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private orchestratorMinor = 0;
  private nextPlaceId = 1;
  private readonly placing = new Map<number, { resolve: (room: PlacedRoom) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  /** What the commands the orchestrator sends may do to this agent (see `commands.ts`). */
  private readonly commandTarget: CommandTarget;
  /** The host's room events on their way to the orchestrator (protocol 1.3). */
  private readonly roomEvents: RoomEventOutbox;
  /** Unsubscribes from the host's room events (while connecting or connected). */
  private unsubscribeEvents: (() => void) | null = null;

  /** @throws {FleetAgentError} `FLEET_AGENT_CONFIG` on invalid options. */
  constructor(
    private readonly host: FleetHost,
    options: FleetAgentOptions,
  ) {
    super();
    if (!host || typeof host.listRooms !== 'function' || typeof host.createRoom !== 'function' || typeof host.destroyRoom !== 'function') {
      throw new FleetAgentError(FleetAgentErrorCode.CONFIG, 'host must implement listRooms, roomTypes, createRoom and destroyRoom');
    }
    let u: URL;
    try {
      u = new URL(options.url);
    } catch {
      throw new FleetAgentError(FleetAgentErrorCode.CONFIG, `invalid orchestrator url ${JSON.stringify(String(options.url))}`);
    }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new FleetAgentError(FleetAgentErrorCode.CONFIG, 'orchestrator url must be ws:// or wss://');
    if (u.username || u.password || u.search) throw new FleetAgentError(FleetAgentErrorCode.CONFIG, 'orchestrator url must not carry credentials or a query (the key travels in a header)');
    if (u.pathname === '/' || u.pathname === '') u.pathname = FLEET_WS_PATH;
    this.url = u.toString();
    if (typeof options.key !== 'string' || options.key.length === 0) throw new FleetAgentError(FleetAgentErrorCode.CONFIG, 'key is required');
    this.key = options.key;
    try {
      const e = new URL(options.endpointUrl);
      if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new FleetAgentError(FleetAgentErrorCode.CONFIG, `endpointUrl must be an http(s) URL (got ${JSON.stringify(String(options.endpointUrl))})`);
    }
    this.endpointUrl = options.endpointUrl.replace(/\/+$/, '');
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    this.labels = { ...(options.labels ?? {}) };
    for (const [k, v] of Object.entries(this.labels)) {
      if (!isLabel(k, v)) {
        throw new FleetAgentError(FleetAgentErrorCode.CONFIG, `invalid label ${JSON.stringify(k)}=${JSON.stringify(v)}`);
      }
    }
    // What the host enforces is what the agent declares: options may lower it, never raise it.
    const enforced = host.capacity?.() ?? {};
    const declare = (k: keyof InstanceCapacity, def: number): number => {
      const v = options.capacity?.[k] ?? enforced[k] ?? def;
      return enforced[k] !== undefined && enforced[k] < v ? enforced[k] : v;
    };
    this.capacity = { maxConnections: declare('maxConnections', 1000), maxRooms: declare('maxRooms', 100) };
    for (const [k, v] of Object.entries(this.capacity)) {
      if (!Number.isInteger(v) || v < 1) throw new FleetAgentError(FleetAgentErrorCode.CONFIG, `capacity.${k} must be a positive integer`);
    }
    this.autoCreate = options.autoCreate ?? true;
    this.squishVersions = agentSquishVersions(options, host);
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
    this.sampleMs = options.sampleMs ?? 100;
    this.dirtyMinIntervalMs = options.dirtyMinIntervalMs ?? 100;
    this.logger = agentLogger(options, this.name);
    this.commandTarget = {
      host,
      isDraining: () => this.draining,
      claimFleetRoom: (roomId) => this.fleetRooms.add(roomId),
      releaseFleetRoom: (roomId) => this.fleetRooms.delete(roomId),
      snapshot: () => this.snapshot(),
      drain: () => this.drain(),
      undrain: () => this.undrain(),
    };
    this.roomEvents = new RoomEventOutbox(() => {
      const ws = this.ws;
      if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return { mode: 'hold' };
      // an orchestrator older than 1.3 would close the session on an unknown frame
      if (this.orchestratorMinor < FLEET_ROOM_OP_MINOR) return { mode: 'drop' };
      return { mode: 'send', send: (event) => this.send(ws, { t: 'roomEvent', event }) };
    }, this.logger);
  }

  /** Current status (see {@link FleetAgentStatus}). */
  get status(): FleetAgentStatus {
    return this._status;
  }

  /** Whether a session with the orchestrator is up now. */
  get isConnected(): boolean {
    return this.welcomed;
  }

  /** The orchestrator's id for this instance (after the first `welcome`), else `null`. */
  get instanceId(): string | null {
    return this._instanceId;
  }

  /**
   * Starts connecting (idempotent). Resolves at the first `welcome`. Reconnects with exponential
   * backoff after every drop, forever.
   * @param opts.connectTimeoutMs give up (and stop) if no `welcome` arrives within this time; default: never.
   * @throws {FleetAgentError} `FLEET_AGENT_CONNECT_TIMEOUT` after `connectTimeoutMs`; `FLEET_AGENT_CLOSED` if `disconnect()` is called first.
   */
  connect(opts: { connectTimeoutMs?: number } = {}): Promise<void> {
    if (this.welcomed) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.stopped) {
      this.stopped = false;
      this.setStatus(this.draining ? 'draining' : 'connecting');
      this.sampleTimer = setInterval(() => this.sample(), this.sampleMs);
      this.sampleTimer.unref?.();
      // The host's room events, in order, from now on (queued while no session is up).
      this.unsubscribeEvents = this.host.onRoomEvent?.((event) => this.roomEvents.push(event)) ?? null;
      this.open();
    }
    if (opts.connectTimeoutMs !== undefined) {
      const t = setTimeout(() => {
        if (this.welcomed) return;
        const err = new FleetAgentError(FleetAgentErrorCode.CONNECT_TIMEOUT, `no orchestrator session within ${opts.connectTimeoutMs} ms (${this.url})`);
        this.stop();
        this.rejectWaiters(err);
      }, opts.connectTimeoutMs);
      t.unref?.();
      p.then(() => clearTimeout(t), () => clearTimeout(t));
    }
    return p;
  }

  /**
   * Asks the orchestrator to place a room of `type` (a game name) by its normal placement: default
   * policy, no pin, so the room may land on another instance. No admin key is involved: the agent's
   * own session carries the request (a `place` frame, protocol 1.1), rate-limited by the orchestrator.
   * @param options create-time options for the game (JSON-compatible, ≤ 32 KiB).
   * @param opts.timeoutMs give up after this long; default 10 000.
   * @returns where the room is: `roomId`, `joinUrl` (for a browser), `instanceId`.
   * @throws {FleetAgentError} `FLEET_AGENT_NOT_CONNECTED` (no session, or it dropped before the answer),
   *   `FLEET_AGENT_UNSUPPORTED` (orchestrator older than protocol 1.1), `FLEET_AGENT_PLACE_TIMEOUT`,
   *   `FLEET_AGENT_CLOSED` (`disconnect()` while waiting), `FLEET_AGENT_PLACE_REJECTED` with
   *   `fleetCause` (`VALIDATION`, `NO_CANDIDATE`, `INSTANCE_BUSY` when over the rate limit, `COMMAND_FAILED`…).
   */
  requestRoom(type: string, options?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<PlacedRoom> {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new FleetAgentError(FleetAgentErrorCode.NOT_CONNECTED, 'no session with the orchestrator'));
    }
    if (this.orchestratorMinor < FLEET_PLACE_MINOR) {
      return Promise.reject(new FleetAgentError(FleetAgentErrorCode.UNSUPPORTED, `the orchestrator speaks protocol ${FLEET_PROTOCOL_MAJOR}.${this.orchestratorMinor}, without place (needs ${FLEET_PROTOCOL_MAJOR}.${FLEET_PLACE_MINOR})`));
    }
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const id = this.nextPlaceId++;
    return new Promise<PlacedRoom>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.placing.delete(id);
        reject(new FleetAgentError(FleetAgentErrorCode.PLACE_TIMEOUT, `no placement answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.placing.set(id, { resolve, reject, timer });
      this.send(ws, options === undefined ? { t: 'place', id, type } : { t: 'place', id, type, options });
    });
  }

  /**
   * Replaces the agent key (a rotation: e.g. `parlor serve` re-reading `--fleet-key-file` on
   * SIGHUP). A session up now was opened with the old key, so the agent closes it and reconnects
   * at once with the new one (the host's rooms are untouched; the orchestrator sees the instance
   * come back within a moment). The same key again changes nothing. If the orchestrator refuses the
   * new key, the agent logs it as an error (with the key's fingerprint) and keeps retrying.
   * @returns whether the key changed.
   * @throws {FleetAgentError} `FLEET_AGENT_CONFIG` on an empty key.
   */
  setKey(key: string): boolean {
    if (typeof key !== 'string' || key.length === 0) throw new FleetAgentError(FleetAgentErrorCode.CONFIG, 'key is required');
    if (key === this.key) return false;
    this.key = key;
    this.logger.info({ keyFp: keyFingerprint(key) }, 'agent key changed; reconnecting with it');
    if (this.stopped) return true;
    this.attempt = 0;
    this.retryNotBefore = 0;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.open();
    } else if (this.ws) {
      const ws = this.ws;
      if (ws.readyState === WebSocket.OPEN) ws.close(FleetCloseCode.BYE, 'agent key changed; reconnecting');
      else ws.terminate();
    }
    return true;
  }

  /** Stops new fleet placements here: the orchestrator sees the instance as draining. Local joins still work. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this._status !== 'closed') this.setStatus('draining');
    this.sample(true);
  }

  /** Ends a drain. */
  undrain(): void {
    if (!this.draining) return;
    this.draining = false;
    if (this._status !== 'closed') this.setStatus(this.welcomed ? 'connected' : 'connecting');
    this.sample(true);
  }

  /**
   * Resolves when no room has a client (every room's `clientCount` is 0, or there are no rooms).
   * Checked every `sampleMs`.
   * @param opts.timeoutMs reject after this long; default 30 000.
   * @throws {FleetAgentError} `FLEET_AGENT_AWAIT_EMPTY_TIMEOUT`.
   */
  awaitEmpty(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const end = Date.now() + timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        let busy = 0;
        try {
          for (const r of this.host.listRooms()) busy += r.clientCount > 0 ? 1 : 0;
        } catch (err) {
          this.logger.warn({ error: (err as Error).message }, 'host.listRooms failed');
          busy = 1;
        }
        if (busy === 0) return resolve();
        if (Date.now() >= end) {
          return reject(new FleetAgentError(FleetAgentErrorCode.AWAIT_EMPTY_TIMEOUT, `${busy} room(s) still have clients after ${timeoutMs} ms`));
        }
        setTimeout(check, this.sampleMs);
      };
      check();
    });
  }

  /** Closes the connection for good (no reconnect); status `closed`. Idempotent. Rooms on the host are left alone. */
  async disconnect(): Promise<void> {
    const ws = this.ws;
    this.stop();
    this.rejectWaiters(new FleetAgentError(FleetAgentErrorCode.CLOSED, 'agent disconnected'));
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.OPEN) ws.close(FleetCloseCode.BYE, 'agent disconnect');
        else ws.terminate();
      });
    }
  }

  /**
   * On SIGTERM or SIGINT: `drain()` → `awaitEmpty({ timeoutMs })` → `disconnect()` → `host.shutdown()`
   * → `process.exit(0)` (a second signal exits at once with 1).
   * @param opts.timeoutMs how long to wait for rooms to empty; default 30 000.
   * @param opts.exit call `process.exit` at the end; default `true`.
   * @returns a function that removes the signal handlers.
   */
  enableGracefulShutdown(opts: { timeoutMs?: number; exit?: boolean } = {}): () => void {
    let running = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (running) {
        if (opts.exit ?? true) process.exit(1);
        return;
      }
      running = true;
      this.logger.info({ signal }, 'draining');
      this.drain();
      void this.awaitEmpty({ timeoutMs: opts.timeoutMs ?? 30_000 })
        .catch((err: Error) => this.logger.warn({ error: err.message }, 'drain failed; shutting down anyway'))
        .then(() => this.disconnect())
        .then(() => this.host.shutdown?.())
        .catch((err: Error) => this.logger.error({ error: err.message }, 'shutdown failed'))
        .finally(() => {
          if (opts.exit ?? true) process.exit(0);
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
    return () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    };
  }

  /** The current snapshot of the host (what a full `state` carries). */
  snapshot(): AgentSnapshot {
    let hostRooms: HostRoom[] = [];
    try {
      hostRooms = this.host.listRooms();
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, 'host.listRooms failed');
    }
    const now = Date.now();
    const seen = new Set<string>();
    const rooms: RoomSnapshot[] = [];
    for (const r of hostRooms) {
      if (!r || !isRoomId(r.roomId) || seen.has(r.roomId)) continue;
      seen.add(r.roomId);
      let createdAt = r.createdAt ?? this.firstSeen.get(r.roomId);
      if (createdAt === undefined) {
        createdAt = now;
        this.firstSeen.set(r.roomId, now);
      }
      rooms.push({
        roomId: r.roomId,
        type: String(r.type),
        clientCount: Math.max(0, Math.floor(Number(r.clientCount) || 0)),
        metadata: r.metadata ?? {},
        provenance: r.provenance ?? (this.fleetRooms.has(r.roomId) ? 'fleet' : 'local'),
        createdAt,
        ...(typeof r.version === 'string' && { version: r.version }),
        ...(typeof r.sha256 === 'string' && { sha256: r.sha256 }),
        ...(ROOM_STATUSES.includes(r.status as never) && { status: r.status, turn: Number.isSafeInteger(r.turn) && (r.turn as number) >= 0 ? r.turn : 0 }),
      });
    }
    for (const id of this.firstSeen.keys()) if (!seen.has(id)) this.firstSeen.delete(id);
    for (const id of this.fleetRooms) if (!seen.has(id) && !this.creating.has(id)) this.fleetRooms.delete(id);
    rooms.sort((a, b) => (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
    let roomTypes: string[] = [];
    try {
      roomTypes = [...this.host.roomTypes()].sort();
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, 'host.roomTypes failed');
    }
    const snap: AgentSnapshot = { draining: this.draining, roomTypes, rooms };
    if (this.creating.size > 0) snap.creating = [...this.creating].sort();
    return snap;
  }

  // ---------------------------------------------------------------- internals

  private setStatus(s: FleetAgentStatus): void {
    if (this._status === s) return;
    this._status = s;
    this.emit('status', s);
  }

  private rejectWaiters(err: Error): void {
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const x of w) x.reject(err);
  }

  private rejectPlacing(err: Error): void {
    for (const p of this.placing.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.placing.clear();
  }

  private onPlaced(f: PlacedFrame): void {
    const p = typeof f.id === 'number' ? this.placing.get(f.id) : undefined;
    if (!p) return this.logger.debug({ id: String(f.id).slice(0, 16) }, 'placed answer for unknown or timed-out request');
    this.placing.delete(f.id);
    clearTimeout(p.timer);
    const r = f.room as Partial<PlacedRoom> | undefined;
    if (f.ok === true && r && typeof r.roomId === 'string' && typeof r.joinUrl === 'string' && typeof r.instanceId === 'string') {
      p.resolve({ roomId: r.roomId, joinUrl: r.joinUrl, instanceId: r.instanceId });
      return;
    }
    const cause = typeof f.cause === 'string' ? f.cause.slice(0, 64) : 'UNKNOWN';
    const message = typeof f.message === 'string' ? f.message.slice(0, 500) : 'placement refused';
    p.reject(new FleetAgentError(FleetAgentErrorCode.PLACE_REJECTED, `placement refused (${cause}): ${message}`, { fleetCause: cause }));
  }

  private stop(): void {
    this.rejectPlacing(new FleetAgentError(FleetAgentErrorCode.CLOSED, 'agent disconnected'));
    this.stopped = true;
    this.welcomed = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    this.sampleTimer = null;
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = null;
    this.roomEvents.close();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.CONNECTING) ws.terminate();
    this.setStatus('closed');
  }

  private open(): void {
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, agentSubprotocols(this.key), { maxPayload: FLEET_MAX_FRAME_BYTES, perMessageDeflate: false, handshakeTimeout: 10_000 });
    } catch (err) {
      this.logger.warn({ url: this.url, error: (err as Error).message }, 'cannot open the orchestrator socket');
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      if (ws.protocol !== FLEET_SUBPROTOCOL) {
        ws.terminate();
        return;
      }
      this.send(ws, {
        t: 'hello',
        processUid: this.processUid,
        name: this.name,
        endpointUrl: this.endpointUrl,
        labels: this.labels,
        capacity: this.capacity,
        autoCreate: this.autoCreate,
        squishVersions: this.squishVersions,
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      this.onFrame(ws, data);
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode;
      if (status === 401) {
        this.logger.error({ status, keyFp: keyFingerprint(this.key) }, 'orchestrator refused the agent key (401): give this agent a key the orchestrator accepts');
      } else if (status === 429) {
        const retryAfterS = Math.min(300, Math.max(0, Number(res.headers['retry-after']) || 0));
        this.retryNotBefore = Date.now() + retryAfterS * 1000;
        this.logger.warn({ status, keyFp: keyFingerprint(this.key), retryAfterS }, 'orchestrator throttled this agent key after failed attempts; retrying after Retry-After');
      } else {
        this.logger.warn({ status }, 'orchestrator refused the agent');
      }
      ws.terminate();
    });
    ws.on('error', (err) => this.logger.debug({ error: err.message }, 'socket error'));
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const was = this.welcomed;
      this.welcomed = false;
      this.rejectPlacing(new FleetAgentError(FleetAgentErrorCode.NOT_CONNECTED, `connection to the orchestrator lost (${code}) before the placement answer`));
      if (was) this.emit('disconnected', { code, reason: reason.toString() });
      if (code === FleetCloseCode.VERSION) this.logger.error({ reason: reason.toString() }, 'orchestrator refused the protocol version');
      if (code === FleetCloseCode.KEY_REVOKED) this.logger.error({ keyFp: keyFingerprint(this.key) }, 'orchestrator revoked this agent key: give this agent a key the orchestrator accepts');
      if (this.stopped) return;
      this.setStatus(this.draining ? 'draining' : 'connecting');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    this.attempt++;
    const backoff = Math.round(backoffDelay(this.attempt, Math.random(), { initialMs: this.minBackoffMs, maxMs: this.maxBackoffMs }));
    const delay = Math.max(backoff, this.retryNotBefore - Date.now());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
    this.retryTimer.unref?.();
  }

  private send(ws: WebSocket, frame: FleetFrame): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame));
  }

  private onFrame(ws: WebSocket, data: Buffer): void {
    const d = decodeFrame(data);
    if (!d || d.major !== FLEET_PROTOCOL_MAJOR) {
      this.logger.warn({}, 'bad frame from the orchestrator; reconnecting');
      ws.close(FleetCloseCode.PROTOCOL, 'bad frame');
      return;
    }
    const f = d.frame;
    if (this.ws !== ws) return; // a frame of a socket this agent already left
    if (f.t === 'welcome' && !this.welcomed) this.clockOffset = null; // a new session may be a new orchestrator process (another clock)
    if ((f.t === 'welcome' || f.t === 'poll' || f.t === 'cmd') && typeof f.now === 'number' && Number.isFinite(f.now)) {
      const sample = f.now - performance.now();
      if (this.clockOffset === null || sample > this.clockOffset) this.clockOffset = sample;
    }
    switch (f.t) {
      case 'welcome': {
        if (this.welcomed) return;
        this.welcomed = true;
        this.session = typeof f.session === 'string' ? f.session : null;
        this.attempt = 0;
        this._instanceId = String(f.instanceId);
        this.orchestratorMinor = d.minor;
        this.lastSentKey = null;
        this.nudgePending = false;
        this.setStatus(this.draining ? 'draining' : 'connected');
        this.emit('connected', { instanceId: this._instanceId });
        const w = this.connectWaiters;
        this.connectWaiters = [];
        for (const x of w) x.resolve();
        this.roomEvents.flush();
        return;
      }
      case 'poll': {
        if (!this.welcomed) return;
        const snap = this.snapshot();
        const key = JSON.stringify(snap);
        const hash = hashOf(key);
        this.lastSentKey = key;
        this.lastSampleKey = key;
        this.nudgePending = false;
        this.send(ws, f.hash === hash ? { t: 'state', seq: f.seq, hash } : { t: 'state', seq: f.seq, hash, snapshot: snap });
        return;
      }
      case 'cmd':
        if (!this.welcomed) return;
      {
        // When nothing else was pending, the ack itself tells the orchestrator what changed (it
        // applies acked creates and destroys at once; the next poll's hash mismatch brings the full
        // snapshot), so no dirty nudge is needed: 2 frames per command instead of 5.
        const refused = this.refusal(f);
        if (refused) {
          this.logger.warn({ cmd: f.id, op: f.op, room: typeof f.roomId === 'string' ? f.roomId.slice(0, 64) : undefined, code: refused.code }, 'command refused, not run');
          this.send(ws, { t: 'ack', id: f.id, ok: false, error: refused });
          return;
        }
        const clean = JSON.stringify(this.snapshot()) === this.lastSentKey;
        const creating = f.op === 'createRoom' && typeof f.roomId === 'string' && isRoomId(f.roomId) && !this.creating.has(f.roomId) ? f.roomId : null;
        if (creating) this.creating.add(creating);
        void runCommand(f, this.commandTarget).then((ack) => {
          if (creating) this.creating.delete(creating);
          if (this.ws !== ws) return;
          this.send(ws, ack);
          if (clean && !this.nudgePending) this.lastSentKey = this.lastSampleKey = JSON.stringify(this.snapshot());
          else this.sample(true);
        });
      }
        return;
      case 'placed':
        this.onPlaced(f);
        return;
      default:
        this.logger.debug({ frame: String((f as { t: unknown }).t) }, 'ignored frame');
    }
  }


  /**
   * Why a command must not run, or `null`: another session's (`STALE_SESSION`), or read after its
   * deadline (`COMMAND_EXPIRED`: `now + expiresInMs` on the orchestrator's clock, mapped to ours
   * with {@link clockOffset}). Commands without those fields (an older orchestrator) run.
   */
  private refusal(c: CmdFrame): { code: string; message: string } | null {
    if (typeof c.session === 'string' && c.session !== this.session) {
      return { code: FleetAckCode.STALE_SESSION, message: 'command of another session, not run' };
    }
    if (typeof c.now === 'number' && typeof c.expiresInMs === 'number' && Number.isFinite(c.now) && Number.isFinite(c.expiresInMs) && this.clockOffset !== null) {
      const lateMs = performance.now() - (c.now + c.expiresInMs - this.clockOffset);
      if (lateMs > 0) return { code: FleetAckCode.COMMAND_EXPIRED, message: `command read ${Math.round(lateMs)} ms after its deadline, not run` };
    }
    return null;
  }

  /** Samples the host; nudges the orchestrator (rate-limited) when the state differs from the last one sent. */
  private sample(force = false): void {
    const ws = this.ws;
    if (!ws || !this.welcomed) return;
    if (!force && this.nudgePending) return;
    const key = JSON.stringify(this.snapshot());
    if (key === this.lastSampleKey && !force) return;
    this.lastSampleKey = key;
    if (key === this.lastSentKey || this.nudgePending) return;
    const now = Date.now();
    const wait = this.lastNudgeAt + this.dirtyMinIntervalMs - now;
    this.nudgePending = true;
    const fire = (): void => {
      if (this.ws !== ws || !this.welcomed || !this.nudgePending) return;
      this.lastNudgeAt = Date.now();
      this.send(ws, { t: 'dirty' });
    };
    if (wait <= 0) fire();
    else setTimeout(fire, wait).unref?.();
  }
}

/** `fp:` + the first 8 hex chars of the key's SHA-256: the orchestrator's fingerprint of the same key (logs never hold keys). */
function keyFingerprint(key: string): string {
  return `fp:${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 8)}`;
}

function hashOf(s: string): string {
  // FNV-1a 64-bit as two 32-bit halves: fast, stable, plenty for change detection.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
