/**
 * TypeBox schemas of the operation log's REST shapes: one {@link OperationSchema} row (the
 * lifecycle routes answer with it too), and the listing's query and page.
 */
import { OPERATION_KINDS, OPERATION_SOURCES, type OperationState } from '@parlor/squish';
import { Type } from '@sinclair/typebox';
import { OPERATION_PAGE } from './rows.js';

const OPERATION_STATES: readonly OperationState[] = ['queued', 'running', 'succeeded', 'failed'];
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const NullableString = Type.Union([Type.String(), Type.Null()]);

/** One operation of the log (`Operation` of `@parlor/squish`). */
export const OperationSchema = Type.Object(
  {
    id: Type.String({ description: 'unique, sorts by creation (op_<ms>_<seq>_<random>)' }),
    roomId: Type.String(),
    op: literals(OPERATION_KINDS),
    source: literals(OPERATION_SOURCES),
    state: literals(OPERATION_STATES),
    params: Type.Record(Type.String(), Type.Unknown(), { description: '{ version } for a patch, { reason } for a pause, … ({} if none)' }),
    game: Type.String({ description: "the room's game (slug); '' when unknown" }),
    version: Type.Union([Type.String(), Type.Null()], { description: 'the version the room runs after the operation; null for a game served from source or unknown' }),
    instanceId: Type.Union([Type.String(), Type.Null()], { description: 'the instance that ran it' }),
    actor: Type.String({ description: "who asked: the key's name or fingerprint, schedule, agent; '' if unknown" }),
    errorCode: Type.Union([Type.String(), Type.Null()], { description: 'a stable code when failed (ROOM_NOT_FOUND, PATCH_SEMVER_INCOMPATIBLE, INTERRUPTED, …)' }),
    errorMessage: NullableString,
    createdAt: Type.Integer({ description: 'ms since the epoch' }),
    updatedAt: Type.Integer({ description: 'ms since the epoch of the last state change' }),
  },
  { additionalProperties: false },
);

/** ms since the epoch, as a query string. */
const Ms = Type.String({ pattern: '^[0-9]{1,15}$', description: 'ms since the epoch' });

/** The query of `GET /v1/rooms/:roomId/operations`. */
export const RoomOperationsQuery = Type.Object(
  {
    state: Type.Optional(literals(OPERATION_STATES)),
    op: Type.Optional(literals(OPERATION_KINDS)),
    source: Type.Optional(literals(OPERATION_SOURCES)),
    since: Type.Optional(Type.String({ ...Ms, description: 'created at or after (ms since the epoch)' })),
    until: Type.Optional(Type.String({ ...Ms, description: 'created before (ms since the epoch)' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$', description: `page size, 1–${OPERATION_PAGE.max}; default ${OPERATION_PAGE.default}` })),
    before: Type.Optional(Type.String({ maxLength: 64, description: "cursor: the previous page's `next`" })),
  },
  { additionalProperties: false },
);

/** The query of `GET /v1/operations`: the room's filters plus `room`. */
export const OperationsQuery = Type.Object({ room: Type.Optional(Type.String({ maxLength: 256, description: 'only this room' })), ...RoomOperationsQuery.properties }, { additionalProperties: false });

/** A page of operations, newest first; `next` is the `before` of the following page (`null`: this is the last). */
export const OperationPage = Type.Object(
  {
    operations: Type.Array(OperationSchema),
    next: Type.Union([Type.String(), Type.Null()], { description: 'pass as before= for the next page; null when there is none' }),
  },
  { additionalProperties: false },
);
