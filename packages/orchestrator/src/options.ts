/** The orchestrator's options: their documentation, defaults and bounds. */
import { ENV_RE } from '@parlor/squish';
import type { CatalogConfig } from './catalog/hosting.js';
import type { Catalog, GameResolver } from './catalog/types.js';
import { OrchestratorConfigError } from './errors.js';
import type { Logger, LogLevel } from './logger.js';
import type { WebhookConfig, WebhookDeliveryOptions } from './notifications/types.js';
import type { AutoscalerOptions } from './provisioning/types.js';

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
  /**
   * Accepted publisher keys: they may publish to the catalog and read it, nothing else. Each entry
   * is a key or `name=key` (the publisher's name, recorded with what it publishes; default the
   * key's fingerprint `fp:xxxxxxxx`). Optional (admin keys publish too); in production at least 16
   * characters, and never also an agent or admin key.
   */
  publisherKey?: string | string[];
  /**
   * The catalog (published game versions, manifests, the publish pipeline), served in-process at
   * `/v1/games`, `/v1/manifests/:env`, `/v1/resolve`, `/v1/artifacts/:sha256`…: a {@link Catalog}
   * (yours to close), or `{ dir, gate?, … }` to open one in `dir` when listening (closed at
   * shutdown; `gate` defaults to `@parlor/server/gate`'s). Room creates by `game` resolve through
   * it unless `resolver` is given. Default none (`false`): no catalog routes.
   */
  catalog?: Catalog | CatalogConfig | false;
  /**
   * The public base URL of this server (`https://fleet.example.com`), on which artifact URLs are
   * built for hosts. Default the listen address ({@link Orchestrator.url}).
   */
  publicUrl?: string;
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
  /**
   * Rooms created through the orchestrator (REST, `FleetClient`, an agent's `place`) that no
   * snapshot shows with a client this long after they appeared are destroyed (ms; 0: never).
   * Rooms players opened themselves are left alone. Default 60 000.
   */
  unjoinedRoomTtlMs?: number;
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
  /**
   * Most unsent bytes an SSE stream may hold (bytes): a consumer still holding more than this when
   * the next change of the fleet (or keep-alive ping) comes, one that stopped reading or reads
   * slower than the fleet changes, gets a last `overflow` event and is closed. A stream thus costs
   * at most this plus one burst (the events of one change, bounded by one 4 MiB agent snapshot).
   * Default 1 048 576 (1 MiB).
   */
  sseMaxBufferBytes?: number;
  /** Events kept for `Last-Event-ID` resume (the newest ones). Default 1000. */
  sseReplayEvents?: number;
  /** How long an event is kept for `Last-Event-ID` resume, ms. Default 300 000 (5 minutes). */
  sseReplayMs?: number;
  /**
   * After {@link Orchestrator.listen}, a consumer resuming with a `Last-Event-ID` of an earlier run
   * gets its `sync` (`reason: 'restart'`) no sooner than this (ms), and then only once every
   * connected instance has answered its first poll: it gets the fleet as the returning agents
   * report it, not an empty one. Default 3 × `pollMs`.
   */
  sseWarmupMs?: number;
  /**
   * Keys that may read `GET /metrics` (and nothing else): Prometheus sends one as
   * `Authorization: Bearer <key>`. Admin keys are accepted there too. Default none.
   */
  metricsKey?: string | string[];
  /**
   * Failed authentications per (address, presented key) within `authWindowMs` before that pair
   * gets `AUTH_THROTTLED` (with a `Retry-After` of the real seconds left). Only wrong or missing
   * keys are ever throttled: a valid key always passes. Default 20.
   */
  authFailureLimit?: number;
  /**
   * Failed authentications per address, every presented key together, within `authWindowMs`
   * before every wrong or missing key from that address gets `AUTH_THROTTLED` (a flood of guessed
   * keys). Valid keys from the address still pass. Default 200.
   */
  authSourceFailureLimit?: number;
  /** Window of the failed-auth throttle, ms (fixed, from the first failure). Default 60 000. */
  authWindowMs?: number;
  /** `dirty` nudges per second an agent may send before it is kicked. Default 50. */
  maxDirtyPerSecond?: number;
  /** Sustained `place` requests per second per agent; over the limit the answer is `INSTANCE_BUSY` (not a kick). Default 5. */
  placePerSecond?: number;
  /** Token-bucket size of the `place` rate limit. Default 10. */
  placeBurst?: number;
  /**
   * Where logs go: a pino logger (the orchestrator logs through a child of it, with keys and
   * tickets redacted), or a level for the default logger (pino, JSON lines on stdout). Default:
   * the default logger at `logLevel`.
   */
  logger?: Logger | LogLevel;
  /** Level of the default logger when `logger` is not given. Default `'info'`. */
  logLevel?: LogLevel;
  /** Environment for the key rules. Default `process.env.NODE_ENV`. */
  nodeEnv?: string;
  /**
   * The catalog as room creation sees it: resolves `POST /v1/rooms` `{ game: 'pong', env }` or
   * `{ game: 'pong@1.2.0' }` to a published version, which placement then places. Default none:
   * creates by `game` are refused with `NO_CATALOG` (creates by `type` work as ever).
   */
  resolver?: GameResolver;
  /**
   * The catalog environment (`dev`, `staging`, `prod`…; `ENV_RE`) a create by `game` without its
   * own `env` resolves in. Default `prod` when `nodeEnv` is `production`, else `dev`.
   */
  env?: string;
  /**
   * Folder of the orchestrator's own database, `orchestrator.db` (the operation log, the webhook
   * outbox), created if needed and opened at `listen()`; operations a previous process left
   * unfinished are failed `INTERRUPTED` then. One orchestrator per folder. Default `':memory:'`:
   * kept in memory, lost with the process (the CLI's default is `./parlor-data/orchestrator`).
   */
  dataDir?: string;
  /**
   * A shared PostgreSQL database, `postgres://user:password@host:5432/db`: the operation log, the
   * webhook outbox and the in-process catalog's tables (a `catalog` `{ dir }` without its own
   * `databaseUrl` takes this one) live there instead of SQLite files, so several orchestrators
   * serve one catalog and keep one log. Migrations are applied at `listen()` (once, whichever
   * orchestrator starts first; a database migrated by a newer parlor is refused). Each
   * orchestrator's recovery fails only the operations and publishes of orchestrators that are gone.
   * The catalog's artifacts stay files in its `dir`, which every orchestrator must share. Needs
   * the `pg` package. Default none: SQLite in `dataDir` and the catalog's folder.
   * @throws {OrchestratorConfigError} (constructor) for a URL that is not `postgres://` or `postgresql://`.
   */
  databaseUrl?: string;
  /**
   * Webhooks: each `{ url, secret, kinds? }` gets the notifications of its kinds (default all:
   * `game.turn.ready`, `game.paused`, `game.finished`, `runtime.start_failed`,
   * `runtime.config_invalid`) as signed JSON POSTs, from a durable outbox in `dataDir`'s
   * `orchestrator.db` (once per URL and idempotency key; retried, then a dead letter). Default none.
   */
  webhooks?: WebhookConfig[];
  /** How webhooks are delivered: attempts (default 8), timeout, backoff, concurrency per URL, retention. */
  webhookDelivery?: WebhookDeliveryOptions;
  /**
   * The buffer autoscaler: keeps `buffer` free room slots by starting and stopping instances
   * through `provisioner` (a `ProcessProvisioner`, `SwarmProvisioner`, `KubernetesProvisioner` or
   * your own), between `minInstances` and `maxInstances`. It starts deciding at
   * {@link Orchestrator.listen} and stops at shutdown, which also closes the provisioner (its
   * instances keep running). Its decisions are operations of the log (source `autoscaler`) and
   * SSE `autoscaler` events; `GET /v1/autoscaler` shows its state. Default none: the fleet is
   * whatever servers were started by hand.
   * @throws {OrchestratorConfigError} (from the constructor) on options out of bounds.
   */
  autoscaler?: AutoscalerOptions;
}

