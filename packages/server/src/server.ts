/**
 * The game server, composed: options are resolved (`server-options.ts`), then the parts are
 * built and wired, each owning its own state:
 * - `games/catalog.ts`: the games served and their assets;
 * - `rooms/`: the room registry (rooms, reconnect tokens, seats, creation limits), the room,
 *   fan-out and backpressure (full frames, slow-client drop);
 * - `realtime/`: TCP connection caps, the WebSocket upgrade, the handshake (which room a player joins);
 * - `http/`: the routes, reading the server through a narrow view.
 * Nothing here decides a request or a join: this file only wires, and implements {@link GameServer}.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo, Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { CloseCode, isRoomId, playPath, socketUrlFor, type OperationSource, type RoomEvent, type RoomState } from '@parlor/squish';
import { GameLoadError, RuntimeError, ServerConfigError, ServerError, ServerErrorCode } from './errors.js';
import { GameCatalog, type CatalogVersionSource, type GameInfo } from './games/catalog.js';
import type { GameSource, LoadedGame } from './games/loader.js';
import { ClientBundle } from './http/client-bundle.js';
import type { FleetRoomsHook } from './http/fleet-rooms.js';
import { createHttpApp } from './http/routes.js';
import { resolveLogger, type Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { ConnectionAdmission } from './realtime/admission.js';
import { Handshake } from './realtime/handshake.js';
import { Authenticator } from './identity/verify.js';
import { Upgrades } from './realtime/upgrade.js';
import { SlowClientWatch } from './rooms/fanout.js';
import { RoomOperations } from './rooms/operations.js';
import { RoomRegistry } from './rooms/registry.js';
import { TurnSchedule } from './rooms/turn-schedule.js';
import type { RoomInfo } from './rooms/room.js';
import { RoutingRuntime, createRuntime, isProduction, loadOptionsFor } from './runtime/policy.js';
import type { DockerRuntimeOptions } from './runtime/docker.js';
import type { RoomRuntime } from './runtime/runtime.js';
import { resolveOptions, type GameServerOptions } from './server-options.js';

export type { GameServerOptions } from './server-options.js';

/**
 * The events of a {@link GameServer} (`server.events`, an `eventemitter3` emitter): `'room'` with
 * every {@link RoomEvent} of its rooms, in the order they happen — `room.created` / `room.restored`,
 * `player.joined` / `player.left`, `turn.ready` (after the turn's snapshot is stored and players got
 * `state`; `turn` is the newly open turn), `room.paused` / `room.resumed`, `room.ended` (with the
 * game's result when it ended itself). A listener must not throw (it runs inside the room's handling).
 */
