import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, Group, MessageType, PROTOCOL_VERSION, Shape, encodeClientMessage, type Node } from '@parlor/squish';
import type { GameServer } from '@parlor/server';
import { FleetAgentError, FleetAgentErrorCode } from '@parlor/fleet-agent';
import { BrokenGame, CounterGame, FlakyGame, WorldGame, gameEvents } from './games.js';
import { TestClient, get, logged, startServer, waitFor } from './helpers.js';

let server: GameServer | null = null;
let clients: TestClient[] = [];

async function setup(options: Parameters<typeof startServer>[0] = { games: { counter: { gameClass: CounterGame } } }) {
  const started = await startServer(options);
  server = started.server;
  return started;
}

async function client(): Promise<TestClient> {
  const c = await TestClient.connect(server!);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
  server = null;
  gameEvents.removeAllListeners();
  FlakyGame.alwaysFail = false;
  FlakyGame.failEvery = 0;
});

function squareOf(c: TestClient, playerId: number): Shape | undefined {
  // Player squares sit at y = 10 * id (see CounterGame).
  return c.find((n: Node): n is Shape => n instanceof Shape && n.fill !== null && n.fill[1] === 196 && n.points[0]?.[1] === 10 * playerId);
}

describe('join and frames', () => {
  it('sends init, assets and a full frame that SceneMirror decodes', async () => {
    await setup();
    const a = await client();
    const init = await a.joinAndSync('counter', { name: 'Ada' });
    expect(init).toMatchObject({ type: 'init', protocolVersion: PROTOCOL_VERSION, playerId: 1, spectator: false, game: 'counter', title: 'Counter', tickRate: 30 });
    expect(init.reconnectToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.messages[0].type).toBe('init');
    expect(a.messages[1]).toEqual({ type: 'assets', assets: [] });
    expect(a.messages[2]).toEqual({ type: 'state', status: 'running', turn: 0, nextTurnAt: null, reason: '' });
    expect(a.messages[3]).toMatchObject({ type: 'frame', full: true });
    expect(a.mirror.root).not.toBeNull();
    expect(a.texts()).toContain('SECRET-1');
    expect(a.texts().some((t) => t.startsWith('tick '))).toBe(true);
    await a.moreFrames(3);
    expect(a.errors).toEqual([]);
    expect(server!.rooms()).toMatchObject([{ game: 'counter', players: 1, spectators: 0, maxPlayers: 2 }]);
  });

  it('puts the second player in the same open room and opens a new one when full', async () => {
    await setup();
    const a = await client();
    const b = await client();
    const c = await client();
    const ia = await a.joinAndSync('counter');
    const ib = await b.joinAndSync('counter');
    const ic = await c.joinAndSync('counter');
    expect(ib.roomId).toBe(ia.roomId);
    expect(ib.playerId).toBe(2);
    expect(ic.roomId).not.toBe(ia.roomId);
    expect(server!.rooms().map((s) => s.players).sort()).toEqual([1, 2]);
  });

  it('routes input to the game and the frames show the change', async () => {
    await setup();
    const a = await client();
    const b = await client();
    const ia = await a.joinAndSync('counter');
    await b.joinAndSync('counter');
    const keys: Array<{ id: number; key: string }> = [];
    gameEvents.on('keydown', (e) => keys.push(e));
    await waitFor(() => squareOf(a, 1) !== undefined, 'own square in the mirror');
    const x0 = squareOf(a, 1)!.points[0][0];
    a.send({ type: 'input', event: { kind: 'keydown', key: 'ArrowRight' } });
    a.send({ type: 'input', event: { kind: 'keydown', key: 'ArrowRight' } }); // auto-repeat: dropped
    await waitFor(() => squareOf(a, 1)!.points[0][0] === x0 + 10, 'square moved right by 10 in player 1 frames');
    await waitFor(() => squareOf(b, 1)?.points[0][0] === x0 + 10, 'square moved in player 2 frames too');
    expect(keys).toEqual([{ id: ia.playerId, key: 'ArrowRight' }]);
    a.send({ type: 'input', event: { kind: 'keyup', key: 'ArrowRight' } });
    a.send({ type: 'input', event: { kind: 'keydown', key: 'ArrowRight' } });
    await waitFor(() => squareOf(a, 1)!.points[0][0] === x0 + 20, 'square moved again after keyup');
  });

  it('routes clicks only on clickable nodes the player can see', async () => {
    await setup();
    const a = await client();
    await a.joinAndSync('counter');
    const clicks: unknown[] = [];
    gameEvents.on('click', (e) => clicks.push(e));
    const button = a.find((n: Node): n is Shape => n instanceof Shape && n.clickable);
    expect(button).toBeDefined();
    const secret = [...a.mirror.nodes.values()].find((n) => n.playerIds !== null || (n.parent?.playerIds ?? null) !== null);
    a.send({ type: 'input', event: { kind: 'click', nodeId: 999_999, x: 1, y: 1 } });
    if (secret) a.send({ type: 'input', event: { kind: 'click', nodeId: secret.id, x: 1, y: 90 } });
    a.send({ type: 'input', event: { kind: 'click', nodeId: button!.id, x: 85, y: 85 } });
    await waitFor(() => clicks.length === 1, 'click on the button');
    expect(clicks).toEqual([{ pid: 1, x: 85, y: 85 }]);
  });

  it('answers ping with pong', async () => {
    await setup();
    const a = await client();
    await a.joinAndSync('counter');
    a.send({ type: 'ping', clientTime: 1234.5 });
    await waitFor(() => a.messages.some((m) => m.type === 'pong'), 'pong');
    expect(a.messages.find((m) => m.type === 'pong')).toMatchObject({ clientTime: 1234.5 });
  });

  it('gives a ViewableGame player its own camera on the world group', async () => {
    await setup({ games: { world: { gameClass: WorldGame } } });
    const a = await client();
    const b = await client();
    await a.joinAndSync('world');
    await b.joinAndSync('world');
    const worldOf = (c: TestClient) => c.mirror.root!.children[0] as Group;
    expect(worldOf(a)).toMatchObject({ x: -200, y: -100, scale: 2 });
    expect(worldOf(b)).toMatchObject({ x: -400, y: -100, scale: 2 });
  });
});

