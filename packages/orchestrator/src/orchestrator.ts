/**
 * The composition of the orchestrator: wires the auth guard, the read model, the agent hub, the
 * command RPC, placement and the HTTP API into one HTTP server, and holds the public
 * {@link Orchestrator} API (lifecycle and the control calls, which combine placement, commands and
 * the read model).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { FLEET_WS_PATH, FleetAckCode, FleetCloseCode, type AckFrame } from '@parlor/fleet-agent';
import { AgentConnection } from './agents/connection.js';
import { CommandRpc, ackError, type LateCommand } from './agents/commands.js';
import { AgentHub } from './agents/hub.js';
import { RoomOperations, type OperationCaller } from './agents/room-ops.js';
import { validRoom } from './agents/messages.js';
import { resolveRoomGame } from './api/control-plane.js';
import { createApi, type Api } from './api/http.js';
import { AuthGuard } from './auth/guard.js';
import { AccessKeys } from './auth/keys.js';
import { AuthThrottle } from './auth/throttle.js';
import { CatalogHost, isCatalog } from './catalog/hosting.js';
import type { Catalog } from './catalog/types.js';
import { FleetCause, OrchestratorConfigError, OrchestratorError, OrchestratorErrorCode } from './errors.js';
import { resolveLogger, type Logger } from './logger.js';
import { resolveOptions, type OrchestratorOptions, type ResolvedOptions } from './options.js';
import { place } from './placement/place.js';
import { OrchestratorMetrics } from './metrics.js';
import { OperationStore } from './operations/store.js';
import { WebhookNotifier } from './notifications/notifier.js';
import { resolveWebhooks } from './notifications/types.js';
import { Autoscaler } from './provisioning/autoscaler.js';
import { EventFeed } from './registry/events.js';
import type { InstanceRecord } from './registry/instance.js';
import { Registry } from './registry/read-model.js';
import type { AutoscalerStatus, CreateRoomRequest, FleetView, InstanceInfo, OrchestratorEvents, RoomDestroyed, RoomInfo, RoomOperationRequest, RoomOperationResult, RoomStopResult, SeatReservation } from './types.js';
import { compile, firstError, SeatsSchema } from './schemas.js';

export type { OrchestratorOptions } from './options.js';

type Instance = InstanceRecord<AgentConnection>;

const seatsCheck = compile(SeatsSchema);

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
  /** The pino logger in use (a redacting child of the one given as `logger`, or the default one). */
  readonly logger: Logger;
  /** The read model. */
  readonly fleet: FleetView;
  /**
   * The Prometheus metrics served at `GET /metrics` (own registry; see {@link OrchestratorMetrics}
   * for the list).
   */
  readonly metrics: OrchestratorMetrics;
  /** Keys generated in development (empty otherwise); printed once at construction. */
  readonly generatedKeys: { readonly agentKey?: string; readonly adminKey?: string };
  /**
   * The operation log and its database (`dataDir`/orchestrator.db, or in memory), open from
   * {@link listen} to the end of {@link shutdown}: lifecycle operations run through
   * `operationStore.run(…)`, each finished one is emitted as `'operation:finished'`.
   */
  readonly operationStore: OperationStore;

  private readonly opts: ResolvedOptions;
  private readonly keys: AccessKeys;
  private readonly registry: Registry<AgentConnection>;
  private readonly commands: CommandRpc;
  private readonly hub: AgentHub;
  private readonly roomOps: RoomOperations;
  private readonly api: Api;
  private readonly feed: EventFeed;
  private readonly catalogHost: CatalogHost | null;
  private readonly notifier: WebhookNotifier;
  private readonly scaler: Autoscaler | null;
  private listening = false;
  private shuttingDown: Promise<void> | null = null;
  private endDrain: (() => void) | null = null;
  /** REST calls not yet answered (SSE streams excluded). */
  private openRequests = 0;
  private _port = 0;

  /** @throws {OrchestratorConfigError} on invalid options or key rules. */
  constructor(options: OrchestratorOptions = {}) {
    super();
    this.logger = resolveLogger(options.logger, options.logLevel);
    const production = (options.nodeEnv ?? process.env.NODE_ENV) === 'production';
    this.keys = new AccessKeys({ agentKey: options.agentKey, adminKey: options.adminKey, publisherKey: options.publisherKey }, production);
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
    // an in-process catalog opened here shares the orchestrator's database unless it names its own
    const catalogSetting = options.catalog && !isCatalog(options.catalog) && options.catalog.databaseUrl === undefined && options.databaseUrl !== undefined ? { ...options.catalog, databaseUrl: options.databaseUrl } : options.catalog;
    this.catalogHost = catalogSetting ? new CatalogHost(catalogSetting, this.logger) : null;
    if (options.publicUrl !== undefined && !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(options.publicUrl)) throw new OrchestratorConfigError(`publicUrl must be an http(s) URL (got ${JSON.stringify(options.publicUrl)})`);
    const opts = resolveOptions({ ...options, resolver: options.resolver ?? this.catalogHost?.resolver });
    this.opts = opts;
    const guard = new AuthGuard(this.keys, new AuthThrottle(opts.authFailureLimit, opts.authSourceFailureLimit, opts.authWindowMs), this.logger.child({ component: 'auth' }));
    this.registry = new Registry<AgentConnection>(this, this.logger.child({ component: 'registry' }));
    this.fleet = this.registry.view;
    this.commands = new CommandRpc(opts.commandTimeoutMs, this.logger.child({ component: 'commands' }));
    this.hub = new AgentHub(opts, {
      registry: this.registry,
      commands: this.commands,
      guard,
      logger: this.logger.child({ component: 'agents' }),
      accepting: () => this.ready,
      createRoom: (req, by) => this.createRoom(req, by),
      lateAck: (rec, late, ack) => this.onLateAck(rec, late, ack),
      roomEvent: (rec, event) => this.emit('room:event', { instanceId: rec.id, event }),
    });
    this.roomOps = new RoomOperations({
      registry: this.registry,
      commands: this.commands,
      catalog: opts,
      run: (input, fn) => this.operationStore.run(input, fn),
      destroy: (roomId) => this.destroyRoom(roomId),
      assertRunning: () => this.assertRunning(),
      assertNotBusy: (inst) => this.assertNotBusy(inst),
    }, opts.commandTimeoutMs);
    this.metrics = new OrchestratorMetrics(this.fleet, () => guard.counters);
    this.commands.observer = (op, outcome, ms) => this.metrics.command(op, outcome, ms);
    // Every room create (REST, FleetClient, an agent's place) is counted by its result.
    const create = this.createRoom.bind(this);
    this.createRoom = (req, by) => create(req, by).then(
      (room) => (this.metrics.placement('ok'), room),
      (err: unknown) => {
        this.metrics.placement(err instanceof OrchestratorError ? err.code : 'INTERNAL');
        throw err;
      },
    );
    this.operationStore = new OperationStore(opts.dataDir, (operation) => this.emit('operation:finished', { operation }), opts.databaseUrl);
    this.scaler = options.autoscaler
      ? new Autoscaler(
          options.autoscaler,
          {
            fleet: this.fleet,
            drainInstance: (id) => this.drainInstance(id),
            stopRoom: (roomId) => this.operateRoom(roomId, { op: 'stop' }, { source: 'autoscaler', actor: 'autoscaler' }),
            run: (input, fn) => this.operationStore.run(input, fn),
            decided: (decision) => this.emit('autoscaler', decision),
          },
          this.logger.child({ component: 'autoscaler' }),
        )
      : null;
    const scaler = this.scaler;
    if (scaler) this.metrics.watchAutoscaler(() => scaler.status());
    const hooks = resolveWebhooks(options.webhooks, options.webhookDelivery);
    this.notifier = new WebhookNotifier(hooks.webhooks, hooks.delivery, this.logger.child({ component: 'webhooks' }), this.metrics.registry);
    this.notifier.attach(this);
    const feed = new EventFeed(this, this.fleet, { replayEvents: opts.sseReplayEvents, replayMs: opts.sseReplayMs, warmupMs: opts.sseWarmupMs }, () => this.registry.pendingFirstPoll());
    this.feed = feed;
    const host = this.catalogHost;
    const catalog = host && opts.api ? { catalog: () => host.get(), env: opts.env, publicUrl: () => this.publicUrl, maxUploadBytes: host.maxUploadBytes, logger: this.logger } : undefined;
    this.api = createApi(this, opts, { guard, feed, metrics: this.metrics, logger: this.logger, catalog, operations: () => this.operationStore.log, webhooks: this.notifier, ...(scaler ? { autoscaler: () => scaler.status() } : {}) });
    // One port: fastify serves HTTP; the agent socket is the server's `upgrade`.
    this.httpServer = this.api.app.server;
    this.httpServer.on('upgrade', (req, socket, head) => this.hub.handleUpgrade(req, socket, head));
    this.httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/v1/events')) return;
      this.openRequests++;
      res.once('close', () => this.openRequests--);
    });
    this.logger.info({ agentKeys: this.keys.fingerprints.agent, adminKeys: this.keys.fingerprints.admin, publisherKeys: this.keys.fingerprints.publisher, production }, 'keys');
  }

  /**
   * Replaces the accepted key lists at runtime (key rotation without downtime): add the new key,
   * move clients to it, then remove the old one. By default agents already connected stay
   * connected; only new connections and requests are checked against the new lists. With
   * `opts.dropRevoked` (what the CLI's SIGHUP reload does), agent sessions opened with a key no
   * longer accepted are closed with `KEY_REVOKED` (4910), so a removed key grants nothing any more.
   * Production key rules apply.
   * @returns how many agent sessions were closed (0 without `dropRevoked`).
   * @throws {OrchestratorConfigError} on an empty list or a rule violation (nothing changes then).
   */
  setKeys(keys: { agentKey?: string | string[]; adminKey?: string | string[]; publisherKey?: string | string[] }, opts: { dropRevoked?: boolean } = {}): number {
    const fps = this.keys.set(keys);
    const dropped = opts.dropRevoked ? this.hub.dropRevoked((fp) => this.keys.agent.hasFingerprint(fp)) : 0;
    this.logger.info({ agentKeys: fps.agent, adminKeys: fps.admin, publisherKeys: fps.publisher, revokedSessions: dropped }, 'keys rotated');
    return dropped;
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

  /** The public base URL: the `publicUrl` option, else {@link url}. Artifact URLs are built on it. */
  get publicUrl(): string {
    return (this.catalogHost && this.opts.publicUrl) || this.url;
  }

  /**
   * The buffer autoscaler's state as of its last sync (what `GET /v1/autoscaler` answers), or
   * `undefined` without the `autoscaler` option.
   */
  get autoscaler(): AutoscalerStatus | undefined {
    return this.scaler?.status();
  }

  /** The in-process catalog once {@link listen} opened it (the `catalog` option), else `undefined`. */
  get catalog(): Catalog | undefined {
    return this.catalogHost?.current;
  }

  /** The agent WebSocket URL (`ws://…/v1/agent`). */
  get agentUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}${FLEET_WS_PATH}`;
  }

  /** Whether it is listening and not shutting down (`/readyz`). */
  get ready(): boolean {
    return this.listening && !this.shuttingDown;
  }

  /**
   * Starts listening and polling; opens the catalog (the `catalog` option's `{ dir }`) on the
   * listening address, before `/readyz` says ready. Before listening it opens the operation log
   * (`dataDir`) and fails what a previous run left unfinished `INTERRUPTED` (each emitted as
   * `'operation:finished'`).
   * @throws {OrchestratorConfigError} when the data dir's database cannot be opened (nothing listens then).
   * @throws {OrchestratorConfigError} when the catalog's folder cannot be opened (nothing listens then).
   * @throws {OrchestratorError} `ORCHESTRATOR_LISTEN` when it cannot listen (port in use, no
   *   permission, called twice or after {@link shutdown}); the underlying error, with its own
   *   `code` such as `EADDRINUSE`, is the `cause`.
   */
  async listen(): Promise<void> {
    // a second listen() must not close the log the first one opened
    const opened = !this.operationStore.open;
    const recovered = await this.operationStore.openStore();
    if (recovered.length) this.logger.warn({ operations: recovered.map((o) => o.id) }, `${recovered.length} operation(s) a previous run left unfinished marked failed INTERRUPTED`);
    try {
      await this.api.app.listen({ port: this.opts.port, host: this.opts.host });
    } catch (err) {
      if (opened) await this.operationStore.close();
      throw new OrchestratorError(OrchestratorErrorCode.LISTEN, `cannot listen on ${this.opts.host}:${this.opts.port}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    this._port = (this.httpServer.address() as AddressInfo).port;
    try {
      await this.catalogHost?.open(this.publicUrl);
    } catch (err) {
      await this.api.app.close();
      await this.operationStore.close();
      throw err;
    }
    // webhooks pending from an earlier run (and the notifications of its interrupted operations) go out from now on
    this.notifier.start(this.operationStore.outbox);
    this.listening = true;
    this.hub.start();
    this.feed.start();
    this.scaler?.start();
    this.logger.info({ url: this.url, agents: this.agentUrl, api: this.opts.api, pollMs: this.opts.pollMs }, 'listening');
  }

  /**
   * Stops the orchestrator: ends every SSE stream (a last `shutdown` event), closes every agent
   * socket with the `SHUTDOWN` close code (agents reconnect with their backoff; their rooms keep
   * running on the hosts), rejects commands still in flight, closes the server and the catalog.
   *
   * With `graceful: true` (what `parlor-orchestrator` does on its first SIGTERM/SIGINT) it first
   * drains: at once it stops accepting work — control calls (REST creates, destroys, seat
   * reservations, drains; agents' `place`) are refused with `SHUTTING_DOWN` (503, `Retry-After`),
   * `/readyz` answers 503 and new agent connections are refused — then it waits, up to `timeoutMs`
   * (default 5000 ms), until no command sent to an agent is unacked and no REST call is
   * unanswered (open SSE streams do not count), so a create already sent completes and its caller
   * gets its answer. A call without `graceful` during that wait ends the wait at once.
   * Idempotent: every call returns the same promise.
   */
  shutdown(opts: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (!this.shuttingDown) this.shuttingDown = this.doShutdown(opts.graceful === true ? Math.max(0, opts.timeoutMs ?? 5000) : 0);
    else if (opts.graceful !== true) this.endDrain?.();
    return this.shuttingDown;
  }

  /** Waits (up to `timeoutMs`) until no command is in flight to an agent and no REST call is unanswered. */
  private async finishInflight(timeoutMs: number): Promise<void> {
    const busy = (): { commands: number; requests: number } => ({ commands: this.registry.all().reduce((n, i) => n + i.link.inflightCount, 0), requests: this.openRequests });
    this.logger.info({ timeoutMs, ...busy() }, 'draining: refusing new work, finishing what is in flight');
    await new Promise<void>((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const done = (): void => {
        clearInterval(timer);
        this.endDrain = null;
        resolve();
      };
      const timer = setInterval(() => {
        const b = busy();
        if (b.commands + b.requests === 0) return done();
        if (Date.now() >= deadline) {
          this.logger.warn({ timeoutMs, ...b }, 'drain timed out: closing with work in flight');
          done();
        }
      }, 20);
      this.endDrain = done;
    });
  }

  private async doShutdown(drainMs: number): Promise<void> {
    // the autoscaler decides nothing more (its instances keep running)
    await this.scaler?.stop();
    await this.scaler?.provisioner.close().catch((err: unknown) => this.logger.warn({ error: (err as Error)?.message }, 'provisioner close failed'));
    if (drainMs > 0) await this.finishInflight(drainMs);
    this.hub.stop('orchestrator shutting down', FleetCloseCode.SHUTDOWN);
    this.feed.stop();
    this.api.streams.closeAll();
    await this.api.app.close();
    await this.catalogHost?.close();
    await this.notifier.stop();
    await this.operationStore.close();
    this.listening = false;
    this.logger.info('orchestrator stopped');
  }

  // ---------------------------------------------------------------- control

  /**
   * Places and creates a room; resolves with its {@link RoomInfo} when the agent acks. A create by
   * `game` is resolved through the `resolver` option first (in `env`, default the `env` option) and
   * placed only where the host encodes its squish version; the agent gets the resolved artifact.
   * Idempotency: a client-supplied `roomId` that exists or is being created gives `ROOM_EXISTS`,
   * except for a retry: when an earlier create of that id and type was answered without its
   * outcome (`COMMAND_TIMEOUT`, `INSTANCE_DISCONNECTED`), the id stays reserved until the agent
   * tells, and a create of the same id and type waits for that outcome (up to `commandTimeoutMs`)
   * and returns the room if it was made, or creates it if it was not; never a second copy.
   * @throws {OrchestratorError} `VALIDATION`, `NO_CATALOG`, `UNKNOWN_GAME`, `UNKNOWN_VERSION`,
   *   `UNKNOWN_ENV`, `NOT_IN_MANIFEST`, `CATALOG_UNAVAILABLE`, `ROOM_EXISTS`, `NO_CANDIDATE`, `INSTANCE_NOT_FOUND`,
   *   `INSTANCE_DRAINING`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   *
   * Once listening, every create is recorded in the operation log as a `start` operation (source
   * `by.source`, default `api`; a host's `place` for a player is `lobby`), failed ones with their
   * cause, so a start that could not run (webhook kinds `runtime.start_failed`, `runtime.config_invalid`) is kept.
   */
  async createRoom(req: CreateRoomRequest, by: OperationCaller = {}): Promise<RoomInfo> {
    this.assertRunning();
    const roomId = req.roomId ?? this.newRoomId();
    if (!this.operationStore.open) return this.placeAndCreate(req, roomId);
    const params: Record<string, unknown> = req.game ? { game: req.game, ...(req.env ? { env: req.env } : {}) } : { type: req.type };
    const game = String(req.game ?? req.type ?? '').split('@')[0];
    const { result } = await this.operationStore.run({ roomId, op: 'start', source: by.source ?? 'api', actor: by.actor ?? '', params, game }, async () => {
      const room = await this.placeAndCreate(req, roomId);
      return { result: room, instanceId: room.instanceId, version: room.version ?? null, game: room.type };
    });
    return result.result;
  }

  /** {@link createRoom}'s work: resolve, place, send `createRoom`, record the room. */
  private async placeAndCreate(req: CreateRoomRequest, roomId: string): Promise<RoomInfo> {
    const { type, artifact, options, placement } = await resolveRoomGame(req, this.opts);
    const earlier = await this.hub.creates.earlierOutcome(roomId, type);
    if (earlier) return this.registry.roomInfo(earlier.rec, earlier.snap);
    if (this.registry.room(roomId) || this.hub.creates.has(roomId)) throw new OrchestratorError(FleetCause.ROOM_EXISTS, `room ${roomId} exists`);
    const inst = place(type, placement, this.registry.candidates(), { maxInflightPerInstance: this.opts.maxInflightPerInstance }, artifact).rec;
    inst.pendingCreates++;
    try {
      const ack = await this.hub.creates.track(inst, roomId, type, () => this.commands.send(inst, { op: 'createRoom', type, roomId, options, force: placement.force === true, ...(artifact && { artifact }) }));
      if (!ack.ok) throw ackError(ack);
      const snap = ack.room && validRoom(ack.room) ? ack.room : { roomId, type, clientCount: 0, metadata: {}, provenance: 'fleet' as const, createdAt: Date.now(), ...(artifact && { version: artifact.version, sha256: artifact.sha256 }) };
      if (!inst.link.closed) this.registry.addRoom(inst, snap);
      return this.registry.roomInfo(inst, inst.rooms.get(roomId) ?? snap);
    } finally {
      inst.pendingCreates--;
    }
  }

  /**
   * Destroys a room; resolves when the agent acks. Racing the room's natural end is fine: a room
   * that ended by itself (on the host before the command, or gone from the read model within the
   * last 10 minutes, its instance's exit included) resolves `{ ok: true, alreadyGone: true }`.
   * A destroy refused `INSTANCE_BUSY` or timed out is retried by the orchestrator until the room is gone.
   * @throws {OrchestratorError} `ROOM_NOT_FOUND` (never known, or ended long ago), `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async destroyRoom(roomId: string): Promise<RoomDestroyed> {
    this.assertRunning();
    const entry = this.registry.room(roomId);
    if (!entry && this.registry.endedRecently(roomId)) return { roomId, ok: true, destroyed: false, alreadyGone: true };
    if (!entry) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    const inst = entry.rec;
    let ack: AckFrame;
    try {
      this.assertNotBusy(inst);
      ack = await this.commands.send(inst, { op: 'destroyRoom', roomId });
      if (!ack.ok) throw ackError(ack);
    } catch (err) {
      const code = (err as OrchestratorError).code;
      if (code !== FleetCause.INSTANCE_BUSY && code !== FleetCause.COMMAND_TIMEOUT) throw err;
      // never leaked: the orchestrator retries it until the room is gone
      this.hub.reaper.destroyLater(roomId, code);
      throw new OrchestratorError(code, `${(err as Error).message}; the orchestrator retries this destroy until the room is gone`);
    }
    this.registry.removeRoom(inst, roomId);
    const gone = ack.alreadyGone === true;
    return { roomId, ok: true, destroyed: !gone, alreadyGone: gone };
  }

  /**
   * Reserves seats in a room: the instance issues `count` single-use join tickets valid for
   * `ttlMs`, and from then on refuses player joins to that room without a valid ticket.
   * @param opts.count tickets, 1–64; default 1.
   * @param opts.ttlMs ticket lifetime, 1 000–3 600 000 ms; default 60 000.
   * Seats never oversell: the host refuses when players + live tickets + `count` would exceed the
   * game's `maxPlayers` (its own count decides, since this read model may be a poll behind);
   * expired tickets free their seats.
   * @returns the tickets, their expiry (ms since the epoch) and one join URL per ticket (`joinUrl?ticket=…`).
   * @throws {OrchestratorError} `VALIDATION`, `ROOM_NOT_FOUND`, `ROOM_FULL`, `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`.
   */
  async reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number; userIds?: string[] } = {}): Promise<SeatReservation> {
    this.assertRunning();
    const bad = firstError(seatsCheck, opts);
    if (bad) throw new OrchestratorError(FleetCause.VALIDATION, bad);
    const count = opts.count ?? 1;
    const ttlMs = opts.ttlMs ?? 60_000;
    const userIds = opts.userIds;
    if (userIds !== undefined && userIds.length !== count) throw new OrchestratorError(FleetCause.VALIDATION, `userIds: ${userIds.length} given for ${count} seats (one per seat)`);
    const entry = this.registry.room(roomId);
    if (!entry) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    const inst = entry.rec;
    this.assertNotBusy(inst);
    const ack = await this.commands.send(inst, { op: 'reserveSeats', roomId, count, ttlMs, ...(userIds ? { userIds } : {}) });
    if (!ack.ok) {
      if (ack.error?.code === FleetAckCode.ROOM_NOT_FOUND) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `room ${roomId} ended`);
      throw ackError(ack);
    }
    const tickets = Array.isArray(ack.tickets) ? ack.tickets.filter((t): t is string => typeof t === 'string' && t.length <= 256).slice(0, count) : [];
    if (tickets.length !== count) throw new OrchestratorError(FleetCause.COMMAND_FAILED, 'agent returned no valid tickets');
    const room = this.registry.roomInfo(inst, entry.snap);
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

  /**
   * Runs a lifecycle operation on a room and records it in the operation log (`queued`, `running`,
   * then `succeeded` or `failed` with its code; `by.source` default `api`, `by.actor` the caller):
   * `pause` (optional `reason`), `resume`, `restart`, `patch` (to `version`, resolved through the
   * `resolver` as `slug@version`, same major.minor only), `turn` (resolves once the turn is
   * generated), `stop` ({@link destroyRoom}, answering its fields too). Needs the room's agent to
   * speak fleet protocol 1.3. A restart, patch or turn waits for its ack up to 30 s (or
   * `commandTimeoutMs` when longer); a pause or resume up to `commandTimeoutMs`.
   * @returns the succeeded operation and the room's state after it (`null` after a stop).
   * @throws {OrchestratorError} (the failed operation recorded first) `VALIDATION`, `ROOM_NOT_FOUND`,
   *   `INSTANCE_UNSUPPORTED`, `NOT_VERSIONED`, `PATCH_SEMVER_INCOMPATIBLE`, `NOT_TURN_BASED`,
   *   `ROOM_FINISHED`, `ROOM_PAUSED` (a turn), a patch's catalog causes (`NO_CATALOG`, `UNKNOWN_VERSION`, `CATALOG_UNAVAILABLE`…),
   *   `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`, `COMMAND_TIMEOUT`; `SHUTTING_DOWN` (not recorded).
   */
  operateRoom(roomId: string, request: { op: 'stop' }, by?: OperationCaller): Promise<RoomStopResult>;
  operateRoom(roomId: string, request: RoomOperationRequest, by?: OperationCaller): Promise<RoomOperationResult>;
  operateRoom(roomId: string, request: RoomOperationRequest, by: OperationCaller = {}): Promise<RoomOperationResult> {
    return this.roomOps.run(roomId, request, by);
  }

  private async setDrain(id: string, draining: boolean): Promise<InstanceInfo> {
    this.assertRunning();
    const inst = this.registry.find(id);
    if (!inst) throw new OrchestratorError(FleetCause.INSTANCE_NOT_FOUND, `no instance ${String(id).slice(0, 64)}`);
    this.assertNotBusy(inst);
    const ack = await this.commands.send(inst, { op: draining ? 'drain' : 'undrain' });
    if (!ack.ok) throw ackError(ack);
    this.registry.setDraining(inst, draining);
    return this.registry.instanceInfo(inst);
  }

  /** A create acked after its deadline: record the room if it was made (the hub's create ledger settles its outcome). */
  private onLateAck(inst: Instance, late: LateCommand, f: AckFrame): void {
    if (late.op !== 'createRoom' || !late.roomId) return;
    if (f.ok === true && f.room && validRoom(f.room) && f.room.roomId === late.roomId) this.registry.addRoom(inst, f.room);
  }

  private assertRunning(): void {
    if (this.shuttingDown) throw new OrchestratorError(FleetCause.SHUTTING_DOWN, 'orchestrator shutting down');
  }

  private assertNotBusy(inst: Instance): void {
    if (inst.link.inflightCount >= this.opts.maxInflightPerInstance) throw new OrchestratorError(FleetCause.INSTANCE_BUSY, `instance ${inst.id} has ${inst.link.inflightCount} commands in flight`);
  }

  private newRoomId(): string {
    for (;;) {
      const id = randomBytes(9).toString('base64url');
      if (!this.registry.room(id) && !this.hub.creates.has(id)) return id;
    }
  }
}
