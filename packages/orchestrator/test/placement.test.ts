import { afterEach, describe, expect, it } from 'vitest';
import type { Orchestrator } from '../src/index.js';
import { MemoryHost, describeContract, http, startAgent, startOrchestrator, waitFor } from './helpers.js';

// Placement is a pure function inside the package; it is not exported, so these cases drive it
// through the public REST API (`POST /v1/rooms` with a `placement`) over a fleet whose load is set
// up with local rooms. Every case has one right answer: the fleets are built so that no choice is
// left to chance.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Spec {
  labels?: Record<string, string>;
  maxConnections?: number;
  maxRooms?: number;
  types?: string[];
  /** Client count of each local room. */
  rooms?: number[];
}

/** An orchestrator and one agent per spec; resolves with the instance ids by spec name. */
async function fleet(specs: Record<string, Spec>): Promise<{ orch: Orchestrator; id: Record<string, string> }> {
  const { orch } = await startOrchestrator();
  cleanups.push(() => orch.shutdown());
  const id: Record<string, string> = {};
  for (const [name, s] of Object.entries(specs)) {
    const host = new MemoryHost();
    host.types = s.types ?? ['pong'];
    (s.rooms ?? []).forEach((clients, i) => host.addLocal(`${name}-local-${i}`, host.types[0], clients));
    const { agent } = await startAgent(orch, { name, labels: s.labels ?? {}, capacity: { maxConnections: s.maxConnections ?? 100, maxRooms: s.maxRooms ?? 10 } }, host);
    cleanups.push(() => agent.disconnect());
    await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomCount === (s.rooms ?? []).length, `${name}'s rooms in the read model`);
    id[name] = agent.instanceId!;
  }
  return { orch, id };
}

async function placeOn(orch: Orchestrator, body: Record<string, unknown>): Promise<{ status: number; instanceId?: string; cause?: string }> {
  const res = await http(orch, 'POST', '/v1/rooms', { body });
  return { status: res.status, instanceId: res.body?.data?.instanceId, cause: res.body?.cause };
}

describe('placement (through POST /v1/rooms)', () => {
  it('filters by labels, room type and capacity (rooms and seats), then takes the least or most loaded', async () => {
    const { orch, id } = await fleet({
      low: { labels: { region: 'eu' }, rooms: [10, 10] }, // load max(20/100, 2/10) = 0.2
      high: { labels: { region: 'eu' }, rooms: [50] }, // load 0.5
      us: { labels: { region: 'us' } }, // load 0, wrong region
      cards: { labels: { region: 'eu' }, types: ['cards'] }, // load 0, other type
      noRoomLeft: { labels: { region: 'eu' }, maxRooms: 1, rooms: [0] }, // full: rooms
      noSeatLeft: { labels: { region: 'eu' }, maxConnections: 5, rooms: [5] }, // full: seats
    });
    expect(await placeOn(orch, { type: 'pong', placement: { labels: { region: 'eu' } } })).toMatchObject({ status: 201, instanceId: id.low });
    expect(await placeOn(orch, { type: 'pong', placement: { labels: { region: 'eu' }, policy: 'most-loaded' } })).toMatchObject({ status: 201, instanceId: id.high });
    expect(await placeOn(orch, { type: 'pong' })).toMatchObject({ status: 201, instanceId: id.us });
    expect(await placeOn(orch, { type: 'cards' })).toMatchObject({ status: 201, instanceId: id.cards });
    expect(await placeOn(orch, { type: 'cards', placement: { labels: { region: 'us' } } })).toMatchObject({ status: 409, cause: 'NO_CANDIDATE' });
    expect(await placeOn(orch, { type: 'pong', placement: { labels: { region: 'mars' } } })).toMatchObject({ status: 409, cause: 'NO_CANDIDATE' });
    // a pin still applies the filters: the full instances take nothing
    expect(await placeOn(orch, { type: 'pong', placement: { instanceId: id.noRoomLeft } })).toMatchObject({ status: 409, cause: 'NO_CANDIDATE' });
    expect(await placeOn(orch, { type: 'pong', placement: { instanceId: id.noSeatLeft } })).toMatchObject({ status: 409, cause: 'NO_CANDIDATE' });
    expect(await placeOn(orch, { type: 'pong', placement: { instanceId: 'i-nothing' } })).toMatchObject({ status: 404, cause: 'INSTANCE_NOT_FOUND' });
  });

  it('is deterministic: equal load goes to fewer rooms, then to the smaller instance id', async () => {
    // c has twice the room capacity: its load grows half as fast per room.
    const { orch, id } = await fleet({ a: {}, b: {}, c: { maxRooms: 20 } });
    // ids derive from processUids, so their order is not the joining order: the expectation follows the ids
    const byId = [id.a, id.b, id.c].sort();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await placeOn(orch, { type: 'pong' })).instanceId!);
    // The first three creates each meet a tie at load 0 (with 0 rooms) among the instances still
    // empty, so they go in id order: e.g. ids a < b < c give (0, 0, 0) → a; (.1, 0, 0) → b; (.1, .1, 0)
    // → c. Then (.1, .1, .05) → c (the lowest load); then (.1, .1, .1) → a and b have fewer rooms →
    // the smaller of their ids.
    expect(got).toEqual([...byId, id.c, [id.a, id.b].sort()[0]]);
  });

  it('skips a draining instance unless forced, and a pin to it says so', async () => {
    const { orch, id } = await fleet({ only: {} });
    expect((await http(orch, 'POST', `/v1/instances/${id.only}/drain`)).status).toBe(200);
    expect(await placeOn(orch, { type: 'pong' })).toMatchObject({ status: 409, cause: 'NO_CANDIDATE' });
    expect(await placeOn(orch, { type: 'pong', placement: { instanceId: id.only } })).toMatchObject({ status: 409, cause: 'INSTANCE_DRAINING' });
    expect(await placeOn(orch, { type: 'pong', placement: { instanceId: id.only, force: true } })).toMatchObject({ status: 201, instanceId: id.only });
    expect(await placeOn(orch, { type: 'pong', placement: { force: true } })).toMatchObject({ status: 201, instanceId: id.only });
  });
});

describeContract();
