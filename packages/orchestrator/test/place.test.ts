import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { request } from 'undici';
import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';
import { attachFleet, createGameServer, type GameServer } from '@parlor/server';
import { FleetAgent, FleetAgentErrorCode, type FleetAgentError, FLEET_PROTOCOL_MINOR, FLEET_SUBPROTOCOL, FleetCloseCode, agentSubprotocols, decodeFrame, encodeFrame } from '@parlor/fleet-agent';
import type { Orchestrator } from '../src/index.js';
import { AGENT_KEY, MemoryHost, captureLogger, startAgent, startOrchestrator, waitFor, quietAgentLogger } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Tiny extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Tiny', tickRate: 10, maxPlayers: 2 };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

async function gameServer(): Promise<GameServer> {
  const { logger } = captureLogger();
  const server = await createGameServer({ games: { tiny: { gameClass: Tiny } }, port: 0, host: '127.0.0.1', logger });
  cleanups.push(() => server.close());
  return server;
}

/** A real game server wired to `orch` exactly as `parlor serve --fleet-url …` does it. */
async function fleetServer(orch: Orchestrator, name: string): Promise<{ server: GameServer; agent: FleetAgent }> {
  const server = await gameServer();
  const { logger } = captureLogger();
  const agent = attachFleet(server, { fleetUrl: orch.agentUrl, fleetKey: AGENT_KEY, name }, logger);
  cleanups.push(() => agent.disconnect());
  await agent.connect({ connectTimeoutMs: 3000 });
  await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.includes('tiny') === true, 'room types');
  return { server, agent };
}

