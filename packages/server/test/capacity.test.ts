/**
 * Capacity limits, attacked over real sockets on 127.0.0.1 (other loopback addresses stand in
 * for other clients): connection caps refuse at accept (HTTP 429/503, before any WebSocket),
 * room creation is capped per address and per server, spectators per room, a client that
 * does not read is dropped instead of buffered, lists are bounded, and running out of file
 * descriptors (a real RLIMIT_NOFILE via `prlimit`) refuses connections and never throws. In every
 * attack a player already in a room keeps receiving frames.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode } from '@parlor/squish';
import { ServerError, type GameServer, type GameServerOptions } from '@parlor/server';
import { TestClient, get, logged, startServer, waitFor, type LogRecord } from './helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

let server: GameServer | null = null;
let logs: LogRecord[] = [];
let clients: TestClient[] = [];
let raw: Socket[] = [];
let child: ChildProcess | null = null;

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  for (const s of raw) s.destroy();
  raw = [];
  await server?.close();
  server = null;
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  child = null;
});

async function start(options: Partial<GameServerOptions> = {}): Promise<GameServer> {
  const started = await startServer({ games: { ticker: fixture('sandbox/ticker.ts'), big: fixture('capacity/big-frames.ts') }, ...options });
  server = started.server;
  logs = started.logs;
  return server;
}

/** A protocol client from `from` (a loopback address), tracked for cleanup. */
async function client(target: GameServer | string, from = '127.0.0.1'): Promise<TestClient> {
  const c = typeof target === 'string' ? new TestClient(target, { localAddress: from }) : new TestClient(target.wsUrl, { localAddress: from });
  clients.push(c);
  await c.opened;
  return c;
}

/** A player in a ticker room, synced: the co-tenant that must keep its frames. */
async function player(target: GameServer | string): Promise<TestClient> {
  const p = await client(target);
  await p.joinAndSync('ticker');
  return p;
}

interface RawConn {
  socket: Socket;
  data: string;
  closed: boolean;
}

/** Opens `n` idle TCP connections from `from` (they send nothing); records what the server answers. */
function flood(port: number, n: number, from: string): RawConn[] {
  const out: RawConn[] = [];
  for (let i = 0; i < n; i++) {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    const c: RawConn = { socket, data: '', closed: false };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      if (c.data.length < 512) c.data += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      c.closed = true;
    });
    raw.push(socket);
    out.push(c);
  }
  return out;
}

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string, from: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress: from });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

/** The value of one sample of the server's Prometheus text, 0 when absent. */
async function metric(s: GameServer, name: string, labels = ''): Promise<number> {
  const text = await s.metrics.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function keepsFrames(p: TestClient, n = 10): Promise<void> {
  await p.moreFrames(n, 10_000);
  expect(p.closeInfo).toBeNull();
  expect(p.errors).toEqual([]);
}

describe('connection caps', () => {
  it('over the per-address cap a connection gets 429 at accept, before any WebSocket; other addresses and the player in a room are unaffected', async () => {
    const s = await start({ maxConnectionsPerAddress: 8 });
    const p = await player(s); // one of the 8 connections of 127.0.0.1
    const conns = flood(s.port, 58, '127.0.0.1');
    await waitFor(() => conns.filter((c) => c.closed).length >= 51, '51 refused connections', 10_000);
    const refused = conns.filter((c) => c.closed);
    expect(refused).toHaveLength(51);
    expect(refused.every((c) => c.data.startsWith('HTTP/1.1 429 '))).toBe(true);
    expect(conns.filter((c) => !c.closed && c.data === '')).toHaveLength(7);
    // A WebSocket from that address is refused before it exists; another address still gets in.
    expect(await upgradeStatus(s.wsUrl, '127.0.0.1')).toBe(429);
    const other = await client(s, '127.0.0.2');
    await other.joinAndSync('ticker');
    await keepsFrames(p);
    expect(await metric(s, 'parlor_connections_refused_total', '{reason="address_full"}')).toBeGreaterThanOrEqual(52);
    expect(logged(logs, 'connection refused', { reason: 'address_full', level: 'warn' })).toBe(true);
    // Closing the flood frees the address's slots.
    for (const c of conns) c.socket.destroy();
    await waitFor(async () => (await metric(s, 'parlor_connections')) <= 2, 'flood connections gone');
    const again = await client(s, '127.0.0.1');
    await again.joinAndSync('ticker');
  });

  it('over the global cap a connection gets 503 at accept, whatever its address', async () => {
    const s = await start({ maxConnections: 10 });
    const p = await player(s);
    const conns = [...flood(s.port, 30, '127.0.0.2'), ...flood(s.port, 30, '127.0.0.3')];
    await waitFor(() => conns.filter((c) => c.closed).length >= 51, '51 refused connections', 10_000);
    const refused = conns.filter((c) => c.closed);
    expect(refused).toHaveLength(51);
    expect(refused.every((c) => c.data.startsWith('HTTP/1.1 503 '))).toBe(true);
    expect(await upgradeStatus(s.wsUrl, '127.0.0.4')).toBe(503);
    const health = await fetch(`${s.url}/healthz`).then(
      (r) => r.status,
      () => 'connection closed',
    );
    expect([503, 'connection closed']).toContain(health);
    await keepsFrames(p);
    expect(await metric(s, 'parlor_connections')).toBe(10);
    expect(await metric(s, 'parlor_connections_refused_total', '{reason="server_full"}')).toBeGreaterThanOrEqual(52);
  });

  it('refuses invalid limits with SERVER_CONFIG', async () => {
    for (const bad of [{ maxConnections: 0 }, { maxRooms: 1.5 }, { maxConnectionsPerAddress: -1 }, { maxBufferedBytes: 1024, backpressureBytes: 4096 }, { listLimit: Number.NaN }, { instanceId: 'has space' }]) {
      const err = await start(bad as Partial<GameServerOptions>).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ServerError);
      expect((err as ServerError).code).toBe('SERVER_CONFIG');
    }
  });
});

