import { ParlorError } from '@parlor/squish';

/**
 * Stable rejection causes of the orchestrator (REST `cause`, `OrchestratorError.code`,
 * `FleetClientError.code`) and their HTTP statuses.
 */
export const FleetCause = {
  /** Malformed request (bad JSON, bad field, both pins at once…). 400. */
  VALIDATION: 'VALIDATION',
  /** Missing or wrong admin key. Always the same body. 401. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** No such instance (id or processUid). 404. */
  INSTANCE_NOT_FOUND: 'INSTANCE_NOT_FOUND',
  /** No such room. 404. */
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  /** No route here. 404. */
  NOT_FOUND: 'NOT_FOUND',
  /** Method not allowed on this route. 405. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** No instance can take the room (type, labels, capacity, stale, draining). 409. */
  NO_CANDIDATE: 'NO_CANDIDATE',
  /** The roomId exists or is being created. 409. */
  ROOM_EXISTS: 'ROOM_EXISTS',
  /** The pinned instance is draining (use `force`). 409. */
  INSTANCE_DRAINING: 'INSTANCE_DRAINING',
  /** Request body over 64 KiB (refused before parsing). 413. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** Every candidate has its in-flight command cap reached. 429. */
  INSTANCE_BUSY: 'INSTANCE_BUSY',
  /** Too many failed authentications from this address. 429. */
  AUTH_THROTTLED: 'AUTH_THROTTLED',
  /** Too many concurrent event streams. 429. */
  SSE_LIMIT: 'SSE_LIMIT',
  /** The agent refused or failed the command. 502. */
  COMMAND_FAILED: 'COMMAND_FAILED',
  /** The agent dropped (or was evicted) before acking. 502. */
  INSTANCE_DISCONNECTED: 'INSTANCE_DISCONNECTED',
  /** No ack within `commandTimeoutMs`. 504. */
  COMMAND_TIMEOUT: 'COMMAND_TIMEOUT',
  /** The orchestrator is shutting down. 503. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
} as const;

/** One of {@link FleetCause}'s values. */
export type FleetCauseValue = (typeof FleetCause)[keyof typeof FleetCause];

/** HTTP status of every {@link FleetCause}. */
export const CAUSE_STATUS: Readonly<Record<FleetCauseValue, number>> = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  INSTANCE_NOT_FOUND: 404,
  ROOM_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NO_CANDIDATE: 409,
  ROOM_EXISTS: 409,
  INSTANCE_DRAINING: 409,
  PAYLOAD_TOO_LARGE: 413,
  INSTANCE_BUSY: 429,
  AUTH_THROTTLED: 429,
  SSE_LIMIT: 429,
  COMMAND_FAILED: 502,
  INSTANCE_DISCONNECTED: 502,
  COMMAND_TIMEOUT: 504,
  SHUTTING_DOWN: 503,
};

/** Error codes of `@parlor/orchestrator` that are not request causes. */
export const OrchestratorErrorCode = {
  /** Invalid options or key rules (e.g. production key rules). */
  CONFIG: 'ORCHESTRATOR_CONFIG',
} as const;

/**
 * Base class of the errors `@parlor/orchestrator` throws. `code` is a {@link FleetCause} (control
 * calls: `createRoom`, `destroyRoom`, `drainInstance`…) or an {@link OrchestratorErrorCode};
 * `status` is the HTTP status the REST API answers with.
 */
export class OrchestratorError extends ParlorError {
  /** HTTP status for this error. */
  readonly status: number;
  /** Agent-side error code when `code` is `COMMAND_FAILED`. */
  readonly agentCode?: string;
  constructor(code: FleetCauseValue | (typeof OrchestratorErrorCode)[keyof typeof OrchestratorErrorCode], message: string, options?: { cause?: unknown; agentCode?: string }) {
    super(code, message, options);
    this.status = (CAUSE_STATUS as Record<string, number>)[code] ?? 500;
    this.agentCode = options?.agentCode;
  }
}

/** Thrown by the constructor (and the CLI) for invalid options. Code `ORCHESTRATOR_CONFIG`. */
export class OrchestratorConfigError extends OrchestratorError {
  constructor(message: string) {
    super(OrchestratorErrorCode.CONFIG, message);
  }
}
