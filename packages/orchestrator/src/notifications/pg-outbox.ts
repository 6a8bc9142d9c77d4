/**
 * The webhook outbox in the shared Postgres database (`--database-url`), where several
 * orchestrators deliver from one outbox. A notification is sent once by one of them: a due row is
 * claimed (`FOR UPDATE SKIP LOCKED`, then a lease: `lease_owner`, `lease_until`) before its
 * attempt, so another orchestrator skips it until the attempt is recorded or the lease expires
 * (the claimer died mid-attempt: the row is sent again, delivery being at least once, with the
 * same `Idempotency-Key` and `X-Parlor-Delivery`). Enqueueing the same fact from two
 * orchestrators is one row per URL (the unique (url, idempotency key) index).
 */
import type { DeliveryState, WebhookDelivery } from './types.js';
import type { NotificationFact } from './mapping.js';
import { sortableId, toDelivery, type DueDelivery, type OutboxRow, type UrlCounts, type WebhookOutbox } from './outbox.js';
import type { PgDatabase } from '../operations/pg-db.js';

/** The {@link WebhookOutbox} on an open Postgres database (the `webhook_outbox` table of `pg-migrations.ts`). */
export class PgWebhookOutbox implements WebhookOutbox {
  /**
   * @param db the open database (the caller closes it).
   * @param leaseMs how long a claimed row is this process's before another may take it: longer
   *   than one attempt (the delivery timeout) — default 60 000.
   */
  constructor(
    private readonly db: PgDatabase,
    private readonly leaseMs = 60_000,
  ) {}

  async enqueue(items: ReadonlyArray<{ fact: NotificationFact; urls: readonly string[] }>, now = Date.now()): Promise<Array<{ notificationId: string; queued: string[] }>> {
    return this.db.tx(async (q) => {
      const out: Array<{ notificationId: string; queued: string[] }> = [];
      for (const { fact, urls } of items) {
        const notificationId = sortableId('n-', now);
        const body = JSON.stringify({ id: notificationId, kind: fact.kind, idempotencyKey: fact.idempotencyKey, payload: fact.payload, createdAt: now });
        const queued: string[] = [];
        for (const url of urls) {
          const rows = await q(
            `INSERT INTO webhook_outbox (id, notification_id, url, kind, idempotency_key, body, state, attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $7) ON CONFLICT (url, idempotency_key) DO NOTHING RETURNING id`,
            [sortableId('d-', now), notificationId, url, fact.kind, fact.idempotencyKey, body, now],
          );
          if (rows.length) queued.push(url);
        }
        out.push({ notificationId, queued });
      }
      return out;
    });
  }

  async due(url: string, now: number, limit: number, exclude: ReadonlySet<string>, leaseMs = this.leaseMs): Promise<DueDelivery[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<OutboxRow>(
      `UPDATE webhook_outbox SET lease_owner = $1, lease_until = $2 WHERE id IN (
         SELECT id FROM webhook_outbox
         WHERE url = $3 AND state = 'pending' AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1) AND NOT (id = ANY($5))
         ORDER BY next_attempt_at, id COLLATE "C" LIMIT $6 FOR UPDATE SKIP LOCKED
       ) RETURNING *`,
      [this.db.owner, now + leaseMs, url, now, [...exclude], limit],
    );
    return rows
      .sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : 1))
      .map((r) => ({ id: r.id, url: r.url, kind: r.kind, idempotencyKey: r.idempotency_key, body: r.body, attempts: r.attempts }));
  }

  async nextDueAt(url: string): Promise<number | null> {
    const [r] = await this.db.query<{ at: number | null }>(
      `SELECT MIN(CASE WHEN lease_owner IS NOT NULL AND lease_owner <> $2 AND lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) AS at
       FROM webhook_outbox WHERE url = $1 AND state = 'pending'`,
      [url, this.db.owner],
    );
    return r.at;
  }

  async delivered(id: string, status: number, now = Date.now()): Promise<void> {
    await this.db.query(`UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, last_status = $1, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $2 WHERE id = $3 AND state = 'pending'`, [status, now, id]);
  }

  async failed(id: string, status: number | null, error: string, retryAt: number | null, now = Date.now()): Promise<void> {
    await this.db.query(
      `UPDATE webhook_outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_status = $3, last_error = $4, lease_owner = NULL, lease_until = NULL, updated_at = $5 WHERE id = $6 AND state = 'pending'`,
      // BIGINT: a backoff's fraction of a ms rounds up
      [retryAt === null ? 'dead' : 'pending', Math.ceil(retryAt ?? now), status, error.slice(0, 500), Math.round(now), id],
    );
  }

  async counts(): Promise<Map<string, UrlCounts>> {
    const out = new Map<string, UrlCounts>();
    const get = (url: string): UrlCounts => {
      let c = out.get(url);
      if (!c) out.set(url, (c = { pending: 0, delivered: 0, dead: 0, lastError: null }));
      return c;
    };
    for (const r of await this.db.query<{ url: string; state: DeliveryState; n: number }>('SELECT url, state, COUNT(*) AS n FROM webhook_outbox GROUP BY url, state')) get(r.url)[r.state] = r.n;
    for (const r of await this.db.query<{ url: string; last_error: string }>('SELECT DISTINCT ON (url) url, last_error FROM webhook_outbox WHERE last_error IS NOT NULL ORDER BY url, updated_at DESC')) get(r.url).lastError = r.last_error;
    return out;
  }

  async countState(state: DeliveryState): Promise<number> {
    const [r] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox WHERE state = $1', [state]);
    return r.n;
  }

  async deadLetters(limit: number, before?: string): Promise<WebhookDelivery[]> {
    const rows =
      before === undefined
        ? await this.db.query<OutboxRow>(`SELECT * FROM webhook_outbox WHERE state = 'dead' ORDER BY id COLLATE "C" DESC LIMIT $1`, [limit])
        : await this.db.query<OutboxRow>(`SELECT * FROM webhook_outbox WHERE state = 'dead' AND id COLLATE "C" < $1 ORDER BY id COLLATE "C" DESC LIMIT $2`, [before, limit]);
    return rows.map(toDelivery);
  }

  async get(id: string): Promise<WebhookDelivery | undefined> {
    const [r] = await this.db.query<OutboxRow>('SELECT * FROM webhook_outbox WHERE id = $1', [id]);
    return r && toDelivery(r);
  }

  async urlOf(id: string): Promise<string | undefined> {
    const [r] = await this.db.query<{ url: string }>('SELECT url FROM webhook_outbox WHERE id = $1', [id]);
    return r?.url;
  }

  async retryDead(id: string, now = Date.now()): Promise<boolean> {
    const rows = await this.db.query(`UPDATE webhook_outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE id = $2 AND state = 'dead' RETURNING id`, [now, id]);
    return rows.length === 1;
  }

  async release(): Promise<void> {
    await this.db.query(`UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND state = 'pending'`, [this.db.owner]);
  }

  async prune(before: number): Promise<number> {
    return (await this.db.query(`DELETE FROM webhook_outbox WHERE state IN ('delivered', 'dead') AND updated_at < $1 RETURNING id`, [before])).length;
  }
}
