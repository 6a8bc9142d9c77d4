import { CloseCode, PLAY_PATH_PREFIX, playPath, socketUrlFor, type InitMessage, type Node, type RoomState, type SceneMirror } from '@parlor/squish';
import { AssetStore } from './media/assets.js';
import { AudioPlayer } from './media/audio.js';
import { Connection, type ConnectionError, type ConnectionStatus, type WebSocketConstructor } from './net/connection.js';
import { Emitter } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { hitTest } from './render/hit-test.js';
import { InputController } from './input/input.js';
import { StatusOverlay, type OverlayAction } from './ui/overlay.js';
import { RoomHud } from './ui/room-hud.js';
import type { OrderResult } from './net/orders.js';
import { RedirectRefusedError, checkRedirect } from './net/redirect.js';
import { identityRefusalTitle } from './net/close-codes.js';
import { CanvasRenderer } from './render/renderer.js';
import { Interpolator, type InterpolationOptions } from './render/interpolation.js';
import { DevMode } from './ui/dev-mode.js';

/** Options of {@link start}. */
export interface StartOptions {
  /** Game name (the route's `:game`). Required. */
  game: string;
  /** Room to join; `''` (default) = any open room of the game, or a new one. */
  roomId?: string;
  /** Join as a spectator (sees only public nodes, sends no input); default false. */
  spectate?: boolean;
  /** Display name; default `''` (the server picks "Player N"). */
  name?: string;
  /**
   * WebSocket URL of the server; default `ws(s)://<location.host>/parlor/ws`
   * (`wss` when the page is served over https).
   */
  url?: string;
  /**
   * Canvas to draw on; default `<canvas id="parlor">`, or a new full-window canvas appended
   * to `<body>` if there is none.
   */
  canvas?: HTMLCanvasElement;
  /** Join ticket for a reserved room; default the page URL's `?ticket=` parameter, or none. */
  ticket?: string;
  /**
   * Signed identity token (a JWT from your sign-in) sent with every join, so the game sees
   * `player.userId` / `player.roles` and games needing sign-in admit the player. Default: the page
   * URL's `?token=` parameter (then kept in sessionStorage under {@link IDENTITY_TOKEN_KEY},
   * `parlor:token`, and removed from the address bar), else that sessionStorage entry, else none
   * (anonymous). A token the server rejects (4498) is forgotten from sessionStorage.
   */
  token?: string;
  /**
   * Where to sign in: offered as a "Sign in" link when the server refuses the join for want of a
   * sign-in (4402) or a rejected token (4498); the page's address is appended as `?return=`.
   * Default none (only "Back to the lobby").
   */
  signInUrl?: string;
  /**
   * After joining, rewrite the address bar to `/play/<game>/<roomId>` (keeping the query,
   * e.g. `?spectate=1`, but not a used `ticket` or `create`) so a reload rejoins the same room,
   * and a reload after the room ended gets the server's "room not found" page; default true.
   */
  updateUrl?: boolean;
  /**
   * Show the status overlay and spectator badge, and the room's state banner and order toasts
   * ({@link RoomHud}); default true.
   */
  overlay?: boolean;
  /**
   * Dev mode (`parlor dev`'s play pages set it from `data-dev`): show the game's build and room
   * errors in a dev overlay (from the server's `/parlor/dev/events`), and when a fixed build
   * arrives after an error or after the connection stopped (e.g. the room failed, 4500), bring the
   * page to it by itself. Default false: no dev overlay, no extra request.
   */
  dev?: boolean;
  /**
   * Draw at the display rate and interpolate node positions and sizes between frames, so a room
   * sending 20 frames a second looks smooth at 60 fps (see {@link Interpolator}: about one frame
   * interval behind the newest frame, never past it; full frames, new nodes, teleports and nodes
   * with `interpolate: false` are drawn at once). `false` draws each frame as it arrives; an
   * object turns it on with those options. Default true.
   */
  interpolate?: boolean | InterpolationOptions;
  /** WebSocket implementation; default the browser's. */
  WebSocket?: WebSocketConstructor;
  /**
   * Origins besides the page's (and the socket's) that a server `redirect` may send this page or
   * socket to, e.g. `['https://eu.example.com']`; default none. See `checkRedirect`.
   */
  allowedOrigins?: readonly string[];
}

