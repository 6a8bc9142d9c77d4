import { ParlorError } from '@parlor/squish';

/**
 * Every rejection cause of the orchestrator, declared once: its HTTP status, the extra headers
 * of its REST answer and its generic message (the REST body's `message` when the thrower gives
 * none; `UNAUTHORIZED` always answers with no message at all). The REST API, the OpenAPI
 * document and {@link OrchestratorError.status} all read this table; nothing maps codes to
 * statuses anywhere else.
 */
export const FLEET_CAUSES = {
  /** Malformed request (bad JSON, a field outside its schema, both pins at once…). */
  VALIDATION: { status: 400, message: 'malformed request' },
  /** Missing or wrong admin key. Always the same body (no message), with `WWW-Authenticate`. */
  UNAUTHORIZED: { status: 401, message: 'unauthorized', headers: { 'WWW-Authenticate': 'Bearer realm="parlor"' } },
  /** A catalog route refused a valid key of another class (a publisher or agent key promoting, rolling back or editing a game; an agent key publishing). */
  FORBIDDEN: { status: 403, message: 'this key may not do that' },
  /** No such instance (id or processUid). */
  INSTANCE_NOT_FOUND: { status: 404, message: 'no such instance' },
  /** No such room. */
  ROOM_NOT_FOUND: { status: 404, message: 'no such room' },
  /** No route here. */
  NOT_FOUND: { status: 404, message: 'no route here' },
  /** Catalog: no such game (slug). */
  UNKNOWN_GAME: { status: 404, message: 'no such game' },
  /** Catalog: no such published version of the game. */
  UNKNOWN_VERSION: { status: 404, message: 'no such version' },
  /** Catalog: an environment name that is not valid (an env nobody promoted to is an empty manifest, not this). */
  UNKNOWN_ENV: { status: 404, message: 'not a valid environment name' },
  /** Catalog: no artifact with this sha256. */
  UNKNOWN_ARTIFACT: { status: 404, message: 'no such artifact' },
  /** Catalog: no such publish request. */
  UNKNOWN_PUBLISH_REQUEST: { status: 404, message: 'no such publish request' },
  /** Catalog: a version's file that the version does not have. */
  UNKNOWN_FILE: { status: 404, message: 'no such file in the version' },
  /** Method not allowed on this route (the answer has `Allow`). */
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  /** No instance can take the room (type, labels, capacity, stale, draining). */
  NO_CANDIDATE: { status: 409, message: 'no instance can take the room' },
  /** The roomId exists or is being created. */
  ROOM_EXISTS: { status: 409, message: 'room exists' },
  /** The room has fewer free seats than asked: players + live tickets + count would exceed its `maxPlayers` (the host's count decides). */
  ROOM_FULL: { status: 409, message: 'not enough free seats in the room' },
  /** The pinned instance is draining (use `force`). */
  INSTANCE_DRAINING: { status: 409, message: 'instance is draining' },
  /** A room create by `game` (a catalog version) on an orchestrator that has no catalog to resolve it. */
  NO_CATALOG: { status: 409, message: 'this orchestrator has no catalog: create the room by type, or give the orchestrator a catalog' },
  /** Catalog: the game is not in the environment's manifest (promote it first). */
  NOT_IN_MANIFEST: { status: 409, message: 'game not in the environment' },
  /** Catalog: that slug@version is published with other content (versions are immutable). */
  VERSION_EXISTS: { status: 409, message: 'version exists with other content' },
  /** Catalog: no earlier version was pinned in the environment. */
  NOTHING_TO_ROLL_BACK: { status: 409, message: 'nothing to roll back to' },
  /** A room patch to a version that is not the same major.minor as the room's (only semver patches; anything else is a stop and a new room). */
  PATCH_SEMVER_INCOMPATIBLE: { status: 409, message: 'a patch stays within the same major.minor version' },
  /** A room patch of a room that runs a game from a host's folder, not a catalog version. */
  NOT_VERSIONED: { status: 409, message: 'the room runs no catalog version' },
  /** A forced turn in a room whose game is not turn-based. */
  NOT_TURN_BASED: { status: 409, message: 'the room is not turn-based' },
  /** A lifecycle operation on a room that has finished (its game ended itself); only a stop (DELETE) remains. */
  ROOM_FINISHED: { status: 409, message: 'the room has finished' },
  /** A forced turn in a paused room (resume it first). */
  ROOM_PAUSED: { status: 409, message: 'the room is paused: resume it first' },
  /** A lifecycle operation on a room whose instance cannot run it: its agent is older than fleet protocol 1.3, or its host has no lifecycle operations. */
  INSTANCE_UNSUPPORTED: { status: 409, message: "the room's instance does not support this operation" },
  /** Request body over 64 KiB (refused before parsing; the connection is closed). */
  PAYLOAD_TOO_LARGE: { status: 413, message: 'body too large', headers: { Connection: 'close' } },
  /** Catalog: an upload over the catalog's upload cap (refused before reading it; the connection is closed). */
  UPLOAD_TOO_LARGE: { status: 413, message: 'upload too large', headers: { Connection: 'close' } },
  /** Catalog: an upload that is not a gzip'd tar of a game folder (an entry escaping its folder, an absolute path, a link, too many files). */
  BAD_UPLOAD: { status: 400, message: 'not a valid game upload' },
  /** Catalog: too many publishes by this publisher (`Retry-After` gives the seconds left). */
  RATE_LIMITED: { status: 429, message: 'too many publishes; retry after the seconds in Retry-After' },
  /** Catalog: a catalog running elsewhere (`--catalog-url`) did not answer or answered something unusable. */
  CATALOG_UNAVAILABLE: { status: 502, message: 'catalog unavailable' },
  /** Every candidate has its in-flight command cap reached. */
  INSTANCE_BUSY: { status: 429, message: 'instance busy', headers: { 'Retry-After': '1' } },
  /**
   * Too many failed authentications with this key from this address (or with any key, past the
   * address's ceiling). Only wrong or missing keys get it; `Retry-After` is the real seconds left.
   */
  AUTH_THROTTLED: { status: 429, message: 'too many failed authentications from this address with a wrong key; retry after the seconds in Retry-After' },
  /** Too many concurrent event streams. */
  SSE_LIMIT: { status: 429, message: 'too many event streams', headers: { 'Retry-After': '1' } },
  /** An unexpected failure in the orchestrator (logged with its stack; the answer says no more). */
  INTERNAL: { status: 500, message: 'internal error' },
  /** The agent refused or failed the command. */
  COMMAND_FAILED: { status: 502, message: 'command failed' },
  /** The agent dropped (or was evicted) before acking. */
  INSTANCE_DISCONNECTED: { status: 502, message: 'instance disconnected' },
  /** The orchestrator is shutting down (or not listening yet: `/readyz`); `Retry-After` in seconds (a restart, or another orchestrator). */
  SHUTTING_DOWN: { status: 503, message: 'orchestrator shutting down', headers: { 'Retry-After': '5' } },
  /** The shared SQL store (`--database-url`, Postgres) did not answer: restarting or unreachable; the orchestrator reconnects by itself (`Retry-After` in seconds). */
  DATABASE_UNAVAILABLE: { status: 503, message: 'database unavailable', headers: { 'Retry-After': '2' } },
  /** No ack within `commandTimeoutMs`. */
  COMMAND_TIMEOUT: { status: 504, message: 'command timed out' },
} as const satisfies Record<string, { status: number; message: string; headers?: Record<string, string> }>;

