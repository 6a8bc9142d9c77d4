import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CloseCode } from '@parlor/squish';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from './engine/session-engine.js';
import { RuntimeError, ServerConfigError, ServerError, ServerErrorCode } from './errors.js';
import type { LoadedAsset } from './games/assets.js';
import { ASSETS_PATH } from './games/assets.js';
import { loadGame, type GameSource, type LoadedGame } from './games/loader.js';
import { ClientBundle } from './http/client-bundle.js';
import { safeDecode, safePath } from './http/url.js';
import {
  LOBBY_SCRIPT,
  LOBBY_SCRIPT_PATH,
  PAGE_HEADERS,
  PAGE_STYLE,
  PLAY_SCRIPT,
  PLAY_SCRIPT_PATH,
  STYLE_PATH,
  assetHeaders,
  renderErrorPage,
  renderLobby,
  renderPlay,
  type GameInfo,
} from './http/pages.js';
import { createConsoleLogger, kv, type Logger, type LogLevel } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { ConnectionAdmission } from './realtime/admission.js';
import { Handshake } from './realtime/handshake.js';
import { Upgrades, WS_PATH } from './realtime/upgrade.js';
import { SlowClientWatch } from './rooms/fanout.js';
import { RoomRegistry, SESSION_ID_RE } from './rooms/registry.js';
import type { SessionInfo } from './rooms/room.js';
import { RoutingRuntime, createRuntime, isProduction, loadOptionsFor, type RuntimeChoice } from './runtime/policy.js';
import type { ProcessRuntimeOptions } from './runtime/process.js';
import { defaultInstanceId, type DockerRuntimeOptions } from './runtime/docker.js';
import type { SessionRuntime } from './runtime/runtime.js';

export { WS_PATH } from './realtime/upgrade.js';
export { SESSION_ID_RE } from './rooms/registry.js';

/** Path of the lobby's "New room (fleet)" endpoint (`POST`, JSON `{ game }`; 404 without a fleet). */
export const FLEET_ROOMS_PATH = '/parlor/api/fleet/rooms';
/** Largest body accepted on {@link FLEET_ROOMS_PATH}. */
const FLEET_ROOMS_MAX_BODY = 1024;

/**
 * Places a room of `game` through the fleet and returns where it is (at least a browser `joinUrl`).
 * `parlor serve --fleet-url …` sets it to the agent's `requestRoom`. Errors with a `code` (and a
 * `fleetCause`) map to HTTP statuses: not connected 503, timeout 504, `INSTANCE_BUSY` 429, other refusals 502.
 */
export type FleetRoomsHook = (game: string) => Promise<{ joinUrl: string; roomId?: string; instanceId?: string }>;

/** Options of {@link createGameServer}. Durations in ms, sizes in bytes. */
export interface GameServerOptions {
  /** Games by route name (`/play/<name>`): a {@link GameSource}, a path to a game file or folder, or a {@link LoadedGame}. */
  games: Record<string, GameSource | LoadedGame | string>;
  /** TCP port; `0` picks a free one (read it from {@link GameServer.port}). Default 8080. */
  port?: number;
  /** Interface to listen on, e.g. `'127.0.0.1'` or `'0.0.0.0'`. Default: every interface (Node's default). */
  host?: string;
  /**
   * Where session engines run: `'inline'` (in this process, trusted games only), `'process'`
   * (sandboxed child process), `'docker'`, `'auto'` (the strongest available, logged) or a
   * {@link SessionRuntime}. Fails closed (see {@link createRuntime}): `'docker'` never falls back,
   * `'inline'` is refused when `NODE_ENV=production`. With a sandboxed runtime, game modules are
   * evaluated in the sandbox only, never in this process. Default `'inline'`, or `'auto'` when
   * `NODE_ENV=production`.
   * @throws {RuntimeError} from {@link createGameServer}: `RUNTIME_REFUSED`, `RUNTIME_UNAVAILABLE`.
   */
  runtime?: RuntimeChoice;
  /** Per-game runtime overrides, by game name (same values as {@link GameServerOptions.runtime}). */
  gameRuntimes?: Record<string, RuntimeChoice>;
  /** Options of the `process` runtime when it is chosen by name (`'process'` or `'auto'`). */
  processRuntime?: ProcessRuntimeOptions;
  /** Options of the `docker` runtime when it is chosen by name (image, limits, endpoint). */
  dockerRuntime?: DockerRuntimeOptions;
  /** How long a disconnected player keeps its seat and id (reconnect with the token from `init`). Default 30 000. */
  reconnectGraceMs?: number;
  /** A socket that sends no `join` within this time is closed with 4408. Default 10 000. */
  joinTimeoutMs?: number;
  /** Largest client message accepted; larger ones close the socket with 1009. Default 4096. */
  maxInputBytes?: number;
  /** Sustained client messages per second per socket; above it the socket is closed with 4429. Default 120. */
  inputRateLimit?: number;
  /** Token-bucket size of the input rate limit (messages). Default `2 × inputRateLimit` (240). */
  inputBurst?: number;
  /** `bufferedAmount` above which frames to that socket are skipped (one full frame follows the drain). Default 1 MiB. */
  backpressureBytes?: number;
  /** Consecutive game failures (throwing tick/hooks) after which a session ends with 4500. Default 10. */
  maxConsecutiveErrors?: number;
  /** Where log lines go. Default: {@link createConsoleLogger} at `logLevel`. */
  logger?: Logger;
  /** Level of the default logger. Default `'info'`. */
  logLevel?: LogLevel;
  /** Path of the browser client bundle. Default: `@parlor/client`'s `dist/parlor-client.global.js`. */
  clientBundle?: string;
  /** When set, the lobby shows "New room (fleet)" per game and `POST /parlor/api/fleet/rooms` places rooms through it (see {@link GameServer.setFleetRooms}). */
  fleetRooms?: FleetRoomsHook;

