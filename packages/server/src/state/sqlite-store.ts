/**
 * The host's durable room state in SQLite (better-sqlite3): one file `<dir>/rooms.db`, WAL,
 * `synchronous=FULL` (a write that returned survives kill -9 and power loss), foreign keys on,
 * numbered migrations applied at open ({@link migrateRoomState}), and an exclusive lock held from
 * open to close, so two hosts never share one state folder.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { GameResult, RoomStatus } from '@parlor/squish';
import { ENGINE_MESSAGE_LIMITS } from '../engine/messages.js';
import { ServerError, ServerErrorCode } from '../errors.js';
import { migrateRoomState } from './migrations.js';
import type { RoomStateStore, StoredMember, StoredRoom, StoredSnapshot } from './store.js';

/**
 * better-sqlite3, loaded when a state folder is opened. It is an optional peer dependency of
 * `@parlor/server`: a game author who never keeps state installs no native module; a host that
 * does (`--state-dir`) installs it beside `@parlor/server`.
 * @throws {ServerError} `SERVER_STATE` saying what to install when it is missing
 */
function sqlite(): typeof BetterSqlite3 {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (err) {
    throw new ServerError(
      ServerErrorCode.STATE,
      `a state folder needs the better-sqlite3 package, which is not installed here: run \`npm install better-sqlite3\` in your project (an optional dependency of @parlor/server) (${(err as Error).message.split('\n')[0]})`,
      { cause: err },
    );
  }
}

/** Options of {@link openRoomStateStore}. */
export interface RoomStateStoreOptions {
  /**
   * How many of a room's most recent turns keep a snapshot (the latest of each); older snapshots
   * are deleted as new ones are stored. Default 3 (the latest snapshot is always kept).
   */
  keepTurns?: number;
  /** Largest snapshot stored, in UTF-8 bytes of its JSON text. Default `ENGINE_MESSAGE_LIMITS.snapshotBytes` (1 MiB). */
  maxSnapshotBytes?: number;
}

interface RoomRow {
  room_id: string;
  game: string;
  version: string | null;
  sha256: string | null;
  options: string;
  status: RoomStatus;
  turn: number;
  reason: string;
  created_at: number;
  updated_at: number;
}
interface SnapshotRow {
  room_id: string;
  turn: number;
  snapshot: string;
  cause: string;
  version: string | null;
  saved_at: number;
}
interface MemberRow {
  room_id: string;
  player_id: number;
  name: string;
  user_id: string | null;
  roles: string;
  spectator: number;
  token_hash: string;
}