describe('room caps', () => {
  it('one address creates at most roomsPerAddressPerMinute rooms (4429); joining existing ones and other addresses are not limited', async () => {
    const s = await start({ roomsPerAddressPerMinute: 3 });
    const p = await player(s); // creates 1 room from 127.0.0.1
    // The attack: one client joining fresh room ids as fast as it can.
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await client(s, '127.0.0.5');
      c.join('ticker', { roomId: `fresh-${i}` });
      await waitFor(() => c.init !== null || c.closeInfo !== null, `answer to join ${i}`);
      codes.push(c.closeInfo?.code ?? 0);
    }
    expect(codes.filter((c) => c === 0)).toHaveLength(3);
    expect(codes.filter((c) => c === CloseCode.RATE_LIMITED)).toHaveLength(17);
    const refused = clients.find((c) => c.closeInfo?.code === CloseCode.RATE_LIMITED)!;
    const err = refused.messages.find((m) => m.type === 'error');
    expect(err && err.type === 'error' ? err.message : '').toMatch(/rooms created per minute/);
    expect(s.rooms().length).toBe(4);
    // Joining an existing room is not a creation; another address has its own budget.
    const joiner = await client(s, '127.0.0.5');
    await joiner.joinAndSync('ticker', { roomId: 'fresh-0' });
    const other = await client(s, '127.0.0.6');
    await other.joinAndSync('ticker', { roomId: 'elsewhere' });
    await keepsFrames(p);
    expect(await metric(s, 'parlor_input_rejected_total', '{reason="room_rate"}')).toBe(17);
  });

  it('a draining server opens no new room (4503, SERVER_BUSY, /readyz 503) while its live rooms play on and take players', async () => {
    const s = await start({});
    const p = await player(s);
    s.openRoom('ticker', 'open-1');
    expect((await get(s, '/readyz')).status).toBe(200);
    s.drain();
    expect(s.draining).toBe(true);
    expect((await get(s, '/readyz')).status).toBe(503);
    let refused: unknown = null;
    try {
      s.openRoom('ticker', 'api-new');
    } catch (err) {
      refused = err;
    }
    expect((refused as ServerError).code).toBe('SERVER_BUSY');
    const c = await client(s, '127.0.0.2');
    c.join('ticker', { roomId: 'brand-new' });
    expect((await c.closed()).code).toBe(CloseCode.SERVER_BUSY);
    expect(await metric(s, 'parlor_input_rejected_total', '{reason="draining"}')).toBe(1);
    // A live room still takes a player, and the first player keeps receiving frames.
    const joiner = await client(s, '127.0.0.3');
    await joiner.joinAndSync('ticker', { roomId: 'open-1' });
    await keepsFrames(p);
  });

  it('at maxRooms a join that would create a room gets 4503 and openRoom throws SERVER_BUSY', async () => {
    const s = await start({ maxRooms: 3 });
    const p = await player(s);
    s.openRoom('ticker', 'api-1');
    s.openRoom('ticker', 'api-2');
    let busy: unknown = null;
    try {
      s.openRoom('ticker', 'api-3');
    } catch (err) {
      busy = err;
    }
    expect(busy).toBeInstanceOf(ServerError);
    expect((busy as ServerError).code).toBe('SERVER_BUSY');
    const c = await client(s, '127.0.0.2');
    c.join('ticker', { roomId: 'one-more' });
    expect((await c.closed()).code).toBe(CloseCode.SERVER_BUSY);
    const auto = await client(s, '127.0.0.3');
    auto.join('big'); // no open big room: would create one
    expect((await auto.closed()).code).toBe(CloseCode.SERVER_BUSY);
    // Existing rooms still take players.
    const joiner = await client(s, '127.0.0.2');
    await joiner.joinAndSync('ticker', { roomId: 'api-1' });
    expect(s.rooms()).toHaveLength(3);
    await keepsFrames(p);
    // A freed slot can be used again.
    await s.closeRoom('api-2');
    const later = await client(s, '127.0.0.2');
    await later.joinAndSync('ticker', { roomId: 'one-more' });
  });

  it('spectators per room are capped (4409); they need no ticket but count; players are not affected', async () => {
    const s = await start({ maxSpectatorsPerRoom: 2 });
    const p = await player(s);
    const sid = p.init!.roomId;
    s.reserveSeats(sid, 1, 60_000); // players now need a ticket, spectators do not
    for (let i = 0; i < 2; i++) await (await client(s, `127.0.0.${10 + i}`)).joinAndSync('ticker', { roomId: sid, spectate: true });
    const third = await client(s, '127.0.0.12');
    third.join('ticker', { roomId: sid, spectate: true });
    expect((await third.closed()).code).toBe(CloseCode.ROOM_FULL);
    const err = third.messages.find((m) => m.type === 'error');
    expect(err && err.type === 'error' ? err.message : '').toMatch(/spectators/);
    // "Any room" spectating finds none with room either.
    const any = await client(s, '127.0.0.13');
    any.join('ticker', { spectate: true });
    expect((await any.closed()).code).toBe(CloseCode.ROOM_FULL);
    expect(s.rooms().find((x) => x.id === sid)?.spectators).toBe(2);
    await keepsFrames(p);
    expect(await metric(s, 'parlor_input_rejected_total', '{reason="spectators_full"}')).toBe(2);
  });
});

