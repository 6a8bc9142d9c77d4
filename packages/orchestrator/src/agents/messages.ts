/**
 * What agents may send, as TypeBox schemas compiled once: `hello`, `state` (and the snapshot it
 * carries), `ack`, `dirty`, `place` and `roomEvent` (since 1.3). Nothing unchecked reaches the read model: a frame that
 * fails its schema gets the agent kicked, except a bad snapshot, which is refused while the last
 * good state is kept. Unknown extra fields are allowed (a later minor version may add some).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RoomSnapshot } from '@parlor/fleet-agent';
import { OPERATION_SOURCES, ROOM_OPS, ROOM_STATUSES, SHA256_RE, VERSION_RE } from '@parlor/squish';
import { Capacity, compile, firstError, JsonObject, jsonBytes, Labels, Provenance, RoomId, RoomType } from '../schemas.js';

const MAX_ROOMS_PER_SNAPSHOT = 10_000;
const MAX_METADATA_BYTES = 4096;
const MAX_ROOM_TYPES = 256;

/** `hello`: who the agent is and what it can hold. */
export const HelloMessage = Type.Object({
  t: Type.Literal('hello'),
  processUid: Type.String({ pattern: '^[A-Za-z0-9_-]{8,128}$' }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  endpointUrl: Type.String({ maxLength: 2048, pattern: '^https?://' }),
  labels: Labels,
  capacity: Capacity,
  autoCreate: Type.Optional(Type.Unknown()),
  /** Since 1.2 (absent from older agents). */
  squishVersions: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65_535 }), { maxItems: 64 })),
});

/** One room of a snapshot (its metadata is also at most 4 KiB of JSON). */
export const RoomSnapshotMessage = Type.Object({
  roomId: RoomId,
  type: RoomType,
  clientCount: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
  metadata: JsonObject,
  provenance: Provenance,
  createdAt: Type.Number(),
  /** Since 1.2: the catalog version and artifact the room runs. */
  version: Type.Optional(Type.String({ pattern: VERSION_RE.source, maxLength: 128 })),
  sha256: Type.Optional(Type.String({ pattern: SHA256_RE.source })),
  /** Since 1.3: the room's runtime status and open turn. */
  status: Type.Optional(Type.Union(ROOM_STATUSES.map((s) => Type.Literal(s)))),
  turn: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
});

/** A full snapshot of an instance (room ids are also unique). */
export const SnapshotMessage = Type.Object({
  draining: Type.Boolean(),
  roomTypes: Type.Array(RoomType, { maxItems: MAX_ROOM_TYPES }),
  rooms: Type.Array(RoomSnapshotMessage, { maxItems: MAX_ROOMS_PER_SNAPSHOT }),
  /** Since 1.2: room ids whose create is still running on the agent. */
  creating: Type.Optional(Type.Array(RoomId, { maxItems: MAX_ROOMS_PER_SNAPSHOT })),
});

/** `state`: the answer to a poll (the hash and snapshot are checked on their own: {@link checkState}). */
export const StateMessage = Type.Object({ t: Type.Literal('state'), seq: Type.Integer(), hash: Type.Unknown(), snapshot: Type.Optional(Type.Unknown()) });
const StateBody = Type.Object({ hash: Type.String({ maxLength: 128 }), snapshot: Type.Optional(SnapshotMessage) });

