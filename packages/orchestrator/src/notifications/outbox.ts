/**
 * The webhook outbox: one row per (notification, URL), written at the end of the event-loop turn
 * of the event that makes it, before anything is sent, so a restart (kill -9 included) delivers
 * what was pending. A unique index on (url, idempotency key) is the per-route idempotency: the
 * same fact is never enqueued twice for one URL, whatever replays it.
 *
 * {@link WebhookOutbox} is the seam; {@link SqliteWebhookOutbox} keeps it in the orchestrator's
 * SQLite database (migration 2 of `operations/migrations.ts`; better-sqlite3 is synchronous, the
 * database `synchronous=FULL`: durable when the write returns), `PgWebhookOutbox` (pg-outbox.ts)
 * in the shared Postgres database, where several orchestrators deliver from one outbox.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { NotificationKind } from '@parlor/squish';
import type { NotificationFact } from './mapping.js';
import { maskUrl, type DeliveryState, type WebhookDelivery } from './types.js';

/** A `webhook_outbox` row. */
export interface OutboxRow {
  id: string;
  notification_id: string;
  url: string;
  kind: NotificationKind;
  idempotency_key: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** A row due for an attempt: what the dispatcher sends. */
export interface DueDelivery {
  id: string;
  url: string;
  kind: NotificationKind;
  idempotencyKey: string;
  /** The JSON body, exactly as stored (and signed). */
  body: string;
  attempts: number;
}

/** Counts of one URL's rows by state. */
export interface UrlCounts {
  pending: number;
  delivered: number;
  dead: number;
  lastError: string | null;
}

let lastMs = 0;
let seq = 0;

/**
 * A time-ordered id: 9 base-36 digits of ms, 4 of a sequence within that ms (so ids made in one
 * ms sort in the order they were made), then 8 random hex digits.
 */
export function sortableId(prefix: string, now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    seq = 0;
  } else seq++;
  return `${prefix}${lastMs.toString(36).padStart(9, '0')}${seq.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}


/**
 * The outbox's store. Every write is durable when its promise resolves. Times are ms since the epoch.
 */
export interface WebhookOutbox {
  /**
   * Records each notification for each of its URLs, all in one transaction; a URL that already has
   * the idempotency key gets nothing. Resolves, in order, to each notification's id and the URLs it
   * was queued for.
   */
  enqueue(items: ReadonlyArray<{ fact: NotificationFact; urls: readonly string[] }>, now?: number): Promise<Array<{ notificationId: string; queued: string[] }>>;
  /**
   * Pending rows of `url` due at `now`, oldest due first, skipping `exclude` (in flight here), at
   * most `limit`. A store shared by several processes claims them: no other process gets a row
   * until this one reports it ({@link delivered} / {@link failed}) or its claim expires after
   * `leaseMs` (longer than one attempt; the store's default when omitted).
   */
  due(url: string, now: number, limit: number, exclude: ReadonlySet<string>, leaseMs?: number): Promise<DueDelivery[]>;
  /** When `url`'s next pending row is due (or its claim by another process expires), `null` when none is pending. */
  nextDueAt(url: string): Promise<number | null>;
  /** An attempt succeeded. */
  delivered(id: string, status: number, now?: number): Promise<void>;
  /** An attempt failed: retried at `retryAt`, or a dead letter when `retryAt` is `null`. */
  failed(id: string, status: number | null, error: string, retryAt: number | null, now?: number): Promise<void>;
  /** Rows by URL and state, with each URL's latest error. */
  counts(): Promise<Map<string, UrlCounts>>;
  /** Rows in `state`, every URL. */
  countState(state: DeliveryState): Promise<number>;
  /** Dead letters, newest first; `before` = the last id of the previous page. */
  deadLetters(limit: number, before?: string): Promise<WebhookDelivery[]>;
  /** One row. */
  get(id: string): Promise<WebhookDelivery | undefined>;
  /** The raw URL of a row (for waking its route). */
  urlOf(id: string): Promise<string | undefined>;
  /** A dead letter back to `pending`, due now, with a fresh count of attempts. `false` when `id` is not a dead letter. */
  retryDead(id: string, now?: number): Promise<boolean>;
  /** Deletes delivered and dead rows last changed before `before`; returns how many. */
  prune(before: number): Promise<number>;
  /** Gives up this process's claims on rows it has not reported (at stop): another process may send them at once. */
  release?(): Promise<void>;
}

/** A webhook outbox row as stored (both stores' columns), to a {@link WebhookDelivery}. */
export const toDelivery = (r: OutboxRow): WebhookDelivery => ({
  id: r.id,
  notificationId: r.notification_id,
  url: maskUrl(r.url),
  kind: r.kind,
  idempotencyKey: r.idempotency_key,
  payload: (JSON.parse(r.body) as { payload: Record<string, unknown> }).payload,
  state: r.state,
  attempts: r.attempts,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The {@link WebhookOutbox} in an open SQLite database holding the `webhook_outbox` table. One process delivers from it. */
export class SqliteWebhookOutbox implements WebhookOutbox {
  private readonly insert: Statement;
  private readonly dueStmt: Statement;
  private readonly nextStmt: Statement;
  private readonly doneStmt: Statement;
  private readonly failStmt: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO webhook_outbox (id, notification_id, url, kind, idempotency_key, body, state, attempts, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
    );
    this.dueStmt = db.prepare(`SELECT * FROM webhook_outbox WHERE url = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`);
    this.nextStmt = db.prepare(`SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE url = ? AND state = 'pending'`);
    this.doneStmt = db.prepare(`UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, updated_at = ? WHERE id = ? AND state = 'pending'`);
    this.failStmt = db.prepare(`UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_status = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = 'pending'`);
  }

  /**
   * Records each notification for each of its URLs, all in one transaction (one write to disk); a
   * URL that already has the idempotency key gets nothing. Returns, in order, each notification's
   * id and the URLs it was queued for.
   */
  async enqueue(items: ReadonlyArray<{ fact: NotificationFact; urls: readonly string[] }>, now = Date.now()): Promise<Array<{ notificationId: string; queued: string[] }>> {
    return this.db.transaction(() =>
      items.map(({ fact, urls }) => {
        const notificationId = sortableId('n-', now);
        const body = JSON.stringify({ id: notificationId, kind: fact.kind, idempotencyKey: fact.idempotencyKey, payload: fact.payload, createdAt: now });
        const queued = urls.filter((url) => this.insert.run(sortableId('d-', now), notificationId, url, fact.kind, fact.idempotencyKey, body, now, now, now).changes === 1);
        return { notificationId, queued };
      }),
    )();
  }

  /** Pending rows of `url` due at `now`, oldest due first, skipping `exclude` (in flight). */
  async due(url: string, now: number, limit: number, exclude: ReadonlySet<string>): Promise<DueDelivery[]> {
    const rows = this.dueStmt.all(url, now, limit + exclude.size) as OutboxRow[];
    return rows
      .filter((r) => !exclude.has(r.id))
      .slice(0, limit)
      .map((r) => ({ id: r.id, url: r.url, kind: r.kind, idempotencyKey: r.idempotency_key, body: r.body, attempts: r.attempts }));
  }

  /** When `url`'s next pending row is due (ms since the epoch), `null` when none is pending. */
  async nextDueAt(url: string): Promise<number | null> {
    return (this.nextStmt.get(url) as { at: number | null }).at;
  }

  /** An attempt succeeded. */
  async delivered(id: string, status: number, now = Date.now()): Promise<void> {
    this.doneStmt.run(status, now, id);
  }

  /** An attempt failed: retried at `retryAt`, or a dead letter when `retryAt` is `null`. */
  async failed(id: string, status: number | null, error: string, retryAt: number | null, now = Date.now()): Promise<void> {
    this.failStmt.run(retryAt === null ? 'dead' : 'pending', retryAt ?? now, status, error.slice(0, 500), now, id);
  }

  /** Rows by URL and state, with each URL's latest error. */
  async counts(): Promise<Map<string, UrlCounts>> {
    const out = new Map<string, UrlCounts>();
    const get = (url: string): UrlCounts => {
      let c = out.get(url);
      if (!c) out.set(url, (c = { pending: 0, delivered: 0, dead: 0, lastError: null }));
      return c;
    };
    for (const r of this.db.prepare('SELECT url, state, COUNT(*) AS n FROM webhook_outbox GROUP BY url, state').all() as Array<{ url: string; state: DeliveryState; n: number }>) get(r.url)[r.state] = r.n;
    // SQLite: with MAX(), the bare column comes from the row holding the maximum
    for (const r of this.db.prepare('SELECT url, last_error, MAX(updated_at) FROM webhook_outbox WHERE last_error IS NOT NULL GROUP BY url').all() as Array<{ url: string; last_error: string }>) get(r.url).lastError = r.last_error;
    return out;
  }

  /** Rows in `state`, every URL. */
  async countState(state: DeliveryState): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox WHERE state = ?').get(state) as { n: number }).n;
  }

  /** Dead letters, newest first; `before` = the last id of the previous page. */
  async deadLetters(limit: number, before?: string): Promise<WebhookDelivery[]> {
    const rows = (before === undefined
      ? this.db.prepare(`SELECT * FROM webhook_outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?`).all(limit)
      : this.db.prepare(`SELECT * FROM webhook_outbox WHERE state = 'dead' AND id < ? ORDER BY id DESC LIMIT ?`).all(before, limit)) as OutboxRow[];
    return rows.map(toDelivery);
  }

  /** One row. */
  async get(id: string): Promise<WebhookDelivery | undefined> {
    const r = this.db.prepare('SELECT * FROM webhook_outbox WHERE id = ?').get(id) as OutboxRow | undefined;
    return r && toDelivery(r);
  }

  /** The raw URL of a row (for waking its route). */
  async urlOf(id: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT url FROM webhook_outbox WHERE id = ?').get(id) as { url: string } | undefined)?.url;
  }

  /** A dead letter back to `pending`, due now, with a fresh count of attempts. `false` when `id` is not a dead letter. */
  async retryDead(id: string, now = Date.now()): Promise<boolean> {
    return this.db.prepare(`UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'`).run(now, now, id).changes === 1;
  }

  /** Deletes delivered and dead rows last changed before `before` (ms since the epoch); returns how many. */
  async prune(before: number): Promise<number> {
    return this.db.prepare(`DELETE FROM webhook_outbox WHERE state IN ('delivered', 'dead') AND updated_at < ?`).run(before).changes;
  }
}
