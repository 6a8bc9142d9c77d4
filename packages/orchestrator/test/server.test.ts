import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { request } from 'undici';
import { Game, Group, Text, PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage, type GameMetadata, type Node } from '@parlor/squish';
import { createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { FleetAgent } from '@parlor/fleet-agent';
import { FleetClient } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, startOrchestrator, waitFor, quietAgentLogger } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const seenOptions: Array<Record<string, unknown>> = [];
class OptionsGame extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Options', tickRate: 10, maxPlayers: 2 };
  }
  readonly root = new Group();
  constructor(options: Record<string, unknown> = {}) {
    super(options);
    seenOptions.push(options);
    this.root.addChild(new Text({ text: `mode ${String(options.mode ?? '-')}`, x: 1, y: 1, size: 4 }));
  }
  getLayers(): Node[] {
    return [this.root];
  }
}

async function gameServer(): Promise<GameServer> {
  const { logger } = captureLogger();
  const server = await createGameServer({ games: { opts: { gameClass: OptionsGame } }, port: 0, host: '127.0.0.1', logger });
  cleanups.push(() => server.close());
  return server;
}

/** Joins and resolves with `init`, or with the close code when refused. */
function tryJoin(server: GameServer, roomId: string, ticket = ''): Promise<{ init?: any; code?: number }> {
  const ws = new WebSocket(server.wsUrl);
  cleanups.push(() => ws.terminate());
  return new Promise((resolve) => {
    ws.on('open', () =>
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'opts', roomId, spectate: false, reconnectToken: '', ticket, name: 'p', clientInfo: 'test' })),
    );
    ws.on('message', (d: Buffer) => {
      const m = decodeServerMessage(new Uint8Array(d));
      if (m.type === 'init') resolve({ init: m });
    });
    ws.on('close', (code) => resolve({ code }));
  });
}

function join(server: GameServer, roomId: string): Promise<{ ws: WebSocket; init: any }> {
  const ws = new WebSocket(server.wsUrl);
  cleanups.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.on('open', () =>
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'opts', roomId, spectate: false, reconnectToken: '', ticket: '', name: 'p', clientInfo: 'test' })),
    );
    ws.on('message', (d: Buffer) => {
      const m = decodeServerMessage(new Uint8Array(d));
      if (m.type === 'init') resolve({ ws, init: m });
    });
    ws.on('error', reject);
  });
}

describe('with a real game server', () => {
  it('createRoom through FleetClient reaches the game with its options; players join at joinUrl; counts flow back; destroy ends the room', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const server = await gameServer();
    const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name: 'srv', logger: quietAgentLogger });
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 3000 });
    await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.includes('opts') === true, 'room types');

    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const room = await client.createRoom({ type: 'opts', options: { mode: 'ranked', seed: 7 } });
    expect(room.joinUrl).toBe(`${server.url}/play/opts/${room.roomId}`);
    expect(seenOptions.at(-1)).toEqual({ mode: 'ranked', seed: 7 });
    expect(server.rooms().map((s) => s.id)).toContain(room.roomId);
    expect((await client.room(room.roomId)).provenance).toBe('fleet');

    const page = await request(room.joinUrl);
    expect(page.statusCode).toBe(200);
    expect(await page.body.text()).toContain(room.roomId);

    const p1 = await join(server, room.roomId);
    expect(p1.init.roomId ?? room.roomId).toBe(room.roomId);
    await waitFor(() => orch.fleet.getRoom(room.roomId)?.clientCount === 1, 'client count reported');

    // a local room (first join without a fleet create) shows up as local
    await join(server, 'local-room');
    await waitFor(() => orch.fleet.getRoom('local-room')?.provenance === 'local', 'local room');

    // a second create with the same id is refused; a retry after ROOM_EXISTS is not counted as ours
    await expect(client.createRoom({ type: 'opts', roomId: room.roomId })).rejects.toMatchObject({ code: 'ROOM_EXISTS', status: 409 });

    await client.destroyRoom(room.roomId);
    expect(server.rooms().map((s) => s.id)).not.toContain(room.roomId);
    await waitFor(() => p1.ws.readyState === WebSocket.CLOSED, 'player closed');
  });

  it('seat reservations: single-use tickets with a TTL that the server honours', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const server = await gameServer();
    const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, logger: quietAgentLogger });
    cleanups.push(() => agent.disconnect());
    await agent.connect();
    await waitFor(() => orch.fleet.getInstance(agent.processUid)?.roomTypes.includes('opts') === true, 'room types');
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const room = await client.createRoom({ type: 'opts' });
    const seats = await client.reserveSeats(room.roomId, { count: 2, ttlMs: 1000 });
    expect(seats.tickets).toHaveLength(2);
    expect(seats.joinUrls[0]).toBe(`${room.joinUrl}?ticket=${encodeURIComponent(seats.tickets[0])}`);
    expect((await tryJoin(server, room.roomId)).code).toBe(4403); // no ticket
    expect((await tryJoin(server, room.roomId, 'forged')).code).toBe(4403);
    expect((await tryJoin(server, room.roomId, seats.tickets[0])).init).toBeDefined();
    expect((await tryJoin(server, room.roomId, seats.tickets[0])).code).toBe(4403); // single use
    // expiry: the clock (Date only; timers stay real) moves past the tickets' expiresAt instead of the test sleeping
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(seats.expiresAt + 1);
      expect((await tryJoin(server, room.roomId, seats.tickets[1])).code).toBe(4403); // expired
    } finally {
      vi.useRealTimers();
    }
    await expect(client.reserveSeats('no-such-room')).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND', status: 404 });
    await expect(client.reserveSeats(room.roomId, { count: 0 })).rejects.toMatchObject({ code: 'VALIDATION', status: 400 });
  });

  it('FleetClient SSE consumer resynchronises after the orchestrator restarts', async () => {
    const first = await startOrchestrator();
    const port = first.orch.port;
    const client = new FleetClient({ baseUrl: first.orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const syncs: any[] = [];
    const creates: string[] = [];
    const stream = client.events((e) => {
      if (e.name === 'sync') syncs.push(e.data);
      if (e.name === 'room:create') creates.push((e.data as any).room.roomId);
    });
    cleanups.push(() => stream.close());
    await waitFor(() => syncs.length === 1, 'first sync');
    await first.orch.shutdown();
    const second = await startOrchestrator({ port });
    cleanups.push(() => second.orch.shutdown());
    await waitFor(() => syncs.length === 2, 'sync after reconnect', 5000);
    expect(syncs[0]).toEqual({ reason: 'new', instances: [], rooms: [] });
    // the stream resumed with the first run's event id: the second run says it cannot replay across a restart
    expect(syncs[1]).toEqual({ reason: 'restart', instances: [], rooms: [] });
  });
});

