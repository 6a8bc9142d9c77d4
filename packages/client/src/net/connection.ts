/**
 * The client's WebSocket link to a server host, one owner of one state machine: the socket, the
 * join (`join` → `init`), pings and the dead-link check, reconnecting with backoff and the
 * reconnect token, what each close code means for it, and applying frames to the mirror.
 *
 * Over ~400 lines on purpose: every method here reads or writes the same few fields (the socket,
 * status, token, ticket, timers), and split across files they would have to be shared back and
 * forth. What owns no connection state lives elsewhere: the redirect policy in `redirect.ts`,
 * close-code meanings and the client's own close code in `close-codes.ts`, orders in flight in
 * `orders.ts`.
 */
import {
  decodeServerMessage,
  encodeClientMessage,
  CloseCode,
  PROTOCOL_VERSION,
  SUPPORTED_SQUISH_VERSIONS,
  SceneMirror,
  SquishDecodeError,
  backoffDelay,
  type AssetsMessage,
  type BackoffOptions,
  type ClientMessage,
  type InitMessage,
  type InputEvent,
  type RedirectMessage,
  type RoomState,
  type ServerMessage,
} from '@parlor/squish';
import { CLIENT_RESET_CLOSE, closeAction, closeCodeMeaning } from './close-codes.js';
import { ClientError, ClientErrorCode } from '../errors.js';
import { Emitter } from '../emitter.js';
import { RedirectRefusedError, checkRedirect } from './redirect.js';
import { OrderBook, orderText, type OrderResult } from './orders.js';

/** Where a {@link Connection} is in its life. */
export type ConnectionStatus =
  /** Opening the first socket / waiting for `init`. */
  | 'connecting'
  /** Joined: `init` received, frames flowing. */
  | 'playing'
  /** Lost the socket; waiting for (or in) a reconnect attempt. */
  | 'reconnecting'
  /** Stopped for good after a close code that retrying cannot fix (see `error`). */
  | 'error'
  /** Closed by {@link Connection.close} or by navigating away on a redirect. */
  | 'closed';

/** Why a connection stopped. */
export interface ConnectionError {
  /** The WebSocket close code (or the `error` message's code). */
  code: number;
  /** What the code means, e.g. "no such game or room". */
  meaning: string;
  /** The server's own words (from its `error` message or close reason), or the meaning. */
  reason: string;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  status: [status: ConnectionStatus];
  init: [init: InitMessage];
  assets: [assets: AssetsMessage];
  /** A frame was applied to the mirror. */
  frame: [info: { full: boolean; seq: number }];
  /**
   * A `redirect` to an http(s) URL of an allowed origin (see {@link checkRedirect}) for the page
   * to navigate to (the connection closes). Refused redirects are never emitted here.
   */
  redirect: [redirect: RedirectMessage];
  /** Round-trip time measured from a ping/pong, ms. */
  rtt: [rttMs: number];
  /**
   * The server asked for something the client refuses to do (a `redirect` to a scheme other than
   * http(s)/ws(s), or to an origin not allowed). The message was ignored; the connection goes on.
   */
  refused: [error: RedirectRefusedError];
  /**
   * The room's runtime state changed (a `state` message: after `init`, then on pause, resume, a
   * turn generating and ready, the game finishing). See {@link Connection.state}.
   */
  state: [state: RoomState];
  /**
   * Every `orderResult` the server sent: answers to {@link Connection.sendOrder} (their promises
   * settle too) and, with `id` 0, refused input (paused room, turn generating) and orders the game
   * made from a click.
   */
  orderResult: [result: OrderResult];
}

