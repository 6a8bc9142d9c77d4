/**
 * One bot: a real WebSocket client that joins a room as the browser client does (`join` →
 * `init`, `assets`, frames applied to a {@link SceneMirror} by squish's decoder, a `ping` every
 * 5 s), sends input through its behaviour, and keeps its own numbers: join time, frames and bytes
 * received, input→frame latencies, and how it ended (the close code).
 */
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import {
  PROTOCOL_VERSION, SUPPORTED_SQUISH_VERSIONS, SceneMirror, closeCodeInfo, decodeServerMessage, encodeClientMessage,
  type ClientMessage, type InitMessage, type InputEvent,
} from '@parlor/squish';
import type { LatencyHistogram } from './histogram.js';
import type { BotTarget } from './target.js';

/** How a bot ended up. */
export type BotState =
  /** Opening its socket, or waiting for `init`. */
  | 'connecting'
  /** Joined: `init` received, frames flowing. */
  | 'joined'
  /** Closed before `init` (the server refused it, or the connection failed): see `closeCode`. */
  | 'refused'
  /** No `init` within the join timeout. */
  | 'timeout'
  /** Joined, then closed by the server or the network before the run ended: see `closeCode`. */
  | 'dropped'
  /** Joined, then the room ended normally (1000) or sent it elsewhere (`redirect`) before the run ended. */
  | 'ended'
  /** Joined and stayed until the run ended. */
  | 'done';

/** What drives a bot's input once it joined (the default plausible player, or a `--script`). */
export interface BotBehaviour {
  /** After the bot's first frame: the scene holds what it sees. */
  start(bot: Bot, now: number): void;
  /** Called every few ms while joined (25 ms by default); sends what is due. */
  step(bot: Bot, now: number): void;
  /** After each frame was applied. */
  frame(bot: Bot, now: number): void;
  /** The run is over: let go of what is held (the bot still sends these before it closes). */
  stop(bot: Bot): void;
}

/** Options of {@link Bot}. */
export interface BotOptions {
  /** 0-based number of the bot in its swarm. */
  index: number;
  target: BotTarget;
  behaviour: BotBehaviour;
  /** Local address to connect from (a 127.x address per bot on loopback); default the system's choice. */
  localAddress?: string;
  /** No `init` within this many ms counts as `timeout`; default 15 000. */
  joinTimeoutMs?: number;
  /**
   * Where its input→frame latencies go (ms), shared by the run: for each frame, the time since the
   * earliest input sent after the previous frame.
   */
  latency: LatencyHistogram;
}

/** Time between pings, ms (the browser client's). */
const PING_MS = 5000;

/** A real client of the game protocol, with its own measurements. */
export class Bot {
  readonly index: number;
  readonly scene = new SceneMirror();
  state: BotState = 'connecting';
  /** The `init` it got, or `null` before. */
  init: InitMessage | null = null;
  /** When it started connecting, `performance.now()` ms. */
  startedAt = 0;
  /** When `init` arrived (ms), or `NaN`. */
  joinedAt = NaN;
  /** When it stopped counting (dropped, ended, or the run's end), or `NaN` while it runs. */
  endedAt = NaN;
  /** Frames received after joining. */
  frames = 0;
  /** WebSocket payload bytes received (every message, `init` and frames included). */
  bytes = 0;
  /** Input events sent. */
  inputs = 0;
  /** Input→frame latency samples it took (the values are in its options' `latency`). */
  latencySamples = 0;
  /** The close code when it was refused, dropped or ended (`4408`… or 1006 for a failed connection). */
  closeCode = 0;
  /** The server's words (its `error` message or close reason), or the connection error. */
  closeReason = '';
  /** Keys it holds (sent `keydown`, no `keyup` yet). */
  readonly heldKeys = new Set<string>();

