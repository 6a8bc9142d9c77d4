import {
  Squisher,
  ViewableGame,
  resolveMetadata,
  type Game,
  type GameClass,
  type InputEvent,
  type PlayerInfo,
  type PlayerId,
  type SquisherOptions,
} from '@parlor/squish';
import { ServerConfigError } from '../errors.js';
import { ENGINE_MESSAGE_LIMITS, type EngineToHostMessage, type FramesMessage, type HostToEngineMessage } from './messages.js';
import { tickScheduler, type ScheduledTick } from './tick-scheduler.js';

/** What a {@link RoomEngine} runs: `G` is the game's own class type (so a test reads its state). */
export interface EngineSpec<G extends Game = Game> {
  /** The game class to instantiate (once, when the engine starts). */
  gameClass: (new (options?: Record<string, unknown>) => G) & GameClass;
  /** Create-time options handed to the game's constructor; default `{}`. */
  options?: Record<string, unknown>;
  /**
   * Consecutive failures (a throwing `tick`, hook or frame encoding; a successful tick resets the
   * count) after which the engine reports a fatal error and stops. Default 10.
   */
  maxConsecutiveErrors?: number;
  /**
   * Backpressure from the channel to the host: while it returns `true` (e.g. the runner's unsent
   * output is over a few MiB because the host throttles this room), ticks run but their frames
   * are not flushed; the Squisher keeps the changes and the next flush carries them. Optional.
   */
  backlogged?: () => boolean;
}

/** Default of {@link EngineSpec.maxConsecutiveErrors}. */
export const DEFAULT_MAX_CONSECUTIVE_ERRORS = 10;

/** How a {@link RoomEngine} keeps time, and where its messages go. */
export interface EngineOptions {
  /**
   * `'real'` (default): the engine ticks by itself on timers at `metadata().tickRate`.
   * `'manual'`: it never schedules a tick; each {@link RoomEngine.step} runs exactly one. This is
   * the test kit for game authors (drive a game tick by tick, without timers or sleeps); it is
   * the same engine code as real time, only the clock differs.
   */
  clock?: 'real' | 'manual';
  /**
   * Called with every message for the host ({@link EngineToHostMessage}: frames, game errors,
   * `stopped`), synchronously from inside the engine. Default: none (a test that wants to see
   * the game's errors passes one).
   */
  post?: (msg: EngineToHostMessage) => void;
}

/**
 * The room engine: one game instance, its {@link Squisher} and the tick loop. It talks to its
 * host only through plain messages ({@link HostToEngineMessage} in via {@link RoomEngine.handle},
 * {@link EngineToHostMessage} out via the `post` callback), so every runtime (inline, child
 * process, container) runs it the same way.
 *
 * The tick loop runs at `metadata().tickRate` with drift correction (each tick is scheduled
 * against an absolute timeline; when the game falls behind, missed ticks are skipped, not
 * bunched); every engine of a process shares one timer (`tick-scheduler.ts`), not one per room
 * per tick. Each tick calls `game.tick(dtMs)` with the real elapsed time and posts one `frames`
 * message; at `metadata().frameRate` (default: every tick) it flushes the Squisher first, so the
 * changes of the ticks between two frames coalesce into one frame per player, each recipient's
 * frame marked full or delta by the Squisher.
 *
 * With `clock: 'manual'` nothing runs by itself: {@link RoomEngine.step} runs one tick (same
 * code: tick, flush, post) with the `dtMs` you give, and returns its frames; `handle` applies a
 * join, leave or input at once. So a test drives a game deterministically:
 *
 * ```ts
 * const engine = new RoomEngine({ gameClass: Pong, options: { seed: 1 } }, { clock: 'manual' });
 * engine.start();
 * engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
 * engine.handle({ type: 'input', playerId: 1, event: { kind: 'keydown', key: 'ArrowDown' } });
 * const frames = engine.step(1000 / 60); // messageFor(frames, 1) is what player 1's socket gets
 * engine.game!.paddles[0].y; // the game's own state
 * ```
 *
 * The engine maintains `game.players` (players only: spectators are never shown to the game) and
 * the keys each player holds (key auto-repeat is dropped), and routes input to the game's hooks.
 * A throwing game is reported with an `error` message and keeps running; after
 * `maxConsecutiveErrors` consecutive failures the engine posts a fatal error, stops and posts
 * `stopped`.
 */
