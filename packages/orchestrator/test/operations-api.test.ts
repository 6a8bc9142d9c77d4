/**
 * The operation log through a real orchestrator on 127.0.0.1: `dataDir` opened at listen and
 * closed at shutdown (its rows kept across a restart), 'operation:finished' for every finished
 * operation, and the REST listing: `GET /v1/rooms/:roomId/operations` and `GET /v1/operations`
 * with their filters, cursor paging, admin keys only, bad queries refused; every answer in the
 * published contract.
 */
import type { Operation } from '@parlor/squish';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../src/errors.js';
import type { Orchestrator } from '../src/orchestrator.js';
import { removeTemps, tempDir } from './catalog-helpers.js';
import { AGENT_KEY, describeContract, http, startOrchestrator } from './helpers.js';

afterAll(removeTemps);
const running: Orchestrator[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.shutdown();
});

async function start(dataDir?: string): Promise<Orchestrator> {
  const { orch } = await startOrchestrator(dataDir ? { dataDir } : {});
  running.push(orch);
  return orch;
}

const ids = (ops: Operation[]): string[] => ops.map((o) => o.id);

describe('operation log in the orchestrator', () => {
  it('runs operations through the log, emits operation:finished, and keeps them in dataDir across a restart', async () => {
    const dir = tempDir('parlor-ops-api-');
    const orch = await start(dir);
    const finished: Operation[] = [];
    orch.on('operation:finished', (e) => finished.push(e.operation));
    const ok = await orch.operationStore.run({ roomId: 'r1', op: 'pause', source: 'admin', params: { reason: 'maintenance' } }, async () => ({ instanceId: 'inst-1' }));
    const failed = await orch.operationStore
      .run({ roomId: 'r1', op: 'patch', source: 'api', params: { version: '1.1.0' } }, async () => {
        throw new OrchestratorError('ROOM_NOT_FOUND', 'no room r1');
      })
      .catch(() => undefined);
    expect(failed).toBeUndefined();
    expect(finished.map((o) => [o.op, o.state, o.errorCode])).toEqual([
      ['pause', 'succeeded', null],
      ['patch', 'failed', 'ROOM_NOT_FOUND'],
    ]);
    await orch.shutdown();
    running.pop();
    await expect(orch.operationStore.run({ roomId: 'r1', op: 'turn', source: 'admin' }, async () => ({}))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });

    const next = await start(dir);
    const res = await http(next, 'GET', '/v1/rooms/r1/operations');
    expect(res.status).toBe(200);
    expect(res.body.data.operations.map((o: Operation) => [o.op, o.state])).toEqual([
      ['patch', 'failed'],
      ['pause', 'succeeded'],
    ]);
    expect(res.body.data.operations[1]).toEqual(ok.operation);
    expect(res.body.data.next).toBeNull();
  });

  it('without dataDir keeps the log in memory: nothing survives the orchestrator', async () => {
    const first = await start();
    await first.operationStore.record({ roomId: 'm', op: 'pause', source: 'agent' }, { outcome: {} });
    expect((await http(first, 'GET', '/v1/operations')).body.data.operations).toHaveLength(1);
    const second = await start();
    expect((await http(second, 'GET', '/v1/operations')).body.data.operations).toEqual([]);
  });

  it('a second listen() fails ORCHESTRATOR_LISTEN and leaves the open log as it was', async () => {
    const orch = await start(tempDir('parlor-ops-api-'));
    await expect(orch.listen()).rejects.toMatchObject({ code: 'ORCHESTRATOR_LISTEN' });
    const run = await orch.operationStore.run({ roomId: 'r', op: 'pause', source: 'admin' }, async () => ({}));
    expect(run.operation.state).toBe('succeeded');
    expect((await http(orch, 'GET', '/v1/operations')).body.data.operations).toHaveLength(1);
  });

  it('an unusable data dir fails listen with the folder named, and nothing listens', async () => {
    const file = `${tempDir('parlor-ops-api-')}/not-a-folder`;
    await import('node:fs').then((fs) => fs.writeFileSync(file, 'x'));
    await expect(startOrchestrator({ dataDir: file })).rejects.toMatchObject({ code: 'ORCHESTRATOR_CONFIG', message: expect.stringContaining(`--data-dir ${file}`) });
  });

  it('lists with filters (room, state, op, source, since, until) and pages with limit and next', async () => {
    const orch = await start(tempDir('parlor-ops-api-'));
    const made: Operation[] = [];
    for (let i = 0; i < 7; i++) {
      const room = i % 2 ? 'odd' : 'even';
      made.push(await orch.operationStore.record({ roomId: room, op: i % 3 ? 'pause' : 'turn', source: 'admin' }, i % 3 === 2 ? { code: 'NOT_TURN_BASED', message: 'no turns' } : { outcome: {} }));
    }
    // A fleet operation (the autoscaler's): no room, its own source.
    made.push(await orch.operationStore.record({ roomId: '', op: 'scale_up', source: 'autoscaler', params: { count: 1 } }, { outcome: {} }));
    const newest = [...made].reverse();
    const list = async (path: string) => {
      const r = await http(orch, 'GET', path);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.data as { operations: Operation[]; next: string | null };
    };
    expect(ids((await list('/v1/operations')).operations)).toEqual(ids(newest));
    expect(ids((await list('/v1/operations?room=odd')).operations)).toEqual(ids(newest.filter((o) => o.roomId === 'odd')));
    expect(ids((await list('/v1/rooms/even/operations?op=turn')).operations)).toEqual(ids(newest.filter((o) => o.roomId === 'even' && o.op === 'turn')));
    expect(ids((await list('/v1/operations?state=failed')).operations)).toEqual(ids(newest.filter((o) => o.state === 'failed')));
    expect(ids((await list('/v1/operations?source=autoscaler')).operations)).toEqual([made[7]!.id]);
    expect(ids((await list('/v1/operations?source=admin&op=turn')).operations)).toEqual(ids(newest.filter((o) => o.source === 'admin' && o.op === 'turn')));
    const mid = made[3]!.createdAt;
    expect(ids((await list(`/v1/operations?since=${mid}&until=${Date.now() + 1}`)).operations)).toEqual(ids(newest.filter((o) => o.createdAt >= mid)));
    expect((await list('/v1/rooms/nobody/operations')).operations).toEqual([]);

    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page = await list(`/v1/operations?limit=3${next ? `&before=${next}` : ''}`);
      seen.push(...ids(page.operations));
      next = page.next;
      pages++;
    } while (next);
    expect(seen).toEqual(ids(newest));
    expect(pages).toBe(3);
  });

  it('refuses bad queries (VALIDATION), other key classes and no key (401), and other methods (405)', async () => {
    const orch = await start();
    for (const q of ['state=done', 'op=explode', 'source=robot', 'limit=0', 'limit=501', 'since=yesterday', 'colour=red']) {
      const r = await http(orch, 'GET', `/v1/operations?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.cause).toBe('VALIDATION');
    }
    expect((await http(orch, 'GET', '/v1/operations', { key: AGENT_KEY })).status).toBe(401);
    expect((await http(orch, 'GET', '/v1/rooms/r/operations', { key: null })).status).toBe(401);
    const post = await http(orch, 'POST', '/v1/operations', { body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
  });
});

describeContract();
