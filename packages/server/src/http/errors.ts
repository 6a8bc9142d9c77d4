/**
 * Every refusal the server's HTTP API answers, declared once: its code (the `error` field of the
 * JSON body `{ error, message }`), its HTTP status and its default message. Routes answer with
 * {@link refuse}; framework errors (body too large, wrong media type, bad JSON, schema
 * validation) are mapped by their declared status in {@link FRAMEWORK_STATUS_CAUSES}; failures of
 * the fleet hook by the agent's error code in {@link FLEET_FAILURE_STATUS}. No code string is
 * ever parsed to find a status.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FleetAgentErrorCode, type FleetAgentErrorCodeValue } from '@parlor/fleet-agent';

/** The HTTP API's refusals: code → status and default message. */
export const HTTP_CAUSES = {
  /** A query or body that does not match its schema, or a body that is not JSON. */
  VALIDATION: { status: 400, message: 'invalid request' },
  /** A cross-origin request to a same-origin endpoint. */
  FORBIDDEN: { status: 403, message: 'cross-origin requests are refused' },
  /** Nothing here (e.g. the fleet endpoint of a server without a fleet). */
  NOT_FOUND: { status: 404, message: 'not found' },
  /** A game this server does not serve. */
  UNKNOWN_GAME: { status: 404, message: 'no such game here' },
  /** A method the route does not take (with `Allow`). */
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  /** A body over the route's limit. */
  PAYLOAD_TOO_LARGE: { status: 413, message: 'body too large' },
  /** A body that is not JSON where JSON is required. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send JSON' },
  /** The fleet returned something unusable, or refused for a reason without a status of its own. */
  FLEET_FAILED: { status: 502, message: 'the fleet could not place a room' },
  /** Too many dev status streams open (`parlor dev` only: `/parlor/dev/events`); with `Retry-After`. */
  DEV_STREAMS_FULL: { status: 503, message: 'too many dev status streams are open; close some tabs' },
  /** An unexpected error on this server (logged). */
  INTERNAL: { status: 500, message: 'internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

/** One of {@link HTTP_CAUSES}' codes. */
export type HttpCause = keyof typeof HTTP_CAUSES;

/**
 * The status of a framework error (fastify declares each with its status: 400 bad JSON or schema,
 * 413 body over the limit, 415 content type without a parser) → the cause the API answers.
 */
export const FRAMEWORK_STATUS_CAUSES: Readonly<Record<number, HttpCause>> = { 400: 'VALIDATION', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

/**
 * The HTTP status of each failure of the fleet hook (`FleetAgent.requestRoom`), by the agent's
 * error code: no session or an orchestrator without placement 503, no answer in time 504, a
 * refused placement 502 (429 when the orchestrator's cause is `INSTANCE_BUSY`, see
 * {@link FLEET_CAUSE_STATUS}). The body's `error` is the agent's code, or the orchestrator's cause.
 */
export const FLEET_FAILURE_STATUS: Readonly<Record<FleetAgentErrorCodeValue, number>> = {
  [FleetAgentErrorCode.NOT_CONNECTED]: 503,
  [FleetAgentErrorCode.CLOSED]: 503,
  [FleetAgentErrorCode.UNSUPPORTED]: 503,
  [FleetAgentErrorCode.PLACE_TIMEOUT]: 504,
  [FleetAgentErrorCode.CONNECT_TIMEOUT]: 504,
  [FleetAgentErrorCode.AWAIT_EMPTY_TIMEOUT]: 504,
  [FleetAgentErrorCode.PLACE_REJECTED]: 502,
  [FleetAgentErrorCode.CONFIG]: 502,
};

/** Orchestrator causes of a refused placement that have a status of their own (others: 502). */
export const FLEET_CAUSE_STATUS: Readonly<Record<string, number>> = { INSTANCE_BUSY: 429 };

/**
 * How a failure of the fleet hook is answered: `{ status, error, message }` from its `code` and
 * `fleetCause` (see {@link FLEET_FAILURE_STATUS}); anything else is 502 `FLEET_FAILED`.
 */
export function fleetFailure(err: unknown): { status: number; error: string; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; fleetCause?: unknown; message?: unknown };
  const message = String(e.message ?? err).slice(0, 300);
  if (typeof e.fleetCause === 'string' && Object.hasOwn(FLEET_CAUSE_STATUS, e.fleetCause)) return { status: FLEET_CAUSE_STATUS[e.fleetCause], error: e.fleetCause, message };
  const error = typeof e.fleetCause === 'string' ? e.fleetCause : typeof e.code === 'string' ? e.code : 'FLEET_FAILED';
  const status = typeof e.code === 'string' && Object.hasOwn(FLEET_FAILURE_STATUS, e.code) ? FLEET_FAILURE_STATUS[e.code as FleetAgentErrorCodeValue] : HTTP_CAUSES.FLEET_FAILED.status;
  return { status, error, message };
}

/**
 * Answers a refusal: `cause`'s status, JSON `{ error: cause, message }` (the cause's default
 * message unless `message`), `Cache-Control: no-store`, plus `headers`. A request whose body was
 * not read gets `Connection: close`, so the unread bytes cannot be taken for the next request.
 */
export function refuse(req: FastifyRequest, reply: FastifyReply, cause: HttpCause, message?: string, headers: Record<string, string> = {}): FastifyReply {
  return answer(req, reply, HTTP_CAUSES[cause].status, cause, message ?? HTTP_CAUSES[cause].message, headers);
}

/** Answers `{ error, message }` with `status` (see {@link refuse}; for codes that are not {@link HttpCause}s, e.g. the fleet's). */
export function answer(req: FastifyRequest, reply: FastifyReply, status: number, error: string, message: string, headers: Record<string, string> = {}): FastifyReply {
  if (!req.raw.complete) reply.header('Connection', 'close');
  return reply
    .code(status)
    .headers({ 'Cache-Control': 'no-store', ...headers })
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error, message }));
}
