/**
 * The frame writer relies on internals of the pinned `ws` (see realtime/frame-writer.ts): this
 * test holds it to them on real sockets, so a `ws` upgrade that changes them fails here, not in
 * a crowded room. It imports the module directly because those facts are the subject.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { canWriteFramed, frameHeader, framedMessage, writeFramed, writeParts } from '../src/realtime/frame-writer.js';

let wss: WebSocketServer | null = null;
let client: WebSocket | null = null;
afterEach(async () => {
  client?.terminate();
  client = null;
  if (wss) await new Promise((r) => wss!.close(r));
  wss = null;
});

/** A server socket and its client over 127.0.0.1, configured as the game server configures `ws`. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; received: Buffer[] }> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const serverSide = once(wss, 'connection') as Promise<[WebSocket]>;
  client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: Buffer[] = [];
  client.on('message', (data: Buffer) => received.push(data));
  await once(client, 'open');
  const [server] = await serverSide;
  return { server, client, received };
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('frame writer (against the pinned ws)', () => {
  it('frames whole messages that interleave with ws.send in order, at every length encoding', async () => {
    const { server, received } = await pair();
    expect(canWriteFramed(server)).toBe(true);
    const small = bytes(100, 1);
    const mid = bytes(300, 2); // 16-bit length
    const big = bytes(70_000, 3); // 64-bit length
    const a = bytes(40, 4);
    const b = bytes(200, 5);
    server.send(Buffer.from('by ws'));
    writeFramed(server, framedMessage(small));
    writeFramed(server, framedMessage(mid));
    server.send(bytes(5, 6), { binary: true });
    writeFramed(server, framedMessage(big));
    writeParts(server, [a, b], a.length + b.length);
    await vi.waitFor(() => expect(received).toHaveLength(6));
    expect(received[0].toString()).toBe('by ws');
    expect(new Uint8Array(received[1])).toEqual(small);
    expect(new Uint8Array(received[2])).toEqual(mid);
    expect(new Uint8Array(received[3])).toEqual(bytes(5, 6));
    expect(new Uint8Array(received[4])).toEqual(big);
    expect(new Uint8Array(received[5])).toEqual(Uint8Array.from([...a, ...b]));
  });

  it('headers follow RFC 6455 for the three length encodings', () => {
    expect([...frameHeader(125)]).toEqual([0x82, 125]);
    expect([...frameHeader(126)]).toEqual([0x82, 126, 0, 126]);
    expect([...frameHeader(65_536)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('is refused while ws is inside a fragmented message, and allowed again after its last fragment', async () => {
    const { server, received } = await pair();
    server.send(bytes(10, 7), { binary: true, fin: false });
    expect(canWriteFramed(server)).toBe(false);
    server.send(bytes(10, 8), { binary: true, fin: true });
    expect(canWriteFramed(server)).toBe(true);
    writeFramed(server, framedMessage(bytes(3, 9)));
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(new Uint8Array(received[0])).toEqual(Uint8Array.from([...bytes(10, 7), ...bytes(10, 8)]));
  });

  it('bufferedAmount counts framed writes, so backpressure sees them', async () => {
    const { server, client: c } = await pair();
    (c as unknown as { _socket: { pause(): void } })._socket.pause(); // a client that stops reading
    const before = server.bufferedAmount;
    for (let i = 0; i < 64; i++) writeFramed(server, framedMessage(bytes(256 * 1024, i)));
    expect(server.bufferedAmount).toBeGreaterThan(before + 1024 * 1024);
  });

  it('is refused on a closed socket', async () => {
    const { server, client: c } = await pair();
    c.close();
    await once(server, 'close');
    expect(canWriteFramed(server)).toBe(false);
  });
});
