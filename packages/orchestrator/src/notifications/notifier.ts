/**
 * The webhook notifier: turns the orchestrator's `room:event` and `operation:finished` events into
 * notifications (mapping.ts), records one outbox row per configured URL that takes the kind
 * (outbox.ts), and delivers them: a signed JSON POST (undici, with a deadline), retried with
 * exponential backoff and full jitter (`backoffDelay`) up to `maxAttempts`, then a dead letter.
 *
 * Notifications made in one turn of the event loop (a burst: every room of a cron schedule ready
 * at once) are written in one transaction at the end of that turn, so a burst costs one write to
 * disk, not one per notification.
 *
 * Each URL is its own route with at most `concurrencyPerUrl` deliveries in flight and its own
 * timer, so an endpoint that is down or slow holds only its own slots: other URLs and the
 * orchestrator never wait on it. Delivery is at least once: a POST answered 2xx just before a
 * crash is sent again after the restart, with the same `Idempotency-Key` and `X-Parlor-Delivery`.
 */
import type { Database } from 'better-sqlite3';
import type { EventEmitter } from 'eventemitter3';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { backoffDelay } from '@parlor/squish';
import type { Logger } from '../logger.js';
import type { OrchestratorEvents } from '../types.js';
import { notificationOfOperation, notificationOfRoomEvent, type NotificationFact } from './mapping.js';
import { SqliteWebhookOutbox, type DueDelivery, type WebhookOutbox } from './outbox.js';
import { signWebhook } from './signing.js';
import { maskUrl, type ResolvedDelivery, type ResolvedWebhook, type WebhookDelivery, type WebhookSummary } from './types.js';

/** Outcome label of `parlor_orchestrator_webhook_deliveries_total`: `delivered` (2xx), `failed` (an attempt failed, retried later), `dead` (gave up). */
export type WebhookResult = 'delivered' | 'failed' | 'dead';

interface Route {
  hook: ResolvedWebhook;
  inflight: Map<string, Promise<void>>;
  timer: ReturnType<typeof setTimeout> | null;
  /** A pump is reading the outbox for this route (one at a time: a second would claim the same rows). */
  pumping: boolean;
  /** Pump again when the running one ends (something changed meanwhile). */
  again: boolean;
}

/** Longest a timer may wait (setTimeout's limit). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Most notifications waiting to be written (before {@link WebhookNotifier.start}, or in one turn). */
const MAX_BATCH = 10_000;
/** How often delivered and dead rows past the retention are deleted. */
const PRUNE_EVERY_MS = 3600_000;

/** Delivers notifications to the configured webhooks from a durable outbox. */
export class WebhookNotifier {
  private outbox: WebhookOutbox | null = null;
  private readonly routes = new Map<string, Route>();
  private readonly controllers = new Set<AbortController>();
  private readonly agent: Agent;
  private readonly deliveries: Counter<'result'>;
  private pruneTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  /** Notifications not yet written: this turn's, or all of them before {@link start}. */
  private readonly batch: Array<{ fact: NotificationFact; urls: string[] }> = [];
  private flushScheduled = false;
  private readonly flushes = new Set<Promise<void>>();
  private readonly pumps = new Set<Promise<void>>();

  constructor(
    private readonly webhooks: readonly ResolvedWebhook[],
    private readonly delivery: ResolvedDelivery,
    private readonly logger: Logger,
    /** Where its metrics go (the orchestrator's `metrics.registry`). */
    registry: Registry,
  ) {
    for (const hook of webhooks) this.routes.set(hook.url, { hook, inflight: new Map(), timer: null, pumping: false, again: false });
    this.agent = new Agent({ connect: { timeout: delivery.timeoutMs }, headersTimeout: delivery.timeoutMs, bodyTimeout: delivery.timeoutMs });
    const registers = [registry];
    this.deliveries = new Counter({ name: 'parlor_orchestrator_webhook_deliveries_total', help: 'Webhook delivery attempts by result: delivered (2xx), failed (retried later), dead (gave up: a dead letter)', labelNames: ['result'], registers });
    const outbox = (): WebhookOutbox | null => this.outbox;
    new Gauge({
      name: 'parlor_orchestrator_webhook_outbox',
      help: 'Webhook outbox rows by state: pending (waiting for a first attempt or a retry), dead (dead letters)',
      labelNames: ['state'],
      registers,
      async collect() {
        const o = outbox();
        const [pending, dead] = o ? await Promise.all([o.countState('pending'), o.countState('dead')]).catch(() => [0, 0]) : [0, 0];
        this.set({ state: 'pending' }, pending);
        this.set({ state: 'dead' }, dead);
      },
    });
  }