/** One of {@link FleetCause}'s values. */
export type FleetCauseValue = keyof typeof FLEET_CAUSES;

/**
 * Stable rejection causes of the orchestrator (REST `cause`, `OrchestratorError.code`,
 * `FleetClientError.code`), each its own name; statuses and meanings in {@link FLEET_CAUSES}.
 */
export const FleetCause: { readonly [K in FleetCauseValue]: K } = Object.freeze(
  Object.fromEntries(Object.keys(FLEET_CAUSES).map((k) => [k, k])) as { [K in FleetCauseValue]: K },
);

/** HTTP status of every {@link FleetCause} (read from {@link FLEET_CAUSES}). */
export const CAUSE_STATUS: Readonly<Record<FleetCauseValue, number>> = Object.freeze(
  Object.fromEntries(Object.entries(FLEET_CAUSES).map(([k, v]) => [k, v.status])) as Record<FleetCauseValue, number>,
);

/** Whether `code` is a {@link FleetCause}. */
export function isFleetCause(code: unknown): code is FleetCauseValue {
  return typeof code === 'string' && Object.hasOwn(FLEET_CAUSES, code);
}

/**
 * Error codes of `@parlor/orchestrator` that are not REST causes, all `ORCHESTRATOR_*` (the REST
 * causes, {@link FleetCause}, are bare: they are the fleet's wire contract, shared with the agent).
 * `FleetClient`'s own codes are `ORCHESTRATOR_CLIENT_*` (`FleetClientErrorCode`).
 * Callers switch on `error.code`, never on messages.
 */
export const OrchestratorErrorCode = {
  /** Invalid options or key rules (e.g. production key rules, an unknown log level): {@link OrchestratorConfigError}. */
  CONFIG: 'ORCHESTRATOR_CONFIG',
  /** `Orchestrator.listen()` could not listen (port in use, no permission, called twice…); `cause` is the underlying error (its `code`, e.g. `EADDRINUSE`, kept there). */
  LISTEN: 'ORCHESTRATOR_LISTEN',
} as const;

/** One of {@link OrchestratorErrorCode}'s values. */
export type OrchestratorErrorCodeValue = (typeof OrchestratorErrorCode)[keyof typeof OrchestratorErrorCode];

/**
 * Base class of the errors `@parlor/orchestrator` throws. `code` is a {@link FleetCause} (control
 * calls: `createRoom`, `destroyRoom`, `drainInstance`…) or an {@link OrchestratorErrorCode};
 * `status` is the HTTP status the REST API answers with (from {@link FLEET_CAUSES}; 500 for a
 * non-cause code). `cause` is the underlying error, when there is one.
 */
export class OrchestratorError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.OrchestratorError');
  /** HTTP status for this error. */
  readonly status: number;
  /** Agent-side error code when `code` is `COMMAND_FAILED` (a `FleetAckCode` or the host error's own code, unchanged). */
  readonly agentCode?: string;
  /**
   * @param code a {@link FleetCause} or an {@link OrchestratorErrorCode}.
   * @param options.cause the underlying error, kept as `error.cause`.
   * @param options.agentCode the agent's code of a refused command (with `COMMAND_FAILED`).
   */
  constructor(code: FleetCauseValue | OrchestratorErrorCodeValue, message: string, options?: { cause?: unknown; agentCode?: string }) {
    super(code, message, options);
    this.status = isFleetCause(code) ? FLEET_CAUSES[code].status : 500;
    this.agentCode = options?.agentCode;
  }
}

/**
 * Thrown by the `Orchestrator` constructor, `setKeys`, `createLogger` (and the CLI)
 * for invalid options or key rules. Code `ORCHESTRATOR_CONFIG`; `cause` the underlying error when
 * a library refused the value.
 */
export class OrchestratorConfigError extends OrchestratorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.OrchestratorConfigError');
  constructor(message: string, options?: { cause?: unknown }) {
    super(OrchestratorErrorCode.CONFIG, message, options);
  }
}
