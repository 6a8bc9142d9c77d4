import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthGuard, clientIp } from './auth/guard.js';
import { AccessKeys } from './auth/keys.js';
import { AuthThrottle } from './auth/throttle.js';
import { FleetCause, OrchestratorConfigError, OrchestratorError } from './errors.js';
import { ApiHandler } from './api/handler.js';
import { EventFeed } from './registry/events.js';
import { createConsoleLogger, kv, type Logger, type LogLevel } from './logger.js';
import {
  FLEET_KEY_PREFIX,
  FLEET_MAX_FRAME_BYTES,
  FLEET_PROTOCOL_MAJOR,
  FLEET_SUBPROTOCOL,
  FLEET_WS_PATH,
  FleetCloseCode,
  decodeFrame,
  encodeFrame,
  type AckFrame,
  type AgentSnapshot,
  type CmdFrame,
  type CommandOp,
  type FleetFrame,
  type HelloFrame,
  type InstanceCapacity,
  type PlaceFrame,
  type PlacedFrame,
  type RoomSnapshot,
  type StateFrame,
} from '@parlor/fleet-agent';
import { isLabels, isPlainObject, jsonSize, labelsMatch, ROOM_ID_RE, ROOM_TYPE_RE, validateCreate } from './validate.js';
import { place } from './placement/place.js';
import type {
  CreateRoomRequest,
  FleetStats,
  FleetView,
  InstanceInfo,
  OrchestratorEvents,
  Placement,
  RoomInfo,
  RoomQuery,
  SeatReservation,
} from './types.js';

const MAX_ROOMS_PER_SNAPSHOT = 10_000;
const MAX_METADATA_BYTES = 4096;
const MAX_ROOM_TYPES = 256;

/** Options of {@link Orchestrator}. Durations in ms. */
export interface OrchestratorOptions {
  /** Interface to listen on. Default `0.0.0.0`. */
  host?: string;
  /** TCP port; `0` picks a free one (see {@link Orchestrator.port}). Default 7070. */
  port?: number;
  /** Accepted agent keys (a list for rotation). Required when `NODE_ENV=production`; in development one is generated and printed once. */
  agentKey?: string | string[];
  /** Accepted admin keys for `/v1` (`Authorization: Bearer <key>`). Same rules as `agentKey`. */
  adminKey?: string | string[];
  /** Serve the REST API `/v1`. Default `true` (`/healthz`, `/readyz` and the agent socket are always served). */
  api?: boolean;
  /** Poll interval. Default 1000. Stale after 2 missed polls, evicted after 3. */
  pollMs?: number;
  /** A full snapshot is requested every this many polls even when hashes match. Default 10. */
  fullEvery?: number;
  /** How long a command waits for its ack. Default 5000. */
  commandTimeoutMs?: number;
  /** Commands in flight per instance; more → `INSTANCE_BUSY`. Default 64. */
  maxInflightPerInstance?: number;
  /** Allowed CORS origins (`'*'` for any); default none. */
  cors?: string | string[];
  /** Accept `?key=` on `GET /v1/events` (for browser `EventSource`, which cannot set headers). Default `false`. */
  sseQueryAuth?: boolean;
  /** Take the client address from `X-Forwarded-For` (behind a proxy). Default `false`. */
  trustProxy?: boolean;
  /** Concurrent SSE streams; more → `SSE_LIMIT`. Default 100. */
  maxSseStreams?: number;
  /** Interval of the SSE `: ping` comment. Default 15 000. */
  sseKeepAliveMs?: number;
  /** Failed authentications per address within `authWindowMs` before `AUTH_THROTTLED`. Default 20. */
  authFailureLimit?: number;
  /** Window of the failed-auth throttle. Default 60 000. */
  authWindowMs?: number;
  /** `dirty` nudges per second an agent may send before it is kicked. Default 50. */
  maxDirtyPerSecond?: number;
  /** Sustained `place` requests per second per agent; over the limit the answer is `INSTANCE_BUSY` (not a kick). Default 5. */
  placePerSecond?: number;
  /** Token-bucket size of the `place` rate limit. Default 10. */
  placeBurst?: number;
  logger?: Logger;
  /** Level of the default logger. Default `'info'`. */
  logLevel?: LogLevel;
  /** Environment for the key rules. Default `process.env.NODE_ENV`. */
  nodeEnv?: string;
}

