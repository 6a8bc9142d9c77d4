import { CloseCode, SquishDecodeError, TokenBucket, decodeClientMessage, encodeServerMessage, type ClientMessage, type JoinMessage } from '@parlor/squish';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../logger.js';
import type { RejectReason, ServerMetrics } from '../metrics.js';
import type { Member, Room } from '../rooms/room.js';

/** What a {@link ClientConnection} needs from its server. */
export interface ConnectionHost {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly joinTimeoutMs: number;
  readonly inputRateLimit: number;
  readonly inputBurst: number;
  /**
   * Handles a `join` (the handshake): marks the connection {@link ClientConnection.joined}, or rejects
   * it, now or later (an identity check may be asynchronous: until then the connection is joining).
   */
  join(conn: ClientConnection, msg: JoinMessage): void;
}

/**
 * One client WebSocket: join timeout, per-socket input rate limit (token bucket), decoding, and
 * rejection of bad input with a documented close code and one log line. Never throws into `ws`.
 *
 * Close codes: 4400 malformed message, a first message other than `join`, or a second `join`;
 * 4429 over the rate limit; 4408 no `join` in time; 1009 (by `ws`) a message over `maxPayload`;
 * 4413 dropped for not reading (see {@link ClientConnection.drop}; decided by `rooms/fanout.ts`).
 * `order` messages count against the same rate limit as input; a refused order or input (room
 * paused, turn closed, finished, not JSON…) is answered with `orderResult`, never a close.
 * The `join` itself is handled by the handshake (`handshake.ts`).
 */
