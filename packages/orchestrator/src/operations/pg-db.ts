/**
 * The shared SQL store on PostgreSQL (`--database-url postgres://…`): one database holds the
 * catalog, the operation log and the webhook outbox, so several orchestrators can serve the same
 * catalog. {@link openPgDatabase} loads `pg` lazily (an optional peer dependency), opens a pool,
 * applies the migrations (`pg-migrations.ts`) under a transaction-scoped advisory lock, and takes
 * this process's owner lock.
 *
 * Owners: every row a process may leave unfinished (a publish request, an operation) records the
 * process's owner id; the process holds a session advisory lock on that id while it lives (on one
 * dedicated connection, taken again after a reconnect). Recovery at open fails only the rows whose
 * owner's lock is free — a process that is gone — never another live orchestrator's.
 *
 * Connection faults (the server restarting, unreachable) become {@link DatabaseUnavailableError}
 * (`DATABASE_UNAVAILABLE`, 503, retryable): a query that failed that way may or may not have been
 * applied only when the connection broke after it was sent; the pool reconnects by itself.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool, PoolClient, Client } from 'pg';
import { FleetCause, OrchestratorError } from '../errors.js';
import { PG_MIGRATIONS, type PgMigration } from './pg-migrations.js';

/**
 * A row as the database answers it, column name → value (the shape of `pg`'s `QueryResultRow`,
 * declared here so the public types do not need `pg`'s, an optional peer, to be installed).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a row's columns are whatever the query selects
export type PgRow = { [column: string]: any };

/** Whether `url` names a Postgres database (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string | undefined): url is string {
  return typeof url === 'string' && /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for logs and errors. */
export function maskDatabaseUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

/** The store's database did not answer (restarting, unreachable): retry. Code `DATABASE_UNAVAILABLE`, status 503. */
export class DatabaseUnavailableError extends OrchestratorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.DatabaseUnavailableError');
  /** @param options.cause the driver's error (its SQLSTATE or socket `code` kept there). */
  constructor(message: string, options?: { cause?: unknown }) {
    super(FleetCause.DATABASE_UNAVAILABLE, message, options);
  }
}

/** SQLSTATE classes and Node codes that mean the connection, not the query, failed. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P0[123]|53300)/.test(code)) return true; // connection exception, admin/crash shutdown, cannot connect now, too many connections
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|Connection ended|not queryable/i.test(e?.message ?? '');
}

/** How long a query waits for a connection while the server is down before failing `DATABASE_UNAVAILABLE`, ms. */
export const PG_CONNECT_WAIT_MS = 5000;