  private readonly o: BotOptions;
  private ws: WebSocket | null = null;
  private pendingInputAt = NaN;
  private lastError: { code: number; message: string } | null = null;
  private lastPingAt = 0;
  private started = false;
  private stopping = false;
  private joinTimer: NodeJS.Timeout | null = null;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(options: BotOptions) {
    this.o = options;
    this.index = options.index;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Whether it is still connected or connecting. */
  get live(): boolean {
    return this.state === 'connecting' || this.state === 'joined';
  }

  /** Opens the socket and sends `join` (the target's room, or `''` to be placed like a browser). */
  connect(): void {
    this.startedAt = performance.now();
    const { target } = this.o;
    const ws = new WebSocket(target.socketUrl, {
      perMessageDeflate: false,
      handshakeTimeout: this.o.joinTimeoutMs ?? 15_000,
      ...(this.o.localAddress ? { localAddress: this.o.localAddress, family: 4 } : {}),
    });
    this.ws = ws;
    this.joinTimer = setTimeout(() => {
      if (this.state !== 'connecting') return;
      this.finish('timeout', 0, `no init within ${this.o.joinTimeoutMs ?? 15_000} ms`);
      ws.terminate();
    }, this.o.joinTimeoutMs ?? 15_000);
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.send({
        type: 'join', protocolVersion: PROTOCOL_VERSION, game: target.game, roomId: target.roomId, spectate: false,
        reconnectToken: '', ticket: '', name: `bot ${this.index + 1}`, clientInfo: 'parlor bots',
      });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      // a close event follows; keep what went wrong for the report
      if (!this.closeReason) this.closeReason = err.code ?? err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString('utf8')));
  }

  /** Sends one input event (only while joined); counts it and starts a latency sample if none is open. */
  input(event: InputEvent): boolean {
    if (this.state !== 'joined' || this.stopping) return false;
    if (event.kind === 'keydown') {
      if (this.heldKeys.has(event.key)) return false;
      this.heldKeys.add(event.key);
    } else if (event.kind === 'keyup') {
      if (!this.heldKeys.delete(event.key)) return false;
    }
    if (!this.send({ type: 'input', event })) return false;
    this.inputs++;
    if (Number.isNaN(this.pendingInputAt)) this.pendingInputAt = performance.now();
    return true;
  }

  /** Drives its behaviour and its ping; called by the swarm every few ms. */
  step(now: number): void {
    if (this.state !== 'joined' || !this.started || this.stopping) return;
    if (now - this.lastPingAt >= PING_MS) {
      this.lastPingAt = now;
      this.send({ type: 'ping', clientTime: now });
    }
    this.o.behaviour.step(this, now);
  }

  /** Ends its run: releases held keys, closes with 1000, and resolves once the socket closed (at most `graceMs`). */
  async stop(graceMs = 2000): Promise<void> {
    if (this.state === 'joined') {
      this.o.behaviour.stop(this);
      for (const key of [...this.heldKeys]) this.input({ kind: 'keyup', key });
      this.finish('done', 1000, '');
    }
    this.stopping = true;
    if (this.state === 'connecting') this.finish('timeout', 0, 'not joined when the run ended');
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.close(1000, 'bots done');
      const timer = setTimeout(() => ws.terminate(), graceMs);
      await this.closed;
      clearTimeout(timer);
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const at = performance.now();
    if (!isBinary || !Buffer.isBuffer(data)) return;
    this.bytes += data.length;
    let msg;
    try {
      msg = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.length));
    } catch (err) {
      this.abort(`undecodable message: ${(err as Error).message}`);
      return;
    }
    switch (msg.type) {
      case 'init':
        if (msg.protocolVersion !== PROTOCOL_VERSION || !SUPPORTED_SQUISH_VERSIONS.includes(msg.squishVersion)) {
          this.abort(`server speaks protocol ${msg.protocolVersion} with squish ${msg.squishVersion}`);
          return;
        }
        this.init = msg;
        this.joinedAt = at;
        this.lastPingAt = at;
        this.state = 'joined';
        if (this.joinTimer) clearTimeout(this.joinTimer);
        break;
      case 'frame':
        try {
          this.scene.apply(msg.bytes);
        } catch (err) {
          this.abort(`frame could not be applied: ${(err as Error).message}`);
          return;
        }
        if (this.state !== 'joined') return;
        this.frames++;
        if (!Number.isNaN(this.pendingInputAt)) {
          this.o.latency.add(at - this.pendingInputAt);
          this.latencySamples++;
          this.pendingInputAt = NaN;
        }
        this.runBehaviour(at);
        break;
      case 'redirect':
        // a dev rebuild or a matchmaker sends the player elsewhere: this bot's run ends here
        if (this.state === 'joined') this.finish('ended', 0, `redirected to ${msg.url || 'another room'}`);
        this.ws?.close(1000, 'redirected');
        break;
      case 'error':
        this.lastError = { code: msg.code, message: msg.message };
        break;
      default:
        break;
    }
  }

  private runBehaviour(now: number): void {
    if (this.stopping) return;
    if (!this.started) {
      this.started = true;
      this.o.behaviour.start(this, now);
    }
    this.o.behaviour.frame(this, now);
  }

  private onClose(code: number, reason: string): void {
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.ws = null;
    // a server that sent `error` and then dropped the link: its code says more than 1006
    const effective = (code === 1005 || code === 1006) && this.lastError ? this.lastError.code : code;
    const why = this.lastError?.message || reason || this.closeReason || closeCodeInfo(effective)?.meaning || '';
    if (this.state === 'connecting') this.finish('refused', effective, why);
    else if (this.state === 'joined') this.finish(effective === 1000 ? 'ended' : 'dropped', effective, why);
    this.resolveClosed();
  }

  /** Drops the socket on purpose (undecodable data): counted as dropped with the client's own 4000. */
  private abort(why: string): void {
    this.finish(this.state === 'joined' ? 'dropped' : 'refused', 4000, why);
    this.ws?.close(4000, why.slice(0, 100));
  }

  private finish(state: BotState, code: number, reason: string): void {
    if (!this.live) return;
    this.state = state;
    this.closeCode = code;
    this.closeReason = reason;
    this.endedAt = performance.now();
  }

  private send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeClientMessage(msg));
    return true;
  }
}