async function post(server: GameServer, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await request(`${server.url}/parlor/api/fleet/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.statusCode, body: parsed };
}

async function lobby(server: GameServer): Promise<string> {
  const res = await request(`${server.url}/`);
  return res.body.text();
}

describe('place: a game server creates rooms through the orchestrator without an admin key', () => {
  it('POST /parlor/api/fleet/rooms on server A returns a joinUrl of a room in the read model; the lobby shows the button only with a fleet', async () => {
    const { orch, logs } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const a = await fleetServer(orch, 'a');
    const b = await fleetServer(orch, 'b');
    const plain = await gameServer();

    expect(await lobby(a.server)).toContain('New room (fleet)');
    expect(await lobby(a.server)).toContain('data-fleet-game="tiny"');
    expect(await lobby(plain)).not.toContain('New room (fleet)');
    expect((await post(plain, { game: 'tiny' })).status).toBe(404);

    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await post(a.server, { game: 'tiny' }, { origin: a.server.url });
      expect(r.status).toBe(200);
      const m = /\/play\/tiny\/([A-Za-z0-9_-]+)$/.exec(r.body.joinUrl);
      expect(m).not.toBeNull();
      const room = orch.fleet.getRoom(m![1])!;
      expect(room).toBeDefined();
      expect(room).toMatchObject({ type: 'tiny', joinUrl: r.body.joinUrl, instanceId: r.body.instanceId, roomId: r.body.roomId, provenance: 'fleet' });
      expect([a.agent.instanceId, b.agent.instanceId]).toContain(room.instanceId);
      seen.add(room.instanceId);
      // the room is live on the server that runs it and its play page opens
      const host = room.instanceId === a.agent.instanceId ? a.server : b.server;
      expect(host.rooms().some((s) => s.id === room.roomId)).toBe(true);
      expect((await request(r.body.joinUrl)).statusCode).toBe(200);
    }
    expect(seen.size).toBe(2); // least-loaded: the second room goes to the other server
    // each place is recorded as the room's start, asked by the lobby of the instance that placed it
    const starts = await orch.operationStore.log.list({ op: 'start' });
    expect(starts.map((o) => [o.source, o.actor, o.state, o.game])).toEqual([
      ['lobby', a.agent.instanceId, 'succeeded', 'tiny'],
      ['lobby', a.agent.instanceId, 'succeeded', 'tiny'],
    ]);
    await waitFor(() => logs.some((l) => l.msg === 'audit' && l.op === 'place' && l.instance === a.agent.instanceId && /^fp:[0-9a-f]{8}$/.test(String(l.keyFp)) && l.game === 'tiny' && l.status === 'OK'), 'audit line');

    // the route's guards
    expect((await post(a.server, { game: 'tiny' }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(a.server, 'game=tiny', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post(a.server, { game: 'tiny', pad: 'x'.repeat(2000) })).status).toBe(413);
    expect((await post(a.server, '{nope')).status).toBe(400);
    expect((await post(a.server, { game: 'chess' })).status).toBe(404);
    expect((await request(`${a.server.url}/parlor/api/fleet/rooms`)).statusCode).toBe(405);
  });

  it('over the place rate limit the answer is INSTANCE_BUSY, and the agent is not kicked', async () => {
    const { orch } = await startOrchestrator({ placePerSecond: 5, placeBurst: 10 });
    cleanups.push(() => orch.shutdown());
    const { agent } = await startAgent(orch, { capacity: { maxRooms: 100 } });
    cleanups.push(() => agent.disconnect());
    let left = 0;
    orch.on('instance:leave', () => left++);
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => agent.requestRoom('pong')));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const busy = results.filter((r) => r.status === 'rejected' && (r.reason as FleetAgentError).fleetCause === 'INSTANCE_BUSY');
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(ok.length).toBeLessThanOrEqual(11);
    expect(busy.length).toBe(16 - ok.length);
    expect((busy[0] as PromiseRejectedResult).reason).toMatchObject({ code: FleetAgentErrorCode.PLACE_REJECTED });
    expect(agent.isConnected).toBe(true);
    expect(left).toBe(0);
    expect(orch.fleet.getInstance(agent.processUid)).toBeDefined();
    // the bucket refills: asking again until one goes through (each refusal is INSTANCE_BUSY, never a kick)
    let placed: Awaited<ReturnType<typeof agent.requestRoom>> | undefined;
    await waitFor(async () => {
      placed = await agent.requestRoom('pong').catch((e: FleetAgentError) => {
        if (e.fleetCause !== 'INSTANCE_BUSY') throw e;
        return undefined;
      });
      return placed !== undefined;
    }, 'the place bucket to refill');
    expect(placed).toMatchObject({ instanceId: agent.instanceId });
    expect(agent.isConnected).toBe(true);
  });

  it('a place for an unknown game or with bad options gets a clear rejection; timeouts and a missing room are typed errors', async () => {
    const { orch } = await startOrchestrator({ commandTimeoutMs: 600 });
    cleanups.push(() => orch.shutdown());
    const { agent, host } = await startAgent(orch);
    cleanups.push(() => agent.disconnect());

    const unknown = await agent.requestRoom('chess').catch((e: FleetAgentError) => e);
    expect(unknown).toMatchObject({ code: FleetAgentErrorCode.PLACE_REJECTED, fleetCause: 'NO_CANDIDATE' });
    expect((unknown as Error).message).toMatch(/chess/);
    await expect(agent.requestRoom('bad type!')).rejects.toMatchObject({ fleetCause: 'VALIDATION' });
    await expect(agent.requestRoom('pong', [] as never)).rejects.toMatchObject({ fleetCause: 'VALIDATION' });
    await expect(agent.requestRoom('pong', { big: 'x'.repeat(40_000) })).rejects.toMatchObject({ fleetCause: 'VALIDATION' });
    expect(agent.isConnected).toBe(true);

    // options reach the game
    const placed = await agent.requestRoom('pong', { mode: 'ranked' });
    expect(host.rooms.get(placed.roomId)!.options).toEqual({ mode: 'ranked' });

    // a wedged host: the agent's own timeout fires first; the late `placed` is ignored
    host.wedged = true;
    await expect(agent.requestRoom('pong', undefined, { timeoutMs: 150 })).rejects.toMatchObject({ code: FleetAgentErrorCode.PLACE_TIMEOUT });
    // the orchestrator's own command timeout (600 ms) ends the create and answers the place late
    await waitFor(() => orch.fleet.stats.inflight === 0, 'the orchestrator to give up on the wedged create', 5000);
    // a round trip on the same socket after that late answer: the agent ignored it and still places
    host.wedged = false;
    await expect(agent.requestRoom('pong')).resolves.toMatchObject({ instanceId: agent.instanceId });
    expect(agent.isConnected).toBe(true);

    const idle = new FleetAgent(new MemoryHost(), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', logger: quietAgentLogger });
    await expect(idle.requestRoom('pong')).rejects.toMatchObject({ code: FleetAgentErrorCode.NOT_CONNECTED });
  });

  it('speaks protocol 1.3 (place since 1.1, catalog rooms since 1.2, room lifecycle since 1.3); a place without a valid id, or a duplicate one in flight, gets the agent kicked', async () => {
    expect(FLEET_PROTOCOL_MINOR).toBe(3);
    const { orch } = await startOrchestrator({ commandTimeoutMs: 2000 });
    cleanups.push(() => orch.shutdown());
    const raw = async (): Promise<{ ws: WebSocket; frames: any[]; closed: Promise<number> }> => {
      const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
      cleanups.push(() => ws.terminate());
      const frames: any[] = [];
      const closed = new Promise<number>((r) => ws.on('close', (c) => r(c)));
      ws.on('message', (d: Buffer) => {
        const f = decodeFrame(d)!;
        frames.push({ ...f.frame, minor: f.minor });
        if (f.frame.t === 'poll') ws.send(encodeFrame({ t: 'state', seq: f.frame.seq, hash: 'h', snapshot: { draining: false, roomTypes: [], rooms: [] } }));
      });
      await new Promise((r) => ws.on('open', r));
      expect(ws.protocol).toBe(FLEET_SUBPROTOCOL);
      ws.send(encodeFrame({ t: 'hello', processUid: `raw-${Math.random().toString(36).slice(2, 10)}`, name: 'raw', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
      await waitFor(() => frames.some((f) => f.t === 'welcome'), 'welcome');
      return { ws, frames, closed };
    };
    const one = await raw();
    expect(one.frames.find((f) => f.t === 'welcome').minor).toBe(3);
    one.ws.send(encodeFrame({ t: 'place', id: 7, type: 'nothing-here' }));
    await waitFor(() => one.frames.some((f) => f.t === 'placed'), 'placed');
    expect(one.frames.find((f) => f.t === 'placed')).toMatchObject({ id: 7, ok: false, cause: 'NO_CANDIDATE' });
    one.ws.send(encodeFrame({ t: 'place', id: 'x' as never, type: 'pong' }));
    expect(await one.closed).toBe(FleetCloseCode.PROTOCOL);

    // duplicate id while the first is in flight: needs a slow create, so a real agent serves the room
    const slow = new MemoryHost();
    slow.delayMs = 300;
    const { agent } = await startAgent(orch, {}, slow);
    cleanups.push(() => agent.disconnect());
    const two = await raw();
    two.ws.send(encodeFrame({ t: 'place', id: 1, type: 'pong' }));
    two.ws.send(encodeFrame({ t: 'place', id: 1, type: 'pong' }));
    expect(await two.closed).toBe(FleetCloseCode.PROTOCOL);
    expect(agent.isConnected).toBe(true);
  });
});