export class RoomEngine<G extends Game = Game> {
  private instance: G | null = null;
  private squisher: Squisher | null = null;
  private running = false;
  private stopped = false;
  private consecutiveErrors = 0;
  private readonly maxErrors: number;
  private readonly spectators = new Set<PlayerId>();
  private intervalMs = 50;
  /** Frames per tick (`frameRate / tickRate`, ≤ 1) and the accumulated share of the next frame. */
  private framesPerTick = 1;
  private framePhase = 0;
  /** `performance.now()` of the last flush, and the frame interval (ms), for the overload rule. */
  private lastFlushAt = 0;
  private frameIntervalMs = 50;
  /** The sequence number of the last flush (what a tick without a frame reports). */
  private lastSeq = 0;
  private nextAt = 0;
  private lastAt = 0;
  private inTick = false;
  private tickFailed = false;
  private readonly manual: boolean;
  private readonly post: (msg: EngineToHostMessage) => void;

  /**
   * @param spec the game and its options
   * @param options the clock and the `post` callback; a function is taken as `post` with the
   *   real clock (what the runtimes pass)
   */
  constructor(
    private readonly spec: EngineSpec<G>,
    options: EngineOptions | ((msg: EngineToHostMessage) => void) = {},
  ) {
    const o: EngineOptions = typeof options === 'function' ? { post: options } : options;
    this.post = o.post ?? (() => {});
    this.manual = o.clock === 'manual';
    this.maxErrors = Math.max(1, spec.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS);
  }

  /**
   * The game instance, for a test's assertions on its state; `null` before {@link start} or when
   * its constructor threw.
   */
  get game(): G | null {
    return this.instance;
  }

  /**
   * Builds the game and starts the tick loop (with `clock: 'manual'`, no loop: see
   * {@link step}). A game whose constructor, `metadata()` or first `getLayers()` throws is
   * fatal: the engine posts `error` (fatal) and `stopped`. Idempotent.
   */
  start(): void {
    if (this.running || this.stopped) return;
    try {
      const meta = resolveMetadata(this.spec.gameClass.metadata());
      const game = new this.spec.gameClass(this.spec.options ?? {});
      const options: SquisherOptions = {
        layers: () => game.getLayers(),
        onError: (err: unknown) => this.fail('getView', err),
      };
      if (isViewable(game)) {
        options.camera = {
          group: game.world,
          view: (pid: PlayerId, spectator: boolean) => (spectator ? game.getSpectatorView() : game.getView(pid)),
        };
      }
      this.instance = game;
      this.squisher = new Squisher(options);
      this.intervalMs = 1000 / meta.tickRate;
      this.framesPerTick = meta.frameRate / meta.tickRate;
      this.frameIntervalMs = 1000 / meta.frameRate;
      this.framePhase = 1 - this.framesPerTick; // the first tick sends a frame
    } catch (err) {
      this.fail('constructor', err, true);
      return;
    }
    this.running = true;
    if (this.manual) return;
    this.lastAt = performance.now();
    this.nextAt = this.lastAt + this.intervalMs;
    this.schedule();
  }

  /**
   * Manual clock only: runs exactly one tick now, as the real clock would (`game.tick(dtMs)`,
   * then the Squisher's flush when a frame is due at `metadata().frameRate` — every tick by
   * default —, then the `frames` message posted), and returns that message.
   * Starts the engine first if {@link start} was not called.
   * @param dtMs the tick's elapsed time handed to `game.tick`, ms; default one tick period
   *   (`1000 / metadata().tickRate`); 0 flushes what `handle` changed without advancing time
   *   (always a frame, whatever the frame rate).
   * @returns this tick's frames (`messageFor(frames, playerId)` is one recipient's WebSocket
   *   message; no recipients on a tick that sends no frame), or `null` when nothing was flushed: the engine has stopped (a fatal game error,
   *   `stop()`), or `spec.backlogged()` held the frames back.
   * @throws {ServerConfigError} (`SERVER_CONFIG`) when the engine was not made with `clock: 'manual'`
   */
  step(dtMs?: number): FramesMessage | null {
    if (!this.manual) throw new ServerConfigError("RoomEngine.step() needs an engine made with { clock: 'manual' }");
    this.start();
    if (!this.running) return null;
    const dt = dtMs ?? this.intervalMs;
    return this.runTick(dt, performance.now(), 0, dt === 0);
  }

