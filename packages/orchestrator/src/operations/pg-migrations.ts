/**
 * The Postgres store's schema, as numbered migrations: one database holds the catalog (the
 * SQLite `catalog.db`'s tables), the operation log and the webhook outbox (the SQLite
 * `orchestrator.db`'s), with an `owner` on the rows a process may leave unfinished and a lease on
 * outbox rows being delivered. `migratePostgres` (pg-db.ts) applies the missing ones at open, in
 * one transaction under an advisory lock, each with its row in `schema_migrations`.
 * Times are ms since the epoch (BIGINT); JSON is stored as TEXT exactly as SQLite stores it.
 */

/** One migration: its number (1, 2, …, never reused) and its SQL. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/** The schema's migrations, in order. Append only: a shipped migration never changes. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'catalog',
    sql: `
      CREATE TABLE games (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        show BOOLEAN NOT NULL DEFAULT TRUE,
        requires_auth BOOLEAN NOT NULL DEFAULT FALSE,
        min_role TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE publish_requests (
        seq BIGSERIAL UNIQUE,
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL,
        version TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('PENDING', 'PROCESSING', 'PUBLISHED', 'FAILED')),
        publisher TEXT NOT NULL,
        error TEXT,
        sha256 TEXT,
        owner TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX publish_requests_slug ON publish_requests (slug, created_at);
      CREATE INDEX publish_requests_unfinished ON publish_requests (state) WHERE state IN ('PENDING', 'PROCESSING');
      CREATE TABLE versions (
        seq BIGSERIAL UNIQUE,
        slug TEXT NOT NULL REFERENCES games (slug),
        version TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL,
        squish_version INTEGER NOT NULL,
        source_sha256 TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        published_by TEXT NOT NULL,
        gate TEXT NOT NULL,
        request_id TEXT NOT NULL REFERENCES publish_requests (id),
        PRIMARY KEY (slug, version)
      );
      CREATE TABLE manifest_pins (
        env TEXT NOT NULL,
        slug TEXT NOT NULL,
        version TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (env, slug),
        FOREIGN KEY (slug, version) REFERENCES versions (slug, version)
      );
      CREATE TABLE manifest_history (
        id BIGSERIAL PRIMARY KEY,
        env TEXT NOT NULL,
        slug TEXT NOT NULL,
        version TEXT,
        previous TEXT,
        action TEXT NOT NULL CHECK (action IN ('promote', 'rollback', 'remove')),
        by TEXT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX manifest_history_env ON manifest_history (env, slug, id);
    `,
  },
  {
    version: 2,
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
        owner TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX operations_room ON operations (room_id, id);
      CREATE INDEX operations_created ON operations (created_at);
      CREATE INDEX operations_unfinished ON operations (state) WHERE state IN ('queued', 'running');
    `,
  },
  {
    // lease_owner / lease_until: the orchestrator delivering a row, until when (another one takes it after)
    version: 3,
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
        next_attempt_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until BIGINT,
        last_status INTEGER,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE UNIQUE INDEX webhook_outbox_route_key ON webhook_outbox (url, idempotency_key);
      CREATE INDEX webhook_outbox_due ON webhook_outbox (url, state, next_attempt_at);
      CREATE INDEX webhook_outbox_dead ON webhook_outbox (state, id);
      CREATE INDEX webhook_outbox_updated ON webhook_outbox (updated_at);
    `,
  },
];