/** Minimal WebSocket constructor type (the browser's, or a compatible one). */
export type WebSocketConstructor = new (url: string | URL, protocols?: string | string[]) => WebSocket;

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  /** WebSocket URL of the server, e.g. `ws://host/parlor/ws`. */
  url: string;
  /** Game name (the route's `:game`). */
  game: string;
  /** Room to join; `''` (default) = any open room of the game, or a new one. */
  roomId?: string;
  /** Join as a spectator; default false. */
  spectate?: boolean;
  /** Display name; default `''` (the server picks one). */
  name?: string;
  /** Reconnect token from an earlier `init` (e.g. from sessionStorage); default none. */
  reconnectToken?: string;
  /** Join ticket for a reserved room; default none. */
  ticket?: string;
  /**
   * Signed identity token (a JWT from the integrator's sign-in) sent in every `join`; default none
   * (anonymous). A game that needs sign-in refuses anonymous joins with 4402; a token that does
   * not verify is refused with 4498.
   */
  identityToken?: string;
  /** Free-form client description sent in `join`; default the user agent. */
  clientInfo?: string;
  /** The mirror frames are applied to; default a new one. */
  scene?: SceneMirror;
  /** Time between pings, ms; default 5000. */
  pingIntervalMs?: number;
  /** Silence (no message at all) after which the socket is considered dead and reopened, ms; default 15000. */
  deadAfterMs?: number;
  /** Reconnect backoff (squish's `backoffDelay`, full jitter): delay ceiling 250 ms doubling to a 5000 ms cap by default. */
  backoff?: BackoffOptions;
  /** WebSocket implementation; default the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Called with each new reconnect token (to persist it); default none. */
  onToken?: (init: InitMessage) => void;
  /** Called when the server rejected the stored token (4401), to forget it; default none. */
  onTokenRejected?: () => void;
  /**
   * Origins (besides the page's and the socket's own) a server `redirect` may send this client to,
   * e.g. `['https://eu.example.com']`; default none. Any other redirect is refused (see {@link checkRedirect}).
   */
  allowedOrigins?: readonly string[];
}

/**
 * The client's WebSocket link to a Parlor server host: sends `join`, handles `init`, `assets`,
 * `frame` (applied to a {@link SceneMirror}), `redirect`, `error` and `pong`; pings every
 * `pingIntervalMs` (measuring RTT); reconnects with
 * exponential backoff and full jitter (squish's `backoffDelay`: ceiling 250 ms → 5 s) using the reconnect token.
 *
 * Close codes: what to do after each is squish's `CLOSE_CODES` table (see {@link closeAction}):
 * `'rejoin'` (4401, token rejected) → join the room afresh; `'stop'` (1000, 1009, 4400, 4402, 4403, 4404, 4407,
 * 4409, 4411, 4426, 4498, 4500) → stop with status `'error'`; anything else → reconnect.
 * A `redirect` with a `ws:`/`wss:` URL (or none) rejoins there with its ticket; an `http(s):` URL
 * is emitted as a `redirect` event for the page to navigate to (the connection closes). Only
 * URLs of the page's or socket's origin or of `allowedOrigins` are followed (see
 * {@link checkRedirect}); others (and every other scheme, e.g. `javascript:`) are ignored with a
 * console warning and a `refused` event.
 */
export class Connection extends Emitter<ConnectionEvents> {
  /** The mirrored scene. */
  readonly scene: SceneMirror;
  /** Current status. */
  status: ConnectionStatus = 'connecting';
  /** The last `init`, or `null` before the first. */
  init: InitMessage | null = null;
  /** Why the connection stopped, when `status === 'error'`. */
  error: ConnectionError | null = null;
  /** Reconnect attempt number (0 while connected). */
  attempt = 0;
  /** Frames applied so far. */
  framesApplied = 0;
  /** Last measured round-trip time, ms (`NaN` before the first pong). */
  rtt = NaN;
  /** Room id: the requested one, then the one from `init`. */
  roomId: string;
  /**
   * The room's runtime state from the server's last `state` message (status, open turn, next
   * cutoff on the server's clock, reason), or `null` before the first. Kept while reconnecting to
   * the same room; cleared when the client lands in another room.
   */
  state: RoomState | null = null;
  /**
   * The server's clock minus this page's (`Date.now()`), ms, estimated from pings (the sample with
   * the shortest round trip among the last 8); 0 before the first pong. `Date.now() +
   * serverClockOffset` is the server's time, e.g. to count down to `state.nextTurnAt`.
   */
  serverClockOffset = 0;

