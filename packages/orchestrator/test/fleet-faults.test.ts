// Fleet faults beyond stale commands: refused snapshots marked and out of placement, a cloned
// processUid refused without flapping, instance ids stable across an orchestrator restart.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FleetAgent, FleetCloseCode, agentSubprotocols, decodeFrame, encodeFrame } from '@parlor/fleet-agent';
import type { OrchestratorOptions } from '../src/index.js';
import { AGENT_KEY, MemoryHost, http, quietAgentLogger, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function orchestrator(opts: OrchestratorOptions = {}) {
  const r = await startOrchestrator({ pollMs: 50, ...opts });
  cleanups.push(() => r.orch.shutdown());
  return r;
}

describe('fleet faults', () => {
  it('an instance whose snapshots are refused is marked snapshot-refused (REST, instance:update event, metric), kept out of placement, and back once a snapshot is accepted', async () => {
    const { orch } = await orchestrator();
    const bad = await startAgent(orch, { name: 'bad' });
    cleanups.push(() => bad.agent.disconnect());
    const good = await startAgent(orch, { name: 'good' });
    cleanups.push(() => good.agent.disconnect());
    const updates: Array<{ id: string; health: string }> = [];
    orch.on('instance:update', ({ instance }) => updates.push({ id: instance.id, health: instance.health }));
    expect(orch.fleet.getInstance(bad.agent.instanceId!)?.health).toBe('ok');
    good.host.addLocal('load', 'pong', 50); // least-loaded would pick `bad`
    await waitFor(() => orch.fleet.getRoom('load') !== undefined, 'good loaded');
    bad.host.rooms.set('huge', { roomId: 'huge', type: 'pong', clientCount: 0, metadata: { blob: 'x'.repeat(5000) }, options: {} }); // over 4 KiB
    await waitFor(() => orch.fleet.getInstance(bad.agent.instanceId!)?.health === 'snapshot-refused', 'marked');
    expect(updates).toContainEqual({ id: bad.agent.instanceId, health: 'snapshot-refused' });
    const rest = await http(orch, 'GET', `/v1/instances/${bad.agent.instanceId}`);
    expect(rest.body.data.health).toBe('snapshot-refused');
    expect(await orch.metrics.registry.metrics()).toMatch(/^parlor_orchestrator_instances_snapshot_refused 1$/m);
    const room = await orch.createRoom({ type: 'pong' });
    expect(room.instanceId).toBe(good.agent.instanceId);
    bad.host.rooms.delete('huge');
    await waitFor(() => orch.fleet.getInstance(bad.agent.instanceId!)?.health === 'ok', 'accepted again');
    expect(await orch.metrics.registry.metrics()).toMatch(/^parlor_orchestrator_instances_snapshot_refused 0$/m);
    expect((await orch.createRoom({ type: 'pong' })).instanceId).toBe(bad.agent.instanceId);
  });

  it('a second live session with the same processUid is refused with DUPLICATE_PROCESS; the first stays, nothing flaps', async () => {
    const { orch, logs } = await orchestrator();
    const live = await startAgent(orch, { name: 'live' });
    cleanups.push(() => live.agent.disconnect());
    const id = live.agent.instanceId;
    let drops = 0;
    live.agent.on('disconnected', () => drops++);
    for (let i = 0; i < 3; i++) {
      const clone = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
      cleanups.push(() => clone.terminate());
      const closed = new Promise<number>((r) => clone.once('close', (c) => r(c)));
      await new Promise((r) => clone.once('open', r));
      clone.send(encodeFrame({ t: 'hello', processUid: live.agent.processUid, name: 'clone', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
      let welcomed = false;
      clone.on('message', (d: Buffer) => (welcomed ||= decodeFrame(d)?.frame.t === 'welcome'));
      expect(await closed).toBe(FleetCloseCode.DUPLICATE_PROCESS);
      expect(welcomed).toBe(false);
    }
    expect(logs.filter((l) => l.msg === 'second live session of one processUid refused: two processes share it')).toHaveLength(3);
    expect(drops).toBe(0);
    expect(live.agent.status).toBe('connected');
    expect(orch.fleet.instances.map((i) => i.id)).toEqual([id]);
    expect(orch.fleet.getInstance(id!)?.name).toBe('live');
  });

  it("a destroy racing the room's natural end answers 200 { ok: true, alreadyGone: true }; an unknown room stays 404", async () => {
    // slow polls and samples: the orchestrator learns of the end only when told
    const { orch } = await orchestrator({ pollMs: 60_000 });
    const a = await startAgent(orch, { name: 'a', sampleMs: 60_000 });
    cleanups.push(() => a.agent.disconnect());
    await orch.createRoom({ type: 'pong', roomId: 'ends-itself' });
    a.host.rooms.delete('ends-itself'); // the game ended it; the read model still has it
    expect(orch.fleet.getRoom('ends-itself')).toBeDefined();
    const raced = await http(orch, 'DELETE', '/v1/rooms/ends-itself');
    expect(raced.status).toBe(200);
    expect(raced.body.data).toEqual({ roomId: 'ends-itself', ok: true, destroyed: false, alreadyGone: true, operation: expect.objectContaining({ op: 'stop', state: 'succeeded' }), state: null });
    // once gone from the read model, a late destroy is the same answer
    const late = await http(orch, 'DELETE', '/v1/rooms/ends-itself');
    expect(late.body.data).toEqual({ roomId: 'ends-itself', ok: true, destroyed: false, alreadyGone: true, operation: expect.objectContaining({ op: 'stop', state: 'succeeded' }), state: null });
    await orch.createRoom({ type: 'pong', roomId: 'live-one' });
    expect((await http(orch, 'DELETE', '/v1/rooms/live-one')).body.data).toEqual({ roomId: 'live-one', ok: true, destroyed: true, alreadyGone: false, operation: expect.objectContaining({ op: 'stop', state: 'succeeded' }), state: null });
    expect((await http(orch, 'DELETE', '/v1/rooms/never-was')).status).toBe(404);
  });

  it('instance ids are derived from the processUid: the same after an orchestrator restart', async () => {
    const first = await startOrchestrator({ pollMs: 50 });
    cleanups.push(() => first.orch.shutdown());
    const port = first.orch.port;
    const a = await startAgent(first.orch, { name: 'a' });
    cleanups.push(() => a.agent.disconnect());
    const before = a.agent.instanceId;
    expect(before).toMatch(/^i-[0-9a-f]{12}$/);
    await first.orch.shutdown();
    const second = await orchestrator({ port });
    await waitFor(() => second.orch.fleet.getInstance(a.agent.processUid) !== undefined, 'agent back on the new orchestrator');
    expect(second.orch.fleet.getInstance(a.agent.processUid)!.id).toBe(before);
    expect(a.agent.instanceId).toBe(before);
  });

  it("after a long orchestrator outage an agent with the default backoff is back within its 2 s cap of the orchestrator's return", async () => {
    const first = await startOrchestrator({ pollMs: 50 });
    cleanups.push(() => first.orch.shutdown());
    const port = first.orch.port;
    const host = new MemoryHost();
    host.addLocal('survivor', 'pong', 1);
    const agent = new FleetAgent(host, { url: first.orch.agentUrl, key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', name: 'default-backoff', logger: quietAgentLogger });
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 5000 });
    await first.orch.shutdown();
    // a stand-in on the port counts the reconnect attempts of the outage (the backoff ceiling grows with them)
    let attempts = 0;
    const standIn = createServer((s) => (attempts++, s.destroy()));
    await new Promise<void>((r) => standIn.listen(port, '127.0.0.1', () => r()));
    await waitFor(() => attempts >= 7, 'seven reconnect attempts during the outage', 30_000);
    await new Promise((r) => standIn.close(r));
    const second = await orchestrator({ port });
    // ceiling after 7 attempts: 2 s (it was 10 s); plus a handshake and a poll
    await waitFor(() => second.orch.fleet.getRoom('survivor') !== undefined, 'room back', 4000);
  }, 60_000);
});
