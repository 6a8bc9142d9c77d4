/**
 * What agents may send, as TypeBox schemas compiled once: `hello`, `state` (and the snapshot it
 * carries), `ack`, `dirty` and `place`. Nothing unchecked reaches the read model: a frame that
 * fails its schema gets the agent kicked, except a bad snapshot, which is refused while the last
 * good state is kept. Unknown extra fields are allowed (a later minor version may add some).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { RoomSnapshot } from '@parlor/fleet-agent';
import { SHA256_RE, VERSION_RE } from '@parlor/squish';
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

/** The frames an agent sends after its hello, by `t`. */
export const AGENT_MESSAGES = {
  state: compile(StateMessage),
  ack: compile(AckMessage),
  dirty: compile(DirtyMessage),
  place: compile(PlaceMessage),
} as const;

/** The checked forms. */
export type AgentMessage = {
  state: Static<typeof StateMessage>;
  ack: Static<typeof AckMessage>;
  dirty: Static<typeof DirtyMessage>;
  place: Static<typeof PlaceMessage>;
};

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
