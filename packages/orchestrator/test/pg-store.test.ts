/**
 * The shared SQL store on a real, throwaway PostgreSQL server (test/postgres.ts): the catalog
 * store and the operation log on Postgres behave as on SQLite (the behaviour tests below run
 * against both), migrations run once when two processes open together and a newer schema is
 * refused, and recovery is owner-aware: it never fails the rows of another live process, only
 * those of one that is gone (closed, or killed with kill -9).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../src/catalog/pg-store.js';
import { openSqliteStore } from '../src/catalog/sqlite-store.js';
import type { CatalogStore } from '../src/catalog/store.js';
import { openOrchestratorDb } from '../src/operations/db.js';
import type { OperationLog } from '../src/operations/log.js';
import { openPgDatabase } from '../src/operations/pg-db.js';
import { PgOperationLog } from '../src/operations/pg-log.js';
import { PG_MIGRATIONS } from '../src/operations/pg-migrations.js';
import { INTERRUPTED } from '../src/operations/rows.js';
import { SqliteOperationLog } from '../src/operations/sqlite-log.js';
import { removeTemps, tempDir } from './catalog-helpers.js';
import { PG_SKIP, startPostgres, type PgServer } from './postgres.js';

let server: PgServer;
beforeAll(async () => {
  if (!PG_SKIP) server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.close();
  removeTemps();
});

const version = (slug: string, v: string, sha: string, requestId: string) => ({
  slug, version: v, sha256: sha, size: 10, squishVersion: 1, publishedAt: 1000, publishedBy: 'alice', sourceSha256: 'src-' + sha, requestId,
  gate: { passed: true, findings: [], runtime: 'process', text: 'ok' },
});
const game = (slug: string) => ({ slug, name: 'Pong', description: '', tags: [], show: true, access: { requiresAuth: false, minRole: null }, createdAt: 1, updatedAt: 1 });
const request = (id: string, slug: string, v: string) => ({ id, slug, version: v, state: 'PENDING' as const, publisher: 'alice', error: null, sha256: null, createdAt: 1, updatedAt: 1 });
const pause = { roomId: 'room-a', op: 'pause' as const, source: 'admin' as const, params: { reason: 'maintenance' }, game: 'galaxy', actor: 'fp:1a2b3c4d' };

/** Both stores: a fresh, empty one per call (a temp file, or a new database). */
const catalogStores: Array<[string, () => Promise<{ open: () => Promise<CatalogStore> }>]> = [
  ['SQLite', async () => { const file = `${tempDir()}/catalog.db`; return { open: async () => openSqliteStore(file) }; }],
  ['Postgres', async () => { const url = await server.createDatabase(); return { open: () => openPgStore(url) }; }],
];
const operationLogs: Array<[string, (now: () => number) => Promise<OperationLog>]> = [
  ['SQLite', async (now) => new SqliteOperationLog(openOrchestratorDb(':memory:'), { ownsDb: true, now })],
  ['Postgres', async (now) => new PgOperationLog(await openPgDatabase(await server.createDatabase()), { ownsDb: true, now })],
];

