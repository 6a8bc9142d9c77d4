/**
 * TypeBox schemas of the data the orchestrator takes and gives: room ids and types, labels, the
 * create request, and the read model's public forms. They are the single description of these
 * shapes: the REST API validates with them and publishes them in `/v1/openapi.json`, the control
 * calls validate with them ({@link checkCreate}), and a compile-time check below keeps them equal
 * to the TypeScript types of `types.ts`.
 */
import { ENV_RE, GAME_NAME_RE as ROOM_TYPE_RE, LABEL_KEY_RE, LABEL_VALUE_MAX, ROOM_ID_RE, ROOM_STATUSES, SLUG_RE, VERSION_RE } from '@parlor/squish';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FleetCause, OrchestratorError } from './errors.js';
import type { CreateRoomRequest, FleetStats, InstanceInfo, Placement, RoomInfo, SeatReservation } from './types.js';

/** A room id: 1–64 of `A–Z a–z 0–9 _ -`. */
export const RoomId = Type.String({ pattern: ROOM_ID_RE.source, description: 'Room id: 1–64 of A–Z a–z 0–9 _ -' });
/** A room type (game name): 1–64 of `A–Z a–z 0–9 . _ -`, starting alphanumeric. */
export const RoomType = Type.String({ pattern: ROOM_TYPE_RE.source, description: 'Room type (game name)' });
/** `pong` or `pong@1.2.0`: a catalog slug, optionally pinned to a version. */
export const GAME_REF_RE = new RegExp(`^${SLUG_RE.source.slice(1, -1)}(?:@${VERSION_RE.source.slice(1, -1)})?$`);
/** A catalog game: its slug (the version its environment's manifest pins) or `slug@version`. */
export const GameRef = Type.String({ pattern: GAME_REF_RE.source, maxLength: 200, description: 'Catalog game: `pong` (the version the environment pins) or `pong@1.2.0`' });
/** At most 64 labels, keys 1–63 of `A–Z a–z 0–9 _ . / -`, values up to 63 characters. */
export const Labels = Type.Record(Type.String({ pattern: LABEL_KEY_RE.source }), Type.String({ maxLength: LABEL_VALUE_MAX }), { maxProperties: 64 });
/** A JSON object (not an array). */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());
/** An instance's capacity. */
export const Capacity = Type.Object({
  maxConnections: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  maxRooms: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
});
/** Where a room was made: by a fleet create, or by a player's first join. */
export const Provenance = Type.Union([Type.Literal('fleet'), Type.Literal('local')]);

/** Where a room may go (see `Placement`). */
export const PlacementSchema = Type.Object(
  {
    policy: Type.Optional(Type.Union([Type.Literal('least-loaded'), Type.Literal('most-loaded'), Type.Literal('random')])),
    labels: Type.Optional(Labels),
    processUid: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    instanceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: 'Pin by processUid or by instanceId, not both.' },
);

/** Body of `POST /v1/rooms` and argument of `createRoom` (see `CreateRoomRequest`). */
export const CreateRoomSchema = Type.Object({
  type: Type.Optional(Type.String({ pattern: ROOM_TYPE_RE.source, description: "Room type (game name) of the hosts' own game folders; not together with `game`" })),
  game: Type.Optional(GameRef),
  env: Type.Optional(Type.String({ pattern: ENV_RE.source, description: "With `game`: the environment to resolve in (default: the orchestrator's)" })),
  roomId: Type.Optional(RoomId),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Reaches the game constructor; JSON, at most 32 KiB.' })),
  placement: Type.Optional(PlacementSchema),
});

/** Body of `POST /v1/rooms/:roomId/seats`. */
export const SeatsSchema = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Tickets; default 1.' })),
  ttlMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000, description: 'Ticket lifetime (ms); default 60 000.' })),
  userIds: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      maxItems: 64,
      description: 'One user id per ticket (as many as `count`): ticket i then admits only the signed-in player with that userId (others get close code 4403).',
    }),
  ),
});

/** `InstanceInfo`. */
export const InstanceInfoSchema = Type.Object({
  id: Type.String(),
  processUid: Type.String(),
  name: Type.String(),
  endpointUrl: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  capacity: Capacity,
  status: Type.Union([Type.Literal('active'), Type.Literal('draining')]),
  stale: Type.Boolean(),
  health: Type.Union([Type.Literal('ok'), Type.Literal('snapshot-refused')], { description: 'snapshot-refused: its last full snapshot failed validation (last good state kept); no placements there until one is accepted' }),
  roomTypes: Type.Array(Type.String()),
  squishVersions: Type.Array(Type.Integer({ minimum: 1 }), { description: 'Squish (codec) versions its host encodes; catalog rooms go only where their squishVersion is listed' }),
  roomCount: Type.Integer({ minimum: 0 }),
  clientCount: Type.Integer({ minimum: 0 }),
  inflight: Type.Integer({ minimum: 0 }),
  connectedAt: Type.Number({ description: 'ms since the epoch' }),
}, { additionalProperties: false });

