/**
 * The options of {@link createGameServer} (`server.ts`): their documentation, defaults and
 * validation. {@link resolveOptions} turns them into the {@link ServerSettings} the parts of the
 * server are built from.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from './engine/room-engine.js';
import { ServerConfigError } from './errors.js';
import type { GameSource, LoadedGame } from './games/loader.js';
import type { FleetRoomsHook } from './http/fleet-rooms.js';
import { resolveIdentity, type IdentityOptions, type IdentitySettings } from './identity/options.js';
import type { DevStatus } from './dev/status.js';
import type { Logger, LogLevel } from './logger.js';
import type { RuntimeChoice } from './runtime/policy.js';
import type { RoomStateStore } from './state/store.js';
import type { ProcessRuntimeOptions } from './runtime/process.js';
import { defaultInstanceId, type DockerRuntimeOptions } from './runtime/docker.js';

/** Options of {@link createGameServer}. Durations in ms, sizes in bytes. */
export interface GameServerOptions {
  /** Games by route name (`/play/<name>`): a {@link GameSource}, a path to a game file or folder, or a {@link LoadedGame}. */
  games: Record<string, GameSource | LoadedGame | string>;
  /**
   * Development mode (`parlor dev`): the status of each game's last build and its diagnostics,
   * which the server shows in the browser (a dev overlay) and to which it reports room errors.
   * Default: none (production: no dev overlay, no diagnostics served).
   */
  devStatus?: DevStatus;
  /** TCP port; `0` picks a free one (read it from {@link GameServer.port}). Default 8080. */
  port?: number;
  /** Interface to listen on, e.g. `'127.0.0.1'` or `'0.0.0.0'`. Default: every interface (Node's default). */
  host?: string;
  /**
   * Where room engines run: `'inline'` (in this process, trusted games only), `'process'`
   * (sandboxed child process), `'docker'`, `'auto'` (the strongest available, logged) or a
   * `RoomRuntime` (`@parlor/server/runtimes`). Fails closed (see {@link createRuntime}): `'docker'` never falls back,
   * `'inline'` is refused when `NODE_ENV=production`. With a sandboxed runtime, game modules are
   * evaluated in the sandbox only, never in this process. Default `'inline'`, or `'auto'` when
   * `NODE_ENV=production`.
   * @throws {RuntimeError} from {@link createGameServer}: `SERVER_RUNTIME_REFUSED`, `SERVER_RUNTIME_UNAVAILABLE`.
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
  /** Consecutive game failures (throwing tick/hooks) after which a room ends with 4500. Default 10. */
  maxConsecutiveErrors?: number;
  /**
   * Where logs go: a pino logger (the server logs through a child of it, with tokens, tickets and
   * keys redacted: `LOG_REDACT_PATHS`). Each event is one object: `msg` plus fields such as `game`,
   * `room`, `player`, `reason`, `code`. Default: `createLogger`'s (JSON lines on stdout) at `logLevel`.
   */
  logger?: Logger;
  /** Level of the default logger (ignored when `logger` is given). Default `'info'`. */
  logLevel?: LogLevel;
  /** Path of the browser client bundle. Default: `@parlor/client`'s `dist/parlor-client.global.js`. */
  clientBundle?: string;
  /** When set, the lobby shows "New room (fleet)" per game and `POST /parlor/api/fleet/rooms` places rooms through it (see {@link GameServer.setFleetRooms}). */
  fleetRooms?: FleetRoomsHook;
  /**
   * Player identity ({@link IdentityOptions}): how a join's signed identity token is verified
   * (HS256 `secrets`, a `jwksUrl`, optional `issuer` / `audience`, `clockToleranceSec`), or the
   * integrator's `authenticate(join)` hook, and the `roleLadder` games' `minRole` is ranked on
   * (default `['player', 'member', 'moderator', 'admin']`). Games then see `player.userId` and
   * `player.roles`; a game's access (`requiresAuth`, `minRole`) refuses anonymous players (4402)
   * and lower roles (4407); a token that does not verify is refused (4498). Default: none, every
   * player anonymous (games that need sign-in admit nobody).
   * @throws {ServerConfigError} from {@link createGameServer} for an invalid option (e.g. a secret under 32 bytes).
   */
  identity?: IdentityOptions;
  /**
   * Durable room state (`parlor serve --state-dir`; `openRoomStateStore`): with one, every room is
   * recorded with its members (reconnect tokens as sha256 only) and its game's snapshots (after each
   * accepted order and turn of a turn-based game, before they are acknowledged; on pause, stop,
   * restart, patch, drain; every {@link snapshotIntervalMs} for a real-time game that saves), and
   * `GameServer.restoreRooms()` brings the live ones back after a restart. The server does not close
   * it. Default: none (rooms live only as long as the process).
   */
  stateStore?: RoomStateStore;
  /** With a {@link stateStore}: how often a real-time room whose game has `save()` is snapshotted (ms). Default 30 000. */
  snapshotIntervalMs?: number;

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
   * {@link roomsPerAddressPerMinute}) there and limit per client at the proxy. Default 64.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Most live rooms. A `join` that would create one more is refused with close code
   * 4503 (`CloseCode.SERVER_BUSY`); {@link GameServer.openRoom} throws `SERVER_BUSY`. Default 200.
   */
  maxRooms?: number;
  /**
   * Rooms one source address (grouped as for {@link maxConnectionsPerAddress}) may create per
   * minute by joining (a fresh room id, or no open room to join): a token bucket of this
   * size refilled over 60 s. Over it the join is refused with 4429 (`CloseCode.RATE_LIMITED`).
   * {@link GameServer.openRoom} is not limited. Default 10.
   */
  roomsPerAddressPerMinute?: number;
  /** Most spectators per room (spectators need no ticket but count); over it a spectator join gets 4409. Default 100. */
  maxSpectatorsPerRoom?: number;
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
   * Most rows the lobby (`GET /`) lists, and the largest `limit` of `GET /parlor/api/rooms?offset=&limit=`
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