describe('a client that does not read', () => {
  it.each([
    { what: 'stays over the watermark', opts: { backpressureBytes: 64 * 1024, maxBufferedBytes: 8 * 1024 * 1024, slowClientTimeoutMs: 1500 } },
    { what: 'stays over the hard cap', opts: { backpressureBytes: 64 * 1024, maxBufferedBytes: 100 * 1024, slowClientTimeoutMs: 600_000 } },
  ])('is dropped with 4413 when it $what; host buffers stay bounded and players keep their frames', async ({ opts }) => {
    const s = await start({ ...opts, reconnectGraceMs: 100 });
    const p = await client(s);
    const init = await p.joinAndSync('big');
    const spectator = await client(s, '127.0.0.2');
    await spectator.joinAndSync('big', { roomId: init.roomId, spectate: true });
    spectator.pause();
    let most = 0;
    await waitFor(
      async () => {
        most = Math.max(most, await metric(s, 'parlor_buffered_bytes'));
        return (await metric(s, 'parlor_input_rejected_total', '{reason="slow_client"}')) >= 1;
      },
      'the non-reading spectator dropped',
      20_000,
    );
    // Never more than the watermark plus a frame (~200 KB) per socket queued in this process.
    expect(most).toBeLessThanOrEqual(opts.backpressureBytes + 3 * 256 * 1024);
    expect(logged(logs, 'client dropped', { reason: 'slow_client', code: CloseCode.SLOW_CLIENT })).toBe(true);
    await waitFor(async () => (await metric(s, 'parlor_buffered_bytes')) < opts.backpressureBytes + 256 * 1024, 'its buffers freed');
    await waitFor(() => s.rooms()[0]?.spectators === 0, 'the spectator gone after its grace period');
    await keepsFrames(p);
    // When it reads again it finds its socket closed.
    spectator.resume();
    const closed = await spectator.closed(10_000);
    expect([CloseCode.SLOW_CLIENT, 1006]).toContain(closed.code);
  });
});

