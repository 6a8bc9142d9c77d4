/**
 * A crowded room's frame is written in slices (rooms/fanout.ts): what does not fit in one slice
 * of the event loop is written on the next turns. This holds the slices to their promises on
 * real sockets: every member gets each frame once, whole and in order, a later frame never
 * overtakes an earlier one, and `flush()` (which the room calls before a message or a close)
 * writes the rest at once. The slice is set to 0 ms so the smallest room is split.
 * It imports the module directly: slicing has no public switch.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '../src/logger.js';
import { ServerMetrics } from '../src/metrics.js';
import { Fanout, type Recipient } from '../src/rooms/fanout.js';
import type { FramesMessage } from '../src/engine/messages.js';

let wss: WebSocketServer | null = null;
let clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  if (wss) await new Promise((r) => wss!.close(r));
  wss = null;
});

/** `n` members, each a real server-side socket with its client over 127.0.0.1; what each client received. */
async function room(n: number): Promise<{ members: Map<number, Recipient>; received: Buffer[][]; closed: Promise<unknown>[] }> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const members = new Map<number, Recipient>();
  const received: Buffer[][] = [];
  const closed: Promise<unknown>[] = [];
  for (let i = 1; i <= n; i++) {
    const serverSide = once(wss, 'connection') as Promise<[WebSocket]>;
    const c = new WebSocket(`ws://127.0.0.1:${port}`);
    const got: Buffer[] = [];
    c.on('message', (data: Buffer) => got.push(data));
    closed.push(once(c, 'close'));
    await once(c, 'open');
    const [socket] = await serverSide;
    clients.push(c);
    received.push(got);
    members.set(i, { playerId: i, socket, needsFull: false, resyncRequested: false, fanout: 0 });
  }
  return { members, received, closed };
}

function fanout(): { fanout: Fanout; metrics: ServerMetrics } {
  const metrics = new ServerMetrics({ rooms: () => 1, players: () => 0, spectators: () => 0 });
  const f = new Fanout({ metrics, logger: createLogger({ level: 'silent' }), backpressureBytes: 1 << 20, logFields: {}, requestFull: () => {}, sliceMs: 0 });
  return { fanout: f, metrics };
}

/** A frame: one shared part for every member, and a private part for the even ones. */
function frame(seq: number, n: number): FramesMessage {
  const shared = Uint8Array.from({ length: 150 }, (_, i) => (i + seq) & 0xff);
  const own = Uint8Array.from([seq, 0xee]);
  return {
    type: 'frames',
    seq,
    parts: [shared, own],
    sends: Array.from({ length: n }, (_, i) => ({ playerId: i + 1, parts: (i + 1) % 2 === 0 ? [0, 1] : [0], full: false })),
    tickMs: 0,
  };
}

const expected = (f: FramesMessage, playerId: number): Uint8Array =>
  Uint8Array.from(f.sends.find((s) => s.playerId === playerId)!.parts.flatMap((k) => [...f.parts[k]]));

const sent = async (m: ServerMetrics): Promise<number> => (await m.framesSent.get()).values[0]?.value ?? 0;

describe('fan-out in slices (real sockets)', () => {
  it('writes the rest of a frame on later turns, each member once, and a later frame never overtakes it', async () => {
    const n = 80;
    const { members, received } = await room(n);
    const { fanout: f, metrics } = fanout();
    const one = frame(1, n);
    const two = frame(2, n);
    expect(f.deliver(one, members, n)).toBeNull();
    // One slice of 0 ms: the first writes went out now, the rest waits for the next turns.
    const now = await sent(metrics);
    expect(now).toBeGreaterThan(0);
    expect(now).toBeLessThan(n);
    expect(f.deliver(two, members, n)).toBeNull();
    await vi.waitFor(() => expect(received.every((r) => r.length === 2)).toBe(true), { timeout: 10_000 });
    for (let i = 0; i < n; i++) {
      expect(new Uint8Array(received[i][0])).toEqual(expected(one, i + 1));
      expect(new Uint8Array(received[i][1])).toEqual(expected(two, i + 1));
    }
    expect(await sent(metrics)).toBe(2 * n);
  });

  it('flush() writes the rest now, so a close sent after it follows the frame', async () => {
    const n = 60;
    const { members, received, closed } = await room(n);
    const { fanout: f } = fanout();
    const last = frame(7, n);
    f.deliver(last, members, n);
    f.flush();
    for (const m of members.values()) m.socket!.close(1000, 'game finished');
    await Promise.all(closed);
    for (let i = 0; i < n; i++) expect(received[i].map((b) => new Uint8Array(b))).toEqual([expected(last, i + 1)]);
  });

  it('a member whose socket closed before its slice is skipped, the others still get the frame', async () => {
    const n = 60;
    const { members, received } = await room(n);
    const { fanout: f, metrics } = fanout();
    const one = frame(3, n);
    f.deliver(one, members, n);
    const gone = members.get(n)!.socket!;
    gone.terminate();
    await vi.waitFor(() => expect(received.slice(0, n - 1).every((r) => r.length === 1)).toBe(true), { timeout: 10_000 });
    expect(received[n - 1]).toEqual([]);
    expect(await sent(metrics)).toBe(n - 1);
  });
});
