/**
 * The orchestrator's hold on its database and operation log: opened at `listen()` (before the
 * port answers: unfinished operations of a previous process are failed `INTERRUPTED` and reported
 * as finished), closed at shutdown. Lifecycle routes run their operations through {@link run};
 * the listing routes read {@link log}; the webhook notifier delivers from {@link outbox}. The
 * database is `<data dir>/orchestrator.db` (SQLite), or the shared Postgres database of
 * `databaseUrl`, where several orchestrators keep one log and one outbox.
 */
import type { Operation } from '@parlor/squish';
import { FleetCause, OrchestratorConfigError, OrchestratorError } from '../errors.js';
import { openOrchestratorDb, type OrchestratorDb } from './db.js';
import type { OperationLog, QueueOperation } from './log.js';
import { recordOperation, runOperation, type OperationOutcome, type OperationRun } from './run.js';
import { SqliteOperationLog } from './sqlite-log.js';
import { openPgDatabase, type PgDatabase } from './pg-db.js';
import { PgOperationLog } from './pg-log.js';
import { PgWebhookOutbox } from '../notifications/pg-outbox.js';
import { SqliteWebhookOutbox, type WebhookOutbox } from '../notifications/outbox.js';

/** The orchestrator's operation log and database, open between `open()` and `close()`. */
export class OperationStore {
  private handle: OrchestratorDb | null = null;
  private pg: PgDatabase | null = null;
  private opLog: OperationLog | null = null;
  private box: WebhookOutbox | null = null;

  /**
   * @param dir the data dir (`orchestrator.db` in it), or `':memory:'`; unused with `databaseUrl`.
   * @param onFinished gets every operation that reached `succeeded` or `failed` (recovered ones too).
   * @param databaseUrl a `postgres://…` URL: the log and the outbox live in that shared database instead.
   */
  constructor(
    readonly dir: string,
    private readonly onFinished: (operation: Operation) => void,
    readonly databaseUrl?: string,
  ) {}

  /** Whether it is open. */
  get open(): boolean {
    return this.opLog !== null;
  }

  /**
   * Opens the database and the log, then fails what a previous process left unfinished
   * (`INTERRUPTED`), reporting each to `onFinished`.
   * @returns the operations so recovered.
   * @throws {OrchestratorConfigError} when the database cannot be opened (the message names the file and the cause).
   */
  async openStore(): Promise<Operation[]> {
    if (this.opLog) return [];
    if (this.databaseUrl !== undefined) {
      try {
        this.pg = await openPgDatabase(this.databaseUrl);
      } catch (err) {
        throw new OrchestratorConfigError(`${(err as Error).message} (check --database-url: a Postgres server this process reaches, the database created)`, { cause: err });
      }
      this.opLog = new PgOperationLog(this.pg);
      this.box = new PgWebhookOutbox(this.pg);
    } else {
      try {
        this.handle = openOrchestratorDb(this.dir);
      } catch (err) {
        throw new OrchestratorConfigError(`${(err as Error).message} (--data-dir ${this.dir}: a folder this process may write)`, { cause: err });
      }
      this.opLog = new SqliteOperationLog(this.handle);
      this.box = new SqliteWebhookOutbox(this.handle.db);
    }
    let recovered: Operation[];
    try {
      recovered = await this.opLog.recoverInterrupted();
    } catch (err) {
      await this.close();
      throw new OrchestratorConfigError(`cannot recover the operation log: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    for (const op of recovered) this.onFinished(op);
    return recovered;
  }

  /** The open SQLite database (for the other tables of `orchestrator.db`). @throws {OrchestratorError} `SHUTTING_DOWN` when not open, or open on Postgres. */
  get db(): OrchestratorDb {
    if (!this.handle || this.handle.closed) throw notOpen();
    return this.handle;
  }

  /** The open webhook outbox (SQLite or Postgres, as the log). @throws {OrchestratorError} `SHUTTING_DOWN` when not open. */
  get outbox(): WebhookOutbox {
    if (!this.box) throw notOpen();
    return this.box;
  }

  /** The open log. @throws {OrchestratorError} `SHUTTING_DOWN` when not open (before `listen()`, after shutdown). */
  get log(): OperationLog {
    if (!this.opLog) throw notOpen();
    return this.opLog;
  }

  /** {@link runOperation} on this log, finished operations reported. */
  async run<R extends OperationOutcome>(input: QueueOperation, fn: (operation: Operation) => Promise<R>): Promise<OperationRun<R>> {
    return runOperation(this.log, input, fn, this.onFinished);
  }

  /** {@link recordOperation} on this log, the operation reported. */
  async record(input: QueueOperation, end: Parameters<typeof recordOperation>[2]): Promise<Operation> {
    return recordOperation(this.log, input, end, this.onFinished);
  }

  /** Closes the log and the database. Idempotent. */
  async close(): Promise<void> {
    const log = this.opLog;
    this.opLog = null;
    this.box = null;
    await log?.close();
    this.handle?.close();
    this.handle = null;
    const pg = this.pg;
    this.pg = null;
    await pg?.close();
  }
}

function notOpen(): OrchestratorError {
  return new OrchestratorError(FleetCause.SHUTTING_DOWN, 'the operation log is not open (the orchestrator is not listening)');
}
