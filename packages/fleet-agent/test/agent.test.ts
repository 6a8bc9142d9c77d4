import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParlorError } from '@parlor/squish';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import {
  FLEET_KEY_PREFIX,
  FLEET_SUBPROTOCOL,
  FleetAgent,
  FleetAckCode,
  FleetAgentError,
  FleetAgentErrorCode,
  FleetCloseCode,
  agentSubprotocols,
  decodeFrame,
  encodeFrame,
  type FleetFrame,
  type FleetHost,
  type HostRoom,
} from '../src/index.js';

const host = (rooms: HostRoom[] = []): FleetHost => ({
  listRooms: () => rooms,
  roomTypes: () => ['pong'],
  createRoom: (type, roomId) => void rooms.push({ roomId, type, clientCount: 0 }),
  destroyRoom: (roomId) => void rooms.splice(rooms.findIndex((r) => r.roomId === roomId), 1),
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A minimal orchestrator side on a real socket: checks the key header and drives the agent. */
async function fakeOrchestrator(key: string) {
  const seen: { protocols: string[]; url: string; frames: FleetFrame[] } = { protocols: [], url: '', frames: [] };
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (p) => (p.has(FLEET_SUBPROTOCOL) ? FLEET_SUBPROTOCOL : false),
    verifyClient: (info, cb) => {
      const list = String(info.req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      seen.protocols = list;
      seen.url = info.req.url ?? '';
      const k = list.find((s) => s.startsWith(FLEET_KEY_PREFIX));
      cb(k !== undefined && Buffer.from(k.slice(FLEET_KEY_PREFIX.length), 'base64url').toString() === key, 401);
    },
  });
  cleanups.push(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  const sockets: import('ws').WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      seen.frames.push(f);
      if (f.t === 'hello') ws.send(encodeFrame({ t: 'welcome', instanceId: 'i-1', pollMs: 1000 }));
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, seen, sockets, wss };
}

describe('FleetAgent', () => {
  it('validates options', () => {
    const ok = { url: 'ws://127.0.0.1:1', key: 'k', endpointUrl: 'http://127.0.0.1:2' };
    expect(() => new FleetAgent(host(), { ...ok, url: 'http://x' })).toThrow(expect.objectContaining({ code: FleetAgentErrorCode.CONFIG }));
    expect(() => new FleetAgent(host(), { ...ok, url: 'ws://x/?key=secret' })).toThrow(/query/);
    expect(() => new FleetAgent(host(), { ...ok, key: '' })).toThrow(/key/);
    expect(() => new FleetAgent(host(), { ...ok, endpointUrl: 'ftp://x' })).toThrow(/endpointUrl/);
    expect(() => new FleetAgent(host(), { ...ok, capacity: { maxRooms: 0 } })).toThrow(/capacity/);
    expect(new FleetAgent(host(), ok).status).toBe('closed');
  });

  it('sends the key only in Sec-WebSocket-Protocol, says hello with its processUid, answers polls full or hash-only, acks commands', async () => {
    const orch = await fakeOrchestrator('s3cret-key');
    const rooms: HostRoom[] = [{ roomId: 'a', type: 'pong', clientCount: 2 }];
    const agent = new FleetAgent(host(rooms), { url: orch.url, key: 's3cret-key', endpointUrl: 'http://127.0.0.1:2', labels: { region: 'eu' }, logger: pino({ level: 'silent' }) });
    cleanups.push(() => agent.disconnect());
    const statuses: string[] = [];
    agent.on('status', (s) => statuses.push(s));
    await agent.connect({ connectTimeoutMs: 2000 });
    expect(agent.instanceId).toBe('i-1');
    expect(orch.seen.url).toBe('/v1/agent');
    expect(orch.seen.url).not.toContain('s3cret');
    expect(orch.seen.protocols).toEqual(agentSubprotocols('s3cret-key'));
    const hello = orch.seen.frames[0] as Extract<FleetFrame, { t: 'hello' }>;
    expect(hello).toMatchObject({ t: 'hello', processUid: agent.processUid, labels: { region: 'eu' }, capacity: { maxConnections: 1000, maxRooms: 100 } });
    const ws = orch.sockets[0];
    const next = (t: string) =>
      new Promise<any>((r) => ws.on('message', function on(d: Buffer) {
        const f = decodeFrame(d)!.frame;
        if (f.t === t) { ws.off('message', on); r(f); }
      }));
    let p = next('state');
    ws.send(encodeFrame({ t: 'poll', seq: 1, hash: null }));
    const full = await p;
    expect(full.snapshot.rooms).toEqual([expect.objectContaining({ roomId: 'a', clientCount: 2, provenance: 'local' })]);
    p = next('state');
    ws.send(encodeFrame({ t: 'poll', seq: 2, hash: full.hash }));
    const same = await p;
    expect(same).toMatchObject({ seq: 2, hash: full.hash });
    expect(same.snapshot).toBeUndefined();
    p = next('ack');
    ws.send(encodeFrame({ t: 'cmd', id: 9, op: 'createRoom', type: 'pong', roomId: 'b', options: {} }));
    expect(await p).toMatchObject({ id: 9, ok: true, room: { roomId: 'b', provenance: 'fleet' } });
    p = next('ack');
    ws.send(encodeFrame({ t: 'cmd', id: 10, op: 'createRoom', type: 'chess', roomId: 'c', options: {} }));
    expect(await p).toMatchObject({ id: 10, ok: false, error: { code: 'UNKNOWN_ROOM_TYPE' } });
    expect(statuses).toEqual(['connecting', 'connected']);
  });

  it('logs objects through a pino-shaped logger (a child named after the agent)', async () => {
    const orch = await fakeOrchestrator('k');
    const records: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const bindings: Array<Record<string, unknown>> = [];
    const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void records.push({ level, msg, fields });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b: Record<string, unknown>) => (bindings.push(b), logger) };
    const agent = new FleetAgent(host(), { url: orch.url, key: 'k', endpointUrl: 'http://127.0.0.1:2', name: 'a1', minBackoffMs: 20, logger });
    cleanups.push(() => agent.disconnect());
    await agent.connect();
    expect(bindings).toEqual([{ agent: 'a1' }]);
    for (const ws of orch.sockets) ws.send(Buffer.from([0xc1, 0xc1, 0xc1]));
    await waitUntil(() => records.some((r) => r.level === 'warn' && r.msg === 'bad frame from the orchestrator; reconnecting'));
  });

  it('reconnects with backoff after a drop, keeping its processUid', async () => {
    const orch = await fakeOrchestrator('k');
    const agent = new FleetAgent(host(), { url: orch.url, key: 'k', endpointUrl: 'http://127.0.0.1:2', minBackoffMs: 20, logger: pino({ level: 'silent' }) });
    cleanups.push(() => agent.disconnect());
    await agent.connect();
    orch.sockets[0].terminate();
    await new Promise<void>((r) => agent.once('connected', () => r()));
    const hellos = orch.seen.frames.filter((f) => f.t === 'hello') as Array<Extract<FleetFrame, { t: 'hello' }>>;
    expect(hellos).toHaveLength(2);
    expect(hellos[0].processUid).toBe(hellos[1].processUid);
    await agent.disconnect();
    expect(agent.status).toBe('closed');
  });

  it('refuses commands with the fleet protocol’s ack codes; a host error keeps its own code, wrapped when the room state says more', async () => {
    const orch = await fakeOrchestrator('k');
    const rooms: HostRoom[] = [{ roomId: 'live', type: 'pong', clientCount: 0 }];
    const h: FleetHost = {
      ...host(rooms),
      // a room that appears while the host creates it (a player's first join) and a host that then refuses
      createRoom: (type, roomId) => {
        if (roomId === 'racy') {
          rooms.push({ roomId, type, clientCount: 1 });
          throw Object.assign(new Error('room exists'), { code: 'SERVER_ROOM_EXISTS' });
        }
        throw Object.assign(new Error('no processes left'), { code: 'SERVER_RUNTIME_START_FAILED' });
      },
      reserveSeats: (roomId) => {
        if (roomId === 'live') rooms.splice(0, 1); // ends while reserving
        throw Object.assign(new Error('no such room'), { code: 'SERVER_ROOM_NOT_FOUND' });
      },
    };
    const agent = new FleetAgent(h, { url: orch.url, key: 'k', endpointUrl: 'http://127.0.0.1:2', logger: pino({ level: 'silent' }) });
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 2000 });
    const ws = orch.sockets[0];
    const ack = (id: number, cmd: Record<string, unknown>) =>
      new Promise<any>((r) => {
        ws.on('message', function on(d: Buffer) {
          const f = decodeFrame(d)!.frame;
          if (f.t === 'ack' && f.id === id) { ws.off('message', on); r(f); }
        });
        ws.send(encodeFrame({ t: 'cmd', id, ...cmd } as never));
      });
    expect(await ack(1, { op: 'createRoom', type: 'pong', roomId: 'bad id!' })).toMatchObject({ ok: false, error: { code: FleetAckCode.VALIDATION } });
    expect(await ack(2, { op: 'createRoom', type: 'pong', roomId: 'live' })).toMatchObject({ ok: false, error: { code: FleetAckCode.ROOM_EXISTS } });
    const racy = await ack(3, { op: 'createRoom', type: 'pong', roomId: 'racy' });
    expect(racy).toMatchObject({ ok: false, error: { code: FleetAckCode.ROOM_EXISTS } });
    expect(racy.error.message).toContain('SERVER_ROOM_EXISTS: room exists');
    expect(await ack(4, { op: 'createRoom', type: 'pong', roomId: 'other' })).toMatchObject({ ok: false, error: { code: 'SERVER_RUNTIME_START_FAILED', message: 'no processes left' } });
    expect(await ack(5, { op: 'reserveSeats', roomId: 'gone', count: 1, ttlMs: 1000 })).toMatchObject({ ok: false, error: { code: FleetAckCode.ROOM_NOT_FOUND } });
    const ended = await ack(6, { op: 'reserveSeats', roomId: 'live', count: 1, ttlMs: 1000 });
    expect(ended).toMatchObject({ ok: false, error: { code: FleetAckCode.ROOM_NOT_FOUND } });
    expect(ended.error.message).toContain('SERVER_ROOM_NOT_FOUND');
    expect(await ack(7, { op: 'explode' })).toMatchObject({ ok: false, error: { code: FleetAckCode.UNKNOWN_COMMAND } });
    // its own close is the fleet range's BYE, not a game close code
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await agent.disconnect();
    expect(await closed).toBe(FleetCloseCode.BYE);
    expect(FleetCloseCode.BYE).toBeGreaterThanOrEqual(4900);
  });

  it('throws FleetAgentErrors (ParlorErrors, FLEET_AGENT_* codes) whose instanceof survives a second copy of the package', async () => {
    const other = (await import(/* @vite-ignore */ new URL('../src/errors.ts?second-copy', import.meta.url).href)) as typeof import('../src/errors.js');
    expect(other.FleetAgentError).not.toBe(FleetAgentError);
    let thrown: unknown;
    try {
      new FleetAgent(host(), { url: 'ws://127.0.0.1:1', key: '', endpointUrl: 'http://127.0.0.1:2' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown instanceof other.FleetAgentError).toBe(true);
    expect(thrown instanceof ParlorError).toBe(true);
    expect(new other.FleetAgentError(FleetAgentErrorCode.CLOSED, 'x') instanceof FleetAgentError).toBe(true);
    for (const code of Object.values(FleetAgentErrorCode)) expect(code).toMatch(/^FLEET_AGENT_[A-Z_]+$/);
  });
});

/** Waits (vitest's `vi.waitFor`, polling every 5 ms, 5 s at most) until `cond` holds. */
async function waitUntil(cond: () => boolean): Promise<void> {
  await vi.waitFor(
    () => {
      if (!cond()) throw new Error('timed out after 5000 ms');
    },
    { timeout: 5000, interval: 5 },
  );
}