  /** Handles one message from the host. Never throws. */
  handle(msg: HostToEngineMessage): void {
    if (this.stopped) return;
    if (msg.type === 'stop') {
      this.stop();
      return;
    }
    const game = this.instance;
    const squisher = this.squisher;
    if (!game || !squisher) return;
    switch (msg.type) {
      case 'join': {
        if (msg.spectator) {
          this.spectators.add(msg.playerId);
          squisher.addPlayer(msg.playerId, { spectator: true });
          return;
        }
        const info = playerInfo(msg);
        game.players.set(msg.playerId, info);
        game._keys.set(msg.playerId, new Set());
        squisher.addPlayer(msg.playerId);
        this.hook('onPlayerJoin', () => game.onPlayerJoin(info));
        return;
      }
      case 'leave': {
        squisher.removePlayer(msg.playerId);
        if (this.spectators.delete(msg.playerId)) return;
        if (!game.players.has(msg.playerId)) return;
        game.players.delete(msg.playerId);
        game._keys.delete(msg.playerId);
        this.hook('onPlayerLeave', () => game.onPlayerLeave(msg.playerId));
        return;
      }
      case 'resync':
        squisher.requestFull(msg.playerId);
        return;
      case 'input':
        if (this.spectators.has(msg.playerId) || !game.players.has(msg.playerId)) return;
        this.input(game, squisher, msg.playerId, msg.event);
        return;
    }
  }

  /** Stops the tick loop (idempotent) and posts `stopped` once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    tickScheduler.cancel(this.ticker);
    this.post({ type: 'stopped' });
  }

  private input(game: Game, squisher: Squisher, pid: PlayerId, ev: InputEvent): void {
    switch (ev.kind) {
      case 'keydown': {
        const keys = game._keys.get(pid);
        if (!keys || keys.has(ev.key)) return; // auto-repeat
        keys.add(ev.key);
        this.hook('onKeyDown', () => game.onKeyDown(pid, ev.key));
        return;
      }
      case 'keyup': {
        const keys = game._keys.get(pid);
        if (!keys || !keys.delete(ev.key)) return;
        this.hook('onKeyUp', () => game.onKeyUp(pid, ev.key));
        return;
      }
      case 'pointerdown':
        this.hook('onPointerDown', () => game.onPointerDown(pid, ev.x, ev.y));
        return;
      case 'pointermove':
        this.hook('onPointerMove', () => game.onPointerMove(pid, ev.x, ev.y));
        return;
      case 'pointerup':
        this.hook('onPointerUp', () => game.onPointerUp(pid, ev.x, ev.y));
        return;
      case 'click': {
        const node = squisher.nodeById(ev.nodeId);
        const onClick = node?.onClick;
        if (!node || !onClick || !node.isVisibleTo(pid)) return;
        this.hook('onClick', () => onClick.call(node, pid, ev.x, ev.y));
        return;
      }
      case 'gamepad':
        this.hook('onGamepad', () => game.onGamepad(pid, { index: ev.index, buttons: ev.buttons, axes: ev.axes }));
        return;
      case 'text':
        this.hook('onText', () => game.onText(pid, ev.text));
        return;
    }
  }

  /** This engine as a task of the process's {@link tickScheduler} (one timer for every room). */
  private readonly ticker: ScheduledTick = { runTick: () => this.tickOnce() };

  private schedule(): void {
    if (!this.running) return;
    tickScheduler.schedule(this.ticker, this.nextAt);
  }

  /** A tick of the real clock: the real elapsed time since the last one, then the next is scheduled. */
  private tickOnce(): void {
    if (!this.running) return;
    const start = performance.now();
    const dt = start - this.lastAt;
    this.lastAt = start;
    this.runTick(dt, start, start - this.nextAt);
    if (this.running) this.advance(start);
  }

  /**
   * Whether this tick sends a frame. `framesPerTick` accumulates, so frames are spread evenly over
   * ticks (20 Hz frames at 60 Hz ticks: every third tick). Overload slows frames before ticks: a
   * tick that starts a whole tick interval late skips its frame (the changes coalesce into the
   * next one), unless no frame went out for two frame intervals.
   */
  private frameDue(start: number, lateMs: number): boolean {
    this.framePhase += this.framesPerTick;
    if (this.framePhase < 1 - 1e-9) return false;
    if (lateMs > this.intervalMs && start - this.lastFlushAt < 2 * this.frameIntervalMs) return false; // stays due
    this.framePhase = Math.max(0, this.framePhase - 1);
    return true;
  }