describe('real processes: parlor-orchestrator and parlor serve --fleet-url', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  });

  function run(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; out: () => string } {
    const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, ...env, NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    return { proc, out: () => out };
  }

  it('--help works; an instance attaches with labels; a room is created over REST and its URL serves the play page', async () => {
    const help = run(['packages/orchestrator/src/cli.ts', '--help']);
    await new Promise((r) => help.proc.once('close', r));
    expect(help.out()).toContain('--agent-key <key>');
    expect(help.out()).toContain('PARLOR_ADMIN_KEYS');

    const orch = run(['packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--no-catalog', '--port', '0', '--poll', '200', '--log-level', 'info'], {
      PARLOR_AGENT_KEYS: AGENT_KEY,
      PARLOR_ADMIN_KEYS: `${ADMIN_KEY},another-admin-key-0000`,
    });
    await waitFor(() => /REST: +http:\/\/127\.0\.0\.1:(\d+)\/v1/.test(orch.out()), 'orchestrator up', 20_000);
    const port = Number(/REST: +http:\/\/127\.0\.0\.1:(\d+)/.exec(orch.out())![1]);
    expect(orch.out()).not.toContain(ADMIN_KEY);

    const srv = run([
      'packages/server/src/cli/cli.ts', 'serve', '--games', 'examples', '--host', '127.0.0.1', '--port', '0',
      '--fleet-url', `ws://127.0.0.1:${port}`, '--fleet-key', AGENT_KEY, '--name', 'box-1', '--label', 'region=eu',
    ]);
    const client = new FleetClient({ baseUrl: `http://127.0.0.1:${port}`, adminKey: 'another-admin-key-0000' });
    cleanups.push(() => client.close());
    await waitFor(async () => (await client.instances().catch(() => [])).some((i) => i.name === 'box-1' && i.roomTypes.includes('pong')), 'instance attached', 30_000);
    const [inst] = await client.instances();
    expect(inst.labels).toEqual({ region: 'eu' });
    const room = await client.createRoom({ type: 'pong', placement: { labels: { region: 'eu' } } });
    const page = await request(room.joinUrl);
    expect(page.statusCode).toBe(200);
    await page.body.text();
    // not a terminal: one JSON object per log line
    const logs = (): Array<Record<string, unknown>> => orch.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => logs().some((l) => l.msg === 'audit' && l.method === 'POST' && l.path === '/v1/rooms' && l.status === 201 && /^fp:[0-9a-f]{8}$/.test(String(l.keyFp))), 'audit line', 3000);
    srv.proc.kill('SIGTERM');
    await waitFor(async () => (await client.instances()).length === 0, 'instance gone after SIGTERM', 10_000);
  }, 60_000);
});