  /** Whether any webhook is configured. */
  get enabled(): boolean {
    return this.webhooks.length > 0;
  }

  /** Listens to `room:event` and `operation:finished` on `source` (the orchestrator). */
  attach(source: EventEmitter<OrchestratorEvents>): void {
    source.on('room:event', (e) => this.notify(notificationOfRoomEvent(e.event)));
    source.on('operation:finished', (e) => this.notify(notificationOfOperation(e.operation)));
  }

  /**
   * Starts delivering from `outbox` — a {@link WebhookOutbox}, or a SQLite database whose
   * `webhook_outbox` table exists: rows left pending by an earlier run (a crash, a restart) are
   * sent as they come due.
   */
  start(outbox: WebhookOutbox | Database): void {
    if (this.outbox || this.stopped) return;
    const o = 'prepare' in outbox && typeof outbox.prepare === 'function' ? new SqliteWebhookOutbox(outbox as Database) : (outbox as WebhookOutbox);
    this.outbox = o;
    void this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref?.();
    o.counts().then(
      (counts) => {
        for (const [url, c] of counts) if (!this.routes.has(url) && c.pending > 0) this.logger.warn({ url: maskUrl(url), pending: c.pending }, 'webhook outbox has rows for a URL no longer configured: they stay pending');
      },
      (err: unknown) => this.logger.error({ err }, 'webhook outbox read failed'),
    );
    void this.flush();
    for (const route of this.routes.values()) this.pump(route);
  }

  /**
   * Stops delivering: timers cleared, attempts in flight aborted (their rows stay as they were:
   * sent again after a restart), waits for them to settle. The database is the caller's to close.
   */
  async stop(): Promise<void> {
    // what this turn made is written before anything stops
    if (this.outbox && !this.stopped) await this.flush();
    this.stopped = true;
    await Promise.allSettled([...this.flushes]);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    for (const r of this.routes.values()) if (r.timer) clearTimeout(r.timer);
    for (const c of this.controllers) c.abort();
    await Promise.allSettled([...this.routes.values()].flatMap((r) => [...r.inflight.values()]));
    await Promise.allSettled([...this.pumps]);
    // rows claimed here and not reported (attempts aborted): another orchestrator may send them now
    await this.outbox?.release?.().catch((err: unknown) => this.logger.warn({ err }, 'webhook outbox claims not released: another orchestrator sends those rows once their claims expire'));
    // the database is closed next: nothing reads it any more (a scrape's gauge reads 0)
    this.outbox = null;
    await this.agent.close().catch(() => undefined);
  }

