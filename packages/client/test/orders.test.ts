/**
 * The client's side of rooms that last: a Connection over a real socket (the `ws` package's
 * WebSocket, the browser API's shape) to a small protocol server on 127.0.0.1 that answers `join`
 * with `init` and `state`, orders with `orderResult`, pings with a pong from a clock one minute
 * ahead; and the texts the banner and toasts show.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  PROTOCOL_VERSION,
  SUPPORTED_SQUISH_VERSIONS,
  decodeClientMessage,
  encodeServerMessage,
  type ClientMessage,
  type FrameMessage,
  type ServerMessage as AnyServerMessage,
} from '@parlor/squish';

/** What the test server sends (frames aside). */
type ServerMessage = Exclude<AnyServerMessage, FrameMessage>;
import {
  ClientError,
  ClientErrorCode,
  Connection,
  ORDER_LIMITS,
  formatCountdown,
  orderResultText,
  roomStateText,
  type OrderResult,
  type RoomState,
  type WebSocketConstructor,
} from '@parlor/client';

/** What the test server does with each client message of one socket. */
type Script = (msg: ClientMessage, reply: (m: ServerMessage) => void, socket: WebSocket) => void;

const open: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) o.close();
});

async function serve(script: Script): Promise<{ url: string; received: ClientMessage[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: ClientMessage[] = [];
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const msg = decodeClientMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      received.push(msg);
      script(msg, (m) => socket.send(encodeServerMessage(m)), socket);
    });
  });
  open.push({ close: () => { for (const c of wss.clients) c.terminate(); wss.close(); } });
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/parlor/ws`, received };
}

const paused: RoomState = { status: 'paused', turn: 3, nextTurnAt: null, reason: 'paused by admin' };

/** Answers join with init then the given state; pings with a pong one minute ahead. */
function room(state: RoomState, more: Script = () => {}): Script {
  return (msg, reply, socket) => {
    if (msg.type === 'join') {
      reply({ type: 'init', protocolVersion: PROTOCOL_VERSION, squishVersion: SUPPORTED_SQUISH_VERSIONS[0], playerId: 1, spectator: msg.spectate, aspectRatio: { x: 1, y: 1 }, tickRate: 20, reconnectToken: 'tok', roomId: 'r1', game: msg.game, title: 'T' });
      reply({ type: 'state', ...state });
    } else if (msg.type === 'ping') {
      reply({ type: 'pong', clientTime: msg.clientTime, serverTime: Date.now() + 60_000 });
    }
    more(msg, reply, socket);
  };
}

function connect(url: string, spectate = false): Connection {
  const c = new Connection({ url, game: 'g', spectate, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { initialMs: 50_000, maxMs: 50_000 } });
  open.push(c);
  c.start();
  return c;
}

async function playing(c: Connection): Promise<void> {
  await vi.waitFor(() => expect(c.status).toBe('playing'), { timeout: 5000, interval: 5 });
}

describe('Connection: state and orders', () => {
  it('keeps the room state from `state` and emits it', async () => {
    const { url } = await serve(room(paused));
    const c = connect(url);
    const seen: RoomState[] = [];
    c.on('state', (s) => seen.push(s));
    await vi.waitFor(() => expect(c.state).toEqual(paused), { timeout: 5000, interval: 5 });
    expect(seen).toEqual([paused]);
  });

  it('numbers orders from 1, sends their JSON and resolves each with its own answer, refusals included', async () => {
    const { url, received } = await serve(room({ status: 'running', turn: 2, nextTurnAt: Date.now() + 30_000, reason: '' }, (msg, reply) => {
      if (msg.type !== 'order') return;
      const o = JSON.parse(msg.order) as { ships: number };
      // answer the second order first, and an unrelated id-0 refusal in between
      const answer = (id: number, ships: number): ServerMessage => (ships > 0
        ? { type: 'orderResult', id, accepted: true, code: '', message: '', turn: 2 }
        : { type: 'orderResult', id, accepted: false, code: 'ORDER_REJECTED', message: 'send at least one ship', turn: 2 });
      if (msg.id === 1) return;
      reply(answer(2, o.ships));
      reply({ type: 'orderResult', id: 0, accepted: false, code: 'GAME_PAUSED', message: 'paused', turn: 2 });
      reply(answer(1, 5));
    }));
    const c = connect(url);
    await playing(c);
    const events: OrderResult[] = [];
    c.on('orderResult', (r) => events.push(r));
    const first = c.sendOrder({ from: 1, to: 2, ships: 5 });
    const second = c.sendOrder({ from: 1, to: 3, ships: 0 });
    await expect(first).resolves.toEqual({ id: 1, accepted: true, code: '', message: '', turn: 2 });
    await expect(second).resolves.toEqual({ id: 2, accepted: false, code: 'ORDER_REJECTED', message: 'send at least one ship', turn: 2 });
    expect(received.filter((m) => m.type === 'order')).toEqual([
      { type: 'order', id: 1, order: '{"from":1,"to":2,"ships":5}' },
      { type: 'order', id: 2, order: '{"from":1,"to":3,"ships":0}' },
    ]);
    expect(events.map((e) => e.id)).toEqual([2, 0, 1]);
  });

  it('refuses orders it cannot send with CLIENT_ORDER_INVALID, sending nothing', async () => {
    const { url, received } = await serve(room(paused));
    const c = connect(url);
    await playing(c);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [undefined, () => 1, cyclic, 10n, { text: 'x'.repeat(ORDER_LIMITS.bytes) }]) {
      const err = await c.sendOrder(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect(err).toMatchObject({ code: ClientErrorCode.ORDER_INVALID });
    }
    expect((await c.sendOrder({ text: 'é'.repeat(ORDER_LIMITS.bytes / 2) /* fewer characters than the cap, more bytes */ }).catch((e: unknown) => e))).toMatchObject({ code: ClientErrorCode.ORDER_INVALID });
    expect(received.some((m) => m.type === 'order')).toBe(false);
  });

  it('rejects with CLIENT_DISCONNECTED before joining, and when the socket goes before the answer', async () => {
    const { url, received } = await serve(room(paused, (msg, _reply, socket) => {
      if (msg.type === 'order') socket.terminate();
    }));
    const c = connect(url);
    await expect(c.sendOrder({ a: 1 })).rejects.toMatchObject({ code: ClientErrorCode.DISCONNECTED });
    await playing(c);
    const err = await c.sendOrder({ a: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ClientErrorCode.DISCONNECTED });
    expect((err as Error).message).toMatch(/may or may not have been applied/);
    expect(received.filter((m) => m.type === 'order')).toHaveLength(1);
    expect(c.status).toBe('reconnecting');
    expect(c.state).toEqual(paused); // the same room's last state is kept while reconnecting
  });

  it('a spectator\'s order is refused SPECTATOR without being sent', async () => {
    const { url, received } = await serve(room(paused));
    const c = connect(url, true);
    await playing(c);
    await expect(c.sendOrder({ a: 1 })).resolves.toMatchObject({ accepted: false, code: 'SPECTATOR', turn: 3 });
    expect(received.some((m) => m.type === 'order')).toBe(false);
  });

  it('estimates the server clock from pongs', async () => {
    const { url } = await serve(room(paused));
    const c = connect(url);
    await vi.waitFor(() => expect(c.rtt).toBeGreaterThanOrEqual(0), { timeout: 5000, interval: 5 });
    // the test server's clock is one minute ahead; the estimate is off by at most the round trip
    expect(Math.abs(c.serverClockOffset - 60_000)).toBeLessThanOrEqual(c.rtt + 5);
  });
});

describe('banner and toast texts', () => {
  const now = 1_000_000;
  it('says what the room is doing, and nothing for a running real-time game', () => {
    expect(roomStateText(null, now)).toBeNull();
    expect(roomStateText({ status: 'running', turn: 0, nextTurnAt: null, reason: '' }, now)).toBeNull();
    expect(roomStateText(paused, now)).toBe('Paused — paused by admin');
    expect(roomStateText({ ...paused, reason: '' }, now)).toBe('Paused');
    expect(roomStateText({ status: 'generation_in_progress', turn: 4, nextTurnAt: null, reason: '' }, now)).toBe('Turn 4 is being generated…');
    expect(roomStateText({ status: 'running', turn: 5, nextTurnAt: now + 27_000, reason: '' }, now)).toBe('Turn 5 · next turn in 0:27');
    expect(roomStateText({ status: 'running', turn: 5, nextTurnAt: null, reason: '' }, now)).toBe('Turn 5');
    expect(roomStateText({ status: 'finished', turn: 9, nextTurnAt: null, reason: 'Ann conquered the galaxy' }, now)).toBe('Game over — Ann conquered the galaxy');
  });

  it('counts down in whole seconds, rounded to the nearest', () => {
    expect(formatCountdown(27_000)).toBe('0:27');
    expect(formatCountdown(26_600)).toBe('0:27');
    expect(formatCountdown(30_004)).toBe('0:30');
    expect(formatCountdown(600)).toBe('0:01');
    expect(formatCountdown(400)).toBe('0:00');
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(-5000)).toBe('0:00');
    expect(formatCountdown(NaN)).toBe('0:00');
    expect(formatCountdown(12 * 60_000 + 5000)).toBe('12:05');
    expect(formatCountdown(3 * 3_600_000 + 4 * 60_000 + 5000)).toBe('3:04:05');
    expect(formatCountdown(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5000)).toBe('2d 03:04:05');
  });

  it('phrases refusals for players, and keeps the game\'s own message for ORDER_REJECTED', () => {
    const r = (code: string, message = '', turn = 4): OrderResult => ({ id: 0, accepted: false, code, message, turn });
    expect(orderResultText(r('GAME_PAUSED', 'room paused'))).toBe('The game is paused: nothing you do counts until it resumes.');
    expect(orderResultText(r('TURN_ALREADY_CLOSED'))).toBe('Turn 4 is closed and being generated: try again in a moment.');
    expect(orderResultText(r('ORDER_REJECTED', 'planet 4 is not yours'))).toBe('planet 4 is not yours');
    expect(orderResultText(r('SOMETHING_NEW', 'a new reason'))).toBe('a new reason');
    expect(orderResultText({ id: 0, accepted: true, code: '', message: '', turn: 4 })).toBe('Order accepted');
  });
});
