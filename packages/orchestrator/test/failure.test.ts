import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FleetAgent, FleetCloseCode, agentSubprotocols, decodeFrame, encodeFrame, type FleetFrame } from '@parlor/fleet-agent';
import type { Orchestrator, OrchestratorOptions } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, MemoryHost, describeContract, http, startAgent, startOrchestrator, waitFor, quietAgentLogger } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function orchestrator(opts: OrchestratorOptions = {}) {
  const r = await startOrchestrator(opts);
  cleanups.push(() => r.orch.shutdown());
  return r;
}
async function agent(orch: Orchestrator, opts = {}, host?: MemoryHost) {
  const r = await startAgent(orch, opts, host);
  cleanups.push(() => r.agent.disconnect());
  return r;
}

/** A hand-driven agent on a raw socket: answers polls only while `answering`, acks only when told. */
class RawAgent {
  readonly ws: WebSocket;
  answering = true;
  readonly cmds: Array<Extract<FleetFrame, { t: 'cmd' }>> = [];
  rooms: any[] = [];
  closeCode: number | null = null;
  constructor(orch: Orchestrator, readonly uid: string) {
    this.ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    this.ws.on('close', (c) => (this.closeCode = c));
    this.ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      if (f.t === 'poll' && this.answering) {
        this.send({ t: 'state', seq: f.seq, hash: `h${this.rooms.length}-${this.rooms.map((r) => r.roomId).join()}`, snapshot: { draining: false, roomTypes: ['pong'], rooms: this.rooms } });
      }
      if (f.t === 'cmd') this.cmds.push(f);
    });
    cleanups.push(() => this.ws.terminate());
  }
  async hello(): Promise<void> {
    await new Promise((r) => this.ws.once('open', r));
    this.send({ t: 'hello', processUid: this.uid, name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true });
  }
  send(f: FleetFrame): void {
    this.ws.send(encodeFrame(f));
  }
}