/** Status of a {@link ParlorClient}; same as the connection's. */
export type ClientStatus = ConnectionStatus;

/** Events of a {@link ParlorClient}. */
export interface ClientEvents {
  status: [status: ClientStatus];
  init: [init: InitMessage];
  /** A frame was applied (the canvas repaints on the next animation frame). */
  frame: [info: { full: boolean; seq: number }];
  /**
   * The canvas was painted: after a change, and on every animation frame while nodes are
   * interpolating between frames. A listener may read the canvas back (what the player sees).
   */
  paint: [];
  /** A server `redirect` was refused (bad scheme or origin) and ignored; the page stays. */
  refused: [error: RedirectRefusedError];
  /** The room's runtime state changed (see {@link ParlorClient.state}). */
  state: [state: RoomState];
  /**
   * Every `orderResult` from the server: answers to {@link ParlorClient.sendOrder} and, with `id`
   * 0, refused input (paused room, turn generating) and orders the game made from a click.
   */
  orderResult: [result: OrderResult];
}

/** sessionStorage key of the player's identity token (see {@link StartOptions.token}): `parlor:token`. */
export const IDENTITY_TOKEN_KEY = 'parlor:token';

/** sessionStorage key of a room's reconnect token: `parlor:<game>:<roomId>`. */
export function tokenStorageKey(game: string, roomId: string): string {
  return `parlor:${game}:${roomId}`;
}

/** The page path of a room, `/play/<game>/<roomId>`: `playPath` of `@parlor/squish`, re-exported for pages that load only the client. */
export { playPath };

/**
 * A running Parlor game in the page: a {@link Connection} to the server, a
 * {@link CanvasRenderer} for the mirrored scene, {@link InputController} input, an
 * {@link AssetStore}, an {@link AudioPlayer} and a {@link StatusOverlay}. Build one with {@link start}.
 */
export class ParlorClient extends Emitter<ClientEvents> {
  /** Game name. */
  readonly game: string;
  /** The canvas drawn on. */
  readonly canvas: HTMLCanvasElement;
  /** The WebSocket link (status, reconnects, the mirrored scene). */
  readonly connection: Connection;
  /** The canvas renderer (viewport, paint count). */
  readonly renderer: CanvasRenderer;
  /** Keyboard, pointer and gamepad input. */
  readonly input: InputController;
  /** The game's images and sounds. */
  readonly assets: AssetStore;
  /** Sounds of audio nodes. */
  readonly audio: AudioPlayer;
  /** The overlay, or `null` when disabled. */
  readonly overlay: StatusOverlay | null;
  /** The room's state banner and order toasts (inside the overlay), or `null` when the overlay is disabled. */
  readonly hud: RoomHud | null;
  /** Dev mode (overlay of the game's build errors, recovery after a fix), or `null` outside dev mode. */
  readonly dev: DevMode | null;
  /** Interpolation between frames (see {@link StartOptions.interpolate}), or `null` when turned off. */
  readonly interpolator: Interpolator | null;
  private readonly updateUrl: boolean;
  private readonly signInUrl: string | null;
  private readonly allowedOrigins: readonly string[];

