/**
 * Webhook delivery from the durable outbox, against real local HTTP receivers that fail on purpose
 * and a real outbox: an orchestrator.db file in a temp folder, and the same tests again on a real,
 * throwaway Postgres server (test/postgres.ts; skipped without its binaries). Notifications come from events emitted on an
 * EventEmitter typed as the orchestrator's (what the agent hub and the operation runner emit on);
 * the orchestrator-level tests (REST, kill -9) are in webhooks-orchestrator.test.ts.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { Registry } from 'prom-client';
import type { Operation, RoomEvent } from '@parlor/squish';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { WebhookNotifier } from '../src/notifications/notifier.js';
import { verifyWebhookSignature } from '../src/notifications/signing.js';
import { resolveWebhooks, type WebhookConfig, type WebhookDeliveryOptions } from '../src/notifications/types.js';
import { PgWebhookOutbox } from '../src/notifications/pg-outbox.js';
import { SqliteWebhookOutbox, type WebhookOutbox } from '../src/notifications/outbox.js';
import { openOrchestratorDb } from '../src/operations/db.js';
import { openPgDatabase } from '../src/operations/pg-db.js';
import type { OrchestratorEvents } from '../src/types.js';
import { waitFor } from './helpers.js';
import { PG_SKIP, startPostgres, type PgServer } from './postgres.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

let pgServer: PgServer | undefined;
beforeAll(async () => {
  if (!PG_SKIP) pgServer = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pgServer?.close();
});

type StoreKind = 'SQLite' | 'Postgres';
const STORES: StoreKind[] = PG_SKIP ? ['SQLite'] : ['SQLite', 'Postgres'];
if (PG_SKIP) console.warn(`webhook tests on Postgres skipped: ${PG_SKIP}`);

/** Where an outbox lives: a temp folder (SQLite) or a fresh database (Postgres). */
async function place(kind: StoreKind): Promise<string> {
  return kind === 'SQLite' ? tempDir() : pgServer!.createDatabase();
}

/** The outbox at `where`, and how to make every pending row due now, and to close it. */
async function openOutbox(kind: StoreKind, where: string): Promise<{ outbox: WebhookOutbox; makeDue: () => Promise<void>; close: () => Promise<void> }> {
  if (kind === 'SQLite') {
    const db = openOrchestratorDb(where);
    return { outbox: new SqliteWebhookOutbox(db.db), makeDue: async () => void db.db.prepare('UPDATE webhook_outbox SET next_attempt_at = 0').run(), close: async () => db.close() };
  }
  const db = await openPgDatabase(where);
  return { outbox: new PgWebhookOutbox(db), makeDue: async () => void (await db.query('UPDATE webhook_outbox SET next_attempt_at = 0')), close: () => db.close() };
}

const SECRET = 'webhook-secret-0123456789';
const FAST: WebhookDeliveryOptions = { backoffInitialMs: 10, backoffMaxMs: 40, timeoutMs: 2000 };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-webhooks-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function receiver(answer?: (n: number) => number | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanups.push(() => r.close());
  return r;
}

/** A notifier on the outbox at `where` listening to a fresh emitter; stopped (and the outbox closed) at the end. */
async function notifier(kind: StoreKind, where: string, hooks: WebhookConfig[], delivery: WebhookDeliveryOptions = FAST): Promise<{ n: WebhookNotifier; events: EventEmitter<OrchestratorEvents>; makeDue: () => Promise<void>; registry: Registry; stop: () => Promise<void> }> {
  const { webhooks, delivery: d } = resolveWebhooks(hooks, delivery);
  const registry = new Registry();
  const n = new WebhookNotifier(webhooks, d, createLogger({ level: 'silent' }), registry);
  const events = new EventEmitter<OrchestratorEvents>();
  n.attach(events);
  const { outbox, makeDue, close } = await openOutbox(kind, where);
  n.start(outbox);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await n.stop();
    await close();
  };
  cleanups.push(stop);
  return { n, events, makeDue, registry, stop };
}

const turnReady = (roomId: string, turn: number): RoomEvent => ({ kind: 'turn.ready', roomId, game: 'galaxy', turn, at: Date.now() });
const failedStart = (id: string, code: string): Operation => ({
  id, roomId: 'r9', op: 'start', source: 'api', state: 'failed', params: {}, game: 'galaxy', version: '1.0.0', instanceId: null, actor: '', errorCode: code, errorMessage: `start failed: ${code}`, createdAt: 1, updatedAt: 2,
});