describe('reconnect', () => {
  it('rejoins as the same player within the grace period and gets a full frame', async () => {
    await setup();
    const a = await client();
    const init = await a.joinAndSync('counter');
    const leaves: number[] = [];
    gameEvents.on('leave', (id) => leaves.push(id));
    a.close();
    await a.closed();
    await waitFor(() => server!.rooms()[0]?.connectedPlayers === 0, 'server noticed the disconnect');
    expect(server!.rooms()[0].players).toBe(1);

    const again = await client();
    const init2 = await again.joinAndSync('counter', { roomId: init.roomId, reconnectToken: init.reconnectToken });
    expect(init2.playerId).toBe(init.playerId);
    expect(init2.roomId).toBe(init.roomId);
    expect(again.messages.find((m) => m.type === 'frame')).toMatchObject({ full: true });
    expect(again.texts()).toContain(`SECRET-${init.playerId}`);
    await again.moreFrames(2);
    expect(leaves).toEqual([]);
    expect(again.errors).toEqual([]);
  });

  it('after the grace period: onPlayerLeave has fired and the token is rejected with 4401', async () => {
    const { lines, logs } = await setup({ games: { counter: { gameClass: CounterGame } }, reconnectGraceMs: 150 });
    const a = await client();
    const init = await a.joinAndSync('counter');
    const left = new Promise<number>((resolve) => gameEvents.once('leave', resolve));
    a.close();
    expect(await left).toBe(init.playerId);
    await waitFor(() => server!.rooms().length === 0, 'empty room disposed');

    const again = await client();
    again.join('counter', { roomId: init.roomId, reconnectToken: init.reconnectToken });
    expect((await again.closed()).code).toBe(CloseCode.RECONNECT_REJECTED);
    expect(lines.join('\n')).not.toContain(init.reconnectToken);
    expect(logged(logs, 'player left', { room: init.roomId })).toBe(true);
  });
});

