/**
 * The orchestrator database's schema (`<data-dir>/orchestrator.db`), as numbered migrations:
 * the operation log here, and every later table of the orchestrator (the webhook outbox…) as the
 * next numbers of the same list. {@link migrateOrchestratorDb} applies the missing ones at open,
 * each in its own transaction with its row in `schema_migrations`, so a crash mid-migration leaves
 * the previous schema intact and the next open applies it again.
 */
import type { Database } from 'better-sqlite3';

/** One migration: its number (1, 2, …, never reused) and its SQL. */
export interface OrchestratorMigration {
  version: number;
  name: string;
  sql: string;
}

/** The schema's migrations, in order. Append only: a shipped migration never changes. */
export const ORCHESTRATOR_MIGRATIONS: readonly OrchestratorMigration[] = [
  {
    version: 1,
    name: 'operations',
    sql: `
      CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        op TEXT NOT NULL,
        source TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
        params TEXT NOT NULL DEFAULT '{}',
        game TEXT NOT NULL DEFAULT '',
        version TEXT,
        instance_id TEXT,
        actor TEXT NOT NULL DEFAULT '',
        error_code TEXT,
        error_message TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX operations_room ON operations (room_id, id);
      CREATE INDEX operations_created ON operations (created_at);
      CREATE INDEX operations_unfinished ON operations (state) WHERE state IN ('queued', 'running');
    `,
  },
  {
    // the webhook outbox (notifications/outbox.ts): one row per (notification, URL); the unique
    // (url, idempotency_key) index is the per-route idempotency
    version: 2,
    name: 'webhook outbox',
    sql: `
      CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY,
        notification_id TEXT NOT NULL,
        url TEXT NOT NULL,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX webhook_outbox_route_key ON webhook_outbox (url, idempotency_key);
      CREATE INDEX webhook_outbox_due ON webhook_outbox (url, state, next_attempt_at);
      CREATE INDEX webhook_outbox_dead ON webhook_outbox (state, id);
      CREATE INDEX webhook_outbox_updated ON webhook_outbox (updated_at);
    `,
  },
  {
    // which process queued an operation (`<hostname>:<pid>`), so recovery at open fails only the
    // operations of a process that is gone, never those of a live orchestrator sharing the folder
    version: 3,
    name: 'operation owner',
    sql: `ALTER TABLE operations ADD COLUMN owner TEXT NOT NULL DEFAULT '';`,
  },
];

/**
 * Applies the migrations `db` lacks, in order, each in one transaction with its
 * `schema_migrations` row. Returns the numbers applied. The one runner of the orchestrator's SQLite
 * databases: this one and the catalog's (`catalog/migrations.ts`).
 * @param refuse what a database newer than `migrations` is called and what to run on it, for the
 *   error: default `the orchestrator database` / `parlor-orchestrator`
 * @throws Error when the database has a migration newer than this code knows (a downgrade).
 */
export function migrateOrchestratorDb(
  db: Database,
  migrations: readonly OrchestratorMigration[] = ORCHESTRATOR_MIGRATIONS,
  refuse: { database: string; run: string } = { database: 'the orchestrator database', run: 'parlor-orchestrator' },
): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const unknown = [...done].filter((v) => v > newest);
  if (unknown.length) {
    throw new Error(`${refuse.database} has schema migration ${Math.max(...unknown)}, newer than this parlor knows (${newest}): run a newer ${refuse.run} on it`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      // another process may have applied it between our read and this write lock
      if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)) return;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      applied.push(m.version);
    }).immediate();
  }
  return applied;
}
