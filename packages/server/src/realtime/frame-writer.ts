/**
 * Writing one encoded frame to many WebSockets at the least cost per socket.
 *
 * `ws.send()` frames its data on every call: a header buffer per call, and a frame made of
 * several parts (shared bytes + a player's own) costs one WebSocket fragment, one header and two
 * socket writes per part. In a crowded room that work is per client per frame. Here a frame's
 * WebSocket message is framed once: a part every recipient shares is framed once per tick
 * (header and payload in one buffer, so each socket gets exactly one `write` of the same bytes,
 * with no per-client copy or allocation), and a player's own parts go in the same message, after
 * a header for the total length, in one corked write.
 *
 * `ws` (8.x) has no public API to send bytes that are already framed, so this writes to the
 * socket `ws` itself writes to, which relies on two facts of the pinned `ws` version, both
 * checked before every write by {@link canWriteFramed} and tested against that version
 * (`packages/server/test/frame-writer.test.ts`):
 * - `ws._socket` is the `net.Socket` the WebSocket writes to, and `bufferedAmount` counts what
 *   is queued on it (so backpressure sees these writes);
 * - without permessage-deflate (the server never negotiates it), `ws._sender` writes each
 *   `send()` synchronously when its `_state` is 0 and its `_queue` is empty, and is between
 *   messages when `_firstFragment` is true: then a write of a whole message cannot split one of
 *   its messages.
 * When either does not hold (another `ws` version, compression, a fragmented send in progress),
 * the caller falls back to `ws.send()`.
 */
import type { WebSocket } from 'ws';

/** The `ws` internals this file relies on (see the file's opening comment). */
interface WsInternals {
  _socket?: { write(chunk: Uint8Array): boolean; cork(): void; uncork(): void; destroyed: boolean; writable: boolean } | null;
  _sender?: { _state?: number; _queue?: unknown[]; _firstFragment?: boolean } | null;
}

/** FIN + binary opcode: one whole binary message in one frame. */
const FIN_BINARY = 0x82;
/**
 * The 2-byte headers of payloads up to 125 bytes, made once: a socket may keep a header queued
 * after `write` returns, which is safe because these buffers are never written to again.
 */
const SHORT_HEADERS: readonly Buffer[] = Array.from({ length: 126 }, (_, n) => Buffer.from([FIN_BINARY, n]));

/**
 * The header of an unmasked (server → client) WebSocket frame holding one whole binary message
 * of `length` bytes (RFC 6455 §5.2): 2 bytes up to 125, 4 up to 65 535, 10 beyond. The buffer
 * must not be written to (those of short payloads are shared).
 */
export function frameHeader(length: number): Buffer {
  if (length <= 125) return SHORT_HEADERS[length];
  if (length <= 0xffff) return Buffer.from([FIN_BINARY, 126, length >>> 8, length & 0xff]);
  const h = Buffer.allocUnsafe(10);
  h[0] = FIN_BINARY;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/** One whole message, framed: header and payload in one buffer (the payload copied once). */
export function framedMessage(payload: Uint8Array): Buffer {
  const header = frameHeader(payload.byteLength);
  const out = Buffer.allocUnsafe(header.length + payload.byteLength);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Whether framed bytes may be written to `ws`'s socket now (see the file's opening comment). */
export function canWriteFramed(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  const socket = w._socket;
  const sender = w._sender;
  return (
    !!socket &&
    !socket.destroyed &&
    socket.writable &&
    !!sender &&
    sender._state === 0 &&
    Array.isArray(sender._queue) &&
    sender._queue.length === 0 &&
    sender._firstFragment === true
  );
}

/** Writes a message framed by {@link framedMessage} (one write). Call only when {@link canWriteFramed}. */
export function writeFramed(ws: WebSocket, message: Uint8Array): void {
  (ws as unknown as WsInternals)._socket!.write(message);
}

/**
 * Writes one whole message made of `parts` (in order) under one header: one corked write, no
 * copy of the parts. Call only when {@link canWriteFramed}.
 */
export function writeParts(ws: WebSocket, parts: readonly Uint8Array[], length: number): void {
  const socket = (ws as unknown as WsInternals)._socket!;
  socket.cork();
  socket.write(frameHeader(length));
  for (const p of parts) socket.write(p);
  socket.uncork();
}

/**
 * {@link writeParts} for the parts `idx` of `parts` (in that order), without building their
 * list. Call only when {@link canWriteFramed}.
 */
export function writePartsAt(ws: WebSocket, parts: readonly Uint8Array[], idx: readonly number[], length: number): void {
  const socket = (ws as unknown as WsInternals)._socket!;
  socket.cork();
  socket.write(frameHeader(length));
  for (let i = 0; i < idx.length; i++) socket.write(parts[idx[i]]);
  socket.uncork();
}
