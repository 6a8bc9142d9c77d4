/**
 * The SQLite catalog store's schema, as numbered migrations. {@link migrate} applies the missing
 * ones at open, each in its own transaction with its row in `schema_migrations`, so a crash
 * mid-migration leaves the previous schema intact and the next open applies it again.
 */
import type { Database } from 'better-sqlite3';
import { migrateOrchestratorDb, type OrchestratorMigration } from '../operations/migrations.js';

/** One migration: its number (1, 2, …, never reused) and its SQL. */
export type Migration = OrchestratorMigration;

/** The schema's migrations, in order. Append only: a shipped migration never changes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'catalog',
    sql: `
      CREATE TABLE games (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        show INTEGER NOT NULL DEFAULT 1,
        requires_auth INTEGER NOT NULL DEFAULT 0,
        min_role TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE publish_requests (
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL,
        version TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('PENDING', 'PROCESSING', 'PUBLISHED', 'FAILED')),
        publisher TEXT NOT NULL,
        error TEXT,
        sha256 TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX publish_requests_slug ON publish_requests (slug, created_at);
      CREATE INDEX publish_requests_state ON publish_requests (state);
      CREATE TABLE versions (
        slug TEXT NOT NULL REFERENCES games (slug),
        version TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        squish_version INTEGER NOT NULL,
        source_sha256 TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        published_by TEXT NOT NULL,
        gate TEXT NOT NULL,
        request_id TEXT NOT NULL REFERENCES publish_requests (id),
        PRIMARY KEY (slug, version)
      );
      CREATE TABLE manifest_pins (
        env TEXT NOT NULL,
        slug TEXT NOT NULL,
        version TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (env, slug),
        FOREIGN KEY (slug, version) REFERENCES versions (slug, version)
      );
      CREATE TABLE manifest_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        env TEXT NOT NULL,
        slug TEXT NOT NULL,
        version TEXT,
        previous TEXT,
        action TEXT NOT NULL CHECK (action IN ('promote', 'rollback', 'remove')),
        by TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX manifest_history_env ON manifest_history (env, slug, id);
    `,
  },
];

/**
 * Applies the migrations `db` lacks, with the orchestrator's one migration runner
 * ({@link migrateOrchestratorDb}). Returns the numbers applied.
 * @throws Error when the database has a migration newer than this code knows (a downgrade).
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  return migrateOrchestratorDb(db, migrations, { database: 'the catalog database', run: 'parlor' });
}