  constructor(options: StartOptions) {
    super();
    if (!options || typeof options.game !== 'string' || options.game === '') {
      throw new ClientError(ClientErrorCode.OPTIONS, 'Parlor.start: options.game (the game name) is required');
    }
    this.game = options.game;
    this.updateUrl = options.updateUrl ?? true;
    this.signInUrl = typeof options.signInUrl === 'string' && options.signInUrl !== '' ? options.signInUrl : null;
    this.allowedOrigins = [...(options.allowedOrigins ?? [])];
    this.canvas = options.canvas ?? findOrCreateCanvas();
    const url = options.url ?? defaultSocketUrl();
    const spectate = options.spectate ?? false;
    const roomId = options.roomId ?? '';
    const storage = sessionStore();
    const storedToken = roomId && !spectate ? (storage?.getItem(tokenStorageKey(this.game, roomId)) ?? '') : '';

    this.assets = new AssetStore({ baseUrl: httpBaseOf(url), onChange: () => this.renderer.invalidate() });
    this.audio = new AudioPlayer(this.assets);
    this.connection = new Connection({
      url,
      game: this.game,
      roomId,
      spectate,
      name: options.name ?? '',
      reconnectToken: storedToken,
      ticket: options.ticket ?? ticketFromLocation(),
      identityToken: options.token ?? identityTokenFromPage(storage),
      WebSocket: options.WebSocket,
      allowedOrigins: this.allowedOrigins,
      onToken: (init) => {
        if (!init.spectator) storage?.setItem(tokenStorageKey(init.game || this.game, init.roomId), init.reconnectToken);
      },
      onTokenRejected: () => {
        if (this.connection.roomId) storage?.removeItem(tokenStorageKey(this.game, this.connection.roomId));
      },
    });
    this.overlay = options.overlay === false ? null : new StatusOverlay(this.canvas);
    this.hud = this.overlay ? new RoomHud(this.overlay.element, { serverNow: () => Date.now() + this.connection.serverClockOffset }) : null;
    const interpolate = options.interpolate ?? true;
    this.interpolator = interpolate === false ? null : new Interpolator(interpolate === true ? {} : interpolate);
    this.renderer = new CanvasRenderer({
      canvas: this.canvas,
      scene: () => this.connection.scene.root,
      assets: this.assets,
      onResize: (vp) => this.overlay?.follow(vp),
      interpolator: this.interpolator ?? undefined,
      onPaint: () => this.emit('paint'),
    });
    this.input = new InputController({
      canvas: this.canvas,
      send: (event) => {
        this.connection.sendInput(event);
      },
      viewport: () => this.renderer.viewport,
      hitTest: (x, y) => this.hitTest(x, y),
      enabled: () => this.connection.status === 'playing' && !this.spectator,
    });

    this.connection.on('status', (s) => this.onStatus(s));
    this.connection.on('init', (init) => this.onInit(init));
    this.connection.on('assets', (m) => {
      this.assets.setAssets(m.assets);
      this.renderer.invalidate();
    });
    this.connection.on('frame', (info) => {
      this.interpolator?.frame(this.connection.scene.root, info.full, performance.now());
      this.renderer.invalidate();
      if (this.assets.hasAudio() || this.audio.size > 0) this.audio.sync(this.connection.scene.root);
      this.emit('frame', info);
    });
    this.connection.on('refused', (e) => this.emit('refused', e));
    this.connection.on('state', (state) => {
      if (this.connection.status === 'playing') this.hud?.setState(state);
      this.emit('state', state);
    });
    this.connection.on('orderResult', (result) => {
      // refusals always; an accepted order only when the game made it from a click (id 0): a
      // sendOrder caller has its promise
      if (!result.accepted || result.id === 0) this.hud?.showOrderResult(result);
      this.emit('orderResult', result);
    });
    this.connection.on('redirect', (r) => {
      if (typeof location === 'undefined') return;
      // Checked by the connection already; checked again right where the page navigates.
      const checked = checkRedirect(r.url, { socketUrl: url, pageUrl: location.href, allowedOrigins: this.allowedOrigins });
      if (checked instanceof RedirectRefusedError || checked.kind !== 'page') {
        const e = checked instanceof RedirectRefusedError ? checked : new RedirectRefusedError(r.url.slice(0, 200), 'not a page URL');
        console.warn(`[parlor] ${e.message}`);
        this.emit('refused', e);
        return;
      }
      const target = new URL(checked.url);
      if (r.ticket) target.searchParams.set('ticket', r.ticket);
      // a spectator stays a spectator on the server's play pages
      if (this.spectator && target.origin === location.origin && target.pathname.startsWith(PLAY_PATH_PREFIX)) target.searchParams.set('spectate', '1');
      location.assign(target.href);
    });
    this.dev = options.dev === true ? new DevMode({ game: this.game, document: this.canvas.ownerDocument, playing: () => this.connection.status === 'playing', recover: () => this.rejoinFixedBuild() }) : null;
    this.input.attach();
    this.onStatus(this.connection.status);
    this.connection.start();
  }