const toRoom = (r: RoomRow): StoredRoom => ({
  roomId: r.room_id,
  game: r.game,
  version: r.version,
  sha256: r.sha256,
  options: JSON.parse(r.options) as Record<string, unknown>,
  status: r.status,
  turn: r.turn,
  reason: r.reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toSnapshot = (r: SnapshotRow): StoredSnapshot => ({
  roomId: r.room_id,
  turn: r.turn,
  snapshot: r.snapshot,
  cause: r.cause,
  version: r.version,
  savedAt: r.saved_at,
});
const toMember = (r: MemberRow): StoredMember => ({
  roomId: r.room_id,
  playerId: r.player_id,
  name: r.name,
  userId: r.user_id,
  roles: JSON.parse(r.roles) as string[],
  spectator: r.spectator === 1,
  tokenHash: r.token_hash,
});

/** How long an ended room's record and last snapshot are kept (deleted at the next open after): 30 days, ms. */
export const ENDED_ROOM_KEEP_MS = 30 * 24 * 3600 * 1000;

/** The name of the database file inside a state folder. */
export const ROOM_STATE_FILE = 'rooms.db';

/**
 * Opens (creating the folder and the file if needed) the durable room state of one host:
 * `<dir>/rooms.db`, with pending migrations applied. The folder is locked (an exclusive SQLite
 * lock, held until {@link RoomStateStore.close}; the OS drops it if the process is killed), so a
 * second host on the same folder is refused: each host has its own state folder.
 *
 * Snapshots are pruned as they are stored: the latest snapshot of each of the room's last
 * `keepTurns` turns is kept. Members are keyed by (room, player id) and keep only the sha256 of
 * their reconnect token. An ended room ({@link RoomStateStore.endRoom}) keeps its record (status,
 * reason, result) and its last snapshot (for a look after the fact), and loses its members and
 * older snapshots; rooms ended over {@link ENDED_ROOM_KEEP_MS} ago are deleted at open. A later {@link RoomStateStore.putRoom} of
 * the same room (same `createdAt`) updates its record and leaves it ended, while one with another
 * `createdAt` (a new room reusing the id) records it live again.
 *
 * @throws {ServerError} `SERVER_STATE`, one line naming the folder: another process has it open,
 * it was written by a newer parlor, or it cannot be created or opened.
 */
export function openRoomStateStore(dir: string, options: RoomStateStoreOptions = {}): RoomStateStore {
  const folder = resolve(dir);
  const keepTurns = options.keepTurns ?? 3;
  const maxSnapshotBytes = options.maxSnapshotBytes ?? ENGINE_MESSAGE_LIMITS.snapshotBytes;
  if (!(Number.isInteger(keepTurns) && keepTurns >= 1)) throw new ServerError(ServerErrorCode.STATE, `keepTurns must be a positive integer (got ${String(keepTurns)})`);
  if (!(Number.isInteger(maxSnapshotBytes) && maxSnapshotBytes >= 1)) {
    throw new ServerError(ServerErrorCode.STATE, `maxSnapshotBytes must be a positive integer (got ${String(maxSnapshotBytes)})`);
  }
  const Database = sqlite();
  let db: Db | undefined;
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 }); // snapshots may hold what players must not see: the host alone reads them
    db = new Database(join(folder, ROOM_STATE_FILE), { timeout: 200 });
    // One host owns a state folder: it restores the rooms recorded live, which another live host
    // would be running too. The exclusive lock is taken now (an empty exclusive transaction) and
    // held until close. Entering WAL under exclusive locking keeps the WAL index in memory (no -shm).
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrateRoomState(db);
    db.prepare('DELETE FROM rooms WHERE ended_at IS NOT NULL AND ended_at < ?').run(Date.now() - ENDED_ROOM_KEEP_MS);
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') {
      throw new ServerError(ServerErrorCode.STATE, `the state folder ${folder} is in use by another process (each host needs its own --state-dir)`, { cause: err });
    }
    throw new ServerError(ServerErrorCode.STATE, `cannot open the state folder ${folder}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteRoomStateStore(db, folder, keepTurns, maxSnapshotBytes);
}

class SqliteRoomStateStore implements RoomStateStore {
  private closed = false;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly folder: string,
    private readonly keepTurns: number,
    private readonly maxSnapshotBytes: number,
  ) {
    this.stmts = {
      putRoom: db.prepare(
        `INSERT INTO rooms (room_id, game, version, sha256, options, status, turn, reason, created_at, updated_at)
         VALUES (@roomId, @game, @version, @sha256, @options, @status, @turn, @reason, @createdAt, @updatedAt)
         ON CONFLICT (room_id) DO UPDATE SET game = excluded.game, version = excluded.version, sha256 = excluded.sha256,
           options = excluded.options, status = excluded.status, turn = excluded.turn, reason = excluded.reason,
           updated_at = excluded.updated_at, created_at = excluded.created_at,
           ended_at = CASE WHEN rooms.created_at = excluded.created_at THEN rooms.ended_at END,
           end_reason = CASE WHEN rooms.created_at = excluded.created_at THEN rooms.end_reason END,
           result = CASE WHEN rooms.created_at = excluded.created_at THEN rooms.result END`,
      ),
      liveRooms: db.prepare('SELECT * FROM rooms WHERE ended_at IS NULL ORDER BY created_at, rowid'),
      room: db.prepare('SELECT * FROM rooms WHERE room_id = ?'),
      insertSnapshot: db.prepare('INSERT INTO snapshots (room_id, turn, snapshot, cause, version, saved_at) VALUES (?, ?, ?, ?, ?, ?)'),
      pruneSnapshots: db.prepare(
        `DELETE FROM snapshots WHERE room_id = ? AND id NOT IN (
           SELECT MAX(id) FROM snapshots WHERE room_id = ? GROUP BY turn ORDER BY MAX(id) DESC LIMIT ?)`,
      ),
      lastSnapshot: db.prepare('SELECT * FROM snapshots WHERE room_id = ? ORDER BY id DESC LIMIT 1'),
      putMember: db.prepare(
        `INSERT INTO members (room_id, player_id, name, user_id, roles, spectator, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (room_id, player_id) DO UPDATE SET name = excluded.name, user_id = excluded.user_id, roles = excluded.roles,
           spectator = excluded.spectator, token_hash = excluded.token_hash`,
      ),
      removeMember: db.prepare('DELETE FROM members WHERE room_id = ? AND player_id = ?'),
      members: db.prepare('SELECT * FROM members WHERE room_id = ? ORDER BY player_id'),
      endRoom: db.prepare("UPDATE rooms SET ended_at = ?, end_reason = ?, result = ?, updated_at = ?, reason = CASE WHEN reason = '' THEN ? ELSE reason END WHERE room_id = ?"),
      keepLastSnapshot: db.prepare('DELETE FROM snapshots WHERE room_id = ? AND id < (SELECT MAX(id) FROM snapshots WHERE room_id = ?)'),
      dropMembers: db.prepare('DELETE FROM members WHERE room_id = ?'),
    };
  }

  private open(): void {
    if (this.closed) throw new ServerError(ServerErrorCode.STATE, `the room state of ${this.folder} is closed`);
  }

  putRoom(room: StoredRoom): void {
    this.open();
    this.stmts.putRoom.run({ ...room, options: JSON.stringify(room.options ?? {}) });
  }

  liveRooms(): StoredRoom[] {
    this.open();
    return (this.stmts.liveRooms.all() as RoomRow[]).map(toRoom);
  }

  room(roomId: string): StoredRoom | undefined {
    this.open();
    const r = this.stmts.room.get(roomId) as RoomRow | undefined;
    return r && toRoom(r);
  }

  putSnapshot(s: StoredSnapshot): void {
    this.open();
    const bytes = Buffer.byteLength(s.snapshot, 'utf8');
    if (bytes > this.maxSnapshotBytes) {
      throw new ServerError(
        ServerErrorCode.STATE,
        `room ${s.roomId}: snapshot of ${bytes} bytes is over the cap of ${this.maxSnapshotBytes} (make the game's save() smaller); the previous snapshot is kept`,
      );
    }
    try {
      this.db.transaction(() => {
        this.stmts.insertSnapshot.run(s.roomId, s.turn, s.snapshot, s.cause, s.version, s.savedAt);
        this.stmts.pruneSnapshots.run(s.roomId, s.roomId, this.keepTurns);
      }).immediate();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new ServerError(ServerErrorCode.STATE, `room ${s.roomId}: a snapshot for a room that is not recorded (putRoom first)`, { cause: err });
      }
      throw err;
    }
  }

  lastSnapshot(roomId: string): StoredSnapshot | undefined {
    this.open();
    const r = this.stmts.lastSnapshot.get(roomId) as SnapshotRow | undefined;
    return r && toSnapshot(r);
  }

  putMember(m: StoredMember): void {
    this.open();
    try {
      this.stmts.putMember.run(m.roomId, m.playerId, m.name, m.userId, JSON.stringify(m.roles ?? []), m.spectator ? 1 : 0, m.tokenHash);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new ServerError(ServerErrorCode.STATE, `room ${m.roomId}: a member of a room that is not recorded (putRoom first)`, { cause: err });
      }
      throw err;
    }
  }

  removeMember(roomId: string, playerId: number): void {
    this.open();
    this.stmts.removeMember.run(roomId, playerId);
  }

  members(roomId: string): StoredMember[] {
    this.open();
    return (this.stmts.members.all(roomId) as MemberRow[]).map(toMember);
  }

  endRoom(roomId: string, reason: string, result: GameResult | null): void {
    this.open();
    const now = Date.now();
    this.db.transaction(() => {
      this.stmts.endRoom.run(now, reason, result === null ? null : JSON.stringify(result), now, reason, roomId);
      this.stmts.keepLastSnapshot.run(roomId, roomId);
      this.stmts.dropMembers.run(roomId);
    }).immediate();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
