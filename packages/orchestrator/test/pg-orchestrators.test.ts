/**
 * Orchestrators on one real Postgres server (`databaseUrl`; test/postgres.ts starts a throwaway
 * one): two of them serve one catalog (published on one, resolved, listed and downloaded on the
 * other, through their REST APIs, with the real publish gate), share one operation log, and
 * recovery at start never fails the other live orchestrator's operations; Postgres restarting
 * under a running orchestrator (a fast shutdown, then kill -9 of the whole server) loses no
 * acknowledged operation, fails what it cannot record with DATABASE_UNAVAILABLE (503, retryable),
 * and the orchestrator reconnects by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { createPublishGate } from '@parlor/server/gate';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Orchestrator } from '../src/orchestrator.js';
import type { OrchestratorOptions } from '../src/options.js';
import { gzipFolder, removeTemps, spriteGame, tempDir } from './catalog-helpers.js';
import { checkContract, fetchOpenApi, recorded } from './contract.js';
import { AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';
import { PG_SKIP, startPostgres, type PgServer } from './postgres.js';

const PUBLISHER_KEY = 'publisher-key-alice-0123456789';

let server: PgServer;
beforeAll(async () => {
  if (!PG_SKIP) server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.close();
  removeTemps();
});
const running: Orchestrator[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.shutdown();
});

async function start(opts: OrchestratorOptions): Promise<Orchestrator> {
  const { orch } = await startOrchestrator(opts);
  running.push(orch);
  return orch;
}

/** Runs the built `parlor-orchestrator` (dist) until it exits; its whole output once closed. */
function cli(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; out: () => string; closed: Promise<number | null> } {
  const bin = fileURLToPath(new URL('../bin/parlor-orchestrator.js', import.meta.url));
  const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NODE_ENV: 'development', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  return { proc, out: () => out, closed };
}

describe.skipIf(PG_SKIP)('parlor-orchestrator --database-url', () => {
  it('starts on the database (PARLOR_DATABASE_URL), says so, and stops on Ctrl-C; a database that does not exist is one line naming the flag', async () => {
    const url = await server.createDatabase();
    const dir = tempDir('parlor-pg-cli-');
    const up = cli(['--host', '127.0.0.1', '--port', '0', '--catalog-dir', `${dir}/catalog`, '--data-dir', `${dir}/data`, '--log-level', 'warn'], { PARLOR_DATABASE_URL: url });
    try {
      await waitFor(() => /Data: +postgres:\/\/parlor@127\.0\.0\.1:\d+\/\w+ \(Postgres\)/.test(up.out()) || up.proc.exitCode !== null, 'the banner', 30_000);
      expect(up.out()).toContain(`Data:   ${url} (Postgres)`);
      up.proc.kill('SIGINT');
      expect(await up.closed).toBe(0);
    } finally {
      if (up.proc.exitCode === null) up.proc.kill('SIGKILL');
    }
    const missing = url.replace(/\/\w+$/, '/no_such_db');
    const bad = cli(['--host', '127.0.0.1', '--port', '0', '--database-url', missing, '--catalog-dir', `${dir}/catalog2`, '--log-level', 'warn']);
    expect(await bad.closed).toBe(1);
    const lines = bad.out().trim().split('\n').filter((l) => l.startsWith('parlor-orchestrator:'));
    expect(lines).toEqual([expect.stringMatching(/^parlor-orchestrator: cannot open the database .*\/no_such_db: database "no_such_db" does not exist \(check --database-url: .*\) \[ORCHESTRATOR_CONFIG\]$/)]);
  });
});

