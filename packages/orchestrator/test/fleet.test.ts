import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FleetAgent, FleetAgentErrorCode, FLEET_SUBPROTOCOL, FleetCloseCode, agentSubprotocols, decodeFrame, encodeFrame } from '@parlor/fleet-agent';
import type { Orchestrator } from '../src/index.js';
import { AGENT_KEY, MemoryHost, startAgent, startOrchestrator, waitFor, quietAgentLogger } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function orchestrator(opts = {}) {
  const r = await startOrchestrator(opts);
  cleanups.push(() => r.orch.shutdown());
  return r;
}
async function agent(orch: Orchestrator, opts = {}, host?: MemoryHost) {
  const r = await startAgent(orch, opts, host);
  cleanups.push(() => r.agent.disconnect());
  return r;
}

describe('fleet agent and orchestrator', () => {
  it('joins, reports rooms with provenance, and places rooms least-loaded', async () => {
    const { orch } = await orchestrator();
    const a = await agent(orch, { name: 'a', labels: { region: 'eu' } });
    const b = await agent(orch, { name: 'b', labels: { region: 'us' } });
    expect(a.agent.status).toBe('connected');
    expect(orch.fleet.stats.instances).toBe(2);
    a.host.addLocal('local1', 'pong', 3);
    await waitFor(() => orch.fleet.getRoom('local1') !== undefined, 'local room reported');
    expect(orch.fleet.getRoom('local1')).toMatchObject({ provenance: 'local', clientCount: 3, instanceId: a.agent.instanceId });
    const r1 = await orch.createRoom({ type: 'pong', options: { mode: 'ranked' } });
    expect(r1.instanceId).toBe(b.agent.instanceId); // b has no clients
    expect(b.host.rooms.get(r1.roomId)!.options).toEqual({ mode: 'ranked' });
    expect(r1.joinUrl).toBe(`http://127.0.0.1:9/play/pong/${r1.roomId}`);
    expect(orch.fleet.getRoom(r1.roomId)!.provenance).toBe('fleet');
    const r2 = await orch.createRoom({ type: 'pong', placement: { labels: { region: 'eu' } } });
    expect(r2.instanceId).toBe(a.agent.instanceId);
    const r3 = await orch.createRoom({ type: 'pong', placement: { policy: 'most-loaded' } });
    expect(r3.instanceId).toBe(a.agent.instanceId);
    const r4 = await orch.createRoom({ type: 'pong', placement: { processUid: b.agent.processUid } });
    expect(r4.instanceId).toBe(b.agent.instanceId);
    expect(orch.fleet.findRooms({ labels: { region: 'us' } }).map((r) => r.roomId).sort()).toEqual([r1.roomId, r4.roomId].sort());
    await expect(orch.createRoom({ type: 'chess' })).rejects.toMatchObject({ code: 'NO_CANDIDATE' });
  });

  it('in-flight creates count against maxRooms and their roomIds are reserved', async () => {
    const { orch } = await orchestrator();
    const { host } = await agent(orch, { capacity: { maxRooms: 1 } });
    host.delayMs = 200;
    const first = orch.createRoom({ type: 'pong', roomId: 'r-one' });
    await waitFor(() => orch.fleet.stats.inflight === 1, 'in flight');
    await expect(orch.createRoom({ type: 'pong', roomId: 'r-one' })).rejects.toMatchObject({ code: 'ROOM_EXISTS' });
    await expect(orch.createRoom({ type: 'pong', roomId: 'r-two' })).rejects.toMatchObject({ code: 'NO_CANDIDATE' });
    expect((await first).roomId).toBe('r-one');
    await expect(orch.createRoom({ type: 'pong' })).rejects.toMatchObject({ code: 'NO_CANDIDATE' });
  });

  it('a local change reaches the orchestrator by the dirty nudge, not by waiting for the next poll', async () => {
    // polls every 60 s: within a waitFor's 5 s only the nudge can carry a change (its latency is a speed figure: bench/, not a test)
    const { orch } = await orchestrator({ pollMs: 60_000 });
    const { agent: a, host } = await agent(orch);
    await waitFor(() => orch.fleet.getInstance(a.processUid) !== undefined, 'instance known');
    for (let i = 0; i < 5; i++) {
      host.addLocal(`r${i}`);
      await waitFor(() => orch.fleet.getRoom(`r${i}`) !== undefined, 'room visible');
      host.rooms.get(`r${i}`)!.clientCount = 7;
      await waitFor(() => orch.fleet.getRoom(`r${i}`)?.clientCount === 7, 'count visible');
      host.rooms.delete(`r${i}`);
      await waitFor(() => orch.fleet.getRoom(`r${i}`) === undefined, 'room gone');
    }
  });

  it('processUid is stable across reconnects; the agent reconnects after the orchestrator restarts and state is rebuilt within one poll', async () => {
    const first = await startOrchestrator();
    const port = first.orch.port;
    const host = new MemoryHost();
    host.addLocal('keep');
    const agentObj = new FleetAgent(host, { url: first.orch.agentUrl, key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', minBackoffMs: 20, maxBackoffMs: 100, logger: quietAgentLogger });
    cleanups.push(() => agentObj.disconnect());
    await agentObj.connect();
    const uid = agentObj.processUid;
    await waitFor(() => first.orch.fleet.getRoom('keep') !== undefined, 'room');
    await first.orch.shutdown();
    await waitFor(() => agentObj.status === 'connecting', 'agent notices');
    const second = await startOrchestrator({ port });
    cleanups.push(() => second.orch.shutdown());
    await waitFor(() => second.orch.fleet.getRoom('keep') !== undefined, 'state rebuilt');
    expect(second.orch.fleet.getInstance(uid)?.processUid).toBe(uid);
    expect(agentObj.processUid).toBe(uid);
  });

  it('connectTimeoutMs rejects with CONNECT_TIMEOUT; a wrong key is refused (401) and never appears in the URL', async () => {
    const { orch, logs, raw } = await orchestrator();
    const a = new FleetAgent(new MemoryHost(), { url: orch.agentUrl, key: 'wrong-key-xyz', endpointUrl: 'http://127.0.0.1:9', minBackoffMs: 20, logger: quietAgentLogger });
    await expect(a.connect({ connectTimeoutMs: 300 })).rejects.toMatchObject({ code: FleetAgentErrorCode.CONNECT_TIMEOUT });
    expect(a.status).toBe('closed');
    expect(raw.join('')).not.toContain('wrong-key-xyz');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'auth failed', role: 'agent', ip: '127.0.0.1' }));
    expect(() => new FleetAgent(new MemoryHost(), { url: `${orch.agentUrl}?key=x`, key: 'k', endpointUrl: 'http://x' })).toThrow();
  });

  it('echoes only the fixed sentinel subprotocol, refuses another major version, kicks unsolicited/duplicate/unknown frames', async () => {
    const { orch } = await orchestrator();
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      return ws;
    };
    const closed = (ws: WebSocket) => new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const hello = { t: 'hello' as const, processUid: 'uid-aaaaaaaaaaaa', name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true };

    const ws1 = await open();
    expect(ws1.protocol).toBe(FLEET_SUBPROTOCOL);
    // version mismatch at hello
    const c1 = closed(ws1);
    const { Packr } = await import('msgpackr');
    ws1.send(new Packr({ useRecords: false }).pack({ v: [2, 0], ...hello }));
    expect(await c1).toBe(FleetCloseCode.VERSION);

    // unsolicited state (no poll outstanding with that seq)
    const ws2 = await open();
    const msgs: any[] = [];
    ws2.on('message', (d: Buffer) => msgs.push(decodeFrame(d)!.frame));
    ws2.send(encodeFrame(hello));
    await waitFor(() => msgs.some((m) => m.t === 'poll'), 'poll');
    const c2 = closed(ws2);
    ws2.send(encodeFrame({ t: 'state', seq: 999, hash: 'x' }));
    expect(await c2).toBe(FleetCloseCode.PROTOCOL);
    await waitFor(() => orch.fleet.stats.instances === 0, 'dropped');

    // duplicate hello
    const ws3 = await open();
    ws3.send(encodeFrame(hello));
    await waitFor(() => orch.fleet.stats.instances === 1, 'hello accepted');
    const c3 = closed(ws3);
    ws3.send(encodeFrame(hello));
    expect(await c3).toBe(FleetCloseCode.PROTOCOL);
    await waitFor(() => orch.fleet.stats.instances === 0, 'dropped');

    // unknown frame type
    const ws4 = await open();
    ws4.send(encodeFrame(hello));
    await waitFor(() => orch.fleet.stats.instances === 1, 'hello accepted');
    const c4 = closed(ws4);
    ws4.send(encodeFrame({ t: 'bogus' } as never));
    expect(await c4).toBe(FleetCloseCode.PROTOCOL);
    await waitFor(() => orch.fleet.stats.instances === 0, 'dropped');

    // ack for a command never sent
    const ws5 = await open();
    ws5.send(encodeFrame(hello));
    await waitFor(() => orch.fleet.stats.instances === 1, 'hello accepted');
    const c5 = closed(ws5);
    ws5.send(encodeFrame({ t: 'ack', id: 424242, ok: true }));
    expect(await c5).toBe(FleetCloseCode.PROTOCOL);
  });

  it('dirty nudges over the rate limit (a token bucket of maxDirtyPerSecond) get the agent kicked', async () => {
    const { orch } = await orchestrator({ maxDirtyPerSecond: 5 });
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(encodeFrame({ t: 'hello', processUid: 'uid-dddddddddddd', name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
    await waitFor(() => orch.fleet.stats.instances === 1, 'hello accepted');
    for (let i = 0; i < 20; i++) ws.send(encodeFrame({ t: 'dirty' }));
    expect(await closed).toBe(FleetCloseCode.PROTOCOL);
    await waitFor(() => orch.fleet.stats.instances === 0, 'dropped');
  });

  it('polls carry the last known hash (hash-only replies suffice) and force a full snapshot every 10 polls', async () => {
    const { orch } = await orchestrator({ pollMs: 20 });
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    cleanups.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    const polls: Array<string | null> = [];
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      if (f.t !== 'poll') return;
      polls.push(f.hash);
      const snapshot = { draining: false, roomTypes: ['pong'], rooms: [] };
      ws.send(encodeFrame(f.hash === 'H' ? { t: 'state', seq: f.seq, hash: 'H' } : { t: 'state', seq: f.seq, hash: 'H', snapshot }));
    });
    ws.send(encodeFrame({ t: 'hello', processUid: 'uid-cccccccccccc', name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
    await waitFor(() => polls.length >= 21, '21 polls', 3000);
    expect(polls[0]).toBeNull(); // first poll: full
    expect(polls.slice(1, 9).every((h) => h === 'H')).toBe(true);
    expect(polls.filter((h) => h === null).length).toBeGreaterThanOrEqual(3); // 1st, 10th, 20th
    expect(orch.fleet.stats.instances).toBe(1);
  });

  it('a snapshot that fails the bounds check is refused and the last good state kept', async () => {
    const { orch, logs } = await orchestrator();
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    cleanups.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    let bad = false;
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      if (f.t !== 'poll') return;
      const room = { roomId: 'good', type: 'pong', clientCount: 1, metadata: {}, provenance: 'local', createdAt: 1 };
      const snapshot = bad
        ? { draining: false, roomTypes: ['pong'], rooms: [{ ...room, roomId: 'evil', clientCount: -5 }] }
        : { draining: false, roomTypes: ['pong'], rooms: [room] };
      ws.send(encodeFrame({ t: 'state', seq: f.seq, hash: bad ? 'h2' : 'h1', snapshot: snapshot as never }));
    });
    ws.send(encodeFrame({ t: 'hello', processUid: 'uid-bbbbbbbbbbbb', name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
    await waitFor(() => orch.fleet.getRoom('good') !== undefined, 'good state');
    bad = true;
    await waitFor(() => logs.some((l) => l.msg === 'snapshot refused, keeping the last good state' && typeof l.instance === 'string'), 'refusal logged');
    expect(orch.fleet.getRoom('good')).toBeDefined();
    expect(orch.fleet.getRoom('evil')).toBeUndefined();
    expect(orch.fleet.stats.instances).toBe(1);
  });
});
