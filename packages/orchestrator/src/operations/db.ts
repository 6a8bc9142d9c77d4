/**
 * The orchestrator's own database, `<data-dir>/orchestrator.db` (better-sqlite3): the operation
 * log and the webhook outbox share one handle. WAL journal, `synchronous=FULL` (a committed row
 * survives power loss), a busy timeout, and no exclusive lock: another process (a reader, a
 * tool) may open it beside the orchestrator. `:memory:` gives a private in-memory database (an
 * orchestrator without a data dir).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { migrateOrchestratorDb, ORCHESTRATOR_MIGRATIONS, type OrchestratorMigration } from './migrations.js';

/** The database's file name inside the data dir. */
export const ORCHESTRATOR_DB_FILE = 'orchestrator.db';

/** How long a write waits for another connection's lock before failing with `SQLITE_BUSY`, ms. */
export const ORCHESTRATOR_DB_BUSY_TIMEOUT_MS = 5000;

/** An open orchestrator database. */
export interface OrchestratorDb {
  /** The better-sqlite3 handle (synchronous). */
  readonly db: Db;
  /** The file (absolute), or `':memory:'`. */
  readonly file: string;
  /** Whether {@link close} was called. */
  readonly closed: boolean;
  /** Closes the handle. Idempotent. */
  close(): void;
}

/**
 * Opens (creating the folder and the file if needed) `<dir>/orchestrator.db`, or an in-memory
 * database for `dir === ':memory:'`, and applies the pending migrations.
 * @param migrations the schema (default {@link ORCHESTRATOR_MIGRATIONS}; tests may pass others).
 * @throws Error whose message names the file and the cause (a folder that cannot be created, a
 *   file that is not a database, a newer schema).
 */
export function openOrchestratorDb(dir: string, migrations: readonly OrchestratorMigration[] = ORCHESTRATOR_MIGRATIONS): OrchestratorDb {
  const memory = dir === ':memory:';
  const file = memory ? ':memory:' : join(resolve(dir), ORCHESTRATOR_DB_FILE);
  let db: Db | undefined;
  try {
    if (!memory) mkdirSync(resolve(dir), { recursive: true });
    db = new Database(file, { timeout: ORCHESTRATOR_DB_BUSY_TIMEOUT_MS });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrateOrchestratorDb(db, migrations);
  } catch (err) {
    db?.close();
    throw new Error(`cannot open the orchestrator database ${file}: ${(err as Error).message}`, { cause: err });
  }
  const handle = db;
  let closed = false;
  return {
    db: handle,
    file,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