/** `ack`: the answer to a command (a room in it is checked with {@link validRoom}). */
export const AckMessage = Type.Object({
  t: Type.Literal('ack'),
  id: Type.Integer(),
  ok: Type.Boolean(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  room: Type.Optional(Type.Unknown()),
  tickets: Type.Optional(Type.Array(Type.Unknown())),
  expiresAt: Type.Optional(Type.Number()),
  alreadyGone: Type.Optional(Type.Boolean()),
  /** Since 1.3, a `roomOp`'s: the room's state and version after it. */
  state: Type.Optional(Type.Object({
    status: Type.Union(ROOM_STATUSES.map((v) => Type.Literal(v))),
    turn: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    nextTurnAt: Type.Union([Type.Number(), Type.Null()]),
    reason: Type.String({ maxLength: 1000 }),
  })),
  version: Type.Optional(Type.Union([Type.String({ pattern: VERSION_RE.source, maxLength: 128 }), Type.Null()])),
});

/** `dirty`: the agent's state changed (rate-limited). */
export const DirtyMessage = Type.Object({ t: Type.Literal('dirty') });

/** `place` (since 1.1): place a room by normal placement; `type` and `options` are checked as a create request. */
export const PlaceMessage = Type.Object({
  t: Type.Literal('place'),
  id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  type: Type.Unknown(),
  options: Type.Optional(Type.Unknown()),
});

const Str = (maxLength: number) => Type.String({ maxLength });
const Turn = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const At = Type.Number({ minimum: 0 });
const Result = Type.Union([
  Type.Object({ winners: Type.Array(Str(256), { maxItems: 256 }), scores: Type.Record(Str(256), Type.Number(), { maxProperties: 256 }), summary: Str(1000) }),
  Type.Null(),
]);
/** An operation as a host reports it (`operation.finished`). */
const OperationMessage = Type.Object({
  id: Str(128),
  roomId: RoomId,
  op: Type.Union(ROOM_OPS.map((o) => Type.Literal(o))),
  source: Type.Union(OPERATION_SOURCES.map((o) => Type.Literal(o))),
  state: Type.Union(['queued', 'running', 'succeeded', 'failed'].map((o) => Type.Literal(o))),
  params: JsonObject,
  game: Str(64),
  version: Type.Union([Str(128), Type.Null()]),
  instanceId: Type.Union([Str(128), Type.Null()]),
  actor: Str(128),
  errorCode: Type.Union([Str(64), Type.Null()]),
  errorMessage: Type.Union([Str(1000), Type.Null()]),
  createdAt: At,
  updatedAt: At,
});
const base = { roomId: RoomId, game: Str(64), at: At };
const Player = { ...base, playerId: Type.Integer({ minimum: 0 }), userId: Type.Union([Str(256), Type.Null()]), spectator: Type.Boolean() };
/** A room event (the squish `RoomEvent` union), kind by kind. */
const RoomEventSchema = Type.Union([
  Type.Object({ kind: Type.Literal('room.created'), ...base, version: Type.Union([Str(128), Type.Null()]) }),
  Type.Object({ kind: Type.Literal('room.ended'), ...base, reason: Str(1000), result: Result }),
  Type.Object({ kind: Type.Literal('player.joined'), ...Player }),
  Type.Object({ kind: Type.Literal('player.left'), ...Player }),
  Type.Object({ kind: Type.Literal('turn.ready'), ...base, turn: Turn }),
  Type.Object({ kind: Type.Literal('room.paused'), ...base, turn: Turn, reason: Str(1000) }),
  Type.Object({ kind: Type.Literal('room.resumed'), ...base, turn: Turn }),
  Type.Object({ kind: Type.Literal('room.restored'), ...base, turn: Turn, version: Type.Union([Str(128), Type.Null()]) }),
  Type.Object({ kind: Type.Literal('operation.finished'), ...base, operation: OperationMessage }),
]);
/** The kinds this orchestrator knows: an event of another kind (a newer agent's) is ignored, not a protocol error. */
export const ROOM_EVENT_KINDS: readonly string[] = ['room.created', 'room.ended', 'player.joined', 'player.left', 'turn.ready', 'room.paused', 'room.resumed', 'room.restored', 'operation.finished'];

/** `roomEvent` (since 1.3): one typed event of the host (checked with {@link checkRoomEvent}). */
export const RoomEventMessage = Type.Object({ t: Type.Literal('roomEvent'), event: Type.Object({ kind: Type.String({ maxLength: 64 }) }) });
const roomEventCheck = compile(RoomEventSchema);

/** The frames an agent sends after its hello, by `t`. */
export const AGENT_MESSAGES = {
  state: compile(StateMessage),
  ack: compile(AckMessage),
  dirty: compile(DirtyMessage),
  place: compile(PlaceMessage),
  roomEvent: compile(RoomEventMessage),
} as const;

/** The checked forms. */
export type AgentMessage = {
  state: Static<typeof StateMessage>;
  ack: Static<typeof AckMessage>;
  dirty: Static<typeof DirtyMessage>;
  place: Static<typeof PlaceMessage>;
  roomEvent: Static<typeof RoomEventMessage>;
};

/**
 * The first problem of a room event of a known kind (its fields, and its JSON within
 * `maxBytes`), or `null`.
 */
export function checkRoomEvent(event: unknown, maxBytes: number): string | null {
  const bad = firstError(roomEventCheck, event);
  if (bad) return bad;
  const bytes = jsonBytes(event);
  return bytes > maxBytes ? `event: ${bytes} bytes, over ${maxBytes}` : null;
}

const helloCheck = compile(HelloMessage);
const roomCheck = compile(RoomSnapshotMessage);
const stateBodyCheck = compile(StateBody);

/** The first problem of a hello, or `null`. */
export function checkHello(f: unknown): string | null {
  const bad = firstError(helloCheck, f);
  if (bad) return bad;
  try {
    const u = new URL((f as Static<typeof HelloMessage>).endpointUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'endpointUrl: not http(s)';
  } catch {
    return 'endpointUrl: not a URL';
  }
  return null;
}

/** Whether a room snapshot is well-formed and within bounds. */
export function validRoom(r: unknown): r is RoomSnapshot {
  return roomCheck.Check(r) && jsonBytes(r.metadata) <= MAX_METADATA_BYTES;
}

/** The first problem of a `state`'s hash and snapshot, or `null`. */
export function checkState(f: { hash: unknown; snapshot?: unknown }): string | null {
  const bad = firstError(stateBodyCheck, { hash: f.hash, snapshot: f.snapshot });
  if (bad) return bad;
  const rooms = (f.snapshot as Static<typeof SnapshotMessage> | undefined)?.rooms ?? [];
  const seen = new Set<string>();
  for (let i = 0; i < rooms.length; i++) {
    if (jsonBytes(rooms[i].metadata) > MAX_METADATA_BYTES) return `snapshot.rooms.${i}.metadata: over ${MAX_METADATA_BYTES} bytes`;
    if (seen.has(rooms[i].roomId)) return `snapshot.rooms.${i}.roomId: duplicate`;
    seen.add(rooms[i].roomId);
  }
  return null;
}
