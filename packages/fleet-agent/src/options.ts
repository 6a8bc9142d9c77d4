/**
 * What a `FleetAgent` is configured with and what it reports: its options, events, status and
 * logger types, and {@link agentLogger}, which turns the options into the agent's logger. Owns no
 * state; the agent reads these once, in its constructor.
 */
import { SUPPORTED_SQUISH_VERSIONS } from '@parlor/squish';
import { pino } from 'pino';
import { FleetAgentError, FleetAgentErrorCode } from './errors.js';
import type { FleetHost } from './host.js';
import type { InstanceCapacity } from './protocol.js';

/** Agent status: `connecting` (no session with the orchestrator yet, or reconnecting), `connected`, `draining` (no new fleet rooms; connected or not), `closed` (before `connect()` and after `disconnect()`). */
export type FleetAgentStatus = 'connecting' | 'connected' | 'draining' | 'closed';

/**
 * The logger the agent writes to, in pino's shape: `logger.warn({ error }, 'host.listRooms failed')`.
 * A pino logger (the server's or the orchestrator's, or a child of one) fits as it is; with a
 * `child` method, the agent logs through `child({ agent: <name> })`.
 */
export interface FleetAgentLogger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  child?(bindings: Record<string, unknown>): FleetAgentLogger;
}

/** Options of `FleetAgent`. Durations in ms. */
export interface FleetAgentOptions {
  /** Orchestrator URL, `ws://host:port` or `wss://…`; the path defaults to `/v1/agent`. Never put the key here. */
  url: string;
  /** Agent key (sent in `Sec-WebSocket-Protocol`, never in the URL). */
  key: string;
  /** Public base URL of this server host, e.g. `http://10.0.0.5:8080`; join URLs are built from it. */
  endpointUrl: string;
  /** Instance name for humans and logs. Default `<hostname>-<pid>`. */
  name?: string;
  /** Labels for placement selectors (`region=eu`, …). Default `{}`. */
  labels?: Record<string, string>;
  /**
   * Declared capacity. Defaults: what the host enforces (`FleetHost.capacity()`), else
   * `maxConnections` 1000, `maxRooms` 100. Never declared above what the host enforces (a larger
   * value is lowered to it), so the orchestrator never places more than the host admits.
   */
  capacity?: Partial<InstanceCapacity>;
  /** Whether the host also creates rooms on its own (a player's first join): reported as `local`. Default `true`. */
  autoCreate?: boolean;
  /**
   * The squish (codec) versions declared to the orchestrator (catalog rooms go only where their
   * game's `squishVersion` is listed). Default: the host's `squishVersions()`, else
   * `@parlor/squish`'s `SUPPORTED_SQUISH_VERSIONS`. Up to 64 integers ≥ 1; an empty list for a host
   * that runs no catalog versions (no artifact cache): it then gets no catalog room.
   */
  squishVersions?: readonly number[];
  /**
   * Ceiling of the first reconnect delay, ms; doubles per attempt up to `maxBackoffMs`. The delay is
   * squish's `backoffDelay` (exponential backoff, full jitter: uniform in [0, ceiling]). Default 250.
   */
  minBackoffMs?: number;
  /**
   * Largest reconnect delay ceiling, ms. Default 2 000: after a long orchestrator outage the agent
   * is back within ~2 s of its return (about 2 poll intervals), so its rooms reappear soon.
   */
  maxBackoffMs?: number;
  /** How often the host's rooms are sampled for local changes. Default 100. */
  sampleMs?: number;
  /** Least time between two `dirty` nudges. Default 100 (a local change reaches the orchestrator within ~250 ms). */
  dirtyMinIntervalMs?: number;
  /**
   * Where the agent logs: a pino-shaped logger ({@link FleetAgentLogger}), e.g. the server's or
   * the orchestrator's pino logger (`pino({ level: 'silent' })` for none). Default: pino,
   * warnings and errors as JSON lines on stderr (`name: 'fleet-agent'`).
   */
  logger?: FleetAgentLogger;
}

/** Events of `FleetAgent`. */
export interface FleetAgentEvents {
  /** The status changed. */
  status: (status: FleetAgentStatus) => void;
  /** A session with the orchestrator started (`welcome`); `instanceId` is the orchestrator's id for this process. */
  connected: (info: { instanceId: string }) => void;
  /** The socket closed; the agent reconnects unless `disconnect()` was called. */
  disconnected: (info: { code: number; reason: string }) => void;
}

/**
 * The squish versions an agent declares in its `hello`: the `squishVersions` option, else the
 * host's `squishVersions()`, else `SUPPORTED_SQUISH_VERSIONS`; sorted, without duplicates. Empty
 * for a host that runs no catalog versions.
 * @throws {FleetAgentError} `FLEET_AGENT_CONFIG` unless an array of at most 64 integers ≥ 1.
 */
export function agentSquishVersions(options: FleetAgentOptions, host: FleetHost): number[] {
  const from = options.squishVersions !== undefined ? 'the squishVersions option' : 'host.squishVersions()';
  const v: unknown = options.squishVersions ?? host.squishVersions?.() ?? SUPPORTED_SQUISH_VERSIONS;
  if (!Array.isArray(v) || v.length > 64 || !v.every((n) => Number.isInteger(n) && n >= 1 && n <= 65_535)) {
    throw new FleetAgentError(FleetAgentErrorCode.CONFIG, `${from} must be a list of at most 64 squish versions (integers ≥ 1), got ${JSON.stringify(v)}`);
  }
  return [...new Set(v as number[])].sort((a, b) => a - b);
}

/** The agent's logger from its options: `logger` (through a child with the agent's name), else pino on stderr. */
export function agentLogger(options: FleetAgentOptions, name: string): FleetAgentLogger {
  const { logger } = options;
  if (logger) return typeof logger.child === 'function' ? logger.child({ agent: name }) : logger;
  return pino({ name: 'fleet-agent', level: 'warn', base: { agent: name } }, process.stderr);
}
