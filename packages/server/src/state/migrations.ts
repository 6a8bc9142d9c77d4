/**
 * The room state database's schema, as numbered migrations. {@link migrateRoomState} applies the
 * missing ones at open, each in its own transaction with its row in `schema_migrations`, so a crash
 * mid-migration leaves the previous schema intact and the next open applies it again.
 */
import type { Database } from 'better-sqlite3';

/** One migration: its number (1, 2, …, never reused), a name, and its SQL. */
export interface RoomStateMigration {
  version: number;
  name: string;
  sql: string;
}

/** The schema's migrations, in order. Append only: a shipped migration never changes. */
export const ROOM_STATE_MIGRATIONS: readonly RoomStateMigration[] = [
  {
    version: 1,
    name: 'rooms',
    sql: `
      CREATE TABLE rooms (
        room_id TEXT PRIMARY KEY,
        game TEXT NOT NULL,
        version TEXT,
        sha256 TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL CHECK (status IN ('running', 'generation_in_progress', 'paused', 'finished')),
        turn INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT,
        result TEXT
      );
      CREATE INDEX rooms_live ON rooms (ended_at, created_at);
      CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        snapshot TEXT NOT NULL,
        cause TEXT NOT NULL,
        version TEXT,
        saved_at INTEGER NOT NULL
      );
      CREATE INDEX snapshots_room ON snapshots (room_id, id);
      CREATE TABLE members (
        room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
        player_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        user_id TEXT,
        roles TEXT NOT NULL DEFAULT '[]',
        spectator INTEGER NOT NULL DEFAULT 0,
        token_hash TEXT NOT NULL,
        PRIMARY KEY (room_id, player_id)
      );
    `,
  },
];

/**
 * Applies the migrations `db` lacks, in order, each in one transaction with its
 * `schema_migrations` row. Returns the numbers applied.
 * @throws Error when the database has a migration newer than this code knows (written by a newer
 * parlor: this one would misread it).
 */
export function migrateRoomState(db: Database, migrations: readonly RoomStateMigration[] = ROOM_STATE_MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const unknown = [...done].filter((v) => v > newest);
  if (unknown.length) {
    throw new Error(`it has schema migration ${Math.max(...unknown)}, newer than this parlor knows (${newest}): run a newer parlor on it`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