describe('spectators', () => {
  it('see public nodes only, never another player’s private node (mirror and raw bytes)', async () => {
    await setup();
    const a = await client();
    const init = await a.joinAndSync('counter');
    const s = await client();
    const sinit = await s.joinAndSync('counter', { roomId: init.roomId, spectate: true });
    expect(sinit.spectator).toBe(true);
    expect(server!.rooms()[0]).toMatchObject({ players: 1, spectators: 1 });
    // A second player joins later: the spectator gets deltas with the new (private) node's parent change.
    const b = await client();
    const binit = await b.joinAndSync('counter', { roomId: init.roomId });
    await s.moreFrames(5);
    expect(s.texts().some((t) => t.startsWith('tick '))).toBe(true);
    expect(s.texts().filter((t) => t.startsWith('SECRET'))).toEqual([]);
    const secret = new TextEncoder().encode('SECRET');
    for (const bytes of s.frameBytes) expect(indexOf(bytes, secret)).toBe(-1);
    // players see their own secret only
    expect(a.texts().filter((t) => t.startsWith('SECRET'))).toEqual(['SECRET-1']);
    expect(b.texts().filter((t) => t.startsWith('SECRET'))).toEqual([`SECRET-${binit.playerId}`]);
    // spectator input never reaches the game
    const keys: unknown[] = [];
    gameEvents.on('keydown', (e) => keys.push(e));
    s.send({ type: 'input', event: { kind: 'keydown', key: 'x' } });
    a.send({ type: 'input', event: { kind: 'keydown', key: 'y' } });
    await waitFor(() => keys.length === 1, 'player key');
    expect(keys).toEqual([{ id: 1, key: 'y' }]);
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('bad input closes only the offender', () => {
  async function twoPlayers(opts: Parameters<typeof startServer>[0] = { games: { counter: { gameClass: CounterGame } } }) {
    const started = await setup(opts);
    const good = await client();
    const bad = await client();
    const init = await good.joinAndSync('counter');
    await bad.joinAndSync('counter', { roomId: init.roomId });
    return { ...started, good, bad, init };
  }

  it('rate limit → 4429, the other player keeps receiving frames', async () => {
    const { good, bad, logs } = await twoPlayers({ games: { counter: { gameClass: CounterGame } }, inputRateLimit: 20, inputBurst: 40 });
    for (let i = 0; i < 100; i++) bad.send({ type: 'ping', clientTime: i });
    expect((await bad.closed()).code).toBe(CloseCode.RATE_LIMITED);
    await good.moreFrames(5);
    expect(good.closeInfo).toBeNull();
    expect(logs.filter((l) => l.msg === 'client rejected' && l.reason === 'rate_limit')).toHaveLength(1);
    expect(server!.rooms()[0].players).toBe(2); // the offender keeps its seat for the grace period
  });

  it('malformed message → 4400, the other player keeps receiving frames', async () => {
    const { good, bad, logs } = await twoPlayers();
    bad.sendRaw(new Uint8Array([0xff, 1, 2, 3]));
    expect((await bad.closed()).code).toBe(CloseCode.MALFORMED);
    await good.moreFrames(5);
    expect(good.closeInfo).toBeNull();
    expect(logs.filter((l) => l.msg === 'client rejected' && l.reason === 'malformed')).toHaveLength(1);
  });

  it('a truncated input message and a second join are malformed too', async () => {
    const { good, bad } = await twoPlayers();
    const other = await client();
    bad.sendRaw(new Uint8Array([MessageType.INPUT, 0, 50])); // keydown with a string length past the end
    other.send({ type: 'ping', clientTime: 0 }); // not a join first
    good.join('counter'); // join twice
    expect((await bad.closed()).code).toBe(CloseCode.MALFORMED);
    expect((await other.closed()).code).toBe(CloseCode.MALFORMED);
    expect((await good.closed()).code).toBe(CloseCode.MALFORMED);
  });

  it('protocol 2 on the wire: a version-1 join gets 4426, the retired ack type (18) gets 4400, and the other player keeps its frames', async () => {
    const { good } = await twoPlayers();
    const old = await client();
    old.join('counter', { protocolVersion: 1 });
    expect((await old.closed()).code).toBe(CloseCode.VERSION_MISMATCH);
    const acker = await client();
    await acker.joinAndSync('counter');
    acker.sendRaw(new Uint8Array([18, 1])); // what a protocol-1 client sent every 100 ms
    expect((await acker.closed()).code).toBe(CloseCode.MALFORMED);
    await good.moreFrames(5);
    expect(good.closeInfo).toBeNull();
  });

  it('oversized message → 1009, the other player keeps receiving frames', async () => {
    const { good, bad, logs } = await twoPlayers({ games: { counter: { gameClass: CounterGame } }, maxInputBytes: 1024 });
    bad.send({ type: 'input', event: { kind: 'text', text: 'x'.repeat(2000) } });
    expect((await bad.closed()).code).toBe(CloseCode.MESSAGE_TOO_BIG);
    await good.moreFrames(5);
    expect(good.closeInfo).toBeNull();
    expect(logs.filter((l) => l.msg === 'client rejected' && l.reason === 'too_big')).toHaveLength(1);
  });

  it('unknown game → 4404; no join in time → 4408', async () => {
    await setup({ games: { counter: { gameClass: CounterGame } }, joinTimeoutMs: 100 });
    const a = await client();
    a.join('nope');
    expect((await a.closed()).code).toBe(CloseCode.NOT_FOUND);
    const b = await client();
    expect((await b.closed()).code).toBe(CloseCode.JOIN_TIMEOUT);
  });

  it('a full room → 4409', async () => {
    await setup();
    const a = await client();
    const init = await a.joinAndSync('counter');
    await (await client()).joinAndSync('counter', { roomId: init.roomId });
    const c = await client();
    c.join('counter', { roomId: init.roomId });
    expect((await c.closed()).code).toBe(CloseCode.ROOM_FULL);
  });
});

describe('failing games', () => {
  it('a game throwing in tick keeps its room alive and the error is logged with game and room', async () => {
    FlakyGame.failEvery = 3;
    const { logs } = await setup({ games: { flaky: { gameClass: FlakyGame } } });
    const a = await client();
    const init = await a.joinAndSync('flaky');
    await waitFor(() => logged(logs, 'game error'), 'a logged game error');
    await a.moreFrames(10);
    expect(a.closeInfo).toBeNull();
    const entry = logs.find((l) => l.msg === 'game error')!;
    // game and room come from the room's child logger, instance from the server's
    expect(entry).toMatchObject({ level: 'error', game: 'flaky', room: init.roomId, where: 'tick', fatal: false, instance: expect.stringMatching(/^\S+:\S+$/) });
    expect(entry.error).toMatch(/flaky tick \d+/);
  });

  it('N consecutive failures → error message and close 4500; other rooms are unaffected', async () => {
    const { logs } = await setup({
      games: { counter: { gameClass: CounterGame }, broken: { gameClass: BrokenGame } },
      maxConsecutiveErrors: 5,
    });
    const ok = await client();
    await ok.joinAndSync('counter');
    const victim = await client();
    victim.join('broken');
    const closed = await victim.closed();
    expect(closed.code).toBe(CloseCode.ROOM_FAILED);
    const err = victim.messages.find((m) => m.type === 'error');
    expect(err).toMatchObject({ type: 'error', code: CloseCode.ROOM_FAILED });
    expect(logs.filter((l) => l.msg === 'game error' && l.game === 'broken' && l.fatal === true)).toHaveLength(1);
    await waitFor(() => server!.rooms().every((s) => s.game !== 'broken'), 'broken room disposed');
    await ok.moreFrames(5);
    expect(ok.closeInfo).toBeNull();
    expect(server!.rooms()).toMatchObject([{ game: 'counter', players: 1 }]);
  });
});

describe('HTTP routes', () => {
  it('other methods get 405 with Allow, HEAD has no body, refusals of the JSON API are { error, message }', async () => {
    await setup();
    for (const [path, method] of [['/', 'POST'], ['/healthz', 'DELETE'], ['/nothing-here', 'PUT']] as const) {
      const r = await fetch(`${server!.url}${path}`, { method, body: method === 'DELETE' ? undefined : 'x', headers: { 'content-type': 'text/xml' } });
      expect([r.status, r.headers.get('allow'), r.headers.get('x-content-type-options')], `${method} ${path}`).toEqual([405, 'GET, HEAD', 'nosniff']);
    }
    const head = await fetch(`${server!.url}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    const page = await get(server!, '/parlor/api/rooms?offset=0&limit=');
    expect(JSON.parse(page.text)).toMatchObject({ rooms: [], total: 0, offset: 0, limit: 100 });
    const bad = await get(server!, '/parlor/api/rooms?limit=abc');
    expect([bad.status, bad.headers.get('cache-control'), JSON.parse(bad.text).error]).toEqual([400, 'no-store', 'VALIDATION']);
    // without a fleet the fleet endpoint is not there, whatever the method
    const fleet = await fetch(`${server!.url}/parlor/api/fleet/rooms`, { method: 'POST', body: '{"game":"counter"}', headers: { 'content-type': 'application/json' } });
    expect([fleet.status, (await fleet.json()).error]).toEqual([404, 'NOT_FOUND']);
    expect((await get(server!, '/play/%E0%A4%A')).status).toBe(404);
  });

  it('the fleet endpoint answers each failure of the fleet hook with its declared status, and guards its body', async () => {
    await setup();
    let failure: unknown = null;
    server!.setFleetRooms(async (game) => {
      if (failure) throw failure;
      return { joinUrl: `http://elsewhere.example/play/${game}/r1`, roomId: 'r1', instanceId: 'i1' };
    });
    const post = async (body: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${server!.url}/parlor/api/fleet/rooms`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      const text = await r.text();
      return { status: r.status, error: r.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as { error?: string }).error : text };
    };
    const ok = await fetch(`${server!.url}/parlor/api/fleet/rooms`, { method: 'POST', body: '{"game":"counter"}', headers: { 'content-type': 'application/json' } });
    expect(await ok.json()).toEqual({ joinUrl: 'http://elsewhere.example/play/counter/r1', roomId: 'r1', instanceId: 'i1' });
    const cases: Array<[unknown, number, string]> = [
      [new FleetAgentError(FleetAgentErrorCode.NOT_CONNECTED, 'x'), 503, FleetAgentErrorCode.NOT_CONNECTED],
      [new FleetAgentError(FleetAgentErrorCode.PLACE_TIMEOUT, 'x'), 504, FleetAgentErrorCode.PLACE_TIMEOUT],
      [new FleetAgentError(FleetAgentErrorCode.PLACE_REJECTED, 'x', { fleetCause: 'INSTANCE_BUSY' }), 429, 'INSTANCE_BUSY'],
      [new FleetAgentError(FleetAgentErrorCode.PLACE_REJECTED, 'x', { fleetCause: 'NO_CANDIDATE' }), 502, 'NO_CANDIDATE'],
      [new Error('boom'), 502, 'FLEET_FAILED'],
    ];
    for (const [err, status, error] of cases) {
      failure = err;
      expect(await post('{"game":"counter"}'), error).toEqual({ status, error });
    }
    failure = null;
    expect(await post('{"game":"chess"}')).toEqual({ status: 404, error: 'UNKNOWN_GAME' });
    expect(await post('{"name":"counter"}')).toEqual({ status: 400, error: 'VALIDATION' });
    expect(await post('{nope')).toEqual({ status: 400, error: 'VALIDATION' });
    expect(await post(JSON.stringify({ game: 'counter', pad: 'x'.repeat(2000) }))).toEqual({ status: 413, error: 'PAYLOAD_TOO_LARGE' });
    expect(await post('game=counter', { 'content-type': 'application/x-www-form-urlencoded' })).toEqual({ status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await post('{"game":"counter"}', { origin: 'http://evil.example' })).toEqual({ status: 403, error: 'FORBIDDEN' });
    const get405 = await fetch(`${server!.url}/parlor/api/fleet/rooms`);
    expect([get405.status, get405.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('/healthz, /readyz and /metrics', async () => {
    await setup();
    const a = await client();
    await a.joinAndSync('counter');
    await a.moreFrames(3);
    const bad = await client();
    bad.sendRaw(new Uint8Array([0xff]));
    await bad.closed();
    expect(await get(server!, '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get(server!, '/readyz')).toMatchObject({ status: 200 });
    const m = await get(server!, '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(m.text).toMatch(/^parlor_rooms 1$/m);
    expect(m.text).toMatch(/^parlor_players 1$/m);
    expect(m.text).toMatch(/^parlor_spectators 0$/m);
    expect(Number(/^parlor_frames_sent_total (\d+)$/m.exec(m.text)?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(/^parlor_bytes_sent_total (\d+)$/m.exec(m.text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^parlor_tick_duration_seconds_count (\d+)$/m.exec(m.text)?.[1])).toBeGreaterThan(0);
    expect(m.text).toMatch(/^parlor_input_rejected_total\{reason="malformed"\} 1$/m);
  });

  it('the lobby lists games and live rooms with player counts', async () => {
    await setup();
    const empty = await get(server!, '/');
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toContain('text/html');
    expect(empty.text).toContain('A test game that counts ticks');
    expect(empty.text).toContain('href="/play/counter"');
    expect(empty.text).toContain('No live rooms');
    const a = await client();
    const init = await a.joinAndSync('counter');
    const page = await get(server!, '/');
    expect(page.text).toContain(`data-room="${init.roomId}"`);
    expect(page.text).toContain('1 / 2 players');
    expect(page.text).toContain(`href="/play/counter/${init.roomId}?spectate=1"`);
    const api = JSON.parse((await get(server!, '/parlor/api/rooms')).text);
    expect(api.rooms).toMatchObject([{ id: init.roomId, game: 'counter', players: 1, spectators: 0 }]);
  });

  it('play pages, 404s and the client bundle', async () => {
    await setup();
    const play = await get(server!, '/play/counter');
    expect(play.status).toBe(200);
    expect(play.text).toContain('<canvas id="parlor"');
    expect(play.text).toContain('<script src="/parlor/client.js"></script>');
    expect(play.text).toContain('<script src="/parlor/play.js"></script>');
    expect(play.text).toContain('data-game="counter" data-room="" data-spectate="0"');
    // a room id nobody plays in is a 404 that offers to start that room, not a silent new room
    const unknown = await get(server!, '/play/counter/abc123?spectate=1');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('href="/play/counter/abc123?create=1"');
    const named = await get(server!, '/play/counter/abc123?create=1');
    expect(named.status).toBe(200);
    expect(named.text).toContain('data-game="counter" data-room="abc123" data-spectate="0"');
    server!.openRoom('counter', 'abc123');
    const spec = await get(server!, '/play/counter/abc123?spectate=1');
    expect(spec.status).toBe(200);
    expect(spec.text).toContain('data-game="counter" data-room="abc123" data-spectate="1"');
    expect((await get(server!, '/play/nope')).status).toBe(404);
    expect((await get(server!, '/play/counter/bad%20id')).status).toBe(404);
    expect((await get(server!, '/nothing-here')).status).toBe(404);
    const js = await get(server!, '/parlor/client.js');
    expect([200, 503]).toContain(js.status);
    expect(js.headers.get('content-type')).toContain('javascript');
    if (js.status === 503) expect(js.text).toContain('npm run build');
  });

  it('close() closes clients with 1001 and turns /readyz off', async () => {
    await setup();
    const a = await client();
    await a.joinAndSync('counter');
    const url = server!.url;
    const closing = server!.close();
    server = null;
    expect((await a.closed()).code).toBe(CloseCode.GOING_AWAY);
    await closing;
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  });
});

describe('raw protocol sanity', () => {
  it('encodes client messages the server accepts', () => {
    expect(encodeClientMessage({ type: 'ping', clientTime: 1 })[0]).toBe(MessageType.PING);
  });
});