  /**
   * One tick, whichever the clock: `game.tick(dt)`, the Squisher's flush when a frame is due
   * ({@link frameDue}) and the host is not backlogged, the `frames` message posted (without
   * recipients on a tick that sends no frame). Returns that message (`null` if none).
   */
  private runTick(dt: number, start: number, lateMs = 0, forceFrame = false): FramesMessage | null {
    const game = this.instance;
    const squisher = this.squisher;
    if (!game || !squisher) return null;
    this.inTick = true;
    this.tickFailed = false;
    let frames: ReturnType<Squisher['flush']> | null = null;
    try {
      game.tick(dt);
    } catch (err) {
      this.fail('tick', err);
    }
    // A backlogged host (its channel to this engine is full) gets nothing this tick: no frame, no message.
    const backlogged = this.running && this.spec.backlogged?.() === true;
    let flushFailed = false;
    if (this.running && !backlogged && (forceFrame || this.frameDue(start, lateMs))) {
      try {
        frames = squisher.flush();
        this.lastFlushAt = start;
        this.lastSeq = frames.seq;
      } catch (err) {
        flushFailed = true;
        this.fail('flush', err);
      }
    }
    this.inTick = false;
    if (!this.running) return null;
    if (!this.tickFailed) this.consecutiveErrors = 0;
    if (backlogged || flushFailed) return null;
    // A tick without a frame (frameRate below tickRate) still reports itself with no recipients: the host's watchdogs count ticks.
    const msg: FramesMessage = frames
      ? { type: 'frames', seq: frames.seq, parts: frames.parts, sends: frames.sends, tickMs: performance.now() - start }
      : { type: 'frames', seq: this.lastSeq, parts: [], sends: [], tickMs: performance.now() - start };
    this.post(msg);
    return msg;
  }

  private advance(now: number): void {
    this.nextAt += this.intervalMs;
    // Fell more than one tick behind (blocked event loop, slow game): skip the missed ticks.
    if (this.nextAt < now) this.nextAt = now + this.intervalMs;
    this.schedule();
  }

  private hook(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(where, err);
    }
  }

  private fail(where: string, err: unknown, forceFatal = false): void {
    if (this.stopped) return;
    if (this.inTick) this.tickFailed = true;
    this.consecutiveErrors++;
    const fatal = forceFatal || this.consecutiveErrors >= this.maxErrors;
    const { message, stack } = describeError(err);
    this.post({
      type: 'error',
      where,
      message: fatal && !forceFatal ? `${message} (${this.consecutiveErrors} consecutive failures)` : message,
      stack,
      fatal,
    });
    if (fatal) this.stop();
  }
}

/**
 * The message and stack of anything a game threw, as bounded strings, without trusting it: a
 * thrown value's `message`/`stack` may be getters that throw, objects without a callable
 * `toString`, or megabytes long. Never throws.
 */
export function describeError(err: unknown): { message: string; stack: string } {
  const L = ENGINE_MESSAGE_LIMITS;
  let message = '';
  let stack = '';
  try {
    if (typeof err === 'string') message = err;
    else if (typeof err === 'object' && err !== null) {
      const m = (err as { message?: unknown }).message;
      const st = (err as { stack?: unknown }).stack;
      message = typeof m === 'string' ? m : m === undefined ? '' : `(a ${typeof m} as error message)`;
      stack = typeof st === 'string' ? st : '';
    } else if (typeof err === 'number' || typeof err === 'boolean' || typeof err === 'bigint' || err === undefined || err === null) {
      message = `${err}`;
    } else message = `(a thrown ${typeof err})`;
  } catch {
    message = '(an error whose message could not be read)';
  }
  if (message.length > L.messageChars) message = message.slice(0, L.messageChars - 1) + '\u2026';
  if (stack.length > L.stackChars) stack = stack.slice(0, L.stackChars);
  return { message: message || 'unknown error', stack };
}

function isViewable(game: Game): game is ViewableGame {
  if (game instanceof ViewableGame) return true;
  const g = game as unknown as Partial<ViewableGame>;
  return typeof g.getView === 'function' && typeof g.getSpectatorView === 'function' && g.world !== undefined;
}

/** The game's view of a joining player: id, name and, for a signed-in one, `userId` and a frozen copy of `roles`. */
function playerInfo(msg: Extract<HostToEngineMessage, { type: 'join' }>): PlayerInfo {
  const roles = Array.isArray(msg.roles) ? Object.freeze(msg.roles.filter((r): r is string => typeof r === 'string')) : NO_ROLES;
  return typeof msg.userId === 'string' && msg.userId !== ''
    ? { id: msg.playerId, name: msg.name, userId: msg.userId, roles }
    : { id: msg.playerId, name: msg.name, roles };
}

const NO_ROLES: readonly string[] = Object.freeze([]);
