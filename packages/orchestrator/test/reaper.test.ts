// Rooms the orchestrator ends on its own: unjoined rooms after their TTL, destroys refused at the
// in-flight cap (retried, never leaked), and the later copy of a fleet room id on two instances.
import { afterEach, describe, expect, it } from 'vitest';
import type { Orchestrator, OrchestratorOptions } from '../src/index.js';
import { http, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function orchestrator(opts: OrchestratorOptions = {}) {
  const r = await startOrchestrator({ pollMs: 50, ...opts });
  cleanups.push(() => r.orch.shutdown());
  return r;
}
async function agent(orch: Orchestrator, name: string) {
  const r = await startAgent(orch, { name });
  cleanups.push(() => r.agent.disconnect());
  return r;
}

describe('room reaper', () => {
  it('ends a fleet room nobody joined within unjoinedRoomTtlMs; keeps a joined one and a local one', async () => {
    const { orch, logs } = await orchestrator({ unjoinedRoomTtlMs: 300 });
    const { host } = await agent(orch, 'a');
    await orch.createRoom({ type: 'pong', roomId: 'nobody-came' });
    await orch.createRoom({ type: 'pong', roomId: 'someone-came' });
    host.rooms.get('someone-came')!.clientCount = 1; // a player joined
    await waitFor(() => orch.fleet.getRoom('someone-came')?.clientCount === 1, 'join seen');
    host.rooms.get('someone-came')!.clientCount = 0; // and left again: still a joined room
    host.addLocal('players-own', 'pong', 0); // opened by a player's first join, empty now
    await waitFor(() => !host.rooms.has('nobody-came'), 'unjoined room destroyed on its host', 5000);
    await waitFor(() => orch.fleet.getRoom('nobody-came') === undefined, 'gone from the read model');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'unjoined room ended', room: 'nobody-came', ttlMs: 300 }));
    // a whole TTL later the others are still there
    await orch.createRoom({ type: 'pong', roomId: 'witness' });
    await waitFor(() => !host.rooms.has('witness'), 'a later unjoined room ended too', 5000);
    expect(host.rooms.has('someone-came')).toBe(true);
    expect(host.rooms.has('players-own')).toBe(true);
  });

  it('a DELETE refused 429 INSTANCE_BUSY is retried by the orchestrator until the room is gone', async () => {
    const { orch, logs } = await orchestrator({ maxInflightPerInstance: 1, unjoinedRoomTtlMs: 0 });
    const { host } = await agent(orch, 'a');
    await orch.createRoom({ type: 'pong', roomId: 'to-delete' });
    host.delayMs = 300;
    const busy = orch.createRoom({ type: 'pong', roomId: 'slow-create' }); // holds the only slot
    const res = await http(orch, 'DELETE', '/v1/rooms/to-delete');
    expect(res.status).toBe(429);
    expect(res.body.cause).toBe('INSTANCE_BUSY');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'destroy will be retried', room: 'to-delete', why: 'INSTANCE_BUSY' }));
    await busy;
    await waitFor(() => !host.rooms.has('to-delete'), 'destroyed on its host by the retry', 5000);
    await waitFor(() => orch.fleet.getRoom('to-delete') === undefined, 'gone from the read model');
    expect(host.rooms.has('slow-create')).toBe(true);
  });

  it('a fleet room id reported by a second instance: the first copy is kept, the second destroyed; a local duplicate is left alone', async () => {
    const { orch, logs } = await orchestrator({ unjoinedRoomTtlMs: 0 });
    const a = await agent(orch, 'a');
    const b = await agent(orch, 'b');
    a.host.rooms.set('twice', { roomId: 'twice', type: 'pong', clientCount: 1, metadata: {}, provenance: 'fleet', options: {} });
    await waitFor(() => orch.fleet.getRoom('twice')?.instanceId === a.agent.instanceId, 'first copy known');
    b.host.rooms.set('twice', { roomId: 'twice', type: 'pong', clientCount: 0, metadata: {}, provenance: 'fleet', options: {} });
    await waitFor(() => !b.host.rooms.has('twice'), 'second copy destroyed', 5000);
    expect(a.host.rooms.has('twice')).toBe(true);
    expect(orch.fleet.getRoom('twice')?.instanceId).toBe(a.agent.instanceId);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'second copy of a fleet room destroyed', room: 'twice', kept: a.agent.instanceId, destroyed: b.agent.instanceId }));
    await waitFor(() => orch.fleet.getInstance(b.agent.instanceId!)?.roomCount === 0, 'b reports it gone');
    b.host.addLocal('twice', 'pong', 1); // a player opened the same id on b: not ours to end
    await waitFor(() => logs.filter((l) => l.msg === 'room id on two instances, keeping the first' && l.room === 'twice').length >= 2, 'local duplicate seen');
    expect(b.host.rooms.has('twice')).toBe(true);
  });
});