async function metric(registry: Registry, line: string): Promise<number> {
  const found = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : NaN;
}

describe.each(STORES)('webhook delivery (%s outbox)', (kind) => {
  it('retries an endpoint answering 500 with backoff, then delivers once; the key and delivery id are the same on every attempt', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const { events, n, registry } = await notifier(kind, await place(kind), [{ url: r.url, secret: SECRET }]);
    events.emit('room:event', { instanceId: 'i-1', event: turnReady('r1', 4) });
    await waitFor(() => r.ok().length === 1, 'delivered');
    await waitFor(async () => (await n.summaries())[0].delivered === 1, 'recorded delivered');
    expect(r.received.map((e) => e.status)).toEqual([500, 500, 200]);
    expect(new Set(r.received.map((e) => e.headers['idempotency-key']))).toEqual(new Set(['turn-ready:r1:4']));
    expect(new Set(r.received.map((e) => e.headers['x-parlor-delivery'])).size).toBe(1);
    expect(new Set(r.received.map((e) => e.body.id)).size).toBe(1);
    const got = r.ok()[0];
    expect(got.headers['x-parlor-event']).toBe('game.turn.ready');
    expect(got.body).toMatchObject({ kind: 'game.turn.ready', idempotencyKey: 'turn-ready:r1:4', payload: { game_id: 'r1', turn: 4 } });
    expect(await n.summaries()).toEqual([{ url: r.url, kinds: expect.any(Array), pending: 0, delivered: 1, dead: 0, lastError: null }]);
    expect(await metric(registry, 'parlor_orchestrator_webhook_deliveries_total{result="failed"}')).toBe(2);
    expect(await metric(registry, 'parlor_orchestrator_webhook_deliveries_total{result="delivered"}')).toBe(1);
    expect(await metric(registry, 'parlor_orchestrator_webhook_outbox{state="pending"}')).toBe(0);
  });

  it('signs the timestamp and the raw body with HMAC-SHA256: the receiver verifies it, a wrong secret or a changed body does not', async () => {
    const r = await receiver();
    const { events } = await notifier(kind, await place(kind), [{ url: r.url, secret: SECRET }]);
    events.emit('room:event', { instanceId: 'i-1', event: { kind: 'room.paused', roomId: 'r2', game: 'galaxy', turn: 7, reason: 'turn 7 generation failed: boom', at: 1 } });
    await waitFor(() => r.ok().length === 1, 'delivered');
    const { headers, raw, body } = r.ok()[0];
    // computed here with node:crypto, as a receiver in any language would
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${String(headers['x-parlor-timestamp'])}.${raw}`).digest('hex')}`;
    expect(headers['x-parlor-signature']).toBe(expected);
    expect(verifyWebhookSignature(SECRET, headers, raw)).toBe(true);
    expect(verifyWebhookSignature('another-secret-0123456789', headers, raw)).toBe(false);
    expect(verifyWebhookSignature(SECRET, headers, raw.replace('boom', 'bang'))).toBe(false);
    expect(verifyWebhookSignature(SECRET, headers, raw, { now: Number(headers['x-parlor-timestamp']) + 600_000 })).toBe(false);
    expect(body.kind).toBe('game.paused');
    expect(body.payload).toEqual({ game_id: 'r2', turn: 7, reason: 'turn 7 generation failed: boom' });
    expect(body.idempotencyKey).toMatch(/^paused:r2:7:[0-9a-f]{16}$/);
  });

  it('notifies a duplicate event (same key) once per URL, and only the kinds a URL takes', async () => {
    const all = await receiver();
    const admin = await receiver();
    const { events, n } = await notifier(kind, await place(kind), [{ url: all.url, secret: SECRET }, { url: admin.url, secret: SECRET, kinds: ['runtime.start_failed', 'runtime.config_invalid'] }], { ...FAST, concurrencyPerUrl: 1 });
    events.emit('room:event', { instanceId: 'i-1', event: turnReady('r3', 1) });
    events.emit('room:event', { instanceId: 'i-2', event: turnReady('r3', 1) }); // the same fact again (a replayed frame)
    events.emit('operation:finished', { operation: failedStart('op-a', 'COMMAND_FAILED') });
    events.emit('room:event', { instanceId: 'i-1', event: { kind: 'operation.finished', roomId: 'r9', game: 'galaxy', operation: failedStart('op-a', 'COMMAND_FAILED'), at: 3 } });
    events.emit('operation:finished', { operation: failedStart('op-b', 'BAD_OPTIONS') });
    events.emit('room:event', { instanceId: 'i-1', event: turnReady('r3', 2) });
    events.emit('room:event', { instanceId: 'i-1', event: { kind: 'player.joined', roomId: 'r3', game: 'galaxy', playerId: 1, userId: null, spectator: false, at: 4 } });
    // one row per URL at a time, oldest first: once the last one arrived, a duplicate would have come before it
    await waitFor(() => all.ok().some((e) => e.body.idempotencyKey === 'turn-ready:r3:2'), 'the last notification');
    await waitFor(() => admin.ok().length === 2, 'admin kinds');
    await waitFor(async () => (await n.summaries()).every((x) => x.pending === 0), 'recorded delivered');
    expect(all.ok().map((e) => e.body.idempotencyKey)).toEqual(['turn-ready:r3:1', 'start-failed:r9:op-a', 'config-invalid:r9:op-b', 'turn-ready:r3:2']);
    expect(admin.ok().map((e) => e.body.kind)).toEqual(['runtime.start_failed', 'runtime.config_invalid']);
    expect(admin.ok()[1].body.payload).toEqual({ game_id: 'r9', game: 'galaxy', error: 'start failed: BAD_OPTIONS', code: 'BAD_OPTIONS', operation_id: 'op-b' });
    expect((await n.summaries()).map((s) => [s.delivered, s.pending])).toEqual([[4, 0], [2, 0]]);
  });

  it('gives up after maxAttempts: a dead letter, listed, sent again by retry once the endpoint is back', async () => {
    const r = await receiver(() => 503);
    const { events, n, registry } = await notifier(kind, await place(kind), [{ url: r.url, secret: SECRET }], { ...FAST, maxAttempts: 3 });
    events.emit('room:event', { instanceId: 'i-1', event: { kind: 'room.ended', roomId: 'r4', game: 'galaxy', reason: 'finished', result: { winners: ['ann'], scores: { ann: 3 }, summary: 'Ann won' }, at: 5 } });
    await waitFor(async () => (await n.deadLetters(10)).length === 1, 'dead letter');
    const [dead] = await n.deadLetters(10);
    expect(dead).toMatchObject({ kind: 'game.finished', idempotencyKey: 'finished:r4', state: 'dead', attempts: 3, lastStatus: 503, lastError: 'HTTP 503', payload: { game_id: 'r4', result: { winners: ['ann'] } } });
    expect(r.received).toHaveLength(3);
    expect(await metric(registry, 'parlor_orchestrator_webhook_deliveries_total{result="dead"}')).toBe(1);
    expect(await metric(registry, 'parlor_orchestrator_webhook_outbox{state="dead"}')).toBe(1);

    r.answer = () => 204;
    expect(await n.retry(dead.id)).toMatchObject({ id: dead.id, state: 'pending', attempts: 0 });
    await waitFor(() => r.ok().length === 1, 'delivered after retry');
    expect(r.ok()[0].headers['x-parlor-delivery']).toBe(dead.id);
    await waitFor(async () => (await n.summaries())[0].delivered === 1, 'recorded');
    expect(await n.deadLetters(10)).toEqual([]);
    expect(await n.retry(dead.id)).toEqual({ error: `no dead letter ${dead.id}` });
  });

  it('an endpoint that hangs holds only its own slots: another URL is delivered meanwhile', async () => {
    const stuck = await receiver(() => 'hang');
    const fine = await receiver();
    const { events, n } = await notifier(kind, await place(kind), [{ url: stuck.url, secret: SECRET }, { url: fine.url, secret: SECRET }], { ...FAST, timeoutMs: 60_000, concurrencyPerUrl: 2 });
    for (let turn = 1; turn <= 5; turn++) events.emit('room:event', { instanceId: 'i-1', event: turnReady('r5', turn) });
    await waitFor(() => fine.ok().length === 5, 'the other URL got all five');
    // the stuck one holds its 2 slots and no more: its other 3 wait in the outbox
    expect(stuck.received.length).toBeLessThanOrEqual(2);
    await waitFor(() => stuck.received.length === 2, 'two stuck requests');
    expect((await n.summaries())[0]).toMatchObject({ pending: 5, delivered: 0 });
  });

  it('delivers what was pending when it stopped, after a restart on the same database file', async () => {
    const dir = await place(kind);
    const r = await receiver(() => 500);
    const first = await notifier(kind, dir, [{ url: r.url, secret: SECRET }], { ...FAST, backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
    first.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r6', 3) });
    await waitFor(() => r.received.length === 1, 'a first failed attempt');
    await first.stop();

    r.answer = () => 200;
    const second = await notifier(kind, dir, [{ url: r.url, secret: SECRET }], { ...FAST, backoffInitialMs: 0, backoffMaxMs: 0 });
    // the row's retry time (up to a minute away) still holds after the restart: make it due for the test through the database
    await second.makeDue();
    second.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r6', 3) }); // the same fact again: not queued twice
    second.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r6', 4) }); // wakes the route
    await waitFor(() => r.ok().length === 2, 'both delivered');
    expect(r.ok().map((e) => e.body.idempotencyKey).sort()).toEqual(['turn-ready:r6:3', 'turn-ready:r6:4']);
    await waitFor(async () => (await second.n.summaries())[0].delivered === 2, 'recorded delivered');
    expect((await second.n.summaries())[0]).toMatchObject({ delivered: 2, pending: 0 });
  });
});

describe.skipIf(PG_SKIP)('webhook delivery from one Postgres outbox by two orchestrators', () => {
  it('sends each notification once: a due row is claimed by one of them, the same fact from both is one row', async () => {
    const url = await place('Postgres');
    const r = await receiver();
    const hooks = [{ url: r.url, secret: SECRET }];
    const a = await notifier('Postgres', url, hooks, { ...FAST, concurrencyPerUrl: 4 });
    const b = await notifier('Postgres', url, hooks, { ...FAST, concurrencyPerUrl: 4 });
    for (let turn = 1; turn <= 20; turn++) {
      a.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r7', turn) });
      b.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r7', turn) });
    }
    await waitFor(async () => (await a.n.summaries())[0].delivered === 20, 'all recorded delivered', 15_000);
    expect(r.ok()).toHaveLength(20);
    expect(new Set(r.ok().map((e) => e.headers['x-parlor-delivery'])).size).toBe(20);
    expect(new Set(r.ok().map((e) => e.body.idempotencyKey)).size).toBe(20);
    expect(await b.n.summaries()).toEqual([{ url: r.url, kinds: expect.any(Array), pending: 0, delivered: 20, dead: 0, lastError: null }]);
  });

  it('an orchestrator stopping mid-attempt gives up its claim: the other sends the row at once, not after the claim would expire', async () => {
    const url = await place('Postgres');
    const r = await receiver((n) => (n === 0 ? 'hang' : 200));
    const hooks = [{ url: r.url, secret: SECRET }];
    // a claim lasts 2 × the 60 s timeout + 10 s: longer than this test may wait
    const a = await notifier('Postgres', url, hooks, { ...FAST, timeoutMs: 60_000 });
    a.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r8', 1) });
    await waitFor(() => r.received.length === 1, 'the first attempt hangs');
    await a.stop();
    const b = await notifier('Postgres', url, hooks, { ...FAST, timeoutMs: 60_000 });
    b.events.emit('room:event', { instanceId: 'i-1', event: turnReady('r8', 2) }); // wakes b's route
    await waitFor(() => r.ok().length === 2, 'both sent by b', 10_000);
    expect(r.ok().map((e) => e.body.idempotencyKey).sort()).toEqual(['turn-ready:r8:1', 'turn-ready:r8:2']);
  });
});

describe('webhook configuration', () => {
  it('is refused with the option named: a non-http URL, a URL twice, a short secret, an unknown kind, a bound', () => {
    const ok = { url: 'https://hooks.example.com/parlor', secret: SECRET };
    expect(() => resolveWebhooks([{ ...ok, url: 'ftp://x' }], {})).toThrow(/webhooks\[0\]\.url must be an http\(s\) URL/);
    expect(() => resolveWebhooks([ok, ok], {})).toThrow(/listed twice/);
    expect(() => resolveWebhooks([{ ...ok, secret: 'short' }], {})).toThrow(/secret must be a string of at least 16 characters/);
    expect(() => resolveWebhooks([{ ...ok, kinds: ['game.started' as never] }], {})).toThrow(/unknown kind "game.started"/);
    expect(() => resolveWebhooks([ok], { maxAttempts: 0 })).toThrow(/webhookDelivery.maxAttempts must be an integer ≥ 1/);
    expect(resolveWebhooks([{ ...ok, url: 'https://user:pw@hooks.example.com/x' }], {}).webhooks[0].url).toBe('https://user:pw@hooks.example.com/x');
  });
});