  private url: string;
  private readonly game: string;
  private readonly spectate: boolean;
  private readonly name: string;
  private readonly clientInfo: string;
  private token: string;
  private ticket: string;
  private readonly identityToken: string;
  private readonly pingInterval: number;
  private readonly deadAfter: number;
  private readonly backoff: BackoffOptions;
  private readonly WS: WebSocketConstructor;
  private readonly onToken: (init: InitMessage) => void;
  private readonly onTokenRejected: () => void;
  private readonly allowedOrigins: readonly string[];
  private ws: WebSocket | null = null;
  private lastErrorMessage: { code: number; message: string } | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private joinTimer: ReturnType<typeof setTimeout> | null = null;
  private lastMessageAt = 0;
  private joined = false;
  private started = false;
  private readonly orders = new OrderBook();
  private clockSamples: Array<{ rtt: number; offset: number }> = [];

  constructor(options: ConnectionOptions) {
    super();
    this.url = options.url;
    this.game = options.game;
    this.roomId = options.roomId ?? '';
    this.spectate = options.spectate ?? false;
    this.name = options.name ?? '';
    this.token = options.reconnectToken ?? '';
    this.ticket = options.ticket ?? '';
    this.identityToken = options.identityToken ?? '';
    this.clientInfo = options.clientInfo ?? (typeof navigator !== 'undefined' ? navigator.userAgent.slice(0, 200) : '');
    this.scene = options.scene ?? new SceneMirror();
    this.pingInterval = options.pingIntervalMs ?? 5000;
    this.deadAfter = options.deadAfterMs ?? 15000;
    this.backoff = options.backoff ?? {};
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new ClientError(ClientErrorCode.NO_WEBSOCKET, 'Parlor: no WebSocket implementation available');
    this.WS = WS;
    this.onToken = options.onToken ?? (() => {});
    this.onTokenRejected = options.onTokenRejected ?? (() => {});
    this.allowedOrigins = [...(options.allowedOrigins ?? [])];
  }

  /** Whether a socket is open and joined. */
  get connected(): boolean {
    return this.status === 'playing';
  }

  /** Opens the socket and joins. Calling it again does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.open();
  }

  /**
   * Sends one input event. Dropped (returns false) unless joined as a player: spectators and
   * disconnected clients send no game input.
   */
  sendInput(event: InputEvent): boolean {
    if (this.status !== 'playing' || this.init?.spectator) return false;
    return this.send({ type: 'input', event });
  }

  /**
   * Sends an order of a turn-based game (an `order` message: `JSON.stringify(order)`, at most
   * `ORDER_LIMITS.bytes` = 4096 UTF-8 bytes) and resolves with the server's answer: `accepted`
   * (applied and stored durably) or refused with a `RefusalCode` (`GAME_PAUSED`,
   * `TURN_ALREADY_CLOSED`, `ORDER_REJECTED` with the game's message, …); a refusal resolves, it
   * does not reject. Ids are numbered per connection from 1. A spectator's order resolves at once,
   * refused with `SPECTATOR`, without being sent.
   * @param order any JSON-serialisable value the game's `onOrder` understands
   * @throws {ClientError} (as a rejected promise) `CLIENT_ORDER_INVALID` for an order with no JSON
   *   form or over the cap (nothing sent); `CLIENT_DISCONNECTED` when not joined (status other than
   *   `'playing'`), or when the socket was lost before the answer (the order may or may not have been applied)
   */
  sendOrder(order: unknown): Promise<OrderResult> {
    let text: string;
    try {
      text = orderText(order);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.status !== 'playing' || !this.ws) {
      return Promise.reject(new ClientError(ClientErrorCode.DISCONNECTED, `sendOrder: not connected to the room (status ${this.status}); send it again once the status is 'playing'`));
    }
    const { id, result } = this.orders.open();
    if (this.init?.spectator) {
      this.orders.settle({ id, accepted: false, code: 'SPECTATOR', message: 'Spectators cannot give orders.', turn: this.state?.turn ?? 0 });
    } else if (!this.send({ type: 'order', id, order: text })) {
      this.orders.fail(id, new ClientError(ClientErrorCode.DISCONNECTED, 'sendOrder: the socket is not open; send it again once the status is \'playing\''));
    }
    return result;
  }

  /** Closes the socket for good (status `'closed'`); no reconnect follows. */
  close(): void {
    this.setStatus('closed');
    this.teardown(1000, 'client closed');
  }