/** An open Postgres store. */
export interface PgDatabase {
  /** The URL, its password masked. */
  readonly url: string;
  /** This process's owner id (`<host>:<pid>:<random>`), recorded on the rows it may leave unfinished. */
  readonly owner: string;
  /** One statement on a pooled connection. @throws {DatabaseUnavailableError} on a connection fault. */
  query<R extends PgRow = PgRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** `fn` in one transaction (BEGIN … COMMIT, ROLLBACK on a throw). @throws {DatabaseUnavailableError} on a connection fault. */
  tx<T>(fn: (q: <R extends PgRow = PgRow>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T>;
  /** Of `owners`, those whose process is gone (their advisory lock is free). */
  deadOwners(owners: readonly string[]): Promise<Set<string>>;
  /** Closes the pool and releases the owner lock. Idempotent. */
  close(): Promise<void>;
}

type PgModule = typeof import('pg');

async function loadPg(): Promise<PgModule> {
  try {
    const mod = (await import('pg')) as unknown as PgModule & { default?: PgModule };
    return mod.default ?? mod;
  } catch (err) {
    throw new Error('--database-url postgres://… needs the `pg` package: npm install pg', { cause: err });
  }
}

/** bigint columns (ms timestamps, counts) as numbers: they stay far below 2^53. */
function typesOf(pg: PgModule): { getTypeParser: (oid: number, format?: 'text' | 'binary') => unknown } {
  return {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')),
  };
}

/** The advisory lock key of an owner (64-bit, from its text). */
const OWNER_KEY = 'hashtextextended($1, 7)';
/** The advisory lock key migrations run under (any fixed number, "parlor" in ASCII). */
const MIGRATION_LOCK = 0x7061726c6f72;

/**
 * Opens the store at `url`: a pool of `max` connections (default 5), the migrations applied (once,
 * whoever starts first; a database migrated by a newer parlor is refused), the owner lock taken.
 * @param options.migrations the schema (default {@link PG_MIGRATIONS}; tests may pass others).
 * @throws Error naming the URL (password masked) and the cause: `pg` missing, the server
 *   unreachable, a newer schema.
 */
export async function openPgDatabase(url: string, options: { max?: number; migrations?: readonly PgMigration[] } = {}): Promise<PgDatabase> {
  const shown = maskDatabaseUrl(url);
  const pg = await loadPg();
  const types = typesOf(pg);
  const pool: Pool = new pg.Pool({ connectionString: url, max: options.max ?? 5, connectionTimeoutMillis: 2000, idleTimeoutMillis: 30_000, types } as ConstructorParameters<PgModule['Pool']>[0]);
  // an idle connection the server ended (a restart): the pool drops it and makes another when needed
  pool.on('error', () => undefined);
  // a checked-out connection the server ends between two statements (or while it is being
  // dropped) emits 'error' with no pool listener: the statement in flight, if any, rejects instead
  pool.on('connect', (client) => client.on('error', () => undefined));
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let closed = false;

  const connect = async (): Promise<PoolClient> => {
    const deadline = Date.now() + PG_CONNECT_WAIT_MS;
    for (;;) {
      if (closed) throw new Error(`the database ${shown} is closed`);
      try {
        return await pool.connect();
      } catch (err) {
        if (!isConnectionError(err) || Date.now() >= deadline) throw unavailable(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const unavailable = (err: unknown): Error =>
    isConnectionError(err) ? new DatabaseUnavailableError(`the database ${shown} is unavailable (${(err as Error)?.message ?? String(err)}): retry`, { cause: err }) : (err as Error);
  const query = async <R extends PgRow>(sql: string, params?: unknown[]): Promise<R[]> => {
    const client = await connect();
    let broken: unknown;
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (err) {
      if (isConnectionError(err)) broken = err;
      throw unavailable(err);
    } finally {
      client.release(broken as Error | undefined);
    }
  };
  const tx = async <T>(fn: (q: <R extends PgRow>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T> => {
    const client = await connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const out = await fn(async <R extends PgRow>(sql: string, params?: unknown[]) => (await client.query<R>(sql, params)).rows);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      if (isConnectionError(err)) broken = err;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw unavailable(err);
    } finally {
      client.release(broken as Error | undefined);
    }
  };

  try {
    await migratePostgres({ tx }, options.migrations ?? PG_MIGRATIONS, shown);
  } catch (err) {
    closed = true;
    await pool.end().catch(() => undefined);
    if (err instanceof DatabaseUnavailableError) throw new Error(`cannot open the database ${shown}: no answer (${(err.cause as Error)?.message ?? err.message})`, { cause: err });
    throw new Error(`cannot open the database ${shown}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  const lock = new OwnerLock(pg, url, types, owner);
  try {
    await lock.take();
  } catch (err) {
    closed = true;
    await pool.end().catch(() => undefined);
    throw new Error(`cannot open the database ${shown}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }

  return {
    url: shown,
    owner,
    query,
    tx,
    async deadOwners(owners) {
      const dead = new Set<string>();
      for (const o of new Set(owners)) {
        if (o === owner) continue;
        // free lock = gone owner; taken and released again at once, on the same connection
        const got = await tx(async (q) => {
          const [r] = await q<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${OWNER_KEY}) AS ok`, [o]);
          return r.ok;
        });
        if (got) dead.add(o);
      }
      return dead;
    },
    async close() {
      if (closed) return;
      closed = true;
      await lock.release();
      await pool.end().catch(() => undefined);
    },
  };
}

/**
 * This process's session advisory lock on its owner id, on a dedicated connection. When that
 * connection breaks (the server restarted), it reconnects and takes the lock again, every 500 ms
 * until it succeeds or is released. While it is lost, another process's recovery would take this
 * one for gone: recovery runs only when a process opens the store, so the window is a restart's.
 */
class OwnerLock {
  private client: Client | null = null;
  private released = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly pg: PgModule,
    private readonly url: string,
    private readonly types: unknown,
    private readonly owner: string,
  ) {}

  async take(): Promise<void> {
    const client = new this.pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000, types: this.types } as ConstructorParameters<PgModule['Client']>[0]);
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    const [r] = (await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${OWNER_KEY}) AS ok`, [this.owner])).rows;
    if (!r.ok) {
      await client.end().catch(() => undefined);
      throw new Error(`the owner lock ${this.owner} is held by another session`);
    }
    if (this.released) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.released || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.released) return;
      this.take().catch(() => this.retry());
    }, 500);
    this.timer.unref?.();
  }

  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

/**
 * Applies the migrations the database lacks, all in one transaction under
 * `pg_advisory_xact_lock`, so two processes starting together migrate once (the second waits, then
 * finds nothing to do). Returns the numbers applied.
 * @throws Error when the database has a migration newer than `migrations` (a downgrade).
 */
export async function migratePostgres(db: Pick<PgDatabase, 'tx'>, migrations: readonly PgMigration[], shown: string): Promise<number[]> {
  return db.tx(async (q) => {
    await q('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await q('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const done = new Set((await q<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => v > newest);
    if (unknown.length) throw new Error(`the database ${shown} has schema migration ${Math.max(...unknown)}, newer than this parlor knows (${newest}): run a newer parlor-orchestrator on it`);
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await q(m.sql);
      await q('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      applied.push(m.version);
    }
    return applied;
  });
}
