/**
 * Fan-out and backpressure: how a tick's frames reach each socket of a room, when a player gets
 * a full frame, and when a client that does not read is dropped.
 *
 * - {@link Fanout} (one per room) checks the engine's recipient list against the room's members,
 *   sends each member its frame as one WebSocket message (a part every member shares is framed
 *   once per tick and the same bytes written to every socket: `realtime/frame-writer.ts`), skips frames
 *   while a socket's `bufferedAmount` is over the watermark, and owns "needs a full frame": a
 *   member that just joined, reconnected or had frames skipped gets nothing until a full frame
 *   arrives, and the engine is asked (`resync`) for one once its socket has drained. A frame's
 *   writes run in slices of {@link FANOUT_SLICE_MS} per event-loop turn (the rest on the next
 *   turns, always before the room's next frame or message), so a crowded room's fan-out does not
 *   delay ticks.
 * - {@link SlowClientWatch} (one per server) drops sockets that stay over the caps with 4413.
 *
 * Why fan-out, and not the Squisher, owns "needs a full frame": only the deliverer knows what
 * reached a socket. It is the one that skips frames under backpressure, and the frames already
 * on their way from the engine (a tick or more, across a process or container channel) must be
 * withheld too, which only the receiving end can do. The Squisher keeps no such state: `resync`
 * asks it for one full frame on its next flush (a one-shot request, `Squisher.requestFull`).
 * Which frame is full is the Squisher's mark on each send (`full`); the host never reads frame
 * bytes to tell. From a sandboxed game the mark is untrusted: a lie can only withhold frames
 * from, or hand an unusable delta to, this room's own members (whose clients reset and
 * reconnect on a frame they cannot apply); no other room or the host is affected.
 */
import { CloseCode, type PlayerId } from '@parlor/squish';
import { WebSocket } from 'ws';
import type { FramesMessage } from '../engine/messages.js';
import type { Logger } from '../logger.js';
import type { RejectReason, ServerMetrics } from '../metrics.js';
import { canWriteFramed, framedMessage, writeFramed, writePartsAt } from '../realtime/frame-writer.js';

/** A room member as fan-out sees it: its socket and its delivery state. */
export interface Recipient {
  readonly playerId: PlayerId;
  socket: WebSocket | null;
  /** Frames are withheld until a full frame arrives (just joined, reconnected, or skipped frames). */
  needsFull: boolean;
  /** A `resync` was sent to the engine since `needsFull` was set. */
  resyncRequested: boolean;
  /** @internal the last fan-out (host-side counter) that listed this member: a second listing is a violation */
  fanout: number;
}

/** What a room's {@link Fanout} needs. */
export interface FanoutOptions {
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** `bufferedAmount` above which frames to a socket are skipped. */
  readonly backpressureBytes: number;
  /** Fields naming the room in log lines. */
  readonly logFields: Readonly<Record<string, string>>;
  /** Asks the room's engine for one full frame for a player (`resync`). */
  requestFull(playerId: PlayerId): void;
  /** Longest run of writes in one event-loop turn, ms; default {@link FANOUT_SLICE_MS}. */
  readonly sliceMs?: number;
}

/** The delivery state of a member that has not received anything yet. */
export function freshDelivery(): Pick<Recipient, 'needsFull' | 'resyncRequested' | 'fanout'> {
  // The engine's `join` sends the new member a full frame: no resync needed.
  return { needsFull: true, resyncRequested: true, fanout: 0 };
}

/**
 * A tick's writes go out in slices of at most this many ms of one event-loop turn; what is left
 * continues on the next turn (`setImmediate`), so one crowded room's frame (thousands of socket
 * writes, each a system call) does not hold up the ticks of its own or any other room, nor input.
 */
export const FANOUT_SLICE_MS = 4;
/** Writes between two reads of the clock while a slice runs. */
const CLOCK_EVERY = 32;

/** One tick's decided writes, in order, and how far they have gone. */
interface Batch {
  readonly parts: readonly Uint8Array[];
  /** The tick's parts framed as whole messages, by part index, made on first use (shared by every socket that gets only that part). */
  readonly framed: (Buffer | undefined)[];
  readonly sockets: WebSocket[];
  readonly idx: (readonly number[])[];
  next: number;
}

