/**
 * The REST contract's envelopes: `{ status: 'OK', data }` answers and `{ status: 'rejected',
 * cause, message? }` rejections, each route listing exactly the causes it can answer with (so the
 * published document says which statuses a route gives, and the contract test catches a route
 * answering with a cause it does not declare). Statuses come from `FLEET_CAUSES`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ROOM_STATUSES, VERSION_RE } from '@parlor/squish';
import { FLEET_CAUSES, type FleetCauseValue } from '../errors.js';
import { OperationSchema } from '../operations/schemas.js';

/** An `OK` envelope around `data`. */
export function ok(data: TSchema, description: string): TSchema {
  return Type.Object({ status: Type.Literal('OK'), data }, { additionalProperties: false, description });
}

/** A rejection with one of `causes` (all of the same status). */
function rejection(causes: readonly FleetCauseValue[]): TSchema {
  return Type.Object(
    {
      status: Type.Literal('rejected'),
      cause: causes.length === 1 ? Type.Literal(causes[0]) : Type.Union(causes.map((c) => Type.Literal(c))),
      message: Type.Optional(Type.String()),
    },
    { additionalProperties: false, description: causes.map((c) => `${c}: ${FLEET_CAUSES[c].message}`).join('; ') },
  );
}

/** The rejection answers for `causes`, by status. */
export function rejections(...causes: FleetCauseValue[]): Record<number, TSchema> {
  const byStatus = new Map<number, FleetCauseValue[]>();
  for (const c of new Set(causes)) {
    const s = FLEET_CAUSES[c].status;
    byStatus.set(s, [...(byStatus.get(s) ?? []), c]);
  }
  return Object.fromEntries([...byStatus].map(([s, cs]) => [s, rejection(cs)]));
}

/** The answer to a conditional GET whose `If-None-Match` matched: no body. */
export const NOT_MODIFIED = { 304: { type: 'null', description: 'Not modified: If-None-Match matched the ETag (no body)' } } as const;

/**
 * What every `/v1` route can answer besides its own causes (`VALIDATION`: a URL that is not valid,
 * e.g. bad percent-encoding; `DATABASE_UNAVAILABLE`: the shared Postgres store of `--database-url`
 * restarting, for a route that reads or writes it).
 */
export const V1_CAUSES: readonly FleetCauseValue[] = ['VALIDATION', 'UNAUTHORIZED', 'AUTH_THROTTLED', 'INTERNAL', 'DATABASE_UNAVAILABLE'];
/** What a route with a body can answer. */
export const BODY_CAUSES: readonly FleetCauseValue[] = ['VALIDATION', 'PAYLOAD_TOO_LARGE'];
/** What a command sent to an agent can answer. */
export const COMMAND_CAUSES: readonly FleetCauseValue[] = ['INSTANCE_BUSY', 'COMMAND_FAILED', 'INSTANCE_DISCONNECTED', 'COMMAND_TIMEOUT', 'SHUTTING_DOWN'];

/** `:id` of the instance routes: an instance id or a processUid. */
export const InstanceParams = Type.Object({ id: Type.String({ description: 'Instance id or processUid' }) });
/** `:roomId` of the room routes. */
export const RoomParams = Type.Object({ roomId: Type.String() });

/** `key:value`, the key not empty. */
const LabelQuery = Type.String({ pattern: '^[^:]+:', description: 'key:value (the instance label)' });

/** The filter of `GET /v1/rooms` (repeat `label` for several). */
export const RoomQuerySchema = Type.Object({
  type: Type.Optional(Type.String()),
  instanceId: Type.Optional(Type.String({ description: 'Instance id or processUid' })),
  label: Type.Optional(Type.Union([LabelQuery, Type.Array(LabelQuery)])),
});

/** The query of `GET /v1/events` (`key` only with `sseQueryAuth`; `lastEventId` for clients that cannot send `Last-Event-ID`). */
export const EventsQuery = Type.Object({
  key: Type.Optional(Type.String()),
  lastEventId: Type.Optional(Type.String({ maxLength: 64, description: 'The `Last-Event-ID` header takes precedence' })),
});

/** A room's runtime state (`RoomState` of `@parlor/squish`). */
export const RoomStateSchema = Type.Object(
  {
    status: Type.Union(ROOM_STATUSES.map((v) => Type.Literal(v)), { description: 'running | generation_in_progress | paused | finished' }),
    turn: Type.Integer({ minimum: 0, description: 'the turn whose orders are open (0 for a real-time game)' }),
    nextTurnAt: Type.Union([Type.Number(), Type.Null()], { description: "when the next turn's cutoff is due, ms since the epoch; null when none is scheduled" }),
    reason: Type.String({ description: "why the room is paused or finished; '' otherwise" }),
  },
  { additionalProperties: false },
);

/** The answer of a lifecycle operation (`POST /v1/rooms/:roomId/{pause,resume,restart,patch,turn}`). */
export const RoomOperationAnswer = Type.Object(
  {
    operation: OperationSchema,
    state: Type.Union([RoomStateSchema, Type.Null()], { description: "the room's state after the operation" }),
  },
  { additionalProperties: false },
);

/** Body of `POST /v1/rooms/:roomId/pause`. */
export const PauseBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200, description: "shown to players (default the host's)" })) }, { additionalProperties: false });
/** Body of `POST /v1/rooms/:roomId/patch`. */
export const PatchBody = Type.Object(
  { version: Type.String({ pattern: VERSION_RE.source, maxLength: 128, description: "a published version of the room's game within its major.minor (1.0.0 → 1.0.1)" }) },
  { additionalProperties: false },
);
/** Body of the lifecycle operations that take no parameters (none, or `{}`). */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/** The answer of `DELETE /v1/rooms/:roomId`. */
export const Destroyed = Type.Object(
  {
    roomId: Type.String(),
    ok: Type.Literal(true, { description: 'the room is gone' }),
    destroyed: Type.Boolean({ description: 'this call ended it' }),
    alreadyGone: Type.Boolean({ description: 'it had ended by itself (its game ended it, or its instance left) before this call reached it: a destroy racing its natural end is not an error' }),
    operation: OperationSchema,
    state: Type.Null({ description: 'the room is gone' }),
  },
  { additionalProperties: false },
);

/** What a lifecycle operation on a room may answer besides the command causes. */
export const ROOM_OP_CAUSES: readonly FleetCauseValue[] = ['ROOM_NOT_FOUND', 'INSTANCE_UNSUPPORTED', 'ROOM_FINISHED', 'ROOM_PAUSED', 'NOT_TURN_BASED', 'NOT_VERSIONED', 'PATCH_SEMVER_INCOMPATIBLE'];
