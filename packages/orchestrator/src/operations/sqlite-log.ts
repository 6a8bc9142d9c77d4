/**
 * The {@link OperationLog} on SQLite (the `operations` table of `orchestrator.db`). better-sqlite3
 * is synchronous: a write is committed (and, with `synchronous=FULL`, on disk) before its promise
 * resolves. Ids are time-sortable: `op_<13-digit ms>_<4-digit sequence>_<8 hex>`.
 */
import { hostname } from 'node:os';
import type { Database as Db } from 'better-sqlite3';
import type { Operation, OperationState } from '@parlor/squish';
import { openOrchestratorDb, type OrchestratorDb } from './db.js';
import type { OperationLog, OperationQuery, QueueOperation } from './log.js';
import { INTERRUPTED, OPERATION_PAGE, OperationIds, toOperation, type OperationRow } from './rows.js';

/** This process as an operation's owner: `<hostname>:<pid>`. */
const SELF = `${hostname()}:${process.pid}`;

/**
 * Whether the process that queued an operation may still finish it: another live process on this
 * host (signal 0 reaches it). An owner on another host, or none (rows from before owners were
 * recorded), cannot be checked: its operations count as interrupted, as one orchestrator per data
 * folder is the rule.
 */
function ownerAlive(owner: string): boolean {
  const at = owner.lastIndexOf(':');
  if (at <= 0 || owner.slice(0, at) !== hostname()) return false;
  const pid = Number(owner.slice(at + 1));
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}



/** Options of {@link SqliteOperationLog}. */
export interface SqliteOperationLogOptions {
  /** Close the database when the log closes (it opened it). Default `false`: the database is the caller's. */
  ownsDb?: boolean;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** The operation log on an open orchestrator database. */
export class SqliteOperationLog implements OperationLog {
  private closed = false;
  private readonly ids = new OperationIds();
  private readonly now: () => number;

  constructor(
    private readonly store: OrchestratorDb,
    private readonly options: SqliteOperationLogOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private get db(): Db {
    if (this.closed || this.store.closed) throw new Error('the operation log is closed');
    return this.store.db;
  }

  async queue(input: QueueOperation): Promise<Operation> {
    const at = this.now();
    const id = this.ids.next(at);
    this.db
      .prepare(
        `INSERT INTO operations (id, room_id, op, source, state, params, game, version, instance_id, actor, error_code, error_message, created_at, updated_at, owner)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)`,
      )
      .run(id, input.roomId, input.op, input.source, JSON.stringify(input.params ?? {}), input.game ?? '', input.version ?? null, input.instanceId ?? null, input.actor ?? '', at, at, SELF);
    return this.must(id);
  }

  async start(id: string, instanceId?: string | null): Promise<Operation> {
    return this.transition(id, ['queued'], 'running', "state = 'running', instance_id = COALESCE(?, instance_id)", [instanceId ?? null]);
  }

  async succeed(id: string, after: { version?: string | null; instanceId?: string | null; game?: string } = {}): Promise<Operation> {
    const sets = ["state = 'succeeded'"];
    const values: unknown[] = [];
    const set = (sql: string, v: unknown): void => {
      sets.push(sql);
      values.push(v);
    };
    if (after.version !== undefined) set('version = ?', after.version);
    if (after.instanceId !== undefined) set('instance_id = ?', after.instanceId);
    if (after.game !== undefined) set('game = ?', after.game);
    return this.transition(id, ['queued', 'running'], 'succeeded', sets.join(', '), values);
  }

  async fail(id: string, code: string, message: string): Promise<Operation> {
    return this.transition(id, ['queued', 'running'], 'failed', "state = 'failed', error_code = ?, error_message = ?", [code, message]);
  }

  async get(id: string): Promise<Operation | undefined> {
    const r = this.db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as OperationRow | undefined;
    return r && toOperation(r);
  }

  async list(query: OperationQuery = {}): Promise<Operation[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      where.push(sql);
      values.push(v);
    };
    if (query.roomId !== undefined) add('room_id = ?', query.roomId);
    if (query.state !== undefined) add('state = ?', query.state);
    if (query.op !== undefined) add('op = ?', query.op);
    if (query.source !== undefined) add('source = ?', query.source);
    if (query.since !== undefined) add('created_at >= ?', query.since);
    if (query.until !== undefined) add('created_at < ?', query.until);
    if (query.before !== undefined) add('id < ?', query.before);
    const limit = Math.min(OPERATION_PAGE.max, Math.max(1, Math.floor(query.limit ?? OPERATION_PAGE.default)));
    const sql = `SELECT * FROM operations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...values, limit) as OperationRow[]).map(toOperation);
  }

  async recoverInterrupted(): Promise<Operation[]> {
    const db = this.db;
    const at = this.now();
    return db
      .transaction(() => {
        // operations of a live process on this host (another orchestrator on the same folder, e.g. in tests) are its own to finish
        const ids = (db.prepare("SELECT id, owner FROM operations WHERE state IN ('queued', 'running') ORDER BY id").all() as { id: string; owner: string }[])
          .filter((r) => !ownerAlive(r.owner))
          .map((r) => r.id);
        const mark = db.prepare("UPDATE operations SET state = 'failed', error_code = ?, error_message = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')");
        for (const id of ids) mark.run(INTERRUPTED.code, INTERRUPTED.message, at, id);
        return ids.map((id) => toOperation(db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as OperationRow));
      })
      .immediate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsDb) this.store.close();
  }

  private transition(id: string, from: OperationState[], to: OperationState, sets: string, values: unknown[]): Promise<Operation> {
    const db = this.db;
    const at = this.now();
    const changed = db.prepare(`UPDATE operations SET ${sets}, updated_at = ? WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`).run(...values, at, id, ...from).changes;
    if (changed === 0) {
      const current = db.prepare('SELECT state FROM operations WHERE id = ?').get(id) as { state: OperationState } | undefined;
      return Promise.reject(new Error(current ? `operation ${id} is ${current.state}: it cannot become ${to}` : `no operation ${id}`));
    }
    return Promise.resolve(this.must(id));
  }

  private must(id: string): Operation {
    return toOperation(this.db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as OperationRow);
  }
}

/**
 * Opens an operation log on its own database: `<dir>/orchestrator.db`, or in memory for
 * `':memory:'` (an orchestrator without a data dir: nothing survives the process). Closing the log
 * closes the database. Does not recover: call {@link OperationLog.recoverInterrupted} once, then.
 * @throws Error naming the file when it cannot be opened (see {@link openOrchestratorDb}).
 */
export function openOperationLog(dir: string): SqliteOperationLog {
  return new SqliteOperationLog(openOrchestratorDb(dir), { ownsDb: true });
}