describe('bounded lists', () => {
  it('the lobby lists at most listLimit rooms and the rooms API pages with ?offset=&limit=', async () => {
    const s = await start({ listLimit: 3 });
    for (let i = 0; i < 5; i++) s.openRoom('ticker', `room-${i}`);
    const all = JSON.parse((await get(s, '/parlor/api/rooms')).text) as { rooms: Array<{ id: string }>; total: number; offset: number; limit: number };
    expect(all).toMatchObject({ total: 5, offset: 0, limit: 3 });
    expect(all.rooms.map((x) => x.id)).toEqual(['room-0', 'room-1', 'room-2']);
    const next = JSON.parse((await get(s, '/parlor/api/rooms?offset=3&limit=3')).text) as { rooms: Array<{ id: string }> };
    expect(next.rooms.map((x) => x.id)).toEqual(['room-3', 'room-4']);
    for (const q of ['limit=4', 'limit=0', 'offset=-1', 'limit=abc']) expect((await get(s, `/parlor/api/rooms?${q}`)).status, q).toBe(400);
    const lobby = (await get(s, '/')).text;
    expect(lobby.match(/data-room="/g)).toHaveLength(3);
  });
});

describe('out of file descriptors (a real RLIMIT_NOFILE)', () => {
  const prlimit = spawnSync('prlimit', ['--version']).status === 0;
  // util-linux's prlimit sets a real RLIMIT_NOFILE on the server's process; in CI its absence is a failure, not a skip.
  if (!prlimit && process.env.CI === 'true') throw new Error('CI=true but `prlimit` (util-linux) is missing: the file-descriptor tests must run in CI');
  if (!prlimit) console.warn('capacity: file-descriptor tests skipped (no prlimit)');

  /** Starts the server in a child process under `prlimit --nofile=<nofile>`; resolves its ws URL. */
  async function serveLimited(nofile: number, options: Partial<GameServerOptions>): Promise<{ wsUrl: string; port: number; out: string[] }> {
    const out: string[] = [];
    child = spawn('prlimit', [`--nofile=${nofile}:${nofile}`, process.execPath, '--import', 'tsx', fixture('capacity/serve-child.ts'), JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await waitFor(() => out.some((l) => l.startsWith('PORT ')) || child!.exitCode !== null, 'the limited server listening', 20_000);
    const port = Number(out.find((l) => l.startsWith('PORT '))?.slice(5));
    expect(port, out.join('\n')).toBeGreaterThan(0);
    return { wsUrl: `ws://127.0.0.1:${port}/parlor/ws`, port, out };
  }

  it.skipIf(!prlimit)('by default the connection cap sits below the fd limit: a flood gets 503, never EMFILE', async () => {
    const { wsUrl, port, out } = await serveLimited(1024, {});
    const p = await player(wsUrl);
    // 1024 / 2 = 512 connections: the player's and 511 of the flood (56 from each of 10 addresses, under the per-address cap).
    const conns = Array.from({ length: 10 }, (_, i) => `127.0.1.${i + 1}`).flatMap((a) => flood(port, 56, a));
    await waitFor(() => conns.filter((c) => c.closed).length >= 560 - 511, 'refusals', 15_000);
    const closed = conns.filter((c) => c.closed);
    expect(closed).toHaveLength(49);
    // Every refusal is an answer, none a descriptor-starved drop.
    expect(closed.every((c) => c.data.startsWith('HTTP/1.1 503 '))).toBe(true);
    await keepsFrames(p);
    expect(out.some((l) => /EMFILE|ENFILE|TypeError|uncaught/i.test(l)), out.join('\n')).toBe(false);
    expect(child!.exitCode).toBeNull();
  });

  it.skipIf(!prlimit)('with the cap set above the fd limit the process runs out of descriptors: accepts fail, nothing throws, the server recovers', async () => {
    const { wsUrl, port, out } = await serveLimited(256, { maxConnections: 100_000, maxConnectionsPerAddress: 100_000 });
    const p = await player(wsUrl);
    const waiting = await client(wsUrl, '127.0.0.4'); // connected now, joins once descriptors are gone
    const conns = flood(port, 400, '127.0.0.2');
    // The kernel refuses descriptors past 256: libuv accepts and closes the surplus (EMFILE), unanswered.
    await waitFor(() => conns.filter((c) => c.closed && c.data === '').length >= 100, 'connections dropped for lack of descriptors', 15_000);
    await keepsFrames(p);
    // A room starts while no descriptor is free.
    await waiting.joinAndSync('ticker', { roomId: 'during-emfile' });
    await keepsFrames(waiting, 5);
    expect(child!.exitCode).toBeNull();
    for (const c of conns) c.socket.destroy();
    await waitFor(() => conns.every((c) => c.closed), 'flood closed');
    // Descriptors are back: a new player gets in and plays.
    const late = await client(wsUrl, '127.0.0.3');
    await late.joinAndSync('ticker');
    await keepsFrames(late, 5);
    expect(child!.exitCode).toBeNull();
    expect(out.some((l) => /TypeError|uncaught|Unhandled/i.test(l)), out.join('\n')).toBe(false);
  });
});