  /**
   * Queues a notification for every URL that takes its kind (once per URL and idempotency key),
   * written to the outbox at the end of this turn of the event loop with the others of the turn,
   * then wakes those URLs; before {@link start}, kept (up to 10 000) until then. `null` does nothing.
   */
  notify(fact: NotificationFact | null): void {
    if (!fact) return;
    const urls = this.webhooks.filter((w) => w.kinds.includes(fact.kind)).map((w) => w.url);
    if (urls.length === 0) return;
    if (this.stopped || this.batch.length >= MAX_BATCH) {
      this.logger.warn({ kind: fact.kind, idempotencyKey: fact.idempotencyKey }, this.stopped ? 'webhook notification dropped: the notifier is stopped' : 'webhook notification dropped: too many waiting to be written');
      return;
    }
    this.batch.push({ fact, urls });
    // before start (the database opens at listen, and its recovery reports interrupted operations): kept until then
    if (!this.outbox || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Writes the waiting notifications in one transaction and wakes their URLs. */
  private flush(): Promise<void> {
    const p = this.doFlush();
    this.flushes.add(p);
    void p.finally(() => this.flushes.delete(p));
    return p;
  }

  private async doFlush(): Promise<void> {
    this.flushScheduled = false;
    const outbox = this.outbox;
    if (!outbox || this.batch.length === 0) return;
    const items = this.batch.splice(0);
    let results: Array<{ notificationId: string; queued: string[] }>;
    try {
      results = await outbox.enqueue(items);
    } catch (err) {
      this.logger.error({ err, notifications: items.length }, 'webhook notifications could not be queued');
      return;
    }
    const wake = new Set<string>();
    items.forEach(({ fact, urls }, i) => {
      const { notificationId, queued } = results[i];
      if (queued.length < urls.length) this.logger.debug({ kind: fact.kind, idempotencyKey: fact.idempotencyKey, duplicateFor: urls.length - queued.length }, 'webhook notification already queued for some URLs');
      if (queued.length) this.logger.info({ notificationId, kind: fact.kind, idempotencyKey: fact.idempotencyKey, urls: queued.length }, 'webhook notification queued');
      for (const url of queued) wake.add(url);
    });
    for (const url of wake) this.pump(this.routes.get(url)!);
  }

  /** Each configured webhook with its counts (no secrets). */
  async summaries(): Promise<WebhookSummary[]> {
    const counts = (await this.outbox?.counts()) ?? new Map<string, { pending: number; delivered: number; dead: number; lastError: string | null }>();
    return this.webhooks.map((w) => {
      const c = counts.get(w.url) ?? { pending: 0, delivered: 0, dead: 0, lastError: null };
      return { url: maskUrl(w.url), kinds: [...w.kinds], pending: c.pending, delivered: c.delivered, dead: c.dead, lastError: c.lastError };
    });
  }

  /** Dead letters, newest first (`before`: the last id of the previous page). */
  async deadLetters(limit: number, before?: string): Promise<WebhookDelivery[]> {
    return (await this.outbox?.deadLetters(limit, before)) ?? [];
  }

  /**
   * Sends a dead letter again: back to pending, due now, with a fresh count of attempts.
   * @returns the row after the change; `{ error }` when `id` is no dead letter or its URL is no longer configured.
   */
  async retry(id: string): Promise<WebhookDelivery | { error: string }> {
    const outbox = this.outbox;
    const url = await outbox?.urlOf(id);
    const row = url === undefined ? undefined : await outbox!.get(id);
    if (!outbox || url === undefined || row?.state !== 'dead') return { error: `no dead letter ${id.slice(0, 64)}` };
    const route = this.routes.get(url);
    if (!route) return { error: `dead letter ${id} is for ${maskUrl(url)}, which is no longer configured` };
    await outbox.retryDead(id);
    this.logger.info({ delivery: id, url: maskUrl(url) }, 'webhook dead letter retried');
    const after = (await outbox.get(id))!;
    this.pump(route);
    return after;
  }

  private async prune(): Promise<void> {
    try {
      const n = (await this.outbox?.prune(Date.now() - this.delivery.retentionMs)) ?? 0;
      if (n) this.logger.info({ deleted: n }, 'webhook outbox pruned');
    } catch (err) {
      this.logger.error({ err }, 'webhook outbox prune failed');
    }
  }

  /** Starts what is due on the route's free slots, then sets its timer for the next row; one pump per route at a time. */
  private pump(route: Route): void {
    if (!this.outbox || this.stopped) return;
    if (route.pumping) {
      route.again = true;
      return;
    }
    route.pumping = true;
    const p = (async () => {
      do {
        route.again = false;
        await this.pumpOnce(route);
      } while (route.again && !this.stopped);
    })().finally(() => {
      route.pumping = false;
      this.pumps.delete(p);
    });
    this.pumps.add(p);
  }

  private async pumpOnce(route: Route): Promise<void> {
    const outbox = this.outbox;
    if (!outbox || this.stopped) return;
    try {
      const now = Date.now();
      const free = this.delivery.concurrencyPerUrl - route.inflight.size;
      // a claim outlives an attempt (its deadline), so no other orchestrator sends the row meanwhile
      const leaseMs = 2 * this.delivery.timeoutMs + 10_000;
      if (free > 0) for (const row of await outbox.due(route.hook.url, now, free, new Set(route.inflight.keys()), leaseMs)) if (!this.stopped) this.attempt(route, row);
      if (this.stopped) return;
      if (route.timer) clearTimeout(route.timer);
      route.timer = null;
      const next = await outbox.nextDueAt(route.hook.url);
      if (this.stopped) return;
      // a row due now is in flight (or waits for a slot): its attempt's end pumps again
      if (next !== null && next > now) {
        route.timer = setTimeout(() => this.pump(route), Math.min(MAX_TIMER_MS, next - now));
        route.timer.unref?.();
      }
    } catch (err) {
      this.logger.error({ err, url: maskUrl(route.hook.url) }, 'webhook outbox read failed');
    }
  }

  private attempt(route: Route, row: DueDelivery): void {
    const p = this.send(route, row).finally(() => {
      route.inflight.delete(row.id);
      this.pump(route);
    });
    route.inflight.set(row.id, p);
  }

  private async send(route: Route, row: DueDelivery): Promise<void> {
    const { url, secret } = route.hook;
    const ts = Date.now();
    const controller = new AbortController();
    this.controllers.add(controller);
    const deadline = setTimeout(() => controller.abort(new Error(`timed out after ${this.delivery.timeoutMs} ms`)), this.delivery.timeoutMs);
    let status: number | null = null;
    let error: string;
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'parlor-orchestrator',
          'x-parlor-event': row.kind,
          'x-parlor-delivery': row.id,
          'idempotency-key': row.idempotencyKey,
          'x-parlor-timestamp': String(ts),
          'x-parlor-signature': signWebhook(secret, ts, row.body),
        },
        body: row.body,
      });
      status = res.statusCode;
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (status >= 200 && status < 300) {
        try {
          await this.outbox!.delivered(row.id, status);
        } catch (err) {
          // not recorded: the row stays pending, sent again later (at least once)
          this.logger.error({ err, delivery: row.id }, 'webhook outbox write failed');
          return;
        }
        this.deliveries.inc({ result: 'delivered' });
        this.logger.info({ delivery: row.id, kind: row.kind, idempotencyKey: row.idempotencyKey, url: maskUrl(url), status, attempt: row.attempts + 1 }, 'webhook delivered');
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      // stopping: the row stays as it was, sent again after a restart
      if (this.stopped) return;
      const e = err as Error & { cause?: Error };
      error = `${e?.message ?? String(err)}${e?.cause?.message ? `: ${e.cause.message}` : ''}`;
    } finally {
      clearTimeout(deadline);
      this.controllers.delete(controller);
    }
    await this.failed(route, row, status, error);
  }

  private async failed(route: Route, row: DueDelivery, status: number | null, error: string): Promise<void> {
    const attempts = row.attempts + 1;
    const dead = attempts >= this.delivery.maxAttempts;
    const retryAt = dead ? null : Date.now() + backoffDelay(attempts, Math.random(), { initialMs: this.delivery.backoffInitialMs, maxMs: this.delivery.backoffMaxMs });
    try {
      if (!this.outbox) return;
      await this.outbox.failed(row.id, status, error, retryAt);
    } catch (err) {
      this.logger.error({ err, delivery: row.id }, 'webhook outbox write failed');
      return;
    }
    this.deliveries.inc({ result: dead ? 'dead' : 'failed' });
    const fields = { delivery: row.id, kind: row.kind, idempotencyKey: row.idempotencyKey, url: maskUrl(route.hook.url), attempt: attempts, maxAttempts: this.delivery.maxAttempts, error };
    if (dead) this.logger.warn(fields, 'webhook delivery gave up: dead letter (POST /v1/webhooks/dead-letters/:id/retry sends it again)');
    else this.logger.info({ ...fields, retryInMs: retryAt! - Date.now() }, 'webhook delivery failed: retrying');
  }
}