/** The numeric settings of a server, validated, with defaults applied (see {@link GameServerOptions}). */
export interface ServerSettings {
  readonly reconnectGraceMs: number;
  readonly joinTimeoutMs: number;
  readonly maxInputBytes: number;
  readonly inputRateLimit: number;
  readonly inputBurst: number;
  readonly backpressureBytes: number;
  readonly maxConsecutiveErrors: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxRooms: number;
  readonly roomsPerAddressPerMinute: number;
  readonly maxSpectatorsPerRoom: number;
  readonly maxBufferedBytes: number;
  readonly slowClientTimeoutMs: number;
  readonly listLimit: number;
  readonly instanceId: string;
  /** {@link GameServerOptions.devStatus}: where rooms report game errors in `parlor dev`; `undefined` otherwise. */
  readonly devStatus: DevStatus | undefined;
  /** {@link GameServerOptions.identity}, validated. */
  readonly identity: IdentitySettings;
  /** {@link GameServerOptions.snapshotIntervalMs}. */
  readonly snapshotIntervalMs: number;
}

/**
 * Validates the options and applies the defaults.
 * @throws {ServerConfigError} on an invalid value.
 */
export function resolveOptions(options: GameServerOptions): ServerSettings {
  if (!options || typeof options.games !== 'object' || options.games === null) throw new ServerConfigError('options.games is required');
  const reconnectGraceMs = nonNegative('reconnectGraceMs', options.reconnectGraceMs, 30_000);
  const joinTimeoutMs = positive('joinTimeoutMs', options.joinTimeoutMs, 10_000);
  const maxInputBytes = positive('maxInputBytes', options.maxInputBytes, 4096);
  const inputRateLimit = positive('inputRateLimit', options.inputRateLimit, 120);
  const inputBurst = positive('inputBurst', options.inputBurst, inputRateLimit * 2);
  const backpressureBytes = nonNegative('backpressureBytes', options.backpressureBytes, 1024 * 1024);
  const maxConsecutiveErrors = positive('maxConsecutiveErrors', options.maxConsecutiveErrors, DEFAULT_MAX_CONSECUTIVE_ERRORS);
  const maxConnections = positiveInt('maxConnections', options.maxConnections, defaultMaxConnections());
  const maxConnectionsPerAddress = positiveInt('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 64);
  const maxRooms = positiveInt('maxRooms', options.maxRooms, 200);
  const roomsPerAddressPerMinute = positiveInt('roomsPerAddressPerMinute', options.roomsPerAddressPerMinute, 10);
  const maxSpectatorsPerRoom = nonNegativeInt('maxSpectatorsPerRoom', options.maxSpectatorsPerRoom, 100);
  const maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes, 4 * 1024 * 1024);
  if (maxBufferedBytes <= backpressureBytes) {
    throw new ServerConfigError(`maxBufferedBytes (${maxBufferedBytes}) must be larger than backpressureBytes (${backpressureBytes})`);
  }
  const slowClientTimeoutMs = positive('slowClientTimeoutMs', options.slowClientTimeoutMs, 10_000);
  const listLimit = positiveInt('listLimit', options.listLimit, 100);
  if (options.instanceId !== undefined && !(typeof options.instanceId === 'string' && /^[\x21-\x7e]{1,128}$/.test(options.instanceId))) {
    throw new ServerConfigError('instanceId must be 1–128 printable ASCII characters without spaces');
  }
  const instanceId = options.instanceId ?? defaultInstanceId(options.port ?? 8080);
  const identity = resolveIdentity(options.identity);
  const snapshotIntervalMs = positive('snapshotIntervalMs', options.snapshotIntervalMs, 30_000);
  return {
    snapshotIntervalMs,
    devStatus: options.devStatus,
    identity,
    reconnectGraceMs,
    joinTimeoutMs,
    maxInputBytes,
    inputRateLimit,
    inputBurst,
    backpressureBytes,
    maxConsecutiveErrors,
    maxConnections,
    maxConnectionsPerAddress,
    maxRooms,
    roomsPerAddressPerMinute,
    maxSpectatorsPerRoom,
    maxBufferedBytes,
    slowClientTimeoutMs,
    listLimit,
    instanceId,
  };
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