  // ---------------------------------------------------------------- socket lifecycle

  private open(): void {
    this.clearTimer('reconnect');
    let ws: WebSocket;
    try {
      ws = new this.WS(this.url);
    } catch (err) {
      // a malformed URL can never work
      this.fail(1006, `cannot open ${this.url}: ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.lastErrorMessage = null;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastMessageAt = now();
      this.send({
        type: 'join',
        protocolVersion: PROTOCOL_VERSION,
        game: this.game,
        roomId: this.roomId,
        spectate: this.spectate,
        reconnectToken: this.token,
        ticket: this.ticket,
        name: this.name,
        clientInfo: this.clientInfo,
        ...(this.identityToken ? { token: this.identityToken } : {}),
      });
      // the server answers within its join timeout (10 s) or closes; guard against silence
      this.joinTimer = setTimeout(() => {
        if (this.ws === ws && !this.joined) this.reset('no init');
      }, Math.max(this.deadAfter, 12000));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastMessageAt = now();
      const data = ev.data;
      if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
      this.onMessage(new Uint8Array(data));
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClose(ev.code, ev.reason);
    };
    ws.onerror = () => {
      // a close event always follows
    };
  }

  private onMessage(bytes: Uint8Array): void {
    let msg: ServerMessage;
    try {
      msg = decodeServerMessage(bytes);
    } catch (err) {
      if (err instanceof SquishDecodeError) {
        console.warn('[parlor] undecodable server message; reconnecting', err);
        this.reset('bad message');
        return;
      }
      throw err;
    }
    switch (msg.type) {
      case 'init':
        this.onInit(msg);
        break;
      case 'assets':
        this.emit('assets', msg);
        break;
      case 'frame': {
        let info: { full: boolean; seq: number };
        try {
          info = this.scene.apply(msg.bytes);
        } catch (err) {
          console.warn('[parlor] frame could not be applied; reconnecting for a full frame', err);
          this.reset('bad frame');
          return;
        }
        this.framesApplied++;
        this.emit('frame', info);
        break;
      }
      case 'redirect':
        this.onRedirect(msg);
        break;
      case 'error':
        this.lastErrorMessage = { code: msg.code, message: msg.message };
        break;
      case 'pong': {
        const rtt = now() - msg.clientTime;
        if (rtt >= 0 && Number.isFinite(rtt)) {
          this.rtt = rtt;
          this.sampleClock(rtt, msg.serverTime);
          this.emit('rtt', rtt);
        }
        break;
      }
      case 'state': {
        const { type: _type, ...state } = msg;
        this.state = state;
        this.emit('state', state);
        break;
      }
      case 'orderResult': {
        const { type: _type, ...result } = msg;
        this.orders.settle(result);
        this.emit('orderResult', result);
        break;
      }
    }
  }

  private onInit(init: InitMessage): void {
    if (init.protocolVersion !== PROTOCOL_VERSION || !SUPPORTED_SQUISH_VERSIONS.includes(init.squishVersion)) {
      this.fail(
        CloseCode.VERSION_MISMATCH,
        `server speaks protocol ${init.protocolVersion} with squish ${init.squishVersion}; this client supports protocol ${PROTOCOL_VERSION} with squish ${SUPPORTED_SQUISH_VERSIONS.join(', ')}`,
      );
      return;
    }
    // a state belongs to its room: another room (a redirect, a rejoin afresh) sends its own
    if (this.init && this.init.roomId !== init.roomId) this.state = null;
    this.init = init;
    this.joined = true;
    this.clearTimer('join');
    this.attempt = 0;
    this.error = null;
    this.roomId = init.roomId;
    this.token = init.reconnectToken;
    this.ticket = '';
    try {
      this.onToken(init);
    } catch (err) {
      console.warn('[parlor] could not store the reconnect token', err);
    }
    this.startPing();
    this.setStatus('playing');
    this.emit('init', init);
  }

  private onRedirect(r: RedirectMessage): void {
    const target = checkRedirect(r.url, { socketUrl: this.url, allowedOrigins: this.allowedOrigins });
    if (target instanceof RedirectRefusedError) {
      console.warn(`[parlor] ${target.message}: ${JSON.stringify(target.url)}`);
      this.emit('refused', target);
      return;
    }
    if (target.kind === 'socket') {
      // rejoin at the given endpoint (or here) with the ticket: a new player in another room
      this.url = target.url;
      this.ticket = typeof r.ticket === 'string' ? r.ticket.slice(0, 256) : '';
      this.token = '';
      this.roomId = '';
      this.state = null; // another room: it sends its own
      this.attempt = 0;
      this.teardown(1000, 'redirected');
      this.setStatus('connecting');
      this.open();
      return;
    }
    this.emit('redirect', { ...r, url: target.url });
    this.setStatus('closed');
    this.teardown(1000, 'redirected');
  }

  private onClose(code: number, reason: string): void {
    this.stopTimers();
    this.joined = false;
    this.orders.failAll(`socket closed with code ${code}`);
    if (this.status === 'closed' || this.status === 'error') return;
    // a server that sent `error` and then dropped the link: its code says more than 1006
    let effective = code;
    if ((code === 1005 || code === 1006) && this.lastErrorMessage) effective = this.lastErrorMessage.code;
    const action = closeAction(effective);
    if (action === 'stop') {
      this.fail(effective, this.lastErrorMessage?.message || reason || closeCodeMeaning(effective));
      return;
    }
    if (action === 'rejoin') {
      this.token = '';
      try {
        this.onTokenRejected();
      } catch {
        // storage failures are not fatal
      }
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.attempt++;
    this.setStatus('reconnecting');
    const delay = backoffDelay(this.attempt, Math.random(), this.backoff);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.status === 'reconnecting') this.open();
    }, delay);
  }

  /** Drops the current socket on purpose and reconnects (dead link, undecodable data). */
  private reset(why: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.stopTimers();
    this.joined = false;
    this.orders.failAll(why);
    try {
      ws.close(CLIENT_RESET_CLOSE, why);
    } catch {
      // already closing
    }
    this.scheduleReconnect();
  }

  private fail(code: number, reason: string): void {
    this.error = { code, meaning: closeCodeMeaning(code), reason };
    this.setStatus('error');
    this.teardown(1000, 'stopped');
  }

  private teardown(code: number, reason: string): void {
    this.stopTimers();
    this.clearTimer('reconnect');
    this.joined = false;
    this.orders.failAll(reason);
    const ws = this.ws;
    this.ws = null;
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) {
      try {
        ws.close(code, reason);
      } catch {
        // ignore
      }
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status && status !== 'reconnecting') return;
    this.status = status;
    this.emit('status', status);
  }

  // ---------------------------------------------------------------- sending, pings

  private send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(encodeClientMessage(msg));
      return true;
    } catch (err) {
      console.warn('[parlor] could not send', msg.type, err);
      return false;
    }
  }

  /** Keeps the clock offset of the shortest round trip among the last 8 pongs (its midpoint is the best guess of when the server read its clock). */
  private sampleClock(rtt: number, serverTime: number): void {
    if (!Number.isFinite(serverTime)) return;
    this.clockSamples.push({ rtt, offset: serverTime - (Date.now() - rtt / 2) });
    if (this.clockSamples.length > 8) this.clockSamples.shift();
    let best = this.clockSamples[0];
    for (const s of this.clockSamples) if (s.rtt < best.rtt) best = s;
    this.serverClockOffset = best.offset;
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const ping = () => {
      if (now() - this.lastMessageAt > this.deadAfter) {
        this.reset('no messages');
        return;
      }
      this.send({ type: 'ping', clientTime: now() });
    };
    ping();
    this.pingTimer = setInterval(ping, this.pingInterval);
  }

  private stopTimers(): void {
    this.clearTimer('ping');
    this.clearTimer('join');
  }

  private clearTimer(which: 'ping' | 'join' | 'reconnect'): void {
    switch (which) {
      case 'ping':
        if (this.pingTimer) clearInterval(this.pingTimer);
        this.pingTimer = null;
        break;
      case 'join':
        if (this.joinTimer) clearTimeout(this.joinTimer);
        this.joinTimer = null;
        break;
      case 'reconnect':
        if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        break;
    }
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
