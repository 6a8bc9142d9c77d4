import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { Orchestrator, type OrchestratorOptions } from '../src/index.js';
import { recorder } from './contract.js';
import { ADMIN_KEY, captureLogger, describeContract, http, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(opts: OrchestratorOptions = {}) {
  const { orch, logs, raw } = await startOrchestrator(opts);
  cleanups.push(() => orch.shutdown());
  const { agent, host } = await startAgent(orch, { name: 'one' });
  cleanups.push(() => agent.disconnect());
  return { orch, logs, raw, agent, host };
}

function rejected(res: { status: number; body: any }, status: number, cause: string): void {
  expect({ status: res.status, status_: res.body?.status, cause: res.body?.cause }).toEqual({ status, status_: 'rejected', cause });
}

describe('REST /v1 contract', () => {
  it('envelope, 201 create, reads, ETag/304, delete, drain/undrain', async () => {
    const { orch, agent } = await setup();
    expect((await http(orch, 'GET', '/healthz', { key: null })).status).toBe(200);
    expect((await http(orch, 'GET', '/readyz', { key: null })).status).toBe(200);
    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'room-1', options: { bots: 2 } } });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('OK');
    expect(created.body.data).toMatchObject({ roomId: 'room-1', type: 'pong', instanceId: agent.instanceId, joinUrl: 'http://127.0.0.1:9/play/pong/room-1' });

    const stats = await http(orch, 'GET', '/v1/stats');
    expect(stats.body.data).toMatchObject({ instances: 1, rooms: 1 });
    const etag = stats.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);
    expect((await http(orch, 'GET', '/v1/stats', { headers: { 'if-none-match': etag } })).status).toBe(304);
    const rooms = await http(orch, 'GET', '/v1/rooms?type=pong');
    expect(rooms.body.data.map((r: any) => r.roomId)).toEqual(['room-1']);
    expect((await http(orch, 'GET', '/v1/rooms', { headers: { 'if-none-match': rooms.headers.etag as string } })).status).toBe(304);
    expect((await http(orch, 'GET', '/v1/rooms?type=cards')).body.data).toEqual([]);
    expect((await http(orch, 'GET', '/v1/rooms?label=region:mars')).body.data).toEqual([]);
    expect((await http(orch, 'GET', '/v1/rooms/room-1')).body.data.roomId).toBe('room-1');
    const inst = await http(orch, 'GET', '/v1/instances');
    expect(inst.body.data).toHaveLength(1);
    const ie = inst.headers.etag as string;
    expect((await http(orch, 'GET', `/v1/instances/${agent.instanceId}`)).body.data.processUid).toBe(agent.processUid);
    expect((await http(orch, 'GET', `/v1/instances/${agent.processUid}/rooms`)).body.data).toHaveLength(1);

    const drained = await http(orch, 'POST', `/v1/instances/${agent.instanceId}/drain`);
    expect(drained.body.data.status).toBe('draining');
    expect(agent.status).toBe('draining');
    // semantic state changed → new ETag
    expect((await http(orch, 'GET', '/v1/instances', { headers: { 'if-none-match': ie } })).status).toBe(200);
    expect((await http(orch, 'POST', `/v1/instances/${agent.instanceId}/undrain`)).body.data.status).toBe('active');

    const del = await http(orch, 'DELETE', '/v1/rooms/room-1');
    expect(del.status).toBe(200);
    expect(orch.fleet.getRoom('room-1')).toBeUndefined();
  });

  it('VALIDATION 400, NOT_FOUND 404s, NO_CANDIDATE / ROOM_EXISTS / INSTANCE_DRAINING 409', async () => {
    const { orch, agent } = await setup();
    rejected(await http(orch, 'POST', '/v1/rooms', { raw: '{not json', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'bad id!' } }), 400, 'VALIDATION');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', placement: { processUid: agent.processUid, instanceId: agent.instanceId } } }), 400, 'VALIDATION');
    rejected(await http(orch, 'GET', '/v1/instances/nope'), 404, 'INSTANCE_NOT_FOUND');
    rejected(await http(orch, 'POST', '/v1/instances/nope/drain'), 404, 'INSTANCE_NOT_FOUND');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', placement: { instanceId: 'nope' } } }), 404, 'INSTANCE_NOT_FOUND');
    rejected(await http(orch, 'GET', '/v1/rooms/nope'), 404, 'ROOM_NOT_FOUND');
    rejected(await http(orch, 'DELETE', '/v1/rooms/nope'), 404, 'ROOM_NOT_FOUND');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'chess' } }), 409, 'NO_CANDIDATE');
    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'dup' } })).status).toBe(201);
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'dup' } }), 409, 'ROOM_EXISTS');
    await orch.drainInstance(agent.instanceId!);
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', placement: { instanceId: agent.instanceId } } }), 409, 'INSTANCE_DRAINING');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } }), 409, 'NO_CANDIDATE');
    const forced = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', placement: { instanceId: agent.instanceId, force: true } } });
    expect(forced.status).toBe(201);
  });

  it('PAYLOAD_TOO_LARGE 413 before parsing', async () => {
    const { orch } = await setup();
    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    rejected(await http(orch, 'POST', '/v1/rooms', { raw: big, headers: { 'content-type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
    // chunked (no Content-Length): counted while reading
    const res = await request(`${orch.url}/v1/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: Readable.from(
        (async function* () {
          for (let i = 0; i < 80; i++) yield Buffer.alloc(1024, 0x20);
        })(),
      ),
    });
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as any).cause).toBe('PAYLOAD_TOO_LARGE');
  });

  it('UNAUTHORIZED 401 is uniform; AUTH_THROTTLED 429 per (address, wrong key) with a true Retry-After, never for a valid key; key rotation lists; fingerprints in logs, never keys; audit lines', async () => {
    const { orch, logs, raw } = await setup({ adminKey: [ADMIN_KEY, 'second-admin-key-0123456789'], authFailureLimit: 3 });
    const none = await http(orch, 'GET', '/v1/stats', { key: null });
    const wrong = await http(orch, 'GET', '/v1/stats', { key: 'admin-key-0123456789abcdeX' });
    rejected(none, 401, 'UNAUTHORIZED');
    expect(wrong.body).toEqual(none.body);
    expect(wrong.headers['www-authenticate']).toBe(none.headers['www-authenticate']);
    expect((await http(orch, 'GET', '/v1/stats', { key: 'second-admin-key-0123456789' })).status).toBe(200);
    await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'audited' }, key: 'second-admin-key-0123456789' });
    // authFailureLimit 3: the 4th failure of the same wrong key from this address starts its block
    for (let i = 0; i < 4; i++) rejected(await http(orch, 'GET', '/v1/stats', { key: 'x' }), 401, 'UNAUTHORIZED');
    const throttled = await http(orch, 'GET', '/v1/stats', { key: 'x' });
    rejected(throttled, 429, 'AUTH_THROTTLED');
    // the truth: the window is 60 s from the first failure of 'x', so 59–60 s are left
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(60);
    rejected(await http(orch, 'GET', '/v1/stats', { key: 'y' }), 401, 'UNAUTHORIZED'); // another key from the same address: its own count
    expect((await http(orch, 'GET', '/v1/stats')).status).toBe(200); // the valid key from the same address is never throttled
    expect(logs).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^auth throttled/), keyFp: expect.stringMatching(/^fp:[0-9a-f]{8}$/), retryAfterS: 60 }));
    const log = raw.join('');
    expect(log).not.toContain(ADMIN_KEY);
    expect(log).not.toContain('second-admin-key');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'audit', method: 'POST', path: '/v1/rooms', status: 201, keyFp: expect.stringMatching(/^fp:[0-9a-f]{8}$/) }));
    const fp = /^fp:[0-9a-f]{8}$/;
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'keys', agentKeys: [expect.stringMatching(fp)], adminKeys: [expect.stringMatching(fp), expect.stringMatching(fp)] }));
  });

  it('INSTANCE_BUSY 429 at the in-flight cap', async () => {
    const { orch, host } = await setup({ maxInflightPerInstance: 1 });
    host.delayMs = 300;
    const a = http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
    await waitFor(() => orch.fleet.stats.inflight === 1, 'the first create in flight');
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } }), 429, 'INSTANCE_BUSY');
    expect((await a).status).toBe(201);
  });

  it('COMMAND_FAILED 502, COMMAND_TIMEOUT 504, INSTANCE_DISCONNECTED 502', async () => {
    const { orch, host, agent } = await setup({ commandTimeoutMs: 300 });
    host.failCreate = 'game constructor threw';
    const failed = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
    rejected(failed, 502, 'COMMAND_FAILED');
    expect(failed.body.message).toContain('game constructor threw');
    host.failCreate = null;
    host.wedged = true;
    rejected(await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } }), 504, 'COMMAND_TIMEOUT');
    const pending = http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
    await waitFor(() => orch.fleet.stats.inflight > 0, 'in flight');
    await agent.disconnect();
    // INSTANCE_DISCONNECTED, not the COMMAND_TIMEOUT the 300 ms timeout would give: the disconnect ended it
    rejected(await pending, 502, 'INSTANCE_DISCONNECTED');
  });

  it('SSE: sync first, then events, `: ping` keep-alive, SSE_LIMIT 429', async () => {
    const { orch } = await setup({ maxSseStreams: 1, sseKeepAliveMs: 100 });
    const res = await request(`${orch.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    let text = '';
    res.body.on('data', (c: Buffer) => (text += c.toString()));
    rejected(await http(orch, 'GET', '/v1/events'), 429, 'SSE_LIMIT');
    await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'sse-room' } });
    await waitFor(() => text.includes('event: room:create') && text.includes(': ping'), 'events and ping', 2000);
    expect(text.indexOf('event: sync')).toBeLessThan(text.indexOf('event: room:create'));
    expect(text).toContain('"roomId":"sse-room"');
    res.body.destroy();
    // the slot is freed when a stream closes
    let again = 0;
    await waitFor(async () => {
      const r = await request(`${orch.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      again = r.statusCode;
      r.body.destroy();
      return again === 200;
    }, 'stream slot freed', 2000);
  });

  it('production key rules; development generates a key', () => {
    const { logger } = captureLogger();
    const prod = (o: OrchestratorOptions) => () => new Orchestrator({ logger, nodeEnv: 'production', ...o });
    expect(prod({ agentKey: 'a'.repeat(16) })).toThrow(/requires/);
    expect(prod({ agentKey: 'short', adminKey: 'b'.repeat(16) })).toThrow(/under 16/);
    expect(prod({ agentKey: ['a'.repeat(16), 'c'.repeat(16)], adminKey: ['c'.repeat(16)] })).toThrow(/both/);
    expect(prod({ agentKey: 'a'.repeat(16), adminKey: 'b'.repeat(16) })).not.toThrow();
    const dev = new Orchestrator({ logger, nodeEnv: 'development' });
    expect(dev.generatedKeys.adminKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(dev.generatedKeys.agentKey).not.toBe(dev.generatedKeys.adminKey);
  });
});

describe('FleetClient safe-retry createRoom', () => {
  it('retries after a 504; ROOM_EXISTS then GET counts as success; no duplicate elsewhere', async () => {
    const { orch, logs } = await startOrchestrator({ commandTimeoutMs: 150 });
    cleanups.push(() => orch.shutdown());
    const a = await startAgent(orch, { name: 'slow' });
    cleanups.push(() => a.agent.disconnect());
    const b = await startAgent(orch, { name: 'other' });
    cleanups.push(() => b.agent.disconnect());
    a.host.delayMs = 400; // slower than the command timeout, but it does finish
    b.host.addLocal('busy-b', 'pong', 500); // least-loaded picks a
    const { FleetClient } = await import('../src/index.js');
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY, retryDelayMs: 100, retries: 8, dispatcher: recorder });
    cleanups.push(() => client.close());
    await waitFor(() => orch.fleet.getRoom('busy-b') !== undefined, 'b loaded');
    const room = await client.createRoom({ type: 'pong', roomId: 'retry-me' });
    expect(room).toMatchObject({ roomId: 'retry-me', instanceId: a.agent.instanceId });
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'command timed out', instance: a.agent.instanceId, room: 'retry-me', game: 'pong', op: 'createRoom' }));
    expect(b.host.rooms.has('retry-me')).toBe(false);
    expect(a.host.rooms.has('retry-me')).toBe(true);
  });
});

describeContract();
