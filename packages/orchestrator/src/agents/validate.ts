/** Bounds checks of what agents send (hello, snapshots, rooms): nothing unchecked reaches the read model. */
import type { HelloFrame, RoomSnapshot } from '@parlor/fleet-agent';
import { isLabels, isPlainObject, jsonSize, ROOM_ID_RE, ROOM_TYPE_RE } from '../validate.js';

const MAX_ROOMS_PER_SNAPSHOT = 10_000;
const MAX_METADATA_BYTES = 4096;
const MAX_ROOM_TYPES = 256;

/** The first bad field of a hello, or `null`. */
export function checkHello(f: HelloFrame): string | null {
  if (typeof f.processUid !== 'string' || !/^[A-Za-z0-9_-]{8,128}$/.test(f.processUid)) return 'processUid';
  if (typeof f.name !== 'string' || f.name.length === 0 || f.name.length > 128) return 'name';
  if (typeof f.endpointUrl !== 'string' || f.endpointUrl.length > 2048) return 'endpointUrl';
  try {
    const u = new URL(f.endpointUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'endpointUrl';
  } catch {
    return 'endpointUrl';
  }
  if (!isLabels(f.labels)) return 'labels';
  const c = f.capacity as unknown;
  if (!isPlainObject(c)) return 'capacity';
  const { maxConnections, maxRooms } = c as Record<string, unknown>;
  if (!Number.isInteger(maxConnections) || (maxConnections as number) < 1 || (maxConnections as number) > 10_000_000) return 'capacity.maxConnections';
  if (!Number.isInteger(maxRooms) || (maxRooms as number) < 1 || (maxRooms as number) > 1_000_000) return 'capacity.maxRooms';
  return null;
}

/** Whether a room snapshot is well-formed and within bounds. */
export function validRoom(r: unknown): r is RoomSnapshot {
  if (!isPlainObject(r)) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o.roomId === 'string' &&
    ROOM_ID_RE.test(o.roomId) &&
    typeof o.type === 'string' &&
    ROOM_TYPE_RE.test(o.type) &&
    Number.isInteger(o.clientCount) &&
    (o.clientCount as number) >= 0 &&
    (o.clientCount as number) <= 10_000_000 &&
    isPlainObject(o.metadata) &&
    jsonSize(o.metadata) <= MAX_METADATA_BYTES &&
    (o.provenance === 'fleet' || o.provenance === 'local') &&
    typeof o.createdAt === 'number' &&
    Number.isFinite(o.createdAt)
  );
}

/** Field-by-field bounds check of a snapshot; returns the first problem or `null`. */
export function checkSnapshot(s: unknown): string | null {
  if (!isPlainObject(s)) return 'snapshot is not an object';
  const o = s as Record<string, unknown>;
  if (typeof o.draining !== 'boolean') return 'draining';
  if (!Array.isArray(o.roomTypes) || o.roomTypes.length > MAX_ROOM_TYPES || !o.roomTypes.every((t) => typeof t === 'string' && ROOM_TYPE_RE.test(t))) return 'roomTypes';
  if (!Array.isArray(o.rooms) || o.rooms.length > MAX_ROOMS_PER_SNAPSHOT) return 'rooms';
  const seen = new Set<string>();
  for (let i = 0; i < o.rooms.length; i++) {
    const r = o.rooms[i] as unknown;
    if (!validRoom(r)) return `rooms[${i}]`;
    if (seen.has(r.roomId)) return `rooms[${i}].roomId duplicate`;
    seen.add(r.roomId);
  }
  return null;
}
