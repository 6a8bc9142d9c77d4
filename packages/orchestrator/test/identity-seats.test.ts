/**
 * Seat tickets carry the player's identity through the fleet: `POST /v1/rooms/:id/seats` with
 * `userIds` → the agent → the host, which admits each ticket's own user only. A real orchestrator,
 * a real game server with its fleet agent and player identity, players over real WebSockets.
 */
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, Game, Group, PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage, type GameMetadata, type Node } from '@parlor/squish';
import { createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { FleetAgent } from '@parlor/fleet-agent';
import { FleetClient, type Orchestrator } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const SECRET = 'an-orchestrator-test-secret-of-32-bytes-or-more';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Duel extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Duel', tickRate: 10, maxPlayers: 2, access: { requiresAuth: true } };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

function token(sub: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

async function fleet(): Promise<{ orch: Orchestrator; server: GameServer; client: FleetClient }> {
  const { orch } = await startOrchestrator();
  cleanups.push(() => orch.shutdown());
  const server = await createGameServer({ games: { duel: { gameClass: Duel } }, identity: { secrets: [SECRET] }, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
  cleanups.push(() => server.close());
  const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, logger: quietAgentLogger });
  cleanups.push(() => agent.disconnect());
  await agent.connect({ connectTimeoutMs: 3000 });
  await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.includes('duel') === true, 'room types');
  const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
  cleanups.push(() => client.close());
  return { orch, server, client };
}

/** Joins as a player with a ticket and an identity token; resolves on init, or with the close code and reason. */
function tryJoin(server: GameServer, roomId: string, ticket: string, identity: string): Promise<{ joined?: true; code?: number; reason?: string }> {
  const ws = new WebSocket(server.wsUrl);
  cleanups.push(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('open', () =>
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'duel', roomId, spectate: false, reconnectToken: '', ticket, name: 'p', clientInfo: 'test', token: identity })),
    );
    ws.on('message', (d: Buffer) => {
      if (decodeServerMessage(new Uint8Array(d)).type === 'init') resolve({ joined: true });
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

describe('seat tickets bound to users through the fleet', () => {
  it('POST /v1/rooms/:id/seats with userIds: each ticket admits its own user only (4403 for another)', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });
    const res = await http(orch, 'POST', `/v1/rooms/${room.roomId}/seats`, { body: { count: 2, userIds: ['ann', 'bob'] } });
    expect(res.status).toBe(201);
    const [forAnn, forBob] = res.body.data.tickets as string[];

    const eve = await tryJoin(server, room.roomId, forAnn, await token('eve'));
    expect(eve.code).toBe(CloseCode.TICKET_REJECTED);
    expect(eve.reason).toContain('this join ticket is for another signed-in player');
    expect(await tryJoin(server, room.roomId, forAnn, await token('ann'))).toEqual({ joined: true });
    expect((await tryJoin(server, room.roomId, forBob, await token('carl'))).code).toBe(CloseCode.TICKET_REJECTED);
    expect(await tryJoin(server, room.roomId, forBob, await token('bob'))).toEqual({ joined: true });
  });

  it('userIds must name one user per seat (400 VALIDATION); FleetClient passes them', async () => {
    const { orch, server, client } = await fleet();
    const room = await client.createRoom({ type: 'duel' });
    const bad = await http(orch, 'POST', `/v1/rooms/${room.roomId}/seats`, { body: { count: 2, userIds: ['only-one'] } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 'rejected', cause: 'VALIDATION' });
    expect((await http(orch, 'POST', `/v1/rooms/${room.roomId}/seats`, { body: { count: 1, userIds: [''] } })).status).toBe(400);
    const { tickets } = await client.reserveSeats(room.roomId, { count: 1, userIds: ['cat'] });
    expect((await tryJoin(server, room.roomId, tickets[0], await token('dog'))).code).toBe(CloseCode.TICKET_REJECTED);
    expect(await tryJoin(server, room.roomId, tickets[0], await token('cat'))).toEqual({ joined: true });
  });
});