/** Options with their defaults applied (keys, logger and environment are handled apart). */
export type ResolvedOptions = Required<Omit<OrchestratorOptions, 'agentKey' | 'adminKey' | 'logger' | 'logLevel' | 'cors' | 'nodeEnv' | 'host' | 'metricsKey' | 'resolver' | 'publisherKey' | 'catalog' | 'publicUrl' | 'webhooks' | 'webhookDelivery' | 'autoscaler' | 'databaseUrl'>> & {
  databaseUrl: string | undefined;
  host: string;
  resolver: GameResolver | undefined;
  publicUrl: string | undefined;
  cors: string[];
  metricsKeys: string[];
};

/** Applies defaults and checks bounds. @throws {OrchestratorConfigError} on a value out of bounds. */
export function resolveOptions(options: OrchestratorOptions): ResolvedOptions {
  const pollMs = intOpt('pollMs', options.pollMs, 1000, 10);
  const cors = options.cors === undefined ? [] : Array.isArray(options.cors) ? options.cors : [options.cors];
  return {
    host: options.host ?? '0.0.0.0',
    port: intOpt('port', options.port, 7070, 0),
    api: options.api ?? true,
    pollMs,
    fullEvery: intOpt('fullEvery', options.fullEvery, 10, 1),
    commandTimeoutMs: intOpt('commandTimeoutMs', options.commandTimeoutMs, 5000, 1),
    maxInflightPerInstance: intOpt('maxInflightPerInstance', options.maxInflightPerInstance, 64, 1),
    unjoinedRoomTtlMs: intOpt('unjoinedRoomTtlMs', options.unjoinedRoomTtlMs, 60_000, 0),
    cors,
    sseQueryAuth: options.sseQueryAuth ?? false,
    trustProxy: options.trustProxy ?? false,
    maxSseStreams: intOpt('maxSseStreams', options.maxSseStreams, 100, 0),
    sseKeepAliveMs: intOpt('sseKeepAliveMs', options.sseKeepAliveMs, 15_000, 10),
    sseMaxBufferBytes: intOpt('sseMaxBufferBytes', options.sseMaxBufferBytes, 1024 * 1024, 1024),
    sseReplayEvents: intOpt('sseReplayEvents', options.sseReplayEvents, 1000, 0),
    sseReplayMs: intOpt('sseReplayMs', options.sseReplayMs, 300_000, 0),
    sseWarmupMs: intOpt('sseWarmupMs', options.sseWarmupMs, 3 * pollMs, 0),
    metricsKeys: metricsKeys(options.metricsKey),
    authFailureLimit: intOpt('authFailureLimit', options.authFailureLimit, 20, 0),
    authSourceFailureLimit: intOpt('authSourceFailureLimit', options.authSourceFailureLimit, 200, 0),
    authWindowMs: intOpt('authWindowMs', options.authWindowMs, 60_000, 1),
    maxDirtyPerSecond: intOpt('maxDirtyPerSecond', options.maxDirtyPerSecond, 50, 1),
    placePerSecond: intOpt('placePerSecond', options.placePerSecond, 5, 1),
    placeBurst: intOpt('placeBurst', options.placeBurst, 10, 1),
    resolver: options.resolver,
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    env: envOpt(options),
    dataDir: dataDirOpt(options.dataDir),
    databaseUrl: databaseUrlOpt(options.databaseUrl),
  };
}