  // ---------------------------------------------------------------- capacity (see README "Close codes")

  /**
   * Most open TCP connections (HTTP and WebSocket, every address together). A connection over it
   * is answered `HTTP 503` (`Retry-After`) and closed at accept, before any WebSocket exists, and
   * counted in `parlor_connections_refused_total{reason="server_full"}`. Default 10 000, or half
   * the process's open-file limit (`RLIMIT_NOFILE`, soft) when that is lower, so that a flood of
   * connections refuses new ones long before the process runs out of file descriptors.
   */
  maxConnections?: number;
  /**
   * Most open TCP connections from one source address (IPv4 address; IPv6 clients are grouped by
   * their /64). Over it: `HTTP 429` and closed at accept (`reason="address_full"`). The address is
   * the TCP peer's: behind a reverse proxy every client shares the proxy's, so raise this (and
   * {@link sessionsPerAddressPerMinute}) there and limit per client at the proxy. Default 64.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Most live sessions (rooms). A `join` that would create one more is refused with close code
   * 4503 (`CloseCode.SERVER_BUSY`); {@link GameServer.openSession} throws `SERVER_BUSY`. Default 200.
   */
  maxSessions?: number;
  /**
   * Sessions one source address (grouped as for {@link maxConnectionsPerAddress}) may create per
   * minute by joining (a fresh session id, or no open session to join): a token bucket of this
   * size refilled over 60 s. Over it the join is refused with 4429 (`CloseCode.RATE_LIMITED`).
   * {@link GameServer.openSession} is not limited. Default 10.
   */
  sessionsPerAddressPerMinute?: number;
  /** Most spectators per session (spectators need no ticket but count); over it a spectator join gets 4409. Default 100. */
  maxSpectatorsPerSession?: number;
  /**
   * Hard cap of bytes queued for one WebSocket (`bufferedAmount`): a socket over it is closed with
   * 4413 (`CloseCode.SLOW_CLIENT`) and its buffers freed (the TCP connection is reset), instead of
   * buffering for a client that does not read. Checked every 250 ms; a socket over it at two checks
   * in a row is dropped (a reading client drains one large frame in between). Must be larger than
   * {@link backpressureBytes}. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** A socket that stays over {@link backpressureBytes} for this long is closed with 4413 too. Default 10 000. */
  slowClientTimeoutMs?: number;
  /**
   * Most rows the lobby (`GET /`) lists, and the largest `limit` of `GET /parlor/api/sessions?offset=&limit=`
   * (whose default `limit` it also is). Default 100.
   */
  listLimit?: number;
  /**
   * This server's instance id: the `docker` runtime labels its containers `parlor.instance=<id>`
   * and its reconcile pass removes only containers with this label (so several servers can share
   * one Docker engine). One process at a time may hold an id on a machine. Default
   * `<hostname>:<port>` for a fixed port (stable across restarts, so a restarted server removes
   * what it left behind), or a random id per process for port 0.
   */
  instanceId?: string;
}