/** One room's fan-out: see the file's opening comment. */
export class Fanout {
  /** Fan-outs so far (stamps {@link Recipient.fanout}). */
  private fanouts = 0;
  /** Writes of the last frame not done yet (see {@link FANOUT_SLICE_MS}). */
  private batch: Batch | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  /** Members of the current deliver, aligned with its `sends` (reused). */
  private targets: (Recipient | undefined)[] = [];
  private readonly sliceMs: number;

  constructor(private readonly o: FanoutOptions) {
    this.sliceMs = o.sliceMs ?? FANOUT_SLICE_MS;
  }

  /** A member came back on a new socket: withhold frames until a full one, and ask the engine for it. */
  reconnected(m: Recipient): void {
    m.needsFull = true;
    m.resyncRequested = true;
    this.o.requestFull(m.playerId);
  }

  /**
   * Writes now whatever is left of the last frame's writes. The room calls it before anything
   * else goes to its sockets (a message, a close), so nothing overtakes a frame.
   */
  flush(): void {
    if (this.batch) this.run(Infinity);
  }

  /**
   * Sends one tick's frames to `members`. Checks the whole message first, before any write:
   * never more recipients than members ever admitted (`maxPlayerId`), no id never given out,
   * nobody listed twice. (Shapes, caps and frame headers were checked by the sandbox supervisor.)
   * Then decides per member (backpressure, full frame needed) and writes, in slices of
   * {@link FANOUT_SLICE_MS}: the writes of a crowded room's frame may finish on later turns of
   * the event loop, always before the room's next frame or message.
   * @returns `null`, or why the frames break the host's rules (then nothing was sent).
   */
  deliver(f: FramesMessage, members: ReadonlyMap<PlayerId, Recipient>, maxPlayerId: number): string | null {
    const { metrics, backpressureBytes } = this.o;
    const sends = f.sends;
    const n = sends.length;
    const maxId = maxPlayerId;
    if (n > maxId) return `the game sent frames to ${n} recipients (the room has had ${maxId})`;
    const targets = this.targets;
    if (n > 0) {
      // The last frame's writes go first (a tick without a frame does not hurry them).
      this.flush();
      const stamp = ++this.fanouts;
      for (let j = 0; j < n; j++) {
        const pid = sends[j].playerId;
        if (pid > maxId) return 'the game sent a frame to a player that does not exist';
        const m = members.get(pid);
        if (m) {
          if (m.fanout === stamp) return 'the game sent one player two frames in one tick';
          m.fanout = stamp;
        }
        targets[j] = m;
      }
    }
    metrics.tickDuration.observe(f.tickMs / 1000);

    // Members whose socket drained below the watermark after skipped frames: ask for a full frame.
    for (const m of members.values()) {
      if (m.needsFull && !m.resyncRequested && m.socket && m.socket.readyState === WebSocket.OPEN && m.socket.bufferedAmount <= backpressureBytes) {
        m.resyncRequested = true;
        this.o.requestFull(m.playerId);
      }
    }
    if (n === 0) return null;

    let skipped = 0;
    const sockets: WebSocket[] = [];
    const idx: (readonly number[])[] = [];
    for (let j = 0; j < n; j++) {
      const s = sends[j];
      const m = targets[j];
      targets[j] = undefined;
      const ws = m?.socket;
      if (!m || !ws || ws.readyState !== WebSocket.OPEN || s.parts.length === 0) continue;
      if (ws.bufferedAmount > backpressureBytes) {
        if (!m.needsFull) {
          this.o.logger.debug({ ...this.o.logFields, player: m.playerId, buffered: ws.bufferedAmount }, 'backpressure: skipping frames');
        }
        m.needsFull = true;
        m.resyncRequested = false;
        skipped++;
        continue;
      }
      if (m.needsFull) {
        if (s.full !== true) {
          if (!m.resyncRequested) {
            m.resyncRequested = true;
            this.o.requestFull(m.playerId);
          }
          continue;
        }
        m.needsFull = false;
        m.resyncRequested = false;
      }
      sockets.push(ws);
      idx.push(s.parts);
    }
    if (skipped) metrics.framesSkipped.inc(skipped);
    if (sockets.length === 0) return null;
    this.batch = { parts: f.parts, framed: new Array<Buffer | undefined>(f.parts.length), sockets, idx, next: 0 };
    this.run(this.sliceMs);
    return null;
  }