describe.skipIf(PG_SKIP)('catalog store, SQLite and Postgres alike', () => {
  it.each(catalogStores)('%s: keeps every row across a reopen; a version conflicts with another artifact, is idempotent with the same; a pin needs a published version', async (_name, make) => {
    const { open } = await make();
    const store = await open();
    await store.createRequest(request('r1', 'pong', '1.0.0'));
    const sha = 'a'.repeat(64);
    expect((await store.commitPublish(version('pong', '1.0.0', sha, 'r1'), game('pong'))).outcome).toBe('published');
    await store.applyChange({ env: 'prod', slug: 'pong', version: '1.0.0', previous: null, action: 'promote', by: 'admin', at: 5 });
    await store.close();

    const again = await open();
    expect(await again.getVersion('pong', '1.0.0')).toMatchObject({ sha256: sha, requestId: 'r1', gate: { passed: true } });
    expect(await again.getRequest('r1')).toMatchObject({ state: 'PUBLISHED', sha256: sha });
    expect(await again.getPin('prod', 'pong')).toMatchObject({ version: '1.0.0' });
    expect(await again.history('prod')).toEqual([{ env: 'prod', slug: 'pong', version: '1.0.0', previous: null, action: 'promote', by: 'admin', at: 5 }]);
    expect(await again.listGames()).toEqual([game('pong')]);
    await again.createRequest(request('r2', 'pong', '1.0.0'));
    expect((await again.commitPublish(version('pong', '1.0.0', 'b'.repeat(64), 'r2'), game('pong'))).outcome).toBe('conflict');
    expect(await again.getRequest('r2')).toMatchObject({ state: 'PENDING' });
    expect((await again.commitPublish(version('pong', '1.0.0', sha, 'r2'), game('pong'))).outcome).toBe('same');
    await expect(again.applyChange({ env: 'prod', slug: 'pong', version: '9.9.9', previous: null, action: 'promote', by: 'x', at: 6 })).rejects.toThrow(/FOREIGN KEY|foreign key/);
    expect(await again.history('prod')).toHaveLength(1);
    // versions newest first, requests newest first, game config saved
    await again.createRequest({ ...request('r3', 'pong', '1.1.0'), createdAt: 2 });
    await again.commitPublish({ ...version('pong', '1.1.0', 'c'.repeat(64), 'r3'), publishedAt: 2000 }, game('pong'));
    expect((await again.listVersions('pong')).map((v) => v.version)).toEqual(['1.1.0', '1.0.0']);
    expect((await again.listRequests('pong')).map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect(await again.saveGame({ ...game('pong'), name: 'Pong II', tags: ['arcade'], access: { requiresAuth: true, minRole: 'vip' }, updatedAt: 9 })).toMatchObject({ name: 'Pong II', tags: ['arcade'], access: { requiresAuth: true, minRole: 'vip' } });
    expect(await again.saveGame(game('nope'))).toBeUndefined();
    await again.close();
  });
});

describe.skipIf(PG_SKIP)('operation log, SQLite and Postgres alike', () => {
  it.each(operationLogs)('%s: queued → running → succeeded, refused transitions and unknown ids, closed log', async (_name, make) => {
    const log = await make(Date.now);
    const q = await log.queue(pause);
    expect(q).toMatchObject({ roomId: 'room-a', op: 'pause', source: 'admin', state: 'queued', params: { reason: 'maintenance' }, game: 'galaxy', version: null, instanceId: null, actor: 'fp:1a2b3c4d', errorCode: null, errorMessage: null });
    expect(q.id).toMatch(/^op_\d{13}_\d{4}_[0-9a-f]{8}$/);
    expect((await log.start(q.id, 'inst-1')).state).toBe('running');
    await expect(log.start(q.id)).rejects.toThrow(/is running: it cannot become running/);
    const done = await log.succeed(q.id, { version: '1.0.1' });
    expect(done).toMatchObject({ state: 'succeeded', version: '1.0.1', instanceId: 'inst-1' });
    expect(await log.get(q.id)).toEqual(done);
    await expect(log.fail(q.id, 'X', 'y')).rejects.toThrow(/is succeeded/);
    await expect(log.start('op_nope')).rejects.toThrow(/no operation op_nope/);
    const f = await log.queue(pause);
    expect(await log.fail(f.id, 'ROOM_NOT_FOUND', 'no room room-a')).toMatchObject({ state: 'failed', errorCode: 'ROOM_NOT_FOUND', errorMessage: 'no room room-a' });
    await log.close();
    await log.close();
    await expect(log.queue(pause)).rejects.toThrow(/closed/);
  });

  it.each(operationLogs)('%s: ids sort by creation (within one ms, clock stepping back); lists newest first with filters and pages with the before cursor', async (_name, make) => {
    let t = 5000;
    const log = await make(() => t);
    const made: Operation[] = [];
    for (let i = 0; i < 12; i++) {
      t = i === 6 ? 4000 : 5000 + Math.floor(i / 3) * 10;
      const q = await log.queue({ roomId: i % 2 ? 'odd' : 'even', op: i % 3 ? 'pause' : 'turn', source: i % 3 ? 'admin' : 'schedule' });
      made.push(i % 4 === 0 ? await log.fail(q.id, 'ROOM_NOT_FOUND', 'gone') : await log.succeed(q.id));
    }
    const ids = (ops: Operation[]) => ops.map((o) => o.id);
    expect([...ids(made)].sort()).toEqual(ids(made));
    const newest = [...made].reverse();
    expect(ids(await log.list())).toEqual(ids(newest));
    expect(ids(await log.list({ roomId: 'odd' }))).toEqual(ids(newest.filter((o) => o.roomId === 'odd')));
    expect(ids(await log.list({ state: 'failed' }))).toEqual(ids(newest.filter((o) => o.state === 'failed')));
    expect(ids(await log.list({ op: 'turn', roomId: 'even' }))).toEqual(ids(newest.filter((o) => o.op === 'turn' && o.roomId === 'even')));
    expect(ids(await log.list({ source: 'schedule', roomId: 'odd' }))).toEqual(ids(newest.filter((o) => o.source === 'schedule' && o.roomId === 'odd')));
    expect(ids(await log.list({ since: 5010, until: 5030 }))).toEqual(ids(newest.filter((o) => o.createdAt >= 5010 && o.createdAt < 5030)));
    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await log.list({ limit: 5, ...(before ? { before } : {}) });
      if (page.length === 0) break;
      pages.push(ids(page));
      before = page[page.length - 1]!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(ids(newest));
    await log.close();
  });
});

describe.skipIf(PG_SKIP)('Postgres store: migrations and owner-aware recovery', () => {
  it('two processes opening a new database together migrate it once; a database migrated by a newer parlor is refused', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([openPgDatabase(url), openPgDatabase(url)]);
    const rows = await a.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    await a.close();
    await b.close();
    const raw = new pg.Client(url);
    await raw.connect();
    await raw.query("INSERT INTO schema_migrations VALUES (999, 'future', 0)");
    await raw.end();
    await expect(openPgDatabase(url.replace('//parlor@', '//parlor:secret@'))).rejects.toThrow(/parlor:\*\*\*@.*schema migration 999, newer than this parlor knows/);
  });

  it('catalog recovery fails only the publish requests of a process that is gone, never those of a live one', async () => {
    const url = await server.createDatabase();
    const a = await openPgStore(url);
    await a.createRequest(request('ra', 'pong', '1.0.0'));
    const b = await openPgStore(url);
    await b.createRequest(request('rb', 'pong', '2.0.0'));
    // a is alive: nothing of it is failed by b's recovery
    expect(await b.failUnfinished({ code: 'INTERRUPTED', message: 'x' }, 7)).toBe(0);
    expect(await b.getRequest('ra')).toMatchObject({ state: 'PENDING' });
    await a.close();
    expect(await b.failUnfinished({ code: 'INTERRUPTED', message: 'x' }, 7)).toBe(1);
    expect(await b.getRequest('ra')).toMatchObject({ state: 'FAILED', error: { code: 'INTERRUPTED' } });
    // its own are never failed by its own recovery
    expect(await b.getRequest('rb')).toMatchObject({ state: 'PENDING' });
    await b.close();
  });

  it('operation log recovery leaves a live process’s operations to it, and fails them INTERRUPTED once it is killed with kill -9', async () => {
    const url = await server.createDatabase();
    const logModule = resolve(fileURLToPath(import.meta.url), '../../src/operations/pg-log.ts');
    const script = `const { openPgOperationLog } = await import(${JSON.stringify(logModule)});
      const log = await openPgOperationLog(${JSON.stringify(url)});
      const op = await log.queue({ roomId: 'room-b', op: 'pause', source: 'admin' });
      await log.start(op.id, 'inst-2');
      console.log(op.id);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise((r) => child.once('close', r));
    try {
      const id = await new Promise<string>((ok, fail) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) ok(out.trim());
        });
        child.once('close', (code) => fail(new Error(`the child exited (${code}) before queueing`)));
      });
      const next = new PgOperationLog(await openPgDatabase(url), { ownsDb: true });
      const mine = await next.queue(pause);
      expect(await next.recoverInterrupted()).toEqual([]);
      expect((await next.get(id))?.state).toBe('running');
      child.kill('SIGKILL');
      await closed;
      // the server notices the dropped connection and frees its lock
      let recovered: Operation[] = [];
      for (let i = 0; i < 100 && recovered.length === 0; i++) {
        recovered = await next.recoverInterrupted();
        if (!recovered.length) await new Promise((r) => setTimeout(r, 50));
      }
      expect(recovered.map((o) => [o.id, o.state, o.errorCode, o.errorMessage])).toEqual([[id, 'failed', INTERRUPTED.code, INTERRUPTED.message]]);
      expect((await next.get(mine.id))?.state).toBe('queued');
      await next.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