describe('failure modes', () => {
  it('agent socket drop: its rooms vanish at once and in-flight commands are rejected', async () => {
    const { orch } = await orchestrator();
    const { agent: a, host } = await agent(orch);
    host.addLocal('x1');
    host.addLocal('x2');
    await waitFor(() => orch.fleet.rooms.length === 2, 'rooms');
    host.wedged = true;
    const destroyed: string[] = [];
    orch.on('room:destroy', (e) => destroyed.push(e.room.roomId));
    const pending = orch.createRoom({ type: 'pong' }).catch((e) => e);
    await waitFor(() => orch.fleet.stats.inflight === 1, 'in flight');
    await a.disconnect();
    const err = await pending;
    expect(err.code).toBe('INSTANCE_DISCONNECTED'); // ended by the disconnect, not by the command timeout
    await waitFor(() => orch.fleet.rooms.length === 0, 'rooms gone');
    expect(destroyed.sort()).toEqual(['x1', 'x2']);
  });

  it('wedged agent: stale after 2 missed polls (excluded from placement), evicted after 3', async () => {
    const { orch } = await orchestrator({ pollMs: 100 });
    const raw = new RawAgent(orch, 'uid-wedged-000001');
    await raw.hello();
    await waitFor(() => orch.fleet.stats.instances === 1 && orch.fleet.instances[0].roomTypes.length === 1, 'joined');
    const events: string[] = [];
    orch.on('instance:stale', () => events.push('stale'));
    orch.on('instance:leave', (e) => events.push(`leave:${e.reason}`));
    raw.answering = false;
    await waitFor(() => events.includes('stale'), 'stale');
    expect(orch.fleet.instances[0].stale).toBe(true);
    await expect(orch.createRoom({ type: 'pong' })).rejects.toMatchObject({ code: 'NO_CANDIDATE' });
    await waitFor(() => events.some((e) => e.startsWith('leave:evicted')), 'evicted');
    expect(orch.fleet.stats.instances).toBe(0);
    await waitFor(() => raw.closeCode === FleetCloseCode.EVICTED, 'evicted close code');
  });

  it('an ack arriving after its timeout is ignored (agent not kicked), and its effect appears with the next snapshot', async () => {
    const { orch, logs } = await orchestrator({ commandTimeoutMs: 200 });
    const raw = new RawAgent(orch, 'uid-late-0000001');
    await raw.hello();
    await waitFor(() => orch.fleet.instances[0]?.roomTypes.length === 1, 'joined');
    const p = orch.createRoom({ type: 'pong', roomId: 'late-room' }).catch((e) => e);
    await waitFor(() => raw.cmds.length === 1, 'cmd received');
    expect((await p).code).toBe('COMMAND_TIMEOUT');
    const cmd = raw.cmds[0];
    const room = { roomId: 'late-room', type: 'pong', clientCount: 0, metadata: {}, provenance: 'fleet', createdAt: Date.now() };
    raw.rooms.push(room);
    raw.send({ t: 'ack', id: cmd.id, ok: true, room: room as never });
    await waitFor(() => logs.some((l) => l.msg === 'late ack ignored' && l.instance === orch.fleet.instances[0]?.id && l.room === 'late-room' && l.op === 'createRoom'), 'late ack logged');
    await waitFor(() => orch.fleet.getRoom('late-room') !== undefined, 'room from snapshot');
    expect(raw.closeCode).toBeNull();
    expect(orch.fleet.stats.instances).toBe(1);
    // a second ack of the same command is a duplicate: kicked
    raw.send({ t: 'ack', id: cmd.id, ok: true });
    await waitFor(() => raw.closeCode === FleetCloseCode.PROTOCOL, 'kicked for duplicate ack');
  });

  it('concurrent creates of one roomId: exactly one wins, the rest get ROOM_EXISTS', async () => {
    const { orch } = await orchestrator();
    const { host } = await agent(orch, { name: 'a' });
    await agent(orch, { name: 'b' });
    host.delayMs = 50;
    const results = await Promise.all(Array.from({ length: 12 }, () => http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'the-one' } })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.cause === 'ROOM_EXISTS')).toBe(true);
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
  });

  it("destroy racing the room's natural end is idempotent (200 or 404, never an error, room gone)", async () => {
    const { orch } = await orchestrator();
    const { host, agent: a } = await agent(orch);
    for (let i = 0; i < 10; i++) {
      const room = await orch.createRoom({ type: 'pong', roomId: `race-${i}` });
      host.delayMs = i % 3; // vary the interleaving
      const del = http(orch, 'DELETE', `/v1/rooms/${room.roomId}`);
      host.rooms.delete(room.roomId); // the room ends by itself
      const res = await del;
      expect([200, 404]).toContain(res.status);
      await waitFor(() => orch.fleet.getRoom(room.roomId) === undefined, 'gone');
    }
    expect(a.status).toBe('connected');
  });

  it('drain → awaitEmpty → disconnect', async () => {
    const { orch } = await orchestrator();
    const { agent: a, host } = await agent(orch);
    host.addLocal('busy', 'pong', 2);
    await waitFor(() => orch.fleet.getRoom('busy') !== undefined, 'room');
    a.drain();
    expect(a.status).toBe('draining');
    await waitFor(() => orch.fleet.getInstance(a.processUid)?.status === 'draining', 'draining seen');
    await expect(orch.createRoom({ type: 'pong' })).rejects.toMatchObject({ code: 'NO_CANDIDATE' });
    await expect(a.awaitEmpty({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'FLEET_AGENT_AWAIT_EMPTY_TIMEOUT' });
    // (the timeout above shows awaitEmpty waits while a room is busy; now the last player leaves)
    const empty = a.awaitEmpty({ timeoutMs: 5000 });
    host.rooms.get('busy')!.clientCount = 0;
    await empty;
    const left = new Promise((r) => orch.once('instance:leave', r));
    await a.disconnect();
    await left;
    expect(a.status).toBe('closed');
    expect(orch.fleet.stats.instances).toBe(0);
  });

  it('enableGracefulShutdown: SIGTERM → drain → awaitEmpty → disconnect → host shutdown → exit 0', async () => {
    const { orch } = await orchestrator();
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/orchestrator/test/fixtures/graceful-agent.ts', orch.agentUrl, AGENT_KEY], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('ready') && orch.fleet.getRoom('busy') !== undefined, 'child agent up', 20_000);
    const exited = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    // 'draining' lasts only until the room empties (300 ms after the signal) and the agent leaves: caught as the event, not polled
    const drainingSeen = new Promise<void>((r) => orch.on('instance:update', (e) => e.instance.status === 'draining' && r()));
    child.kill('SIGTERM');
    await drainingSeen;
    expect(await exited).toBe(0);
    expect(out.trim().split('\n')).toEqual(['status connecting', 'status connected', 'ready', 'status draining', 'status closed', 'host shutdown']);
    await waitFor(() => orch.fleet.stats.instances === 0, 'instance left');
  }, 30_000);

  it('key rotation without downtime (agent and admin keys)', async () => {
    const { orch } = await orchestrator();
    const { agent: oldAgent } = await agent(orch, { name: 'old' });
    orch.setKeys({ agentKey: [AGENT_KEY, 'agent-key-NEW-0123456789'], adminKey: [ADMIN_KEY, 'admin-key-NEW-0123456789'] });
    const { agent: newAgent } = await agent(orch, { name: 'new', key: 'agent-key-NEW-0123456789' });
    expect((await http(orch, 'GET', '/v1/stats', { key: 'admin-key-NEW-0123456789' })).status).toBe(200);
    expect((await http(orch, 'GET', '/v1/stats')).status).toBe(200);
    orch.setKeys({ agentKey: ['agent-key-NEW-0123456789'], adminKey: ['admin-key-NEW-0123456789'] });
    expect((await http(orch, 'GET', '/v1/stats')).status).toBe(401);
    const stats = await http(orch, 'GET', '/v1/stats', { key: 'admin-key-NEW-0123456789' });
    expect(stats.body.data.instances).toBe(2); // nobody was dropped
    expect(oldAgent.status).toBe('connected');
    expect(newAgent.status).toBe('connected');
    const stale = new FleetAgent(new MemoryHost(), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', minBackoffMs: 20, logger: quietAgentLogger });
    await expect(stale.connect({ connectTimeoutMs: 200 })).rejects.toMatchObject({ code: 'FLEET_AGENT_CONNECT_TIMEOUT' });
  });
});

describeContract();