  /** Writes the current batch for up to `budgetMs`, then leaves the rest to the next event-loop turn. */
  private run(budgetMs: number): void {
    const b = this.batch!;
    const { sockets, idx, parts, framed } = b;
    const end = sockets.length;
    const until = budgetMs === Infinity ? Infinity : performance.now() + budgetMs;
    let i = b.next;
    let frames = 0;
    let bytes = 0;
    let sinceClock = 0;
    for (; i < end; i++) {
      if (++sinceClock === CLOCK_EVERY) {
        sinceClock = 0;
        if (performance.now() > until) break;
      }
      const ws = sockets[i];
      if (ws.readyState !== WebSocket.OPEN) continue;
      bytes += this.write(ws, parts, idx[i], framed);
      frames++;
    }
    if (frames) {
      this.o.metrics.framesSent.inc(frames);
      this.o.metrics.bytesSent.inc(bytes);
    }
    if (i < end) {
      b.next = i;
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        if (this.batch) this.run(this.sliceMs);
      });
    } else {
      this.batch = null;
    }
  }

  /**
   * Writes one member's frame, the parts `idx` of `parts` in order, as ONE WebSocket message: a
   * single part as bytes framed once per tick for every socket (one write, no per-client copy),
   * several under one header in one corked write (`realtime/frame-writer.ts`). Where `ws` cannot
   * take framed bytes now, `ws.send` per part (fragments of one message; the client sees the same bytes).
   * @returns the payload bytes written
   */
  private write(ws: WebSocket, parts: readonly Uint8Array[], idx: readonly number[], framed: (Buffer | undefined)[]): number {
    if (idx.length === 1) {
      const k = idx[0];
      const p = parts[k];
      if (canWriteFramed(ws)) writeFramed(ws, (framed[k] ??= framedMessage(p)));
      else ws.send(p, { binary: true, fin: true });
      return p.byteLength;
    }
    let length = 0;
    for (let i = 0; i < idx.length; i++) length += parts[idx[i]].byteLength;
    if (canWriteFramed(ws)) {
      writePartsAt(ws, parts, idx, length);
    } else {
      const last = idx.length - 1;
      for (let i = 0; i <= last; i++) ws.send(parts[idx[i]], { binary: true, fin: i === last });
    }
    return length;
  }
}

/** A client socket as {@link SlowClientWatch} sees it. */
export interface WatchedClient {
  readonly ws: { readonly bufferedAmount: number };
  /** Closes the client for not reading (idempotent). */
  drop(code: number, reason: RejectReason, detail: string): void;
}

/** Limits of {@link SlowClientWatch} (bytes, ms). */
export interface SlowClientLimits {
  readonly backpressureBytes: number;
  readonly maxBufferedBytes: number;
  readonly slowClientTimeoutMs: number;
}

/**
 * Drops clients that do not read, with 4413 (`CloseCode.SLOW_CLIENT`): over `maxBufferedBytes`
 * at two sweeps in a row (a reader drains one big frame in between), or over the backpressure
 * watermark for `slowClientTimeoutMs`. The server sweeps every 250 ms.
 */
export class SlowClientWatch {
  /** Since when (`performance.now()`) each client has been over the watermark / the hard cap. */
  private readonly since = new WeakMap<WatchedClient, { slow: number | null; overCap: number | null }>();

  constructor(private readonly limits: SlowClientLimits) {}

  /** Checks every client once. */
  sweep(clients: Iterable<WatchedClient>, now: number = performance.now()): void {
    const { backpressureBytes, maxBufferedBytes, slowClientTimeoutMs } = this.limits;
    for (const c of clients) {
      const buffered = c.ws.bufferedAmount;
      let t = this.since.get(c);
      if (!t) {
        t = { slow: null, overCap: null };
        this.since.set(c, t);
      }
      if (buffered > maxBufferedBytes) {
        t.overCap ??= now;
        if (now - t.overCap >= 200) c.drop(CloseCode.SLOW_CLIENT, 'slow_client', `more than ${maxBufferedBytes} bytes queued for this client (it does not read)`);
      } else {
        t.overCap = null;
      }
      if (buffered > backpressureBytes) {
        t.slow ??= now;
        if (now - t.slow >= slowClientTimeoutMs) c.drop(CloseCode.SLOW_CLIENT, 'slow_client', `over ${backpressureBytes} bytes queued for ${slowClientTimeoutMs} ms (the client does not read)`);
      } else {
        t.slow = null;
      }
    }
  }
}