export class ClientConnection {
  room: Room | null = null;
  member: Member | null = null;
  private closed = false;
  /** A `join` was handed to the handshake (which may still be checking the player's identity). */
  private joining = false;
  private readonly bucket: TokenBucket;
  private joinTimer: ReturnType<typeof setTimeout> | null;

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly host: ConnectionHost,
    /** The TCP socket under `ws`, reset by {@link drop} to free its kernel buffers too. */
    private readonly socket?: Socket,
    /** Headers of the upgrade request (for the identity hook). */
    readonly headers: IncomingHttpHeaders = {},
  ) {
    this.bucket = new TokenBucket(host.inputRateLimit, host.inputBurst);
    this.joinTimer = setTimeout(() => {
      this.joinTimer = null;
      if (!this.member) this.reject(CloseCode.JOIN_TIMEOUT, 'join_timeout', `no join within ${host.joinTimeoutMs} ms`);
    }, host.joinTimeoutMs);
    this.joinTimer.unref?.();
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => this.onError(err));
    ws.on('close', () => this.onClose());
  }

  /** Whether the socket was rejected, dropped or closed (a pending join must not complete then). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Marks the connection joined. */
  joined(room: Room, member: Member): void {
    this.room = room;
    this.member = member;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  /**
   * Closes this socket for a protocol reason: counts it in `parlor_input_rejected_total{reason}`,
   * logs one line, sends an `error` message and closes with `code`. Later messages are ignored.
   */
  reject(code: number, reason: RejectReason, detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.host.metrics.inputRejected.inc({ reason });
    this.host.logger.warn({ reason, code, ...this.logFields(), detail }, 'client rejected');
    this.clearJoinTimer();
    if (this.ws.readyState === WebSocket.OPEN) {
      try {
        this.ws.send(encodeServerMessage({ type: 'error', code, message: detail }), { binary: true });
      } catch {
        // the socket is going away anyway
      }
      this.ws.close(code, truncateReason(detail));
    }
  }

  /**
   * Drops a client that does not read (its send buffer is over a cap): counts it in
   * `parlor_input_rejected_total{reason}`, logs one line, closes with `code` without queueing
   * anything more than the close frame, and if the close handshake has not completed 1 s later
   * resets the TCP connection, which frees the bytes queued in this process and in the kernel.
   * Idempotent.
   */
  drop(code: number, reason: RejectReason, detail: string): void {
    if (this.closed) {
      if (this.ws.readyState !== WebSocket.CLOSED) this.reset();
      return;
    }
    this.closed = true;
    this.host.metrics.inputRejected.inc({ reason });
    this.host.logger.warn({ reason, code, buffered: this.ws.bufferedAmount, ...this.logFields(), detail }, 'client dropped');
    this.clearJoinTimer();
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(code, truncateReason(detail));
      const timer = setTimeout(() => this.reset(), 1000);
      timer.unref?.();
    } else {
      this.reset();
    }
  }

  /** Resets the TCP connection (RST: queued bytes are discarded, not delivered), else terminates `ws`. */
  private reset(): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const s = this.socket;
    if (s && !s.destroyed && typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else this.ws.terminate();
  }

  /** Fields identifying this client in log lines (never the reconnect token). */
  logFields(): Record<string, string | number | undefined> {
    return {
      ip: this.ip,
      game: this.room?.game.name,
      room: this.room?.id,
      player: this.member?.playerId,
    };
  }

  private clearJoinTimer(): void {
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!this.bucket.take()) {
      this.reject(CloseCode.RATE_LIMITED, 'rate_limit', `more than ${this.host.inputRateLimit} messages/s (burst ${this.host.inputBurst})`);
      return;
    }
    if (!isBinary) {
      this.reject(CloseCode.MALFORMED, 'malformed', 'text message (the protocol is binary)');
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    let msg: ClientMessage;
    try {
      msg = decodeClientMessage(bytes);
    } catch (err) {
      const detail = err instanceof SquishDecodeError ? err.message : `undecodable message: ${(err as Error)?.message ?? String(err)}`;
      this.reject(CloseCode.MALFORMED, 'malformed', detail);
      return;
    }
    if (!this.member) {
      if (msg.type !== 'join') {
        // while the join's identity is checked, a ping or an early input is dropped
        if (!this.joining) this.reject(CloseCode.MALFORMED, 'malformed', `first message must be join, got ${msg.type}`);
        return;
      }
      if (this.joining) {
        this.reject(CloseCode.MALFORMED, 'malformed', 'join sent twice');
        return;
      }
      this.joining = true;
      try {
        this.host.join(this, msg);
      } catch (err) {
        this.host.logger.error({ ...this.logFields(), error: (err as Error)?.message ?? String(err) }, 'join failed');
        this.reject(CloseCode.ROOM_FAILED, 'room_failed', 'the server could not start the room');
      }
      return;
    }
    const room = this.room!;
    switch (msg.type) {
      case 'join':
        this.reject(CloseCode.MALFORMED, 'malformed', 'join sent twice');
        return;
      case 'input':
        room.input(this.member, msg.event);
        return;
      case 'ping':
        room.pong(this.member, msg.clientTime);
        return;
      case 'order':
        // refusals (paused, turn closed, not JSON, spectator…) are answered with `orderResult`; the socket stays open
        room.order(this.member, msg.id, msg.order);
        return;
    }
  }

  private onError(err: Error & { code?: string }): void {
    if (this.closed) return;
    this.closed = true;
    // ws has already closed the socket with the right code (1009 for a message over maxPayload).
    const tooBig = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
    const reason: RejectReason = tooBig ? 'too_big' : 'malformed';
    this.host.metrics.inputRejected.inc({ reason });
    this.host.logger.warn({ reason, code: tooBig ? CloseCode.MESSAGE_TOO_BIG : err.code, ...this.logFields(), detail: err.message }, 'client rejected');
    this.clearJoinTimer();
  }

  private onClose(): void {
    this.closed = true;
    this.clearJoinTimer();
    if (this.room && this.member) this.room.detach(this.member, this.ws);
  }
}

function truncateReason(s: string): string {
  // Close reasons are limited to 123 bytes of UTF-8.
  let out = s.length > 120 ? s.slice(0, 120) : s;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