  /** Connection status: `'connecting' | 'playing' | 'reconnecting' | 'error' | 'closed'`. */
  get status(): ClientStatus {
    return this.connection.status;
  }
  /** This client's player id in the room, or `null` before `init`. */
  get playerId(): number | null {
    return this.connection.init?.playerId ?? null;
  }
  /** Whether the server admitted this client as a spectator. */
  get spectator(): boolean {
    return this.connection.init?.spectator ?? false;
  }
  /** Room id (the requested one until `init`, then the server's). */
  get roomId(): string {
    return this.connection.roomId;
  }
  /** The mirrored scene. */
  get scene(): SceneMirror {
    return this.connection.scene;
  }
  /** Frames applied so far. */
  get framesApplied(): number {
    return this.connection.framesApplied;
  }
  /**
   * The room's runtime state (`status`: `running`, `generation_in_progress`, `paused`,
   * `finished`; the open `turn`; `nextTurnAt`, the next cutoff on the server's clock, ms since the
   * epoch, or `null`; the `reason` of a pause or end), or `null` before the server sent one.
   */
  get state(): RoomState | null {
    return this.connection.state;
  }
  /** The server's clock minus this page's, ms (0 before the first pong): `Date.now() + serverClockOffset` is the server's time. */
  get serverClockOffset(): number {
    return this.connection.serverClockOffset;
  }
  /** Last round-trip time, ms (`NaN` before the first pong). */
  get rtt(): number {
    return this.connection.rtt;
  }
  /** Why the client stopped (status `'error'`), else `null`. */
  get error(): ConnectionError | null {
    return this.connection.error;
  }
  /** The reconnect attempt in progress (0 when connected). */
  get attempt(): number {
    return this.connection.attempt;
  }

  /**
   * The clickable node under a plane point, as a click there would find it, or `null`. With
   * interpolation on, nodes are tested where they are drawn now (posed for this moment, as the
   * canvas shows them within an animation frame), not at the newest frame's positions, which can be up to a frame interval ahead: the
   * player aims at what the canvas shows, and the server calls the clicked node's `onClick` for
   * any node the player can see, wherever it is, with the click's plane point.
   */
  hitTest(x: number, y: number): Node | null {
    const test = (): Node | null => hitTest(this.connection.scene.root, x, y, this.renderer.aspectRatio, {
      measureText: this.renderer.measureText,
      assetType: (id) => this.assets.type(id),
    });
    return this.interpolator ? this.interpolator.withPose(performance.now(), test) : test();
  }

  /**
   * Sends an order of a turn-based game and resolves with the server's answer (see
   * {@link Connection.sendOrder}): `{ id, accepted, code, message, turn }`. `accepted` means
   * applied and stored durably; a refusal (`GAME_PAUSED`, `TURN_ALREADY_CLOSED`, `ORDER_REJECTED`
   * with the game's message, …) resolves with `accepted: false` and also shows a toast.
   * @param order any JSON-serialisable value (at most `ORDER_LIMITS.bytes` = 4096 bytes of JSON)
   * @throws {ClientError} (as a rejected promise) `CLIENT_ORDER_INVALID` (no JSON form, too large;
   *   nothing sent), `CLIENT_DISCONNECTED` (not playing, or the socket was lost before the answer)
   * @example
   * const r = await client.sendOrder({ from: 3, to: 7, ships: 10 });
   * if (!r.accepted) console.log(r.code, r.message);
   */
  sendOrder(order: unknown): Promise<OrderResult> {
    return this.connection.sendOrder(order);
  }

