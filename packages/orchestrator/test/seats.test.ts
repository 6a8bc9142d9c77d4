/**
 * Seats never oversell (issue 12, item 5): players + live tickets ≤ maxPlayers, enforced by the
 * host (the orchestrator's read model may be a poll behind). A real orchestrator, a real game
 * server with its fleet agent, players over real WebSockets.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { Game, Group, PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage, type GameMetadata, type Node } from '@parlor/squish';
import { createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { FleetAgent } from '@parlor/fleet-agent';
import { FleetClient, FleetClientError, type Orchestrator } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, describeContract, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  while (cleanups.length) await cleanups.pop()!();
});

class Duel extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Duel', tickRate: 10, maxPlayers: 2 };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

async function fleet(): Promise<{ orch: Orchestrator; server: GameServer; client: FleetClient }> {
  const { orch } = await startOrchestrator();
  cleanups.push(() => orch.shutdown());
  const server = await createGameServer({ games: { duel: { gameClass: Duel } }, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
  cleanups.push(() => server.close());
  const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, logger: quietAgentLogger });
  cleanups.push(() => agent.disconnect());
  await agent.connect({ connectTimeoutMs: 3000 });
  await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.includes('duel') === true, 'room types');
  const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
  cleanups.push(() => client.close());
  return { orch, server, client };
}

/** Joins as a player; resolves with `joined` on init, or the close code when refused. */
function tryJoin(server: GameServer, roomId: string, ticket = ''): Promise<{ joined?: true; code?: number }> {
  const ws = new WebSocket(server.wsUrl);
  cleanups.push(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('open', () =>
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'duel', roomId, spectate: false, reconnectToken: '', ticket, name: 'p', clientInfo: 'test' })),
    );
    ws.on('message', (d: Buffer) => {
      if (decodeServerMessage(new Uint8Array(d)).type === 'init') resolve({ joined: true });
    });
    ws.on('close', (code) => resolve({ code }));
  });
}

const seats = (orch: Orchestrator, roomId: string, body: Record<string, unknown>) => http(orch, 'POST', `/v1/rooms/${roomId}/seats`, { body });

describe('seat reservations never oversell', () => {
  it('over capacity → 409 ROOM_FULL with the free count; tickets hold seats until used or expired', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });

    // 3 seats in a 2-player room
    const over = await seats(orch, room.roomId, { count: 3 });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ status: 'rejected', cause: 'ROOM_FULL' });
    expect(over.body.message).toContain('2 of 2 seats free');

    const two = await seats(orch, room.roomId, { count: 2, ttlMs: 60_000 });
    expect(two.status).toBe(201);
    const [t1, t2] = two.body.data.tickets as string[];
    // both seats are held by live tickets: nothing more, through REST and through FleetClient's typed error
    expect((await seats(orch, room.roomId, { count: 1 })).body.cause).toBe('ROOM_FULL');
    const err = await client.reserveSeats(room.roomId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetClientError);
    expect(err).toMatchObject({ code: 'ROOM_FULL', status: 409 });

    // every ticket holder gets the seat it was promised; a used ticket's seat is a player's now
    expect(await tryJoin(server, room.roomId, t1)).toEqual({ joined: true });
    expect((await seats(orch, room.roomId, { count: 1 })).body.cause).toBe('ROOM_FULL');
    expect(await tryJoin(server, room.roomId, t2)).toEqual({ joined: true });
    const full = await seats(orch, room.roomId, { count: 1 });
    expect(full.status).toBe(409);
    expect(full.body.message).toContain('0 of 2 seats free (2 players, 0 live tickets)');
  });

  it('an expired ticket frees its seat', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });
    const r = await client.reserveSeats(room.roomId, { count: 2, ttlMs: 1000 });
    expect(await tryJoin(server, room.roomId, r.tickets[0])).toEqual({ joined: true });
    expect((await seats(orch, room.roomId, { count: 1 })).status).toBe(409);
    // the clock (Date only; timers stay real) moves past the tickets' expiry instead of the test sleeping
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(r.expiresAt + 1);
    const again = await seats(orch, room.roomId, { count: 1 });
    expect(again.status).toBe(201);
    expect((await seats(orch, room.roomId, { count: 1 })).status).toBe(409);
    expect(await tryJoin(server, room.roomId, again.body.data.tickets[0])).toEqual({ joined: true });
  });

  it('a room its players filled before any reservation refuses one', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });
    expect(await tryJoin(server, room.roomId)).toEqual({ joined: true });
    expect(await tryJoin(server, room.roomId)).toEqual({ joined: true });
    const r = await seats(orch, room.roomId, { count: 1 });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ cause: 'ROOM_FULL' });
    // the host's refusal is typed on the library too
    expect(() => server.reserveSeats(room.roomId, 1, 1000)).toThrow(expect.objectContaining({ code: 'SERVER_ROOM_FULL' }));
  });

  it('concurrent reservations that together exceed the capacity: exactly the free seats are sold, and each ticket seats its holder', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });
    const answers = await Promise.all(Array.from({ length: 6 }, () => seats(orch, room.roomId, { count: 1 })));
    const sold = answers.filter((a) => a.status === 201);
    expect(sold).toHaveLength(2);
    expect(answers.filter((a) => a.status === 409 && a.body.cause === 'ROOM_FULL')).toHaveLength(4);
    for (const a of sold) expect(await tryJoin(server, room.roomId, a.body.data.tickets[0])).toEqual({ joined: true });
    // the same with several seats per request: 1 + 2 cannot both fit in a fresh 2-player room
    const room2 = await client.createRoom({ type: 'duel' });
    const mixed = await Promise.all([seats(orch, room2.roomId, { count: 2 }), seats(orch, room2.roomId, { count: 1 }), seats(orch, room2.roomId, { count: 2 })]);
    const granted = mixed.filter((a) => a.status === 201).reduce((n, a) => n + (a.body.data.tickets as string[]).length, 0);
    expect(granted).toBeLessThanOrEqual(2);
    expect(granted).toBeGreaterThanOrEqual(1);
    expect(mixed.every((a) => a.status === 201 || a.body.cause === 'ROOM_FULL')).toBe(true);
  });
});

describeContract();
