import { ParlorError } from '@parlor/squish';

/**
 * Stable error codes of `@parlor/fleet-agent` (all `FLEET_AGENT_*`). Callers switch on `error.code`.
 * The codes an agent puts in a refused command's ack are wire values of the fleet protocol, in `FleetAckCode`.
 */
export const FleetAgentErrorCode = {
  /** Invalid constructor options (bad URL, capacity, labels…). */
  CONFIG: 'FLEET_AGENT_CONFIG',
  /** `connect({ connectTimeoutMs })` gave up before a `welcome`. */
  CONNECT_TIMEOUT: 'FLEET_AGENT_CONNECT_TIMEOUT',
  /** `awaitEmpty({ timeoutMs })` timed out with rooms still live. */
  AWAIT_EMPTY_TIMEOUT: 'FLEET_AGENT_AWAIT_EMPTY_TIMEOUT',
  /** The agent was disconnected (`disconnect()`) while an operation waited. */
  CLOSED: 'FLEET_AGENT_CLOSED',
  /** `requestRoom` without a session with the orchestrator (or the session dropped before the answer). */
  NOT_CONNECTED: 'FLEET_AGENT_NOT_CONNECTED',
  /** `requestRoom` to an orchestrator that speaks a protocol minor without `place` (before 1.1). */
  UNSUPPORTED: 'FLEET_AGENT_UNSUPPORTED',
  /** `requestRoom` got no `placed` answer within its `timeoutMs`. */
  PLACE_TIMEOUT: 'FLEET_AGENT_PLACE_TIMEOUT',
  /** The orchestrator refused the placement; `fleetCause` says why (`NO_CANDIDATE`, `INSTANCE_BUSY`…). */
  PLACE_REJECTED: 'FLEET_AGENT_PLACE_REJECTED',
} as const;

/** One of {@link FleetAgentErrorCode}'s values. */
export type FleetAgentErrorCodeValue = (typeof FleetAgentErrorCode)[keyof typeof FleetAgentErrorCode];

/** Base class of every error `@parlor/fleet-agent` throws (a {@link ParlorError} with a {@link FleetAgentErrorCode}). */
export class FleetAgentError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.FleetAgentError');
  /** With `FLEET_AGENT_PLACE_REJECTED`: the orchestrator's cause (`VALIDATION`, `NO_CANDIDATE`, `INSTANCE_BUSY`…). */
  readonly fleetCause?: string;
  constructor(code: FleetAgentErrorCodeValue, message: string, options?: { cause?: unknown; fleetCause?: string }) {
    super(code, message, options);
    if (options?.fleetCause !== undefined) this.fleetCause = options.fleetCause;
  }
}