function envOpt(options: OrchestratorOptions): string {
  const env = options.env ?? ((options.nodeEnv ?? process.env.NODE_ENV) === 'production' ? 'prod' : 'dev');
  if (typeof env !== 'string' || !ENV_RE.test(env)) throw new OrchestratorConfigError(`env must be an environment name like dev, staging or prod (${ENV_RE.source}; got ${JSON.stringify(env)})`);
  return env;
}

function dataDirOpt(v: string | undefined): string {
  if (v === undefined) return ':memory:';
  if (typeof v !== 'string' || v.trim() === '') throw new OrchestratorConfigError(`dataDir must be a folder path or ':memory:' (got ${JSON.stringify(v)})`);
  return v;
}

function databaseUrlOpt(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^postgres(ql)?:\/\/./i.test(v)) throw new OrchestratorConfigError(`databaseUrl (--database-url) must be a postgres://user:password@host:5432/db URL (got ${JSON.stringify(String(v).replace(/:[^:@/]*@/, ':***@').slice(0, 60))})`);
  return v;
}

function metricsKeys(v: string | string[] | undefined): string[] {
  const keys = v === undefined ? [] : Array.isArray(v) ? v : [v];
  for (const k of keys) if (typeof k !== 'string' || k.length < 16) throw new OrchestratorConfigError('metricsKey: every key must be a string of at least 16 characters');
  return keys;
}

function intOpt(name: string, v: number | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min) throw new OrchestratorConfigError(`${name} must be an integer ≥ ${min} (got ${String(v)})`);
  return v;
}