  /** Leaves the room and stops everything (socket, input, audio, painting, overlay). */
  close(): void {
    this.connection.close();
    this.hud?.destroy();
    this.input.detach();
    this.audio.destroy();
    this.renderer.destroy();
    this.overlay?.destroy();
    this.dev?.close();
  }

  /**
   * Dev mode, a fixed build arrived after this page stopped: load the page again for the room it
   * was in (`?create=1`, so the room starts again if it ended, and the spent reconnect token is
   * forgotten), or for the game when it had no room yet.
   */
  private rejoinFixedBuild(): void {
    if (typeof location === 'undefined') return;
    const roomId = this.connection.roomId;
    if (roomId) sessionStore()?.removeItem(tokenStorageKey(this.game, roomId));
    const params = new URLSearchParams(location.search);
    params.delete('ticket');
    if (roomId) params.set('create', '1');
    const q = params.toString();
    location.assign(playPath(this.game, roomId) + (q ? `?${q}` : ''));
  }

  private onInit(init: InitMessage): void {
    this.renderer.setAspectRatio(init.aspectRatio);
    this.interpolator?.setTickRate(init.tickRate);
    this.overlay?.setSpectating(init.spectator);
    if (this.updateUrl && typeof history !== 'undefined' && typeof location !== 'undefined') {
      const params = new URLSearchParams(location.search);
      params.delete('ticket');
      params.delete('create');
      params.delete('token');
      const q = params.toString();
      const path = playPath(init.game || this.game, init.roomId) + (q ? `?${q}` : '') + location.hash;
      if (path !== location.pathname + location.search + location.hash) {
        try {
          history.replaceState(history.state, '', path);
        } catch {
          // e.g. a sandboxed iframe
        }
      }
    }
    this.renderer.invalidate();
    this.emit('init', init);
  }

  /**
   * What a player can do about an error, as overlay links: a full room (4409) offers to watch it
   * as a spectator; every error in a page offers the lobby.
   */
  private actionsFor(e: ConnectionError): OverlayAction[] {
    if (typeof location === 'undefined') return [];
    const actions: OverlayAction[] = [];
    const roomId = this.connection.roomId;
    if (e.code === CloseCode.ROOM_FULL && roomId && !this.spectator) actions.push({ label: 'Watch as a spectator', href: `${playPath(this.game, roomId)}?spectate=1` });
    if (this.signInUrl && (e.code === CloseCode.AUTH_REQUIRED || e.code === CloseCode.TOKEN_REJECTED)) {
      const sep = this.signInUrl.includes('?') ? '&' : '?';
      actions.push({ label: 'Sign in', href: `${this.signInUrl}${sep}return=${encodeURIComponent(location.pathname + location.search)}` });
    }
    actions.push({ label: 'Back to the lobby', href: '/' });
    return actions;
  }

