/**
 * Durable room state on a host: what survives a restart (and kill -9) of `parlor serve`. The host
 * keeps it outside the sandbox; a game only ever returns snapshots over its channel. The store is
 * synchronous (better-sqlite3): when a write returns, it is on disk (`synchronous=FULL`), so the
 * host may then acknowledge what it wrote (an order, a turn).
 */
import type { GameResult, RoomStatus } from '@parlor/squish';

/** A room as recorded: enough to start it again after a crash, with the same id. */
export interface StoredRoom {
  roomId: string;
  /** Game (route name / catalog slug). */
  game: string;
  /** The catalog version it runs; `null` for a game served from source. */
  version: string | null;
  /** The artifact's sha256 of that version; `null` for a game served from source. */
  sha256: string | null;
  /** Create-time options (JSON-serialisable). */
  options: Record<string, unknown>;
  status: RoomStatus;
  /** The open turn (turn-based), 0 for a real-time game. */
  turn: number;
  /** Why paused or finished; `''` otherwise. */
  reason: string;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch. */
  updatedAt: number;
}

/** One stored snapshot of a room's game (`game.save()` as JSON text). */
export interface StoredSnapshot {
  roomId: string;
  /** The open turn when it was taken. */
  turn: number;
  /** JSON text, at most `ENGINE_MESSAGE_LIMITS.snapshotBytes` bytes. */
  snapshot: string;
  /** Why it was taken: `order`, `turn`, `pause`, `stop`, `restart`, `patch`, `drain`, `periodic`. */
  cause: string;
  /** The version of the game that saved it (`null` from source). */
  version: string | null;
  /** ms since the epoch. */
  savedAt: number;
}

/** A member as recorded, so a player can reconnect after a host restart. */
export interface StoredMember {
  roomId: string;
  playerId: number;
  name: string;
  /** The signed-in player's user id; `null` when anonymous. */
  userId: string | null;
  roles: string[];
  spectator: boolean;
  /** sha256 (hex) of the member's reconnect token; never the token itself. */
  tokenHash: string;
}

/**
 * The host's durable room state. Every method is synchronous and durable when it returns; every
 * method throws on an I/O error (the caller then does not acknowledge what it tried to store).
 */
export interface RoomStateStore {
  /** Records a room or updates its record (status, turn, reason, version, updatedAt). */
  putRoom(room: StoredRoom): void;
  /** The recorded rooms that have not ended (what a restarted host brings back), oldest first. */
  liveRooms(): StoredRoom[];
  /** One room's record, ended or not. */
  room(roomId: string): StoredRoom | undefined;
  /** Stores a snapshot as the room's latest (older ones may be pruned; at least the latest per turn of the last few turns is kept). */
  putSnapshot(snapshot: StoredSnapshot): void;
  /** The room's latest snapshot, if any. */
  lastSnapshot(roomId: string): StoredSnapshot | undefined;
  /** Records a member (join) or updates it (name). */
  putMember(member: StoredMember): void;
  /** Forgets a member (left for good). */
  removeMember(roomId: string, playerId: number): void;
  /** The room's recorded members. */
  members(roomId: string): StoredMember[];
  /** Marks a room ended (it is not brought back), with why and the game's result if it finished itself. Its members are forgotten. */
  endRoom(roomId: string, reason: string, result: GameResult | null): void;
  /** Closes the database. Idempotent. */
  close(): void;
}