/** A running game server: HTTP and WebSocket on one port. */
export interface GameServer {
  /** Base URL, e.g. `http://localhost:8080` (wildcard hosts shown as `localhost`). */
  readonly url: string;
  /** WebSocket URL, e.g. `ws://localhost:8080/parlor/ws`. */
  readonly wsUrl: string;
  /** The port listened on. */
  readonly port: number;
  /** The underlying HTTP server. */
  readonly httpServer: HttpServer;
  /** The server's Prometheus metrics (own registry). */
  readonly metrics: ServerMetrics;
  /** The games served, by name. */
  games(): GameInfo[];
  /** The live sessions. */
  sessions(): SessionInfo[];
  /**
   * Loads (or reloads) a game under `name`. Live sessions of the previous build get a `redirect`
   * to `/play/<name>` and are closed (1000), so their clients rejoin the new code.
   * @throws {GameLoadError} when the new build fails (the old build keeps running).
   */
  replaceGame(name: string, source: GameSource | LoadedGame | string): Promise<LoadedGame>;
  /**
   * Creates an empty session of `game` with id `sessionId` (as a fleet `createRoom` does); players
   * join it at `/play/<game>/<sessionId>`. `options` reach the game's constructor. The session is
   * disposed when its last member leaves, or by {@link GameServer.closeSession}.
   * @throws {ServerError} `UNKNOWN_GAME`, `SESSION_EXISTS`, `SERVER_CLOSING`; `SERVER_CONFIG` for an invalid id
   *   (see {@link SESSION_ID_RE}); whatever the runtime throws when it cannot start an engine.
   */
  openSession(game: string, sessionId: string, options?: Record<string, unknown>): SessionInfo;
  /**
   * Ends a session: its clients are closed with 1000 and its engine stopped. Idempotent.
   * @returns `false` when no such session was live.
   */
  closeSession(sessionId: string, reason?: string): Promise<boolean>;
  /**
   * Reserves seats in a live session: returns `count` single-use join tickets valid for `ttlMs`.
   * From then on a player join to that session needs a valid ticket (`join.ticket`, or `?ticket=`
   * on the play page); others are refused with 4403. Spectators and reconnects need no ticket.
   * @throws {ServerError} `SESSION_NOT_FOUND`; `SERVER_CONFIG` for a count outside 1–64 or a TTL outside 1 ms–1 h.
   */
  reserveSeats(sessionId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number };
  /** Sets (or with `null` removes) the fleet room hook of {@link GameServerOptions.fleetRooms}; the fleet CLI wiring calls it once the agent exists. */
  setFleetRooms(hook: FleetRoomsHook | null): void;
  /**
   * Shuts down: `/readyz` turns 503, new sockets are refused, every client is closed with 1001,
   * every engine is stopped, and the HTTP server closes. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts a game server: loads every game (bundling files and folders with esbuild), then listens
 * for HTTP and WebSocket on one port.
 *
 * Routes: `GET /` lobby; `GET /play/:game` and `GET /play/:game/:sessionId` play page (404 for an
 * unknown game); WebSocket at `/parlor/ws`; `GET /parlor/client.js` (503 until the client is
 * built); `GET /parlor/assets/:game/:hash/:file` (immutable); `GET /healthz`; `GET /readyz`
 * (503 while closing); `GET /metrics` (Prometheus text); `GET /parlor/api/sessions?offset=&limit=`
 * (JSON `{ sessions, total, offset, limit }`, at most {@link GameServerOptions.listLimit} rows a
 * page, 400 for other values) and `GET /parlor/api/games` (JSON); with a fleet hook ({@link GameServerOptions.fleetRooms}),
 * `POST /parlor/api/fleet/rooms` `{ game }` → `{ joinUrl, roomId, instanceId }` (404 without one).
 *
 * Sessions are created by the first `join`: `join.sessionId === ''` picks an open session of the
 * game (players < `maxPlayers`; for spectators the busiest session) or creates one; a well-formed
 * unknown id creates a session with that id (so `/play/:game/:sessionId` links survive a restart).
 * A session is disposed when its last player and spectator have left (after the grace period).
 *
 * Capacity (see the options for defaults): TCP connections over {@link GameServerOptions.maxConnections}
 * or {@link GameServerOptions.maxConnectionsPerAddress} are answered 503 / 429 and closed at
 * accept; a join that would create a session is refused with 4503 at
 * {@link GameServerOptions.maxSessions} and with 4429 over
 * {@link GameServerOptions.sessionsPerAddressPerMinute}; a spectator over
 * {@link GameServerOptions.maxSpectatorsPerSession} gets 4409; a socket that does not read is
 * dropped with 4413 ({@link GameServerOptions.maxBufferedBytes}, {@link GameServerOptions.slowClientTimeoutMs}).
 *
 * @throws {GameLoadError} when a game fails to load.
 * @throws {ServerConfigError} on invalid options.
 * @throws the `listen` error (e.g. `EADDRINUSE`).
 */
export async function createGameServer(options: GameServerOptions): Promise<GameServer> {
  const server = new ParlorServer(options);
  try {
    await server.start();
  } catch (err) {
    await server.runtime.close?.();
    throw err;
  }
  return server;
}

class ParlorServer implements GameServer {
  readonly httpServer: HttpServer;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly runtime: SessionRuntime;
  readonly reconnectGraceMs: number;
  readonly joinTimeoutMs: number;
  readonly maxInputBytes: number;
  readonly inputRateLimit: number;
  readonly inputBurst: number;
  readonly backpressureBytes: number;
  readonly maxConsecutiveErrors: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxSessions: number;
  readonly sessionsPerAddressPerMinute: number;
  readonly maxSpectatorsPerSession: number;
  readonly maxBufferedBytes: number;
  readonly slowClientTimeoutMs: number;
  readonly listLimit: number;
  readonly instanceId: string;
  private readonly rooms: RoomRegistry;
  private readonly slowClients: SlowClientWatch;