  private onStatus(status: ClientStatus): void {
    const o = this.overlay;
    if (o) {
      switch (status) {
        case 'connecting':
          o.set({ kind: 'connecting' });
          this.hud?.setState(this.connection.state); // null after a redirect to another room
          break;
        case 'reconnecting':
          o.set({ kind: 'reconnecting', attempt: this.connection.attempt });
          break;
        case 'playing':
          o.set({ kind: 'hidden' });
          this.hud?.setState(this.connection.state);
          break;
        case 'error': {
          const e = this.connection.error;
          const title = e ? identityRefusalTitle(e.code, e.reason) : undefined;
          const finished = this.connection.state?.status === 'finished' ? this.connection.state : null;
          // a game that ended itself closes the room: that is its end, not an error
          if (finished && e?.code === CloseCode.NORMAL) o.set({ kind: 'ended', title: 'Game over', reason: finished.reason, actions: this.actionsFor(e) });
          else o.set({ kind: 'error', reason: e ? describeError(e) : 'unknown', actions: e ? this.actionsFor(e) : [], ...(title ? { title } : {}) });
          // the state is stale now (a finished game's end is in the overlay's box)
          this.hud?.setState(null);
          break;
        }
        case 'closed':
          o.set({ kind: 'hidden' });
          this.hud?.setState(null);
          break;
      }
    }
    if (status !== 'playing') this.input.releaseAll();
    if (status === 'error') {
      const e = this.connection.error;
      // a token the server rejected is not sent again on the next page load
      if (e?.code === CloseCode.TOKEN_REJECTED) sessionStore()?.removeItem(IDENTITY_TOKEN_KEY);
      this.dev?.stopped(e ? describeError(e) : 'unknown');
    }
    this.emit('status', status);
  }
}

/** "reason (code: meaning)" for the overlay. */
export function describeError(e: ConnectionError): string {
  return e.reason && e.reason !== e.meaning ? `${e.reason} (${e.code}: ${e.meaning})` : `${e.meaning} (code ${e.code})`;
}

/**
 * Starts a Parlor client in the page and returns it; also sets `window.__parlor` to it (tests
 * and devtools read `status`, `playerId`, `spectator`, `roomId`, `scene`, `framesApplied`).
 * @throws {ClientError} `CLIENT_OPTIONS` without `options.game` (or without `options.url` outside a browser page);
 *   `CLIENT_NO_WEBSOCKET`, `CLIENT_NO_CANVAS` when the page lacks them.
 */
export function start(options: StartOptions): ParlorClient {
  const client = new ParlorClient(options);
  if (typeof window !== 'undefined') (window as unknown as { __parlor?: ParlorClient }).__parlor = client;
  return client;
}

function defaultSocketUrl(): string {
  if (typeof location === 'undefined') throw new ClientError(ClientErrorCode.OPTIONS, 'Parlor.start: options.url is required outside a browser page');
  return socketUrlFor(location.protocol, location.host);
}

/** The http(s) origin matching a ws(s) URL, for resolving asset URLs. */
function httpBaseOf(wsUrl: string): string {
  try {
    const u = new URL(wsUrl, typeof location !== 'undefined' ? location.href : undefined);
    u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
    return `${u.origin}/`;
  } catch {
    return typeof location !== 'undefined' ? location.href : 'http://localhost/';
  }
}

/** The identity token of the page: `?token=` (kept in sessionStorage for later loads), else sessionStorage's `parlor:token`, else `''`. */
function identityTokenFromPage(storage: Storage | null): string {
  const fromUrl = typeof location !== 'undefined' ? (new URLSearchParams(location.search).get('token') ?? '') : '';
  if (fromUrl) {
    try {
      storage?.setItem(IDENTITY_TOKEN_KEY, fromUrl);
    } catch {
      // storage full or refused: the token still serves this page
    }
    return fromUrl;
  }
  return storage?.getItem(IDENTITY_TOKEN_KEY) ?? '';
}

function ticketFromLocation(): string {
  if (typeof location === 'undefined') return '';
  return new URLSearchParams(location.search).get('ticket') ?? '';
}

function sessionStore(): Storage | null {
  try {
    return typeof sessionStorage !== 'undefined' ? sessionStorage : null;
  } catch {
    return null; // storage disabled
  }
}

function findOrCreateCanvas(): HTMLCanvasElement {
  const found = document.getElementById('parlor');
  if (found instanceof HTMLCanvasElement) return found;
  const canvas = document.createElement('canvas');
  canvas.id = 'parlor';
  canvas.style.cssText = 'position:fixed;left:0;top:0;width:100vw;height:100vh;display:block';
  document.body.appendChild(canvas);
  return canvas;
}