interface Pending {
  id: number;
  op: CommandOp;
  roomId?: string;
  resolve: (ack: AckFrame) => void;
  reject: (err: OrchestratorError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface RoomEntry {
  snap: RoomSnapshot;
  inst: Instance;
}

/** One agent connection. */
class Instance {
  id = '';
  hello!: HelloFrame;
  welcomed = false;
  draining = false;
  stale = false;
  roomTypes: string[] = [];
  rooms = new Map<string, RoomSnapshot>();
  clientCount = 0;
  hash: string | null = null;
  pollSeq = 0;
  pollOutstanding: number | null = null;
  pollAgain = false;
  missed = 0;
  polls = 0;
  inflight = new Map<number, Pending>();
  inflightCreates = 0;
  connectedAt = 0;
  dirtyWindowStart = 0;
  dirtyCount = 0;
  /** `place` token bucket. */
  placeTokens = -1;
  placeRefillAt = 0;
  /** Correlation ids of unanswered `place` frames. */
  placing = new Set<number>();
  closed = false;
  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    readonly keyFp: string,
  ) {}
}

/**
 * The fleet orchestrator: accepts agent connections (WebSocket at `/v1/agent`), polls them,
 * keeps the read model ({@link Orchestrator.fleet}), places rooms, and serves the REST API `/v1`
 * and its SSE stream on the same port. Semantics follow the Rivalis fleet protocol v3: instances
 * are stale after 2 missed polls (no placements) and evicted after 3; when an agent drops, its rooms
 * vanish and its in-flight commands are rejected with `INSTANCE_DISCONNECTED` at once.
 *
 * Control calls resolve on the agent's ack and throw {@link OrchestratorError} with a
 * {@link FleetCause} code.
 */
export class Orchestrator extends EventEmitter<OrchestratorEvents> {
  /** The HTTP server (REST, SSE and the agent socket). */
  readonly httpServer: HttpServer;
  /** The logger in use. */
  readonly logger: Logger;
  /** The read model. */
  readonly fleet: FleetView;
  private readonly opts: Required<Omit<OrchestratorOptions, 'agentKey' | 'adminKey' | 'logger' | 'logLevel' | 'cors' | 'nodeEnv' | 'host'>> & {
    host: string;
    cors: string[];
  };
  private readonly guard: AuthGuard;
  /** Keys generated in development (empty otherwise); printed once at construction. */
  readonly generatedKeys: { readonly agentKey?: string; readonly adminKey?: string };

  private readonly keys: AccessKeys;
  private readonly wss: WebSocketServer;
  private readonly api: ApiHandler;
  private readonly instances = new Map<string, Instance>();
  private readonly byProcessUid = new Map<string, Instance>();
  private readonly idForUid = new Map<string, string>();
  private readonly roomIndex = new Map<string, RoomEntry>();
  private readonly reserved = new Map<string, Instance>();
  private readonly lateAcks = new Map<string, { op: CommandOp; roomId?: string }>();
  private nextCmdId = 1;
  private nextInstance = 1;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private listening = false;
  private shuttingDown: Promise<void> | null = null;
  private _port = 0;