export type GameServerEvents = { room: [RoomEvent] };

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
  /**
   * The caps this server enforces: open TCP connections ({@link GameServerOptions.maxConnections})
   * and live rooms ({@link GameServerOptions.maxRooms}), defaults resolved. A fleet agent declares
   * exactly these to the orchestrator (`createFleetHost`).
   */
  readonly capacity: { readonly maxConnections: number; readonly maxRooms: number };
  /** The games served, by name. */
  games(): GameInfo[];
  /** The live rooms. */
  rooms(): RoomInfo[];
  /**
   * Loads (or reloads) a game under `name`. Live rooms of the previous build get a `redirect`
   * to `/play/<name>` and are closed (1000), so their clients rejoin the new code.
   * @throws {GameLoadError} when the new build fails (the old build keeps running).
   */
  replaceGame(name: string, source: GameSource | LoadedGame | string): Promise<LoadedGame>;
  /**
   * Loads a catalog version from its extracted artifact (`ArtifactCache.load`), evaluated as a
   * local game is (in the runtime's `inspect` when sandboxed), and keeps it under `slug@version`
   * beside the other versions of that game: rooms of each keep running their own. It becomes the
   * current build of `slug` (the lobby's, new rooms') when `current` is set or `slug` has none.
   * Nothing is closed: a promotion never changes running rooms.
   * @throws {GameLoadError} when the build fails; {@link ServerConfigError} when that version is loaded from another sha256.
   */
  loadVersion(source: CatalogVersionSource, options?: { current?: boolean }): Promise<LoadedGame>;
  /** A loaded catalog version of a game (current or not), if any. */
  gameVersion(slug: string, version: string): LoadedGame | undefined;
  /**
   * Stops offering a game (lobby, new rooms, `/play/<name>` without a live room); live rooms of it
   * play on. A catalog version it ran stays loaded until {@link GameServer.pruneVersions}.
   */
  retireGame(name: string): void;
  /** Unloads the catalog versions that are not current and that no live room runs. @returns them. */
  pruneVersions(): LoadedGame[];
  /**
   * Creates an empty room of `game` with id `roomId` (as a fleet `createRoom` does); players
   * join it at `/play/<game>/<roomId>`. `options` reach the game's constructor. With `version`,
   * the room runs that loaded catalog version ({@link GameServer.loadVersion}) whichever is current.
   * A real-time room is disposed when its last member leaves; a turn-based one is kept (players may
   * be away for days) until {@link GameServer.closeRoom} or the game ends itself.
   * @throws {ServerError} `SERVER_UNKNOWN_GAME` (also for a version not loaded), `SERVER_ROOM_EXISTS`, `SERVER_CLOSING`;
   *   `SERVER_CONFIG` for an invalid id (`ROOM_ID_RE` of `@parlor/squish`); whatever the runtime throws when it cannot start an engine.
   */
  openRoom(game: string, roomId: string, options?: Record<string, unknown>, version?: string): RoomInfo;
  /**
   * Ends a room (stop): with a store, a snapshot first and the room recorded as ended; its clients
   * are closed with 1000, its engine stopped; `room.ended` is emitted. Idempotent.
   * @returns `false` when no such room was live.
   */
  closeRoom(roomId: string, reason?: string): Promise<boolean>;
  /**
   * Reserves seats in a live room: returns `count` single-use join tickets valid for `ttlMs`.
   * From then on a player join to that room needs a valid ticket (`join.ticket`, or `?ticket=`
   * on the play page); others are refused with 4403. Spectators and reconnects need no ticket.
   * Seats never oversell: players + live tickets + `count` ≤ the game's `maxPlayers` (an expired ticket frees its seat).
   * With `userIds` (one per seat, in order), ticket i admits only the signed-in player whose `userId`
   * is `userIds[i]` (see {@link GameServerOptions.identity}); anyone else using it is refused with 4403.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`; `SERVER_ROOM_FULL` when fewer than `count` seats are free; `SERVER_CONFIG` for a count outside 1–64,
   *   a TTL outside 1 ms–1 h, or `userIds` not `count` user ids of 1–256 characters.
   */
  reserveSeats(roomId: string, count: number, ttlMs: number, userIds?: readonly string[]): { tickets: string[]; expiresAt: number };
  /** The rooms' typed events: see {@link GameServerEvents}. */
  readonly events: EventEmitter<GameServerEvents>;
  /**
   * A live room's runtime state (status, open turn, next cutoff, reason); for a room that finished
   * itself and closed since, its final state.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`
   */
  roomState(roomId: string): RoomState;
  /**
   * Pauses a room: ticks and turn cutoffs stop, players stay connected and get `state` (`paused`,
   * with `reason`, default `'paused by <source>'`; `source` default `'api'`), input and orders are
   * refused (`GAME_PAUSED`); with a store, a snapshot is stored. Emits `room.paused`. Idempotent
   * (a paused room stays as it is). Resolves to the state after it.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED`
   */
  pauseRoom(roomId: string, options?: { reason?: string; source?: OperationSource }): Promise<RoomState>;
  /**
   * Resumes a paused room (the turn schedule restarts from now). Emits `room.resumed`. Idempotent.
   * A turn-based room whose game failed for good (its engine's fatal error) is paused, not ended,
   * and one whose turn failed is paused with the game's state left by the throw: resuming either
   * first starts a new engine from the last good snapshot (the failed turn generates again at the
   * next cutoff; patch the room to a fixed version first if it would fail again).
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED`
   */
  resumeRoom(roomId: string): Promise<RoomState>;
  /**
   * Restarts a room's engine on the same build: a snapshot (`save`), the engine stopped, a new one
   * started from the snapshot (`GameClass.restore`; a game without `save` restarts from its
   * constructor), same status and turn. Players stay connected and get a full frame.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED`; whatever the runtime throws (the room then ends with 4500)
   */
  restartRoom(roomId: string): Promise<RoomState>;
  /**
   * Moves a room to another loaded catalog version of its game ({@link GameServer.loadVersion}
   * first) within the same major.minor (`1.0.0` → `1.0.1`), as a restart on the new build.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED`, `SERVER_PATCH_SEMVER_INCOMPATIBLE`
   *   (another major.minor), `SERVER_NOT_VERSIONED` (a game from source, or a version not loaded)
   */
  patchRoom(roomId: string, version: string): Promise<RoomState>;
  /**
   * A turn-based room's cutoff now: resolves after the turn generated (a failing `generateTurn`
   * pauses the room: the state says so) and the schedule restarted from then.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED`, `SERVER_NOT_TURN_BASED`, `SERVER_ROOM_PAUSED`
   */
  forceTurn(roomId: string): Promise<RoomState>;
  /**
   * Brings back the rooms {@link GameServerOptions.stateStore} records as live (after a restart or
   * kill -9): same ids, from their last snapshots, paused if they were, their members' reconnect
   * tokens valid again (within the reconnect grace, counted from now) and signed-in players matched
   * by user id. Emits `room.restored` for each. A room whose game or version is not loaded is left in
   * the store (load it, call again). Without a store: `[]`.
   * @throws {ServerError} `SERVER_CLOSING`
   */
  restoreRooms(): Promise<RoomInfo[]>;
  /** Sets (or with `null` removes) the fleet room hook of {@link GameServerOptions.fleetRooms}; the fleet CLI wiring calls it once the agent exists. */
  setFleetRooms(hook: FleetRoomsHook | null): void;
  /**
   * Starts draining (for a graceful shutdown): no new room is created here — a join that would
   * create one gets close code 4503 (rejection reason `draining` in the metrics), {@link GameServer.openRoom} throws
   * `SERVER_BUSY` — and `/readyz` turns 503, while the live rooms play on and their members may
   * reconnect. Idempotent; there is no undrain (it ends in {@link GameServer.close}). `parlor serve`
   * drains on SIGTERM/SIGINT (with its fleet agent, so the orchestrator sees the instance draining).
   */
  drain(): void;
  /** Whether {@link GameServer.drain} was called. */
  readonly draining: boolean;
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
 * Routes: `GET /` lobby; `GET /play/:game` and `GET /play/:game/:roomId` play page (404 for an
 * unknown game); WebSocket at `/parlor/ws`; `GET /parlor/client.js` (503 until the client is
 * built); `GET /parlor/assets/:game/:hash/:file` (immutable); `GET /healthz`; `GET /readyz`
 * (503 while closing); `GET /metrics` (Prometheus text); `GET /parlor/api/rooms?offset=&limit=`
 * (JSON `{ rooms, total, offset, limit }`, at most {@link GameServerOptions.listLimit} rows a
 * page, 400 for other values) and `GET /parlor/api/games` (JSON); with a fleet hook ({@link GameServerOptions.fleetRooms}),
 * `POST /parlor/api/fleet/rooms` `{ game }` → `{ joinUrl, roomId, instanceId }` (404 without one).
 * With a dev status ({@link GameServerOptions.devStatus}, `parlor dev`): play pages show the
 * client's dev overlay, a game that has not built yet gets a play page showing its errors instead
 * of a 404, and `GET /parlor/dev/events?game=` (Server-Sent Events) and `GET /parlor/dev/status/:game`
 * (JSON) serve each game's build status (`http/dev-routes.ts`); without one those paths are 404.
 * The routes run on fastify (`http/routes.ts`) over this server's own HTTP server, which also takes
 * the WebSocket upgrades; `HEAD` is answered wherever `GET` is, other methods get 405 with `Allow`;
 * the JSON API refuses with `{ error, message }` and the status declared for `error` (`http/errors.ts`).
 *
 * Rooms are created by the first `join`: `join.roomId === ''` picks an open room of the
 * game (players < `maxPlayers`; for spectators the busiest room) or creates one; a well-formed
 * unknown id creates a room with that id (so `/play/:game/:roomId` links survive a restart).
 * A real-time room is disposed when its last player and spectator have left (after the grace
 * period); a turn-based one (`metadata().turns`) is kept while empty.
 *
 * Room lifecycle: each room has a state (`running`, `generation_in_progress`, `paused`,
 * `finished`; the open turn; the next cutoff), sent to its clients after `init` and on every
 * change; input and orders are refused with an `orderResult` (never a close) while paused
 * (`GAME_PAUSED`), while a turn generates (`TURN_ALREADY_CLOSED`) or once finished
 * (`GAME_FINISHED`). See {@link GameServer.pauseRoom} and the other operations, {@link GameServerEvents},
 * and {@link GameServerOptions.stateStore} for what survives a restart.
 *
 * Capacity (see the options for defaults): TCP connections over {@link GameServerOptions.maxConnections}
 * or {@link GameServerOptions.maxConnectionsPerAddress} are answered 503 / 429 and closed at
 * accept; a join that would create a room is refused with 4503 at
 * {@link GameServerOptions.maxRooms} and with 4429 over
 * {@link GameServerOptions.roomsPerAddressPerMinute}; a spectator over
 * {@link GameServerOptions.maxSpectatorsPerRoom} gets 4409; a socket that does not read is
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
  readonly capacity: { readonly maxConnections: number; readonly maxRooms: number };
  readonly runtime: RoomRuntime;
  private readonly logger: Logger;
  private readonly catalog: GameCatalog;
  private readonly registry: RoomRegistry;
  private readonly operations: RoomOperations;
  readonly events = new EventEmitter<GameServerEvents>();
  private readonly admission: ConnectionAdmission;
  private readonly upgrades: Upgrades;
  private readonly slowClients: SlowClientWatch;
  private readonly http: FastifyInstance;
  private listening = false;
  private closing: Promise<void> | null = null;
  private _port = 0;
  private fleetRooms: FleetRoomsHook | null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: GameServerOptions) {
    const settings = resolveOptions(options);
    this.capacity = { maxConnections: settings.maxConnections, maxRooms: settings.maxRooms };
    // Every line names this server instance (`instanceId`); rooms log through children adding `game` and `room`.
    const logger = (this.logger = resolveLogger(options.logger, options.logLevel ?? 'info').child({ instance: settings.instanceId }));
    const dockerOptions: DockerRuntimeOptions = { ...options.dockerRuntime };
    if (dockerOptions.instanceId === undefined && dockerOptions.hostId === undefined) dockerOptions.instanceId = settings.instanceId;
    const policy = { logger, process: options.processRuntime, docker: dockerOptions };
    const fallback = createRuntime(options.runtime ?? (isProduction() ? 'auto' : 'inline'), policy);
    const overrides = new Map<string, RoomRuntime>();
    for (const [game, choice] of Object.entries(options.gameRuntimes ?? {})) overrides.set(game, choice === options.runtime ? fallback : createRuntime(choice, policy));
    this.runtime = overrides.size ? new RoutingRuntime(fallback, overrides) : fallback;
    const clientBundle = new ClientBundle(options.clientBundle);
    if (options.fleetRooms !== undefined && typeof options.fleetRooms !== 'function') throw new ServerConfigError('fleetRooms must be a function');
    this.fleetRooms = options.fleetRooms ?? null;

    this.catalog = new GameCatalog({ options: (name) => loadOptionsFor(this.runtimeOf(name)), check: (game) => this.checkRunnable(game) });
    this.metrics = new ServerMetrics({
      rooms: () => this.registry.size,
      players: () => sum(this.registry.all(), (s) => s.playerCount),
      spectators: () => sum(this.registry.all(), (s) => s.spectatorCount),
      connections: () => this.admission.open,
      bufferedBytes: () => this.upgrades.bufferedBytes(),
    });
    const { metrics } = this;
    this.registry = new RoomRegistry(
      {
        logger,
        metrics,
        runtime: this.runtime,
        reconnectGraceMs: settings.reconnectGraceMs,
        backpressureBytes: settings.backpressureBytes,
        maxConsecutiveErrors: settings.maxConsecutiveErrors,
        devStatus: settings.devStatus,
        stateStore: options.stateStore,
        snapshotIntervalMs: settings.snapshotIntervalMs,
        emit: (event) => this.emitRoomEvent(event),
      },
      settings,
    );
    this.operations = new RoomOperations({
      rooms: this.registry,
      logger,
      store: options.stateStore,
      version: (slug, version) => this.catalog.version(slug, version),
      current: (name) => this.catalog.get(name),
    });
    this.admission = new ConnectionAdmission(settings, metrics, logger);
    const handshake = new Handshake({
      ...settings,
      logger,
      metrics,
      rooms: this.registry,
      identity: new Authenticator(settings.identity, logger),
      game: (name) => this.catalog.get(name),
      closing: () => this.closing !== null,
    });
    this.upgrades = new Upgrades({ maxInputBytes: settings.maxInputBytes, admission: this.admission, host: handshake, accepting: () => this.listening && !this.closing });
    this.slowClients = new SlowClientWatch(settings);
    // A connection that sends no request headers within joinTimeoutMs gets 408 and is closed (an
    // upgraded one that sends no `join` gets 4408), so idle sockets cannot pile up.
    const headersTimeout = Math.min(60_000, Math.max(1000, settings.joinTimeoutMs));
    let httpServer: HttpServer | undefined;
    this.http = createHttpApp(
      {
        logger,
        metrics,
        clientBundle,
        listLimit: settings.listLimit,
        games: () => this.catalog.info(),
        game: (name) => this.catalog.get(name),
        asset: (path) => this.catalog.asset(path),
        rooms: this.registry,
        ready: () => this.listening && !this.closing && !this.registry.draining,
        fleetRooms: () => this.fleetRooms,
        devStatus: options.devStatus ?? null,
      },
      // The HTTP server is ours (timeouts, connection admission, WebSocket upgrades); fastify routes its requests.
      (handler) => {
        httpServer = createServer({ headersTimeout, requestTimeout: Math.max(300_000, headersTimeout + 1), connectionsCheckingInterval: 1000 }, (req, res) => {
          if (this.admission.isRefused(req.socket)) req.socket.destroy();
          else handler(req, res);
        });
        return httpServer;
      },
      (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
      },
    );
    if (!httpServer) throw new Error('the HTTP app did not create its server');
    this.httpServer = httpServer;
    this.httpServer.on('connection', (socket: Socket) => this.admission.onConnection(socket));
    this.httpServer.on('upgrade', (req, socket, head) => this.upgrades.onUpgrade(req, socket, head));
  }

  async start(): Promise<void> {
    // Fail closed: a runtime that cannot run rooms (Docker unreachable…) stops the server here.
    await this.runtime.prepare?.();
    for (const [name, source] of Object.entries(this.options.games)) {
      if (this.catalog.get(name)) throw new ServerConfigError(`duplicate game name "${name}"`);
      const game = await this.catalog.load(name, source);
      this.logger.info({ game: name, title: game.metadata.name, entry: game.entry ?? '(class)', assets: game.assets.length }, 'game loaded');
    }
    const port = this.options.port ?? 8080;
    await this.http.ready();
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
    this.sweepTimer = setInterval(() => {
      this.slowClients.sweep(this.upgrades.connections);
      this.registry.prune();
    }, 250);
    this.sweepTimer.unref?.();
    this.logger.info({ url: this.url, games: this.catalog.names(), runtime: this.runtime.name }, 'listening');
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
    return socketUrlFor('http:', this.url.slice('http://'.length));
  }

  games(): GameInfo[] {
    return this.catalog.info();
  }

  rooms(): RoomInfo[] {
    return this.registry.list();
  }

  async replaceGame(name: string, source: GameSource | LoadedGame | string): Promise<LoadedGame> {
    const game = await this.catalog.load(name, source);
    const old = (s: { game: LoadedGame }): boolean => s.game.name === name;
    this.logger.info({ game: name, rooms: this.registry.all().filter(old).length }, 'game reloaded');
    const url = playPath(name);
    await this.registry.disposeAll({ code: CloseCode.NORMAL, reason: 'game reloaded', message: { type: 'redirect', url, ticket: '', reason: 'game reloaded' } }, old);
    return game;
  }

  loadVersion(source: CatalogVersionSource, options: { current?: boolean } = {}): Promise<LoadedGame> {
    return this.catalog.loadVersion(source, options);
  }

  gameVersion(slug: string, version: string): LoadedGame | undefined {
    return this.catalog.version(slug, version);
  }

  retireGame(name: string): void {
    this.catalog.retire(name);
  }

  pruneVersions(): LoadedGame[] {
    const live = new Set(this.registry.all().map((r) => r.game));
    return this.catalog.prune((g) => live.has(g));
  }

  openRoom(gameName: string, roomId: string, options: Record<string, unknown> = {}, version?: string): RoomInfo {
    const game = version === undefined ? this.catalog.get(gameName) : this.catalog.version(gameName, version);
    if (!game) throw new ServerError(ServerErrorCode.UNKNOWN_GAME, `no game named ${JSON.stringify(String(gameName).slice(0, 64))}${version === undefined ? '' : ` at version ${JSON.stringify(String(version).slice(0, 64))}`}`);
    if (!isRoomId(roomId)) throw new ServerConfigError('invalid room id');
    if (this.closing) throw new ServerError(ServerErrorCode.SERVER_CLOSING, 'server shutting down');
    return this.registry.open(game, roomId, options).info();
  }

  roomState(roomId: string): RoomState {
    return this.operations.roomState(roomId);
  }

  pauseRoom(roomId: string, options?: { reason?: string; source?: OperationSource }): Promise<RoomState> {
    return attempt(() => this.operations.pause(roomId, options));
  }

  resumeRoom(roomId: string): Promise<RoomState> {
    return attempt(() => this.operations.resume(roomId));
  }

  restartRoom(roomId: string): Promise<RoomState> {
    return attempt(() => this.operations.restart(roomId));
  }

  patchRoom(roomId: string, version: string): Promise<RoomState> {
    return attempt(() => this.operations.patch(roomId, version));
  }

  forceTurn(roomId: string): Promise<RoomState> {
    return attempt(() => this.operations.forceTurn(roomId));
  }

  async restoreRooms(): Promise<RoomInfo[]> {
    if (this.closing) throw new ServerError(ServerErrorCode.SERVER_CLOSING, 'server shutting down');
    return this.operations.restoreRooms();
  }

  /** Emits a room event; a throwing listener is logged, never thrown into the room. */
  private emitRoomEvent(event: RoomEvent): void {
    try {
      this.events.emit('room', event);
    } catch (err) {
      this.logger.error({ kind: event.kind, room: event.roomId, error: (err as Error)?.message ?? String(err) }, 'room event listener threw');
    }
  }

  reserveSeats(roomId: string, count: number, ttlMs: number, userIds?: readonly string[]): { tickets: string[]; expiresAt: number } {
    return this.registry.reserve(roomId, count, ttlMs, userIds);
  }

  setFleetRooms(hook: FleetRoomsHook | null): void {
    if (hook !== null && typeof hook !== 'function') throw new ServerConfigError('fleetRooms must be a function or null');
    this.fleetRooms = hook;
  }

  closeRoom(roomId: string, reason = 'room closed'): Promise<boolean> {
    return this.registry.close(roomId, { code: CloseCode.NORMAL, reason: reason.slice(0, 100) });
  }

  drain(): void {
    if (this.registry.draining) return;
    this.registry.draining = true;
    // With a store, every room's state is snapshotted now (a drain may end in a kill).
    if (this.options.stateStore) for (const room of this.registry.all()) void room.operate(() => (room.lifecycle.isFinished ? null : room.lifecycle.save('drain')));
    this.logger.info({ rooms: this.registry.size }, 'draining: no new rooms; the live ones play on');
  }

  get draining(): boolean {
    return this.registry.draining;
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.logger.info({ rooms: this.registry.size }, 'shutting down');
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    // Rooms are kept in the store (snapshotted first): a restarted server brings them back.
    const going = { code: CloseCode.GOING_AWAY, reason: 'server shutting down', keep: true };
    const disposals = this.registry.disposeAll(going);
    this.upgrades.closeAll(going.code, going.reason);
    await disposals;
    // Give clients a moment to complete the closing handshake, then cut what is left.
    await this.upgrades.drain(1000);
    await new Promise<void>((resolve) => {
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
    await this.http.close().catch(() => undefined);
    this.listening = false;
    await this.runtime.close?.();
    this.logger.info('server closed');
  }

  private runtimeOf(game: string): RoomRuntime {
    return this.runtime instanceof RoutingRuntime ? this.runtime.runtimeOf(game) : this.runtime;
  }

  /**
   * A turn-based game's cron schedule must be one `croner` reads (`SERVER_GAME_BAD_METADATA`, field `turns.cron`).
   * Fail closed: a sandboxed runtime cannot run a game given as an in-process class (there is no
   * bundle to send into the sandbox), so such a server refuses to start rather than run it unsandboxed.
   */
  private checkRunnable(game: LoadedGame): void {
    if (game.metadata.turns) {
      // a cron expression croner does not read fails the load, not the first room
      try {
        new TurnSchedule(game.metadata.turns, () => undefined).disarm();
      } catch (err) {
        throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, game.entry ?? game.name, (err as Error).message, { field: 'turns.cron' });
      }
    }
    const rt = this.runtimeOf(game.name);
    if (rt.name !== 'inline' && rt.inspect && !game.bundle) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_START_FAILED,
        rt.name,
        `game ${game.name} is an in-process class; the ${rt.name} runtime needs a game file or folder (or use gameRuntimes: { ${game.name}: 'inline' } for a trusted game)`,
      );
    }
  }
}

/** A synchronous throw of an operation as a rejection. */
function attempt(fn: () => Promise<RoomState>): Promise<RoomState> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

function sum<T>(items: Iterable<T>, f: (t: T) => number): number {
  let n = 0;
  for (const t of items) n += f(t);
  return n;
}
