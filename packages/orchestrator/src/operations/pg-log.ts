/**
 * The {@link OperationLog} on Postgres (the `operations` table of the shared database; see
 * `pg-db.ts`): a write is committed before its promise resolves, so an operation acknowledged to
 * a caller survives a restart of the orchestrator or of Postgres. A write that meets a connection
 * fault rejects with `DATABASE_UNAVAILABLE` (retryable). Ids are time-sortable like the SQLite
 * log's: `op_<13-digit ms>_<4-digit sequence>_<8 hex>`. Several orchestrators may share the log:
 * each records itself as owner of what it queues, and {@link PgOperationLog.recoverInterrupted}
 * fails only the operations of owners that are gone.
 */
import type { Operation, OperationState } from '@parlor/squish';
import type { OperationLog, OperationQuery, QueueOperation } from './log.js';
import { openPgDatabase, type PgDatabase } from './pg-db.js';
import { INTERRUPTED, OPERATION_COLS as COLS, OPERATION_PAGE, OperationIds, toOperation, type OperationRow } from './rows.js';


/** The operation log on an open {@link PgDatabase}. */
export class PgOperationLog implements OperationLog {
  private closed = false;
  private readonly ids = new OperationIds();

  /**
   * @param db the open database.
   * @param options.ownsDb close the database when the log closes (default `false`).
   * @param options.now the clock, ms since the epoch (default `Date.now`).
   */
  constructor(
    private readonly db: PgDatabase,
    private readonly options: { ownsDb?: boolean; now?: () => number } = {},
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  private check(): void {
    if (this.closed) throw new Error('the operation log is closed');
  }

  async queue(input: QueueOperation): Promise<Operation> {
    this.check();
    const at = this.now;
    const [r] = await this.db.query<OperationRow>(
      `INSERT INTO operations (id, room_id, op, source, state, params, game, version, instance_id, actor, created_at, updated_at, owner)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $10, $11) RETURNING ${COLS}`,
      [this.ids.next(at), input.roomId, input.op, input.source, JSON.stringify(input.params ?? {}), input.game ?? '', input.version ?? null, input.instanceId ?? null, input.actor ?? '', at, this.db.owner],
    );
    return toOperation(r);
  }

  async start(id: string, instanceId?: string | null): Promise<Operation> {
    return this.transition(id, ['queued'], 'running', "state = 'running', instance_id = COALESCE($1, instance_id)", [instanceId ?? null]);
  }

  async succeed(id: string, after: { version?: string | null; instanceId?: string | null; game?: string } = {}): Promise<Operation> {
    const sets = ["state = 'succeeded'"];
    const values: unknown[] = [];
    const set = (col: string, v: unknown): void => {
      values.push(v);
      sets.push(`${col} = $${values.length}`);
    };
    if (after.version !== undefined) set('version', after.version);
    if (after.instanceId !== undefined) set('instance_id', after.instanceId);
    if (after.game !== undefined) set('game', after.game);
    return this.transition(id, ['queued', 'running'], 'succeeded', sets.join(', '), values);
  }

  async fail(id: string, code: string, message: string): Promise<Operation> {
    return this.transition(id, ['queued', 'running'], 'failed', "state = 'failed', error_code = $1, error_message = $2", [code, message]);
  }

  async get(id: string): Promise<Operation | undefined> {
    this.check();
    const [r] = await this.db.query<OperationRow>(`SELECT ${COLS} FROM operations WHERE id = $1`, [id]);
    return r && toOperation(r);
  }

  async list(query: OperationQuery = {}): Promise<Operation[]> {
    this.check();
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      values.push(v);
      where.push(`${sql} $${values.length}`);
    };
    if (query.roomId !== undefined) add('room_id =', query.roomId);
    if (query.state !== undefined) add('state =', query.state);
    if (query.op !== undefined) add('op =', query.op);
    if (query.source !== undefined) add('source =', query.source);
    if (query.since !== undefined) add('created_at >=', query.since);
    if (query.until !== undefined) add('created_at <', query.until);
    // COLLATE "C": ids compare byte by byte, as SQLite does, whatever the database's collation
    if (query.before !== undefined) add('id COLLATE "C" <', query.before);
    const limit = Math.min(OPERATION_PAGE.max, Math.max(1, Math.floor(query.limit ?? OPERATION_PAGE.default)));
    values.push(limit);
    const sql = `SELECT ${COLS} FROM operations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id COLLATE "C" DESC LIMIT $${values.length}`;
    return (await this.db.query<OperationRow>(sql, values)).map(toOperation);
  }

  async recoverInterrupted(): Promise<Operation[]> {
    this.check();
    const owners = (await this.db.query<{ owner: string }>("SELECT DISTINCT owner FROM operations WHERE state IN ('queued', 'running')")).map((r) => r.owner);
    const dead = [...(await this.db.deadOwners(owners))];
    if (!dead.length) return [];
    const rows = await this.db.query<OperationRow>(
      `UPDATE operations SET state = 'failed', error_code = $1, error_message = $2, updated_at = $3 WHERE state IN ('queued', 'running') AND owner = ANY($4) RETURNING ${COLS}`,
      [INTERRUPTED.code, INTERRUPTED.message, this.now, dead],
    );
    return rows.map(toOperation).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsDb) await this.db.close();
  }

  private async transition(id: string, from: OperationState[], to: OperationState, sets: string, values: unknown[]): Promise<Operation> {
    this.check();
    const n = values.length;
    const states = from.map((_, i) => `$${n + 3 + i}`).join(', ');
    const [r] = await this.db.query<OperationRow>(`UPDATE operations SET ${sets}, updated_at = $${n + 1} WHERE id = $${n + 2} AND state IN (${states}) RETURNING ${COLS}`, [...values, this.now, id, ...from]);
    if (r) return toOperation(r);
    const [current] = await this.db.query<{ state: OperationState }>('SELECT state FROM operations WHERE id = $1', [id]);
    throw new Error(current ? `operation ${id} is ${current.state}: it cannot become ${to}` : `no operation ${id}`);
  }
}

/**
 * Opens an operation log on the Postgres database at `url` (its own pool; closing the log closes
 * it). Does not recover: call {@link OperationLog.recoverInterrupted} once, then.
 * @throws Error naming the URL (password masked) when it cannot be opened.
 */
export async function openPgOperationLog(url: string): Promise<PgOperationLog> {
  return new PgOperationLog(await openPgDatabase(url), { ownsDb: true });
}