  /** @throws {OrchestratorConfigError} on invalid options or key rules. */
  constructor(options: OrchestratorOptions = {}) {
    super();
    this.logger = options.logger ?? createConsoleLogger(options.logLevel ?? 'info');
    const production = (options.nodeEnv ?? process.env.NODE_ENV) === 'production';
    this.keys = new AccessKeys({ agentKey: options.agentKey, adminKey: options.adminKey }, production);
    this.generatedKeys = this.keys.generated;
    if (this.generatedKeys.agentKey || this.generatedKeys.adminKey) {
      // Printed once, to the console only (never to the logger).
      process.stdout.write(
        `\n  parlor-orchestrator (development): generated keys, shown once\n` +
          (this.generatedKeys.agentKey ? `    agent key: ${this.generatedKeys.agentKey}\n` : '') +
          (this.generatedKeys.adminKey ? `    admin key: ${this.generatedKeys.adminKey}\n` : '') +
          `  Pass --agent-key / --admin-key (or PARLOR_AGENT_KEYS / PARLOR_ADMIN_KEYS) to choose your own.\n\n`,
      );
    }
    const cors = options.cors === undefined ? [] : Array.isArray(options.cors) ? options.cors : [options.cors];
    this.opts = {
      host: options.host ?? '0.0.0.0',
      port: intOpt('port', options.port, 7070, 0),
      api: options.api ?? true,
      pollMs: intOpt('pollMs', options.pollMs, 1000, 10),
      fullEvery: intOpt('fullEvery', options.fullEvery, 10, 1),
      commandTimeoutMs: intOpt('commandTimeoutMs', options.commandTimeoutMs, 5000, 1),
      maxInflightPerInstance: intOpt('maxInflightPerInstance', options.maxInflightPerInstance, 64, 1),
      cors,
      sseQueryAuth: options.sseQueryAuth ?? false,
      trustProxy: options.trustProxy ?? false,
      maxSseStreams: intOpt('maxSseStreams', options.maxSseStreams, 100, 0),
      sseKeepAliveMs: intOpt('sseKeepAliveMs', options.sseKeepAliveMs, 15_000, 10),
      authFailureLimit: intOpt('authFailureLimit', options.authFailureLimit, 20, 0),
      authWindowMs: intOpt('authWindowMs', options.authWindowMs, 60_000, 1),
      maxDirtyPerSecond: intOpt('maxDirtyPerSecond', options.maxDirtyPerSecond, 50, 1),
      placePerSecond: intOpt('placePerSecond', options.placePerSecond, 5, 1),
      placeBurst: intOpt('placeBurst', options.placeBurst, 10, 1),
    };
    this.guard = new AuthGuard(this.keys, new AuthThrottle(this.opts.authFailureLimit, this.opts.authWindowMs), this.logger);
    this.fleet = this.createView();
    this.api = new ApiHandler(this, this.opts, { guard: this.guard, feed: new EventFeed(this, this.fleet), logger: this.logger });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: FLEET_MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(FLEET_SUBPROTOCOL) ? FLEET_SUBPROTOCOL : false),
    });
    this.httpServer = createServer((req, res) => this.api.handle(req, res));
    this.httpServer.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.httpServer.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.logger.info(
      `keys: ${kv({ agent: this.keys.fingerprints.agent.join(','), admin: this.keys.fingerprints.admin.join(','), production })}`,
    );
  }

  /**
   * Replaces the accepted key lists at runtime (key rotation without downtime): add the new key,
   * move clients to it, then remove the old one. Agents already connected stay connected; only new
   * connections and requests are checked against the new lists. Production key rules apply.
   * @throws {OrchestratorConfigError} on an empty list or a rule violation (nothing changes then).
   */
  setKeys(keys: { agentKey?: string | string[]; adminKey?: string | string[] }): void {
    const fps = this.keys.set(keys);
    this.logger.info(`keys rotated: ${kv({ agent: fps.agent?.join(','), admin: fps.admin?.join(',') })}`);
  }

  /** The port listened on (after {@link listen}). */
  get port(): number {
    return this._port;
  }

  /** `http://<host>:<port>` (wildcard hosts shown as `localhost`). */
  get url(): string {
    const h = this.opts.host;
    const host = h === '0.0.0.0' || h === '::' ? 'localhost' : h.includes(':') ? `[${h}]` : h;
    return `http://${host}:${this._port}`;
  }

  /** The agent WebSocket URL (`ws://…/v1/agent`). */
  get agentUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}${FLEET_WS_PATH}`;
  }

  /** Whether it is listening and not shutting down (`/readyz`). */
  get ready(): boolean {
    return this.listening && !this.shuttingDown;
  }

  /** Starts listening and polling. @throws the `listen` error (e.g. `EADDRINUSE`). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.httpServer.once('error', onError);
      this.httpServer.listen(this.opts.port, this.opts.host, () => {
        this.httpServer.off('error', onError);
        resolve();
      });
    });
    this._port = (this.httpServer.address() as AddressInfo).port;
    this.listening = true;
    this.pollTimer = setInterval(() => this.pollAll(), this.opts.pollMs);
    this.logger.info(`listening: ${kv({ url: this.url, agents: this.agentUrl, api: this.opts.api, pollMs: this.opts.pollMs })}`);
  }

  /** Closes every agent socket and SSE stream, rejects in-flight commands, closes the server. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) this.shuttingDown = this.doShutdown();
    return this.shuttingDown;
  }

  private async doShutdown(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const inst of [...this.instances.values()]) this.drop(inst, 'orchestrator shutting down', FleetCloseCode.SHUTDOWN);
    this.api.closeStreams();
    await new Promise<void>((resolve) => {
      if (!this.listening) return resolve();
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
    this.listening = false;
    this.logger.info('orchestrator stopped');
  }

  // ---------------------------------------------------------------- control

  /**
   * Places and creates a room; resolves with its {@link RoomInfo} when the agent acks.
   * Idempotency: a client-supplied `roomId` that exists or is being created gives `ROOM_EXISTS`
   * (a retry after a timeout can then read the room with `fleet.getRoom`).
   * @throws {OrchestratorError} `VALIDATION`, `ROOM_EXISTS`, `NO_CANDIDATE`, `INSTANCE_NOT_FOUND`,
   *   `INSTANCE_DRAINING`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async createRoom(req: CreateRoomRequest): Promise<RoomInfo> {
    this.assertRunning();
    const { type, options, placement = {} } = validateCreate(req);
    const roomId = req.roomId ?? this.newRoomId();
    if (this.roomIndex.has(roomId) || this.reserved.has(roomId)) throw new OrchestratorError(FleetCause.ROOM_EXISTS, `room ${roomId} exists`);
    const inst = this.place(type, placement);
    this.reserved.set(roomId, inst);
    inst.inflightCreates++;
    let keepReserved = false;
    try {
      const ack = await this.command(inst, { op: 'createRoom', type, roomId, options, force: placement.force === true });
      if (!ack.ok) throw ackError(ack);
      const snap = ack.room && validRoom(ack.room) ? ack.room : { roomId, type, clientCount: 0, metadata: {}, provenance: 'fleet' as const, createdAt: Date.now() };
      if (!inst.closed && !inst.rooms.has(roomId)) {
        inst.rooms.set(roomId, snap);
        this.indexRoom(inst, snap);
      }
      return this.roomInfo(inst, inst.rooms.get(roomId) ?? snap);
    } catch (err) {
      if ((err as OrchestratorError).code === FleetCause.COMMAND_TIMEOUT && !inst.closed) {
        // The create may still happen: keep the roomId reserved until the late ack or a grace
        // period, so a retry cannot place a second room with this id elsewhere.
        keepReserved = true;
        const t = setTimeout(() => {
          if (this.reserved.get(roomId) === inst) this.reserved.delete(roomId);
        }, this.opts.commandTimeoutMs * 2);
        t.unref?.();
      }
      throw err;
    } finally {
      inst.inflightCreates--;
      if (!keepReserved && this.reserved.get(roomId) === inst) this.reserved.delete(roomId);
    }
  }

  /**
   * Destroys a room; resolves when the agent acks. Racing the room's natural end is fine (the
   * agent's destroy is idempotent).
   * @throws {OrchestratorError} `ROOM_NOT_FOUND`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async destroyRoom(roomId: string): Promise<void> {
    this.assertRunning();
    const entry = typeof roomId === 'string' ? this.roomIndex.get(roomId) : undefined;
    if (!entry) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    const inst = entry.inst;
    this.assertNotBusy(inst);
    const ack = await this.command(inst, { op: 'destroyRoom', roomId });
    if (!ack.ok) throw ackError(ack);
    const snap = inst.rooms.get(roomId);
    if (snap) {
      inst.rooms.delete(roomId);
      this.unindexRoom(inst, snap);
    }
  }

  /**
   * Reserves seats in a room: the instance issues `count` single-use join tickets valid for
   * `ttlMs`, and from then on refuses player joins to that room without a valid ticket.
   * @param opts.count tickets, 1–64; default 1.
   * @param opts.ttlMs ticket lifetime, 1 000–3 600 000 ms; default 60 000.
   * @returns the tickets, their expiry (ms since the epoch) and one join URL per ticket (`joinUrl?ticket=…`).
   * @throws {OrchestratorError} `VALIDATION`, `ROOM_NOT_FOUND`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number } = {}): Promise<SeatReservation> {
    this.assertRunning();
    const count = opts.count ?? 1;
    const ttlMs = opts.ttlMs ?? 60_000;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new OrchestratorError(FleetCause.VALIDATION, 'count must be an integer 1–64');
    if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > 3_600_000) throw new OrchestratorError(FleetCause.VALIDATION, 'ttlMs must be an integer 1000–3600000');
    const entry = typeof roomId === 'string' ? this.roomIndex.get(roomId) : undefined;
    if (!entry) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    const inst = entry.inst;
    this.assertNotBusy(inst);
    const ack = await this.command(inst, { op: 'reserveSeats', roomId, count, ttlMs });
    if (!ack.ok) {
      if (ack.error?.code === 'ROOM_NOT_FOUND') throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `room ${roomId} ended`);
      throw ackError(ack);
    }
    const tickets = Array.isArray(ack.tickets) ? ack.tickets.filter((t): t is string => typeof t === 'string' && t.length <= 256).slice(0, count) : [];
    if (tickets.length !== count) throw new OrchestratorError(FleetCause.COMMAND_FAILED, 'agent returned no valid tickets');
    const room = this.roomInfo(inst, entry.snap);
    return {
      roomId,
      tickets,
      expiresAt: typeof ack.expiresAt === 'number' ? ack.expiresAt : Date.now() + ttlMs,
      joinUrls: tickets.map((t) => `${room.joinUrl}?ticket=${encodeURIComponent(t)}`),
    };
  }

  /**
   * Drains an instance (by id or processUid): no new placements there unless `force`.
   * @throws {OrchestratorError} `INSTANCE_NOT_FOUND`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async drainInstance(id: string): Promise<InstanceInfo> {
    return this.setDrain(id, true);
  }

  /** Ends a drain. Same errors as {@link drainInstance}. */
  async undrainInstance(id: string): Promise<InstanceInfo> {
    return this.setDrain(id, false);
  }

  private async setDrain(id: string, draining: boolean): Promise<InstanceInfo> {
    this.assertRunning();
    const inst = this.findInstance(id);
    if (!inst) throw new OrchestratorError(FleetCause.INSTANCE_NOT_FOUND, `no instance ${String(id).slice(0, 64)}`);
    this.assertNotBusy(inst);
    const ack = await this.command(inst, { op: draining ? 'drain' : 'undrain' });
    if (!ack.ok) throw ackError(ack);
    if (inst.draining !== draining) {
      inst.draining = draining;
      this.emit('instance:update', { instance: this.instanceInfo(inst) });
    }
    return this.instanceInfo(inst);
  }

  // ---------------------------------------------------------------- placement

  /** Placement over the live instances (see {@link place}). */
  private place(type: string, p: Placement): Instance {
    const candidates = [...this.instances.values()]
      .filter((i) => i.welcomed && !i.closed)
      .map((i) => ({
        id: i.id,
        processUid: i.hello.processUid,
        labels: i.hello.labels,
        capacity: i.hello.capacity,
        roomTypes: i.roomTypes,
        rooms: i.rooms.size + i.inflightCreates,
        clients: i.clientCount,
        inflight: i.inflight.size,
        draining: i.draining,
        stale: i.stale,
        inst: i,
      }));
    return place(type, p, candidates, { maxInflightPerInstance: this.opts.maxInflightPerInstance }).inst;
  }

  // ---------------------------------------------------------------- commands

  private assertRunning(): void {
    if (this.shuttingDown) throw new OrchestratorError(FleetCause.SHUTTING_DOWN, 'orchestrator shutting down');
  }

  private assertNotBusy(inst: Instance): void {
    if (inst.inflight.size >= this.opts.maxInflightPerInstance) throw new OrchestratorError(FleetCause.INSTANCE_BUSY, `instance ${inst.id} has ${inst.inflight.size} commands in flight`);
  }

  private command(inst: Instance, cmd: Omit<CmdFrame, 't' | 'id'>): Promise<AckFrame> {
    if (inst.closed) return Promise.reject(new OrchestratorError(FleetCause.INSTANCE_DISCONNECTED, `instance ${inst.id} disconnected`));
    const id = this.nextCmdId++;
    return new Promise<AckFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        inst.inflight.delete(id);
        this.rememberLate(inst, id, cmd.op, cmd.roomId);
        this.logger.warn(`command timed out: ${kv({ instance: inst.id, cmd: id, op: cmd.op, room: cmd.roomId, ms: this.opts.commandTimeoutMs })}`);
        reject(new OrchestratorError(FleetCause.COMMAND_TIMEOUT, `no ack from ${inst.id} within ${this.opts.commandTimeoutMs} ms`));
      }, this.opts.commandTimeoutMs);
      inst.inflight.set(id, { id, op: cmd.op, roomId: cmd.roomId, resolve, reject, timer });
      this.send(inst, { t: 'cmd', id, ...cmd });
    });
  }

  private rememberLate(inst: Instance, id: number, op: CommandOp, roomId?: string): void {
    this.lateAcks.set(`${inst.hello.processUid}:${id}`, { op, roomId });
    if (this.lateAcks.size > 10_000) this.lateAcks.delete(this.lateAcks.keys().next().value as string);
  }

  // ---------------------------------------------------------------- agent sockets

  private clientIp(req: IncomingMessage): string {
    return clientIp(req, this.opts.trustProxy);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let path = '/';
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      // fall through: 404
    }
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== FLEET_WS_PATH) return refuse('404 Not Found');
    if (!this.ready) return refuse('503 Service Unavailable');
    const ip = this.clientIp(req);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    const keyToken = offered.find((s) => s.startsWith(FLEET_KEY_PREFIX));
    let key: string | null = null;
    if (keyToken && offered.includes(FLEET_SUBPROTOCOL)) {
      try {
        key = Buffer.from(keyToken.slice(FLEET_KEY_PREFIX.length), 'base64url').toString('utf8');
      } catch {
        key = null;
      }
    }
    const verdict = this.guard.check('agent', ip, key);
    if (!verdict.ok) return refuse(verdict.reason === 'throttled' ? '429 Too Many Requests' : '401 Unauthorized');
    const fp = verdict.fingerprint;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onAgent(ws, ip, fp));
  }

  private onAgent(ws: WebSocket, ip: string, fp: string): void {
    const inst = new Instance(ws, ip, fp);
    ws.binaryType = 'nodebuffer';
    const helloTimer = setTimeout(() => {
      if (!inst.welcomed) this.kick(inst, 'no hello within 10 s');
    }, 10_000);
    helloTimer.unref?.();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (inst.closed) return;
      if (!isBinary) return this.kick(inst, 'text frame');
      this.onFrame(inst, data);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.drop(inst, 'socket closed');
    });
    ws.on('error', () => undefined);
  }

  private onFrame(inst: Instance, data: Buffer): void {
    const d = decodeFrame(data);
    if (!d) return this.kick(inst, 'undecodable frame');
    const f = d.frame;
    if (!inst.welcomed) {
      if (f.t !== 'hello') return this.kick(inst, `unsolicited ${String(f.t).slice(0, 16)} before hello`);
      if (d.major !== FLEET_PROTOCOL_MAJOR) {
        this.logger.warn(`agent refused: ${kv({ ip: inst.ip, version: `${d.major}.${d.minor}`, want: FLEET_PROTOCOL_MAJOR })}`);
        inst.closed = true;
        inst.ws.close(FleetCloseCode.VERSION, `protocol ${d.major}.${d.minor} not supported (want ${FLEET_PROTOCOL_MAJOR}.x)`);
        return;
      }
      return this.onHello(inst, f);
    }
    if (d.major !== FLEET_PROTOCOL_MAJOR) return this.kick(inst, 'version changed mid-session');
    switch (f.t) {
      case 'state':
        return this.onState(inst, f);
      case 'ack':
        return this.onAck(inst, f);
      case 'dirty':
        return this.onDirty(inst);
      case 'place':
        return this.onPlace(inst, f);
      case 'hello':
        return this.kick(inst, 'duplicate hello');
      default:
        return this.kick(inst, `unknown or unsolicited frame ${String(f.t).slice(0, 16)}`);
    }
  }

  private onHello(inst: Instance, f: HelloFrame): void {
    const bad = checkHello(f);
    if (bad) return this.kick(inst, `bad hello: ${bad}`);
    inst.hello = {
      t: 'hello',
      processUid: f.processUid,
      name: f.name,
      endpointUrl: f.endpointUrl.replace(/\/+$/, ''),
      labels: { ...f.labels },
      capacity: { maxConnections: f.capacity.maxConnections, maxRooms: f.capacity.maxRooms },
      autoCreate: f.autoCreate === true,
    };
    const old = this.byProcessUid.get(f.processUid);
    if (old) this.drop(old, 'replaced by a new connection of the same process', FleetCloseCode.REPLACED);
    let id = this.idForUid.get(f.processUid);
    if (!id) {
      id = `i-${(this.nextInstance++).toString(36)}-${randomBytes(3).toString('hex')}`;
      this.idForUid.set(f.processUid, id);
      if (this.idForUid.size > 100_000) this.idForUid.delete(this.idForUid.keys().next().value as string);
    }
    inst.id = id;
    inst.welcomed = true;
    inst.connectedAt = Date.now();
    this.instances.set(id, inst);
    this.byProcessUid.set(f.processUid, inst);
    this.send(inst, { t: 'welcome', instanceId: id, pollMs: this.opts.pollMs });
    this.logger.info(`instance joined: ${kv({ instance: id, name: f.name, processUid: f.processUid, endpoint: inst.hello.endpointUrl, ip: inst.ip, key: inst.keyFp })}`);
    this.emit('instance:join', { instance: this.instanceInfo(inst) });
    this.poll(inst, true);
  }

  private poll(inst: Instance, forceFull = false): void {
    if (inst.closed || inst.pollOutstanding !== null) return;
    inst.polls++;
    const full = forceFull || inst.polls % this.opts.fullEvery === 0;
    inst.pollOutstanding = ++inst.pollSeq;
    this.send(inst, { t: 'poll', seq: inst.pollSeq, hash: full ? null : inst.hash });
  }

  private pollAll(): void {
    for (const inst of [...this.instances.values()]) {
      if (inst.closed) continue;
      if (inst.pollOutstanding !== null) {
        inst.missed++;
        if (inst.missed >= 3) {
          this.drop(inst, `evicted after ${inst.missed} missed polls`, FleetCloseCode.EVICTED);
          continue;
        }
        if (inst.missed >= 2 && !inst.stale) {
          inst.stale = true;
          this.logger.warn(`instance stale: ${kv({ instance: inst.id, missed: inst.missed })}`);
          this.emit('instance:stale', { instance: this.instanceInfo(inst) });
        }
        continue;
      }
      this.poll(inst);
    }
  }

  private onDirty(inst: Instance): void {
    const now = Date.now();
    if (now - inst.dirtyWindowStart >= 1000) {
      inst.dirtyWindowStart = now;
      inst.dirtyCount = 0;
    }
    if (++inst.dirtyCount > this.opts.maxDirtyPerSecond) return this.kick(inst, 'dirty nudges over the rate limit');
    if (inst.pollOutstanding !== null) inst.pollAgain = true;
    else this.poll(inst);
  }

  /**
   * An agent asks for a room (protocol 1.1): normal placement (default policy, no pin) through
   * {@link createRoom}, answered with `placed`. A frame without a usable id, or with the id of an
   * unanswered `place`, gets the agent kicked; a bad type or options gets `VALIDATION`; over the
   * rate limit, `INSTANCE_BUSY`. Every answered request is audit-logged as coming from that agent.
   */
  private onPlace(inst: Instance, f: PlaceFrame): void {
    if (!Number.isSafeInteger(f.id) || f.id < 0) return this.kick(inst, 'place without a valid id');
    if (inst.placing.has(f.id)) return this.kick(inst, 'duplicate place id');
    const id = f.id;
    const type = typeof f.type === 'string' ? f.type.slice(0, 64) : undefined;
    const answer = (r: Omit<PlacedFrame, 't' | 'id'>): void => {
      inst.placing.delete(id);
      this.logger.info(`audit: ${kv({ op: 'place', instance: inst.id, key: inst.keyFp, ip: inst.ip, type, status: r.ok ? 'OK' : r.cause, room: r.room?.roomId, on: r.room?.instanceId })}`);
      if (!inst.closed) this.send(inst, { t: 'placed', id, ...r });
    };
    const now = Date.now();
    if (inst.placeTokens < 0) inst.placeTokens = this.opts.placeBurst;
    else inst.placeTokens = Math.min(this.opts.placeBurst, inst.placeTokens + ((now - inst.placeRefillAt) / 1000) * this.opts.placePerSecond);
    inst.placeRefillAt = now;
    if (inst.placeTokens < 1) return answer({ ok: false, cause: FleetCause.INSTANCE_BUSY, message: `over ${this.opts.placePerSecond} placements per second for this instance` });
    inst.placeTokens -= 1;
    inst.placing.add(id);
    // The same path as REST POST /v1/rooms, without roomId or placement: the agent cannot pin or force.
    this.createRoom({ type: f.type, options: f.options } as CreateRoomRequest).then(
      (room) => answer({ ok: true, room: { roomId: room.roomId, joinUrl: room.joinUrl, instanceId: room.instanceId } }),
      (err: unknown) => {
        const code = err instanceof OrchestratorError ? err.code : FleetCause.COMMAND_FAILED;
        answer({ ok: false, cause: code, message: String((err as Error)?.message ?? err).slice(0, 500) });
      },
    );
  }

  private onState(inst: Instance, f: StateFrame): void {
    if (inst.pollOutstanding === null || f.seq !== inst.pollOutstanding) return this.kick(inst, 'unsolicited or duplicate state');
    inst.pollOutstanding = null;
    inst.missed = 0;
    if (inst.stale) {
      inst.stale = false;
      this.logger.info(`instance recovered: ${kv({ instance: inst.id })}`);
    }
    if (f.snapshot !== undefined) {
      const bad = checkSnapshot(f.snapshot);
      if (bad || typeof f.hash !== 'string' || f.hash.length > 128) {
        this.logger.warn(`snapshot refused, keeping the last good state: ${kv({ instance: inst.id, problem: bad ?? 'bad hash' })}`);
        inst.hash = null;
      } else {
        this.applySnapshot(inst, f.snapshot);
        inst.hash = f.hash;
      }
    } else if (f.hash !== inst.hash) {
      // hash-only reply that does not match what we hold: ask for a full one next time
      inst.hash = null;
    }
    if (inst.pollAgain) {
      inst.pollAgain = false;
      this.poll(inst);
    }
  }

  private applySnapshot(inst: Instance, s: AgentSnapshot): void {
    inst.roomTypes = [...s.roomTypes];
    if (inst.draining !== s.draining) {
      inst.draining = s.draining;
      this.emit('instance:update', { instance: this.instanceInfo(inst) });
    }
    const next = new Map<string, RoomSnapshot>();
    for (const r of s.rooms) next.set(r.roomId, r);
    for (const [id, old] of inst.rooms) {
      if (!next.has(id)) {
        inst.rooms.delete(id);
        this.unindexRoom(inst, old);
      }
    }
    let clients = 0;
    for (const [id, r] of next) {
      clients += r.clientCount;
      const had = inst.rooms.has(id);
      inst.rooms.set(id, r);
      if (!had) this.indexRoom(inst, r);
      else {
        const e = this.roomIndex.get(id);
        if (e && e.inst === inst) e.snap = r;
      }
    }
    inst.clientCount = clients;
    this.emit('sync', { instanceId: inst.id, rooms: inst.rooms.size });
  }

  private indexRoom(inst: Instance, r: RoomSnapshot): void {
    const existing = this.roomIndex.get(r.roomId);
    if (existing && existing.inst !== inst) {
      this.logger.warn(`room id on two instances, keeping the first: ${kv({ room: r.roomId, first: existing.inst.id, second: inst.id })}`);
      return;
    }
    this.roomIndex.set(r.roomId, { snap: r, inst });
    if (!existing) this.emit('room:create', { room: this.roomInfo(inst, r) });
  }

  private unindexRoom(inst: Instance, r: RoomSnapshot): void {
    const e = this.roomIndex.get(r.roomId);
    if (!e || e.inst !== inst) return;
    this.roomIndex.delete(r.roomId);
    this.emit('room:destroy', { room: this.roomInfo(inst, r) });
  }

  private onAck(inst: Instance, f: AckFrame): void {
    const p = typeof f.id === 'number' ? inst.inflight.get(f.id) : undefined;
    if (!p) {
      const key = `${inst.hello.processUid}:${String(f.id)}`;
      const late = this.lateAcks.get(key);
      if (late) {
        this.lateAcks.delete(key);
        this.logger.warn(`late ack ignored: ${kv({ instance: inst.id, cmd: f.id, ok: f.ok })}`);
        if (late.op === 'createRoom' && late.roomId) {
          if (this.reserved.get(late.roomId) === inst) this.reserved.delete(late.roomId);
          if (f.ok === true && f.room && validRoom(f.room) && f.room.roomId === late.roomId && !inst.rooms.has(late.roomId)) {
            inst.rooms.set(late.roomId, f.room);
            this.indexRoom(inst, f.room);
          }
        }
        inst.hash = null; // the next snapshot is a full one
        return;
      }
      return this.kick(inst, `ack for unknown or already acked command ${String(f.id).slice(0, 16)}`);
    }
    inst.inflight.delete(f.id);
    clearTimeout(p.timer);
    p.resolve({ t: 'ack', id: f.id, ok: f.ok === true, error: f.error, room: f.room, tickets: f.tickets, expiresAt: f.expiresAt });
  }

  private kick(inst: Instance, why: string): void {
    this.logger.warn(`agent kicked: ${kv({ instance: inst.id || '(before hello)', ip: inst.ip, why })}`);
    this.drop(inst, `kicked: ${why}`, FleetCloseCode.PROTOCOL);
  }

  /** Removes an instance at once: its rooms vanish, its in-flight commands are rejected. */
  private drop(inst: Instance, reason: string, code?: number): void {
    if (inst.closed && !inst.welcomed) return;
    const wasWelcomed = inst.welcomed;
    inst.closed = true;
    inst.welcomed = false;
    const ws = inst.ws;
    if (code !== undefined && (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)) {
      ws.close(code, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 1000).unref?.();
    } else if (code !== undefined) ws.terminate();
    if (!wasWelcomed) return;
    for (const p of inst.inflight.values()) {
      clearTimeout(p.timer);
      p.reject(new OrchestratorError(FleetCause.INSTANCE_DISCONNECTED, `instance ${inst.id} disconnected before acking (${reason})`));
    }
    inst.inflight.clear();
    if (this.instances.get(inst.id) === inst) this.instances.delete(inst.id);
    if (this.byProcessUid.get(inst.hello.processUid) === inst) this.byProcessUid.delete(inst.hello.processUid);
    for (const r of inst.rooms.values()) this.unindexRoom(inst, r);
    const info = this.instanceInfo(inst);
    inst.rooms.clear();
    this.logger.info(`instance left: ${kv({ instance: inst.id, reason })}`);
    this.emit('instance:leave', { instance: info, reason });
  }

  private send(inst: Instance, f: FleetFrame): void {
    if (inst.ws.readyState === inst.ws.OPEN) inst.ws.send(encodeFrame(f));
  }

  private newRoomId(): string {
    for (;;) {
      const id = randomBytes(9).toString('base64url');
      if (!this.roomIndex.has(id) && !this.reserved.has(id)) return id;
    }
  }

  private findInstance(idOrUid: string): Instance | undefined {
    if (typeof idOrUid !== 'string') return undefined;
    return this.instances.get(idOrUid) ?? this.byProcessUid.get(idOrUid);
  }

  // ---------------------------------------------------------------- read model

  private instanceInfo(i: Instance): InstanceInfo {
    return {
      id: i.id,
      processUid: i.hello.processUid,
      name: i.hello.name,
      endpointUrl: i.hello.endpointUrl,
      labels: { ...i.hello.labels },
      capacity: { ...i.hello.capacity },
      status: i.draining ? 'draining' : 'active',
      stale: i.stale,
      roomTypes: [...i.roomTypes],
      roomCount: i.rooms.size,
      clientCount: i.clientCount,
      inflight: i.inflight.size,
      connectedAt: i.connectedAt,
    };
  }

  private roomInfo(i: Instance, r: RoomSnapshot): RoomInfo {
    return {
      roomId: r.roomId,
      type: r.type,
      instanceId: i.id,
      processUid: i.hello.processUid,
      endpointUrl: i.hello.endpointUrl,
      joinUrl: `${i.hello.endpointUrl}/play/${encodeURIComponent(r.type)}/${encodeURIComponent(r.roomId)}`,
      clientCount: r.clientCount,
      metadata: r.metadata,
      provenance: r.provenance,
      createdAt: r.createdAt,
    };
  }

  private createView(): FleetView {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const live = (): Instance[] => [...self.instances.values()].filter((i) => i.welcomed);
    return {
      get stats(): FleetStats {
        const all = live();
        const cap: InstanceCapacity = { maxConnections: 0, maxRooms: 0 };
        let rooms = 0;
        let clients = 0;
        let inflight = 0;
        for (const i of all) {
          rooms += i.rooms.size;
          clients += i.clientCount;
          inflight += i.inflight.size;
          if (!i.stale) {
            cap.maxConnections += i.hello.capacity.maxConnections;
            cap.maxRooms += i.hello.capacity.maxRooms;
          }
        }
        return {
          instances: all.length,
          activeInstances: all.filter((i) => !i.draining && !i.stale).length,
          drainingInstances: all.filter((i) => i.draining).length,
          staleInstances: all.filter((i) => i.stale).length,
          rooms,
          clients,
          capacity: cap,
          inflight,
        };
      },
      get instances(): InstanceInfo[] {
        return live()
          .map((i) => self.instanceInfo(i))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
      },
      get rooms(): RoomInfo[] {
        return this.findRooms();
      },
      getInstance(id: string): InstanceInfo | undefined {
        const i = self.findInstance(id);
        return i && i.welcomed ? self.instanceInfo(i) : undefined;
      },
      getRoom(roomId: string): RoomInfo | undefined {
        const e = self.roomIndex.get(roomId);
        return e ? self.roomInfo(e.inst, e.snap) : undefined;
      },
      findRooms(q: RoomQuery = {}): RoomInfo[] {
        const out: RoomInfo[] = [];
        for (const e of self.roomIndex.values()) {
          if (q.type !== undefined && e.snap.type !== q.type) continue;
          if (q.instanceId !== undefined && e.inst.id !== q.instanceId && e.inst.hello.processUid !== q.instanceId) continue;
          if (q.labels && !labelsMatch(e.inst.hello.labels, q.labels)) continue;
          out.push(self.roomInfo(e.inst, e.snap));
        }
        return out.sort((a, b) => (a.roomId < b.roomId ? -1 : 1));
      },
    };
  }
}

// ---------------------------------------------------------------- validation helpers

function intOpt(name: string, v: number | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min) throw new OrchestratorConfigError(`${name} must be an integer ≥ ${min} (got ${String(v)})`);
  return v;
}

function checkHello(f: HelloFrame): string | null {
  if (typeof f.processUid !== 'string' || !/^[A-Za-z0-9_-]{8,128}$/.test(f.processUid)) return 'processUid';
  if (typeof f.name !== 'string' || f.name.length === 0 || f.name.length > 128) return 'name';
  if (typeof f.endpointUrl !== 'string' || f.endpointUrl.length > 2048) return 'endpointUrl';
  try {
    const u = new URL(f.endpointUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'endpointUrl';
  } catch {
    return 'endpointUrl';
  }
  if (!isLabels(f.labels)) return 'labels';
  const c = f.capacity as unknown;
  if (!isPlainObject(c)) return 'capacity';
  const { maxConnections, maxRooms } = c as Record<string, unknown>;
  if (!Number.isInteger(maxConnections) || (maxConnections as number) < 1 || (maxConnections as number) > 10_000_000) return 'capacity.maxConnections';
  if (!Number.isInteger(maxRooms) || (maxRooms as number) < 1 || (maxRooms as number) > 1_000_000) return 'capacity.maxRooms';
  return null;
}

function validRoom(r: unknown): r is RoomSnapshot {
  if (!isPlainObject(r)) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o.roomId === 'string' &&
    ROOM_ID_RE.test(o.roomId) &&
    typeof o.type === 'string' &&
    ROOM_TYPE_RE.test(o.type) &&
    Number.isInteger(o.clientCount) &&
    (o.clientCount as number) >= 0 &&
    (o.clientCount as number) <= 10_000_000 &&
    isPlainObject(o.metadata) &&
    jsonSize(o.metadata) <= MAX_METADATA_BYTES &&
    (o.provenance === 'fleet' || o.provenance === 'local') &&
    typeof o.createdAt === 'number' &&
    Number.isFinite(o.createdAt)
  );
}

/** Field-by-field bounds check of a snapshot; returns the first problem or `null`. */
function checkSnapshot(s: unknown): string | null {
  if (!isPlainObject(s)) return 'snapshot is not an object';
  const o = s as Record<string, unknown>;
  if (typeof o.draining !== 'boolean') return 'draining';
  if (!Array.isArray(o.roomTypes) || o.roomTypes.length > MAX_ROOM_TYPES || !o.roomTypes.every((t) => typeof t === 'string' && ROOM_TYPE_RE.test(t))) return 'roomTypes';
  if (!Array.isArray(o.rooms) || o.rooms.length > MAX_ROOMS_PER_SNAPSHOT) return 'rooms';
  const seen = new Set<string>();
  for (let i = 0; i < o.rooms.length; i++) {
    const r = o.rooms[i] as unknown;
    if (!validRoom(r)) return `rooms[${i}]`;
    if (seen.has(r.roomId)) return `rooms[${i}].roomId duplicate`;
    seen.add(r.roomId);
  }
  return null;
}

function ackError(ack: AckFrame): OrchestratorError {
  const code = typeof ack.error?.code === 'string' ? ack.error.code.slice(0, 64) : 'UNKNOWN';
  const message = typeof ack.error?.message === 'string' ? ack.error.message.slice(0, 500) : 'command failed';
  if (code === FleetCause.ROOM_EXISTS) return new OrchestratorError(FleetCause.ROOM_EXISTS, message);
  if (code === FleetCause.INSTANCE_DRAINING) return new OrchestratorError(FleetCause.INSTANCE_DRAINING, message);
  return new OrchestratorError(FleetCause.COMMAND_FAILED, `agent: ${message} [${code}]`, { agentCode: code });
}