  private readonly gameMap = new Map<string, LoadedGame>();
  private readonly assetIndex = new Map<string, LoadedAsset>();
  private readonly admission: ConnectionAdmission;
  private readonly upgrades: Upgrades;
  private readonly clientBundle: ClientBundle;
  private listening = false;
  private closing: Promise<void> | null = null;
  private _port = 0;
  private fleetRooms: FleetRoomsHook | null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: GameServerOptions) {
    if (!options || typeof options.games !== 'object' || options.games === null) throw new ServerConfigError('options.games is required');
    this.logger = options.logger ?? createConsoleLogger(options.logLevel ?? 'info');
    this.reconnectGraceMs = nonNegative('reconnectGraceMs', options.reconnectGraceMs, 30_000);
    this.joinTimeoutMs = positive('joinTimeoutMs', options.joinTimeoutMs, 10_000);
    this.maxInputBytes = positive('maxInputBytes', options.maxInputBytes, 4096);
    this.inputRateLimit = positive('inputRateLimit', options.inputRateLimit, 120);
    this.inputBurst = positive('inputBurst', options.inputBurst, this.inputRateLimit * 2);
    this.backpressureBytes = nonNegative('backpressureBytes', options.backpressureBytes, 1024 * 1024);
    this.maxConsecutiveErrors = positive('maxConsecutiveErrors', options.maxConsecutiveErrors, DEFAULT_MAX_CONSECUTIVE_ERRORS);
    this.maxConnections = positiveInt('maxConnections', options.maxConnections, defaultMaxConnections());
    this.maxConnectionsPerAddress = positiveInt('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 64);
    this.maxSessions = positiveInt('maxSessions', options.maxSessions, 200);
    this.sessionsPerAddressPerMinute = positiveInt('sessionsPerAddressPerMinute', options.sessionsPerAddressPerMinute, 10);
    this.maxSpectatorsPerSession = nonNegativeInt('maxSpectatorsPerSession', options.maxSpectatorsPerSession, 100);
    this.maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes, 4 * 1024 * 1024);
    if (this.maxBufferedBytes <= this.backpressureBytes) {
      throw new ServerConfigError(`maxBufferedBytes (${this.maxBufferedBytes}) must be larger than backpressureBytes (${this.backpressureBytes})`);
    }
    this.slowClientTimeoutMs = positive('slowClientTimeoutMs', options.slowClientTimeoutMs, 10_000);
    this.listLimit = positiveInt('listLimit', options.listLimit, 100);
    if (options.instanceId !== undefined && !(typeof options.instanceId === 'string' && /^[\x21-\x7e]{1,128}$/.test(options.instanceId))) {
      throw new ServerConfigError('instanceId must be 1–128 printable ASCII characters without spaces');
    }
    this.instanceId = options.instanceId ?? defaultInstanceId(options.port ?? 8080);
    const dockerOptions: DockerRuntimeOptions = { ...options.dockerRuntime };
    if (dockerOptions.instanceId === undefined && dockerOptions.hostId === undefined) dockerOptions.instanceId = this.instanceId;
    const policy = { logger: this.logger, process: options.processRuntime, docker: dockerOptions };
    const fallback = createRuntime(options.runtime ?? (isProduction() ? 'auto' : 'inline'), policy);
    const overrides = new Map<string, SessionRuntime>();
    for (const [game, choice] of Object.entries(options.gameRuntimes ?? {})) overrides.set(game, choice === options.runtime ? fallback : createRuntime(choice, policy));
    this.runtime = overrides.size ? new RoutingRuntime(fallback, overrides) : fallback;
    this.clientBundle = new ClientBundle(options.clientBundle);
    if (options.fleetRooms !== undefined && typeof options.fleetRooms !== 'function') throw new ServerConfigError('fleetRooms must be a function');
    this.fleetRooms = options.fleetRooms ?? null;
    this.metrics = new ServerMetrics({
      sessions: () => this.rooms.size,
      players: () => sum(this.rooms.all(), (s) => s.playerCount),
      spectators: () => sum(this.rooms.all(), (s) => s.spectatorCount),
      connections: () => this.admission.open,
      bufferedBytes: () => this.upgrades.bufferedBytes(),
    });
    this.rooms = new RoomRegistry(this, this);
    this.slowClients = new SlowClientWatch(this);
    this.admission = new ConnectionAdmission(this, this.metrics, this.logger);
    const handshake = new Handshake({
      logger: this.logger,
      metrics: this.metrics,
      joinTimeoutMs: this.joinTimeoutMs,
      inputRateLimit: this.inputRateLimit,
      inputBurst: this.inputBurst,
      maxSpectatorsPerSession: this.maxSpectatorsPerSession,
      rooms: this.rooms,
      game: (name) => this.gameMap.get(name),
      closing: () => this.closing !== null,
    });
    this.upgrades = new Upgrades({ maxInputBytes: this.maxInputBytes, admission: this.admission, host: handshake, accepting: () => this.listening && !this.closing });
    // A connection that sends no request headers within joinTimeoutMs gets 408 and is closed (an
    // upgraded one that sends no `join` gets 4408), so idle sockets cannot pile up.
    const headersTimeout = Math.min(60_000, Math.max(1000, this.joinTimeoutMs));
    this.httpServer = createServer({ headersTimeout, requestTimeout: Math.max(300_000, headersTimeout + 1), connectionsCheckingInterval: 1000 }, (req, res) => this.onRequest(req, res));
    this.httpServer.on('connection', (socket: Socket) => this.admission.onConnection(socket));
    this.httpServer.on('upgrade', (req, socket, head) => this.upgrades.onUpgrade(req, socket, head));
    this.httpServer.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async start(): Promise<void> {
    // Fail closed: a runtime that cannot run sessions (Docker unreachable…) stops the server here.
    await this.runtime.prepare?.();
    for (const [name, source] of Object.entries(this.options.games)) {
      if (this.gameMap.has(name)) throw new ServerConfigError(`duplicate game name "${name}"`);
      const game = await loadGame(name, source, this.loadOptions(name));
      this.checkRunnable(game);
      this.gameMap.set(name, game);
      this.logger.info(`game loaded: ${kv({ game: name, title: game.metadata.name, entry: game.entry ?? '(class)', assets: game.assets.length })}`);
    }
    this.indexAssets();
    const port = this.options.port ?? 8080;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.httpServer.once('error', onError);
      this.httpServer.listen(port, this.options.host, () => {
        this.httpServer.off('error', onError);
        resolve();
      });
    });
    this._port = (this.httpServer.address() as AddressInfo).port;
    this.listening = true;
    // After listen, errors come from accept (EMFILE/ENFILE when out of file descriptors…): the
    // connection is lost, nothing else; never thrown, logged at most once a second.
    this.httpServer.on('error', (err: Error & { code?: string }) => this.admission.onServerError(err));
    this.sweepTimer = setInterval(() => this.sweep(), 250);
    this.sweepTimer.unref?.();
    this.logger.info(`listening: ${kv({ url: this.url, games: [...this.gameMap.keys()].join(','), runtime: this.runtime.name })}`);
  }

  get port(): number {
    return this._port;
  }

  get url(): string {
    const h = this.options.host;
    const host = !h || h === '0.0.0.0' || h === '::' ? 'localhost' : h.includes(':') ? `[${h}]` : h;
    return `http://${host}:${this._port}`;
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}${WS_PATH}`;
  }

  games(): GameInfo[] {
    return [...this.gameMap.values()].map((g) => ({
      name: g.name,
      title: g.metadata.name,
      description: g.metadata.description,
      maxPlayers: g.metadata.maxPlayers,
      tickRate: g.metadata.tickRate,
      aspectRatio: g.metadata.aspectRatio,
    }));
  }

  sessions(): SessionInfo[] {
    return this.rooms.list();
  }

  async replaceGame(name: string, source: GameSource | LoadedGame | string): Promise<LoadedGame> {
    const game = await loadGame(name, source, this.loadOptions(name));
    this.checkRunnable(game);
    this.gameMap.set(name, game);
    this.indexAssets();
    const old = this.rooms.all().filter((s) => s.game.name === name);
    this.logger.info(`game reloaded: ${kv({ game: name, sessions: old.length })}`);
    const url = `/play/${encodeURIComponent(name)}`;
    await Promise.all(
      old.map((s) =>
        s.dispose({
          code: CloseCode.NORMAL,
          reason: 'game reloaded',
          message: { type: 'redirect', url, ticket: '', reason: 'game reloaded' },
        }),
      ),
    );
    return game;
  }

  openSession(gameName: string, sessionId: string, options: Record<string, unknown> = {}): SessionInfo {
    const game = this.gameMap.get(gameName);
    if (!game) throw new ServerError(ServerErrorCode.UNKNOWN_GAME, `no game named ${JSON.stringify(String(gameName).slice(0, 64))}`);
    if (typeof sessionId !== 'string' || !SESSION_ID_RE.test(sessionId)) throw new ServerConfigError('invalid session id');
    if (this.closing) throw new ServerError(ServerErrorCode.SERVER_CLOSING, 'server shutting down');
    return this.rooms.open(game, sessionId, options).info();
  }

  reserveSeats(sessionId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number } {
    return this.rooms.reserve(sessionId, count, ttlMs);
  }

  setFleetRooms(hook: FleetRoomsHook | null): void {
    if (hook !== null && typeof hook !== 'function') throw new ServerConfigError('fleetRooms must be a function or null');
    this.fleetRooms = hook;
  }

  closeSession(sessionId: string, reason = 'session closed'): Promise<boolean> {
    return this.rooms.close(sessionId, { code: CloseCode.NORMAL, reason: reason.slice(0, 100) });
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.logger.info(`shutting down: ${kv({ sessions: this.rooms.size })}`);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const going = { code: CloseCode.GOING_AWAY, reason: 'server shutting down' };
    const disposals = this.rooms.disposeAll(going);
    this.upgrades.closeAll(going.code, going.reason);
    await disposals;
    // Give clients a moment to complete the closing handshake, then cut what is left.
    await this.upgrades.drain(1000);
    await new Promise<void>((resolve) => {
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
    this.listening = false;
    await this.runtime.close?.();
    this.logger.info('server closed');
  }

  // ---------------------------------------------------------------- internals

  /**
   * Fail closed: a sandboxed runtime cannot run a game given as an in-process class (there is no
   * bundle to send into the sandbox), so such a server refuses to start rather than run it unsandboxed.
   */
  private checkRunnable(game: LoadedGame): void {
    const rt = this.runtime instanceof RoutingRuntime ? this.runtime.runtimeOf(game.name) : this.runtime;
    if (rt.name !== 'inline' && rt.inspect && !game.bundle) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_START_FAILED,
        rt.name,
        `game ${game.name} is an in-process class; the ${rt.name} runtime needs a game file or folder (or use gameRuntimes: { ${game.name}: 'inline' } for a trusted game)`,
      );
    }
  }

  /** Loader options for a game: evaluated in its runtime's sandbox when it has one. */
  private loadOptions(name: string) {
    return loadOptionsFor(this.runtime instanceof RoutingRuntime ? this.runtime.runtimeOf(name) : this.runtime);
  }

  /**
   * Every 250 ms: closes sockets that do not read with 4413 (see `rooms/fanout.ts`), and forgets
   * idle per-address session buckets.
   */
  private sweep(): void {
    this.slowClients.sweep(this.upgrades.connections);
    this.rooms.prune();
  }

  /** The lobby's rows: at most {@link GameServerOptions.listLimit}, oldest first. */
  private lobbySessions(): SessionInfo[] {
    return this.rooms.list(this.listLimit);
  }

  /** `GET /parlor/api/sessions?offset=&limit=`: one page (limit ≤ {@link GameServerOptions.listLimit}) and the total; `null` for invalid parameters. */
  private sessionsPage(params: URLSearchParams): { sessions: SessionInfo[]; total: number; offset: number; limit: number } | null {
    const int = (name: string, def: number): number | null => {
      const v = params.get(name);
      if (v === null || v === '') return def;
      return /^\d{1,9}$/.test(v) ? Number(v) : null;
    };
    const offset = int('offset', 0);
    const limit = int('limit', this.listLimit);
    if (offset === null || limit === null || limit < 1 || limit > this.listLimit) return null;
    const { sessions, total } = this.rooms.page(offset, limit);
    return { sessions, total, offset, limit };
  }

  private indexAssets(): void {
    this.assetIndex.clear();
    for (const g of this.gameMap.values()) for (const a of g.assets) this.assetIndex.set(a.url, a);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.admission.isRefused(req.socket)) {
      req.socket.destroy();
      return;
    }
    this.route(req, res).catch((err: unknown) => {
      this.logger.error(`http error: ${kv({ method: req.method, path: safePath(req.url) })}: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal server error\n');
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === FLEET_ROOMS_PATH) return this.fleetRoom(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const html = 'text/html; charset=utf-8';
    const json = 'application/json; charset=utf-8';
    // Every HTML page carries PAGE_HEADERS (strict CSP, nosniff, Referrer-Policy, framing).
    const page = (status: number, body: string, headers: Record<string, string> = {}): void => send(req, res, status, html, body, { ...PAGE_HEADERS, ...headers });
    const staticFile = (type: string, body: string): void =>
      send(req, res, 200, type, body, { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin' });
    switch (path) {
      case '/': {
        let body: string;
        try {
          body = renderLobby(this.games(), this.lobbySessions(), { fleet: this.fleetRooms !== null });
        } catch (err) {
          // Never a 500 for every visitor because of one game's data: log, and serve the lobby without rows.
          this.logger.error(`lobby render failed: ${(err as Error)?.message ?? 'unknown error'}`);
          body = renderLobby([], [], { fleet: false });
        }
        page(200, body, { 'Cache-Control': 'no-store' });
        return;
      }
      case STYLE_PATH:
        staticFile('text/css; charset=utf-8', PAGE_STYLE);
        return;
      case LOBBY_SCRIPT_PATH:
        staticFile('text/javascript; charset=utf-8', LOBBY_SCRIPT);
        return;
      case PLAY_SCRIPT_PATH:
        staticFile('text/javascript; charset=utf-8', PLAY_SCRIPT);
        return;
      case '/healthz':
        send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n', { 'Cache-Control': 'no-store' });
        return;
      case '/readyz': {
        const ready = this.listening && !this.closing;
        send(req, res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n', { 'Cache-Control': 'no-store' });
        return;
      }
      case '/metrics':
        send(req, res, 200, this.metrics.registry.contentType, await this.metrics.text(), { 'Cache-Control': 'no-store' });
        return;
      case '/parlor/api/sessions': {
        // Paginated: ?offset=&limit= (limit 1–listLimit, default listLimit); `total` counts every session.
        const rows = this.sessionsPage(url.searchParams);
        if (!rows) send(req, res, 400, json, JSON.stringify({ error: 'VALIDATION', message: `offset must be an integer ≥ 0 and limit 1–${this.listLimit}` }), { 'Cache-Control': 'no-store' });
        else send(req, res, 200, json, JSON.stringify(rows), { 'Cache-Control': 'no-store' });
        return;
      }
      case '/parlor/api/games':
        send(req, res, 200, json, JSON.stringify({ games: this.games() }), { 'Cache-Control': 'no-store' });
        return;
      case '/parlor/client.js': {
        const data = this.clientBundle.read();
        if (!data) {
          send(
            req,
            res,
            503,
            'text/javascript; charset=utf-8',
            `/* Parlor client bundle not built (${this.clientBundle.path ?? '@parlor/client not found'}). Run \`npm run build\`. */\n` +
              `document.body.insertAdjacentHTML('afterbegin','<p style="color:#fff;font:16px sans-serif;padding:16px">The Parlor client is not built: run <code>npm run build</code>.</p>');\n`,
            { 'Cache-Control': 'no-store' },
          );
          return;
        }
        send(req, res, 200, 'text/javascript; charset=utf-8', data, { 'Cache-Control': 'no-cache' });
        return;
      }
    }
    if (path.startsWith(ASSETS_PATH)) {
      const asset = this.assetIndex.get(path);
      if (!asset) {
        send(req, res, 404, 'text/plain; charset=utf-8', 'asset not found\n');
        return;
      }
      send(req, res, 200, asset.contentType, asset.data, {
        'Cache-Control': 'public, max-age=31536000, immutable',
        ETag: `"${asset.hash}"`,
        ...assetHeaders(asset.contentType, safeDecode(path.slice(path.lastIndexOf('/') + 1))),
      });
      return;
    }
    if (path.startsWith('/play/')) {
      const parts = path.slice('/play/'.length).split('/');
      if (parts.length === 2 && parts[1] === '') parts.pop();
      const game = parts.length <= 2 ? this.gameMap.get(safeDecode(parts[0])) : undefined;
      const sessionId = parts.length === 2 ? safeDecode(parts[1]) : '';
      if (!game) {
        page(404, renderErrorPage(404, 'Game not found', `There is no game called "${safeDecode(parts[0] ?? '').slice(0, 64)}" here.`));
        return;
      }
      if (sessionId !== '' && !SESSION_ID_RE.test(sessionId)) {
        page(404, renderErrorPage(404, 'Session not found', 'That session id is not valid.'));
        return;
      }
      const other = sessionId ? this.rooms.get(sessionId) : undefined;
      if (other && other.game.name !== game.name) {
        page(404, renderErrorPage(404, 'Session not found', `Session ${sessionId} is not a ${game.metadata.name} session.`));
        return;
      }
      const spectate = ['1', 'true', 'yes'].includes(url.searchParams.get('spectate') ?? '');
      page(200, renderPlay({ game: game.name, title: game.metadata.name, sessionId, spectate }), { 'Cache-Control': 'no-store' });
      return;
    }
    page(404, renderErrorPage(404, 'Not found', `Nothing at ${path.slice(0, 200)}.`));
  }

  /**
   * `POST /parlor/api/fleet/rooms` `{ game }` → `{ joinUrl, roomId?, instanceId? }`: the lobby's
   * "New room (fleet)". 404 without a fleet hook; same-origin only when an `Origin` header is sent;
   * JSON bodies of at most 1 KiB; only games served here.
   */
  private async fleetRoom(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = 'application/json; charset=utf-8';
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      if (!res.headersSent) send(req, res, status, json, JSON.stringify(body), { 'Cache-Control': 'no-store', ...headers });
    };
    const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
      // Unread request bodies would otherwise keep the socket busy.
      if (!req.complete) res.setHeader('Connection', 'close');
      reply(status, { error: code, message }, headers);
    };
    const hook = this.fleetRooms;
    if (!hook) return refuse(404, 'NOT_FOUND', 'this server has no fleet attached');
    if (req.method !== 'POST') return refuse(405, 'METHOD_NOT_ALLOWED', 'use POST', { Allow: 'POST' });
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let same = false;
      try {
        const o = new URL(origin);
        same = (o.protocol === 'http:' || o.protocol === 'https:') && o.host === req.headers.host;
      } catch {
        same = false;
      }
      if (!same) return refuse(403, 'FORBIDDEN', 'cross-origin requests are refused');
    }
    if (!/^application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? ''))) return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'send JSON: { "game": "<name>" }');
    if (Number(req.headers['content-length'] ?? 0) > FLEET_ROOMS_MAX_BODY) return refuse(413, 'PAYLOAD_TOO_LARGE', `body over ${FLEET_ROOMS_MAX_BODY} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    await new Promise<void>((resolve, reject) => {
      req.on('data', (c: Buffer) => {
        if (tooLarge) return;
        size += c.byteLength;
        if (size > FLEET_ROOMS_MAX_BODY) {
          tooLarge = true;
          resolve();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve());
      req.on('error', reject);
    });
    if (tooLarge) return refuse(413, 'PAYLOAD_TOO_LARGE', `body over ${FLEET_ROOMS_MAX_BODY} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return refuse(400, 'VALIDATION', 'body is not JSON');
    }
    const game = (body as { game?: unknown } | null)?.game;
    if (typeof game !== 'string' || !this.gameMap.has(game)) return refuse(404, 'UNKNOWN_GAME', `no game named ${JSON.stringify(String(game).slice(0, 64))} here`);
    let placed: { joinUrl: string; roomId?: string; instanceId?: string };
    try {
      placed = await hook(game);
    } catch (err) {
      const e = err as { code?: unknown; fleetCause?: unknown; message?: unknown };
      const code = typeof e?.fleetCause === 'string' ? e.fleetCause : typeof e?.code === 'string' ? e.code : 'FLEET_FAILED';
      const status = /NOT_CONNECTED|CLOSED|UNSUPPORTED/.test(code) ? 503 : /TIMEOUT/.test(code) ? 504 : code === 'INSTANCE_BUSY' ? 429 : 502;
      this.logger.warn(`fleet room refused: ${kv({ game, code, status })}`);
      return reply(status, { error: code, message: String(e?.message ?? err).slice(0, 300) });
    }
    let joinUrl: URL | null = null;
    try {
      joinUrl = new URL(String(placed?.joinUrl));
    } catch {
      joinUrl = null;
    }
    if (!joinUrl || (joinUrl.protocol !== 'http:' && joinUrl.protocol !== 'https:')) return reply(502, { error: 'FLEET_FAILED', message: 'the fleet returned no usable join URL' });
    this.logger.info(`fleet room placed: ${kv({ game, room: placed.roomId, instance: placed.instanceId })}`);
    reply(200, { joinUrl: joinUrl.toString(), roomId: placed.roomId, instanceId: placed.instanceId });
  }
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.byteLength), 'X-Content-Type-Options': 'nosniff', ...headers });
  if (req.method === 'HEAD') res.end();
  else res.end(buf);
}

function sum<T>(items: Iterable<T>, f: (t: T) => number): number {
  let n = 0;
  for (const t of items) n += f(t);
  return n;
}

function positiveInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new ServerConfigError(`${name} must be a positive integer (got ${String(v)})`);
  return v;
}

function nonNegativeInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw new ServerConfigError(`${name} must be a non-negative integer (got ${String(v)})`);
  return v;
}

/**
 * Default of {@link GameServerOptions.maxConnections}: 10 000, or half the soft open-file limit
 * (`Max open files` of /proc/self/limits) when that is lower; 10 000 where it cannot be read.
 */
function defaultMaxConnections(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Math.max(16, Math.min(10_000, Math.floor(Number(m[1]) / 2)));
  } catch {
    // not Linux
  }
  return 10_000;
}

function positive(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new ServerConfigError(`${name} must be a positive number (got ${String(v)})`);
  return v;
}

function nonNegative(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new ServerConfigError(`${name} must be a non-negative number (got ${String(v)})`);
  return v;
}