/** `RoomInfo`. */
export const RoomInfoSchema = Type.Object({
  roomId: Type.String(),
  type: Type.String(),
  instanceId: Type.String(),
  processUid: Type.String(),
  endpointUrl: Type.String(),
  joinUrl: Type.String({ description: '<endpointUrl>/play/<type>/<roomId>' }),
  clientCount: Type.Integer({ minimum: 0 }),
  metadata: JsonObject,
  provenance: Provenance,
  createdAt: Type.Number({ description: 'ms since the epoch' }),
  version: Type.Optional(Type.String({ description: 'The catalog version the room runs (absent for a local game folder)' })),
  sha256: Type.Optional(Type.String({ description: 'sha256 of the catalog artifact the room runs (absent for a local game folder)' })),
  status: Type.Optional(Type.Union(ROOM_STATUSES.map((v) => Type.Literal(v)), { description: 'The runtime status its host last reported (absent from hosts older than fleet protocol 1.3)' })),
  turn: Type.Optional(Type.Integer({ minimum: 0, description: 'The turn whose orders are open (0 for a real-time game), with status' })),
}, { additionalProperties: false });

/** `FleetStats`. */
export const FleetStatsSchema = Type.Object({
  instances: Type.Integer({ minimum: 0 }),
  activeInstances: Type.Integer({ minimum: 0 }),
  drainingInstances: Type.Integer({ minimum: 0 }),
  staleInstances: Type.Integer({ minimum: 0 }),
  rooms: Type.Integer({ minimum: 0 }),
  clients: Type.Integer({ minimum: 0 }),
  capacity: Type.Object({ maxConnections: Type.Integer({ minimum: 0 }), maxRooms: Type.Integer({ minimum: 0 }) }),
  inflight: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });

/** `SeatReservation`. */
export const SeatReservationSchema = Type.Object({
  roomId: Type.String(),
  tickets: Type.Array(Type.String({ maxLength: 256 })),
  expiresAt: Type.Number({ description: 'ms since the epoch' }),
  joinUrls: Type.Array(Type.String()),
}, { additionalProperties: false });

/** Compiles a schema once; {@link firstError} reads why a value fails it. */
export function compile<T extends TSchema>(schema: T): TypeCheck<T> {
  return TypeCompiler.Compile(schema);
}

/** `"<path> <message>"` of the first error of `value` against `check`, or `null` when it passes. */
export function firstError(check: TypeCheck<TSchema>, value: unknown): string | null {
  if (check.Check(value)) return null;
  const e = check.Errors(value).First();
  if (!e) return 'invalid';
  return `${e.path === '' ? 'value' : e.path.slice(1).replaceAll('/', '.')}: ${e.message}`;
}

const createCheck = compile(CreateRoomSchema);

/**
 * The create request's checks beyond its schema: exactly one of `type` / `game`, `env` only with
 * `game`, one pin at most, options at most 32 KiB.
 * @returns the problem, or `null`.
 */
export function checkCreate(req: unknown): string | null {
  const bad = firstError(createCheck, req);
  if (bad) return bad;
  const r = req as CreateRoomRequest;
  if ((r.type === undefined) === (r.game === undefined)) return r.type === undefined ? 'type or game: one is required' : 'type and game: give one, not both';
  if (r.env !== undefined && r.game === undefined) return 'env: only with game';
  if (r.placement?.processUid !== undefined && r.placement.instanceId !== undefined) return 'pin by processUid or by instanceId, not both';
  if (r.options !== undefined && jsonBytes(r.options) > 32 * 1024) return 'options over 32 KiB';
  return null;
}

/** Bytes of the JSON form (`Infinity` when it cannot be serialised). */
export function jsonBytes(v: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '');
  } catch {
    return Infinity;
  }
}

// The schemas and the public types describe the same shapes (a mismatch fails the typecheck).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same: [
  Same<Static<typeof InstanceInfoSchema>, InstanceInfo>,
  Same<Static<typeof RoomInfoSchema>, RoomInfo>,
  Same<Static<typeof FleetStatsSchema>, FleetStats>,
  Same<Static<typeof SeatReservationSchema>, SeatReservation>,
  Same<Static<typeof CreateRoomSchema>, CreateRoomRequest>,
] = [true, true, true, true, true];
void same;

/** A create request after validation: what it asks for, with defaults applied. */
export type ValidCreate = { options: Record<string, unknown>; placement?: Placement } & ({ type: string; game?: undefined; env?: undefined } | { type?: undefined; game: string; env?: string });

/**
 * Validates a create request against {@link CreateRoomSchema} and {@link checkCreate}'s rules.
 * @returns its `type` or its `game` (and `env`), options (default `{}`) and placement.
 * @throws {OrchestratorError} `VALIDATION`, naming the first bad field.
 */
export function validateCreate(req: unknown): ValidCreate {
  const bad = checkCreate(req);
  if (bad) throw new OrchestratorError(FleetCause.VALIDATION, bad);
  const r = req as CreateRoomRequest;
  const options = r.options ?? {};
  if (r.game !== undefined) return { game: r.game, env: r.env, options, placement: r.placement };
  return { type: r.type!, options, placement: r.placement };
}