describe.skipIf(PG_SKIP)('orchestrators on one Postgres database', () => {
  it('two orchestrators serve one catalog: published on one, listed, resolved and downloaded on the other; one operation log', async () => {
    const databaseUrl = await server.createDatabase();
    const dir = tempDir('parlor-shared-catalog-');
    const gate = createPublishGate({ runtime: 'process', smokeMs: 800, typeCheck: false });
    const catalog = { dir, gate };
    const a = await start({ databaseUrl, catalog, publisherKey: [`alice=${PUBLISHER_KEY}`], env: 'dev' });
    const b = await start({ databaseUrl, catalog, publisherKey: [`alice=${PUBLISHER_KEY}`], env: 'dev' });

    const res = await http(a, 'POST', '/v1/games/sprite/versions/1.0.0', { key: PUBLISHER_KEY, raw: await gzipFolder(spriteGame('one')), headers: { 'content-type': 'application/gzip' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    let ended: { state: string; sha256: string } | undefined;
    await waitFor(
      async () => {
        // polled on the other orchestrator: the request is in the shared database
        ended = (await http(b, 'GET', `/v1/publish-requests/${res.body.data.id}`, { key: AGENT_KEY })).body.data;
        return ended?.state === 'PUBLISHED' || ended?.state === 'FAILED';
      },
      'published',
      60_000,
    );
    expect(ended).toMatchObject({ state: 'PUBLISHED' });
    const sha = ended!.sha256;

    expect((await http(b, 'GET', '/v1/games/sprite/versions', { key: AGENT_KEY })).body.data.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
    const manifest = (await http(b, 'GET', '/v1/manifests/dev', { key: AGENT_KEY })).body.data;
    expect(manifest.games).toEqual([expect.objectContaining({ slug: 'sprite', version: '1.0.0' })]);
    const ref = await b.catalog!.resolve('sprite', 'dev');
    expect(ref).toMatchObject({ slug: 'sprite', version: '1.0.0', sha256: sha, url: `${b.url}/v1/artifacts/${sha}` });
    const artifact = await fetch(ref.url, { headers: { authorization: `Bearer ${AGENT_KEY}` } });
    expect(artifact.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await artifact.arrayBuffer())).digest('hex')).toBe(sha);

    // a pin made on one is the other's manifest
    expect((await http(b, 'POST', '/v1/manifests/prod/promote', { body: { slug: 'sprite', version: '1.0.0' } })).status).toBe(200);
    expect((await http(a, 'GET', '/v1/manifests/prod', { key: AGENT_KEY })).body.data.games).toEqual([expect.objectContaining({ slug: 'sprite', version: '1.0.0' })]);

    // one operation log
    const op = await a.operationStore.run({ roomId: 'r-shared', op: 'pause', source: 'admin' }, async () => ({ instanceId: 'inst-1' }));
    const listed = (await http(b, 'GET', '/v1/rooms/r-shared/operations')).body.data.operations as Operation[];
    expect(listed).toEqual([op.operation]);
  });

  it('recovery at start leaves another live orchestrator’s operations to it, and fails those of one that is gone INTERRUPTED', async () => {
    const databaseUrl = await server.createDatabase();
    const a = await start({ databaseUrl });
    let finish!: () => void;
    const blocked = new Promise<void>((r) => (finish = r));
    const slow = a.operationStore.run({ roomId: 'r-a', op: 'restart', source: 'admin' }, async () => {
      await blocked;
      return {};
    });
    await waitFor(async () => (await a.operationStore.log.list({ roomId: 'r-a' }))[0]?.state === 'running', 'a runs its operation');
    // b's start ran its recovery (before it listened): a is alive, its operation is still its own
    const b = await start({ databaseUrl });
    expect((await b.operationStore.log.list({ roomId: 'r-a' }))[0]).toMatchObject({ state: 'running' });
    finish();
    expect((await slow).operation).toMatchObject({ roomId: 'r-a', state: 'succeeded' });

    // a stops with an operation still running (its fn never returns): gone, so the next start fails it
    const stuck = a.operationStore.run({ roomId: 'r-a2', op: 'pause', source: 'admin' }, () => new Promise<{ instanceId?: string }>(() => undefined));
    void stuck.catch(() => undefined);
    await waitFor(async () => (await b.operationStore.log.list({ roomId: 'r-a2' }))[0]?.state === 'running', 'a runs its second operation');
    await a.shutdown();
    running.splice(running.indexOf(a), 1);
    // a stopping does not finish the row: a later start's recovery does
    expect((await b.operationStore.log.list({ roomId: 'r-a2' }))[0]).toMatchObject({ state: 'running' });
    const c = await start({ databaseUrl });
    expect((await c.operationStore.log.list({ roomId: 'r-a2' }))[0]).toMatchObject({ state: 'failed', errorCode: 'INTERRUPTED' });
    expect((await b.operationStore.log.list({ roomId: 'r-a' }))[0]).toMatchObject({ state: 'succeeded' });
  });

  it('Postgres restarts (fast shutdown, then kill -9) under a running orchestrator: it reconnects, no acknowledged operation is lost, the others fail DATABASE_UNAVAILABLE', async () => {
    const databaseUrl = await server.createDatabase();
    const orch = await start({ databaseUrl });
    const acked: Operation[] = [];
    const failures: Array<{ code: string; message: string }> = [];
    let stop = false;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          acked.push((await orch.operationStore.run({ roomId: `r-${i % 4}`, op: 'pause', source: 'admin', params: { i } }, async () => ({}))).operation);
        } catch (err) {
          failures.push({ code: (err as { code?: string }).code ?? 'none', message: (err as Error).message });
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    try {
      for (const fault of ['stop', 'kill'] as const) {
        const before = acked.length;
        await waitFor(() => acked.length >= before + 5, 'operations acknowledged before the fault', 15_000);
        const failedBefore = failures.length;
        await (fault === 'stop' ? server.stop() : server.kill());
        // down: what is issued now is refused, retryably, over REST too
        await waitFor(() => failures.length > failedBefore, `an operation refused while Postgres is down (${fault})`, 15_000);
        const down = await http(orch, 'GET', '/v1/operations');
        expect({ status: down.status, cause: down.body?.cause, retryAfter: down.headers['retry-after'] }).toEqual({ status: 503, cause: 'DATABASE_UNAVAILABLE', retryAfter: '2' });
        const ackedWhileDown = acked.length;
        await server.start();
        await waitFor(() => acked.length >= ackedWhileDown + 5, `operations acknowledged after the restart (${fault})`, 20_000);
      }
    } finally {
      stop = true;
      await loop;
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['DATABASE_UNAVAILABLE']));
    expect(failures[0].message).toMatch(/database postgres:\/\/parlor@127\.0\.0\.1:\d+\/\w+ is unavailable .*: retry/);
    // every acknowledged operation is there, as acknowledged
    const stored = new Map<string, Operation>();
    let before: string | undefined;
    for (;;) {
      const page = await orch.operationStore.log.list({ limit: 500, ...(before ? { before } : {}) });
      if (!page.length) break;
      for (const o of page) stored.set(o.id, o);
      before = page[page.length - 1].id;
    }
    for (const o of acked) expect(stored.get(o.id)).toEqual(o);
    // the 503s answered while it was down are in the published contract
    const downAnswers = recorded.filter((r) => r.path === '/v1/operations' && r.status === 503);
    expect(downAnswers).toHaveLength(2);
    expect(checkContract(await fetchOpenApi(orch.url), downAnswers)).toEqual([]);

    // its owner lock was taken again after the restarts: another orchestrator starting now leaves its running operation alone
    const raw = new pg.Client(databaseUrl);
    await raw.connect();
    try {
      await waitFor(async () => (await raw.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rowCount === 1, 'the owner lock taken again', 10_000);
    } finally {
      await raw.end();
    }
    let finish!: () => void;
    const blocked = new Promise<void>((r) => (finish = r));
    const slow = orch.operationStore.run({ roomId: 'r-slow', op: 'restart', source: 'admin' }, () => blocked.then(() => ({})));
    await waitFor(async () => (await orch.operationStore.log.list({ roomId: 'r-slow' }))[0]?.state === 'running', 'running');
    const other = await start({ databaseUrl });
    expect((await other.operationStore.log.list({ roomId: 'r-slow' }))[0]).toMatchObject({ state: 'running' });
    finish();
    expect((await slow).operation.state).toBe('succeeded');
  });
});
