import { Squisher, resolveMetadata, type Game, type GameClass, type PlayerId, type SquisherOptions } from '@parlor/squish';
import { ServerConfigError } from '../errors.js';
import { describeError } from './describe-error.js';
import { isViewable, playerInfo, routeInput } from './input.js';
import { safeClassName, sanitizeResult, turnBasedProblem } from './durable.js';
import type { EngineToHostMessage, FramesMessage, HostToEngineMessage } from './messages.js';
import { tickScheduler, type ScheduledTick } from './tick-scheduler.js';
import { TurnControl, type TurnHost } from './turns.js';

export { describeError } from './describe-error.js';

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
  /**
   * Start from a stored snapshot instead of the constructor (see `RoomSpec.restore`): the game
   * is built by the class's static `restore(JSON.parse(snapshot), options)`, a turn-based game's
   * open turn set to `turn`, and the engine starts paused when `paused`. A class without a static
   * `restore`, a snapshot that is not JSON, a `restore` that throws or returns no game: a fatal
   * start error (`error` with `where: 'restore'`, then `stopped`) whose message names the class.
   */
  restore?: { snapshot: string; turn: number; paused: boolean };
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
 *
 * Rooms that last (the host owns status and schedule; the engine only runs game code):
 * - `pause` / `resume`: while paused `game.tick` is not called, no turn runs and input is dropped,
 *   but ticks still flush frames (a join or resync gets its full frame) and joins and leaves
 *   apply; the first tick after `resume` gets a `dtMs` without the paused time. A
 *   `TurnBasedGame`'s `status` follows (`paused` / `running`).
 * - `turn`, `order`, `save`, and a game's own `submitOrder` (answered `orderResult` id 0) and
 *   `endTurnNow` (`turnRequest`): see {@link TurnControl} for the answers and their refusals.
 * - `game.end(result)`: after the hook, tick, order or turn that called it the engine posts
 *   `ended` once, with the result bounded (≤ 64 winners of ≤ 256 characters, finite scores, a
 *   summary ≤ 500 characters); from then on no game code runs but joins and leaves, and frames
 *   still flush (players see the final frame) until the host stops the engine.
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
  /** Paused by `pause` (or a failed turn, or a restore that asked): no `game.tick`, no turns, frames still flush. */
  private paused = false;
  private pausedAt = 0;
  /** `ended` was posted (the game called `end(result)`): no more game code but joins and leaves. */
  private ended = false;
  private turns: TurnControl | null = null;
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
   * fatal: the engine posts `error` (fatal) and `stopped`. So is a turn-based game that breaks
   * the rules of `TurnBasedGame` (no `metadata().turns`, no `save()` or static `restore`; or
   * `turns` on a class that is not turn-based): the message tells the author what to add. With
   * {@link EngineSpec.restore} the game comes from its class's static `restore` instead of the
   * constructor. Idempotent.
   */
  start(): void {
    if (this.running || this.stopped) return;
    try {
      const cls = this.spec.gameClass;
      const meta = resolveMetadata(cls.metadata());
      const problem = turnBasedProblem(cls, meta);
      if (problem) {
        this.fail('constructor', { message: problem, stack: '' }, true);
        return;
      }
      const built = this.spec.restore ? this.restoreGame(this.spec.restore.snapshot) : new cls(this.spec.options ?? {});
      if (!built) return;
      const game = built;
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
    this.turns = new TurnControl(this.turnHost(this.instance!));
    this.turns.attach(this.spec.restore?.turn ?? 1, this.spec.restore?.paused === true);
    if (this.spec.restore?.paused) {
      this.paused = true;
      this.pausedAt = performance.now();
    }
    this.afterGameCode();
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

  /**
   * Handles one message from the host (join, leave, input, resync, stop, pause, resume, turn,
   * order, save; see {@link HostToEngineMessage}). Answers, if any, are posted synchronously.
   * Never throws.
   */
  handle(msg: HostToEngineMessage): void {
    if (this.stopped) return;
    if (msg.type === 'stop') {
      this.stop();
      return;
    }
    const game = this.instance;
    const squisher = this.squisher;
    const turns = this.turns;
    if (!game || !squisher || !turns) return;
    switch (msg.type) {
      case 'pause':
        this.pause();
        return;
      case 'resume':
        if (!this.paused) return;
        this.paused = false;
        // The first tick's dt leaves the paused time out.
        this.lastAt = Math.min(performance.now(), this.lastAt + (performance.now() - this.pausedAt));
        turns.setPaused(false);
        return;
      case 'turn':
        turns.turn(msg.turn);
        return;
      case 'order':
        turns.order(msg.playerId, msg.id, msg.order);
        return;
      case 'save':
        turns.save(msg.id);
        return;
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
        // While paused or ended the host refuses input itself; none of it reaches the game.
        if (this.paused || this.ended) return;
        if (this.spectators.has(msg.playerId) || !game.players.has(msg.playerId)) return;
        routeInput(game, squisher, msg.playerId, msg.event, (where, fn) => this.hook(where, fn));
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
    if (!this.paused) this.lastAt = start; // `resume` moves lastAt past the paused time
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
    this.turns?.ticked();
    let frames: ReturnType<Squisher['flush']> | null = null;
    if (!this.paused && !this.ended) {
      try {
        game.tick(dt);
      } catch (err) {
        this.fail('tick', err);
      }
      this.afterGameCode();
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
    this.afterGameCode();
  }

  /** Pauses (idempotent): ticks keep flushing frames but `game.tick` and turns stop. */
  private pause(): void {
    if (this.paused || !this.running) return;
    this.paused = true;
    this.pausedAt = performance.now();
    this.turns?.setPaused(true);
  }

  /** After game code ran: the first time the game has a result (`end(result)`), posts `ended` with it, bounded. */
  private afterGameCode(): void {
    const game = this.instance;
    if (this.ended || !game || this.stopped) return;
    let raw: unknown;
    try {
      raw = game._result;
    } catch {
      return;
    }
    if (!raw) return;
    this.ended = true;
    const tb = this.turns?.turnBased;
    if (tb) tb._status = 'finished';
    this.post({ type: 'ended', result: sanitizeResult(raw) });
  }

  /** Flushes a frame outside the tick (after a turn), unless backlogged; posts it. */
  private flushNow(): void {
    const squisher = this.squisher;
    if (!this.running || !squisher || this.spec.backlogged?.() === true) return;
    const start = performance.now();
    try {
      const frames = squisher.flush();
      this.lastFlushAt = start;
      this.lastSeq = frames.seq;
      this.post({ type: 'frames', seq: frames.seq, parts: frames.parts, sends: frames.sends, tickMs: performance.now() - start });
    } catch (err) {
      this.fail('flush', err);
    }
  }

  /** Builds the game from a snapshot with the class's static `restore`; `null` after a fatal start error. */
  private restoreGame(snapshot: string): G | null {
    const cls = this.spec.gameClass;
    const name = safeClassName(cls);
    const fatal = (message: string, stack = ''): null => {
      this.fail('restore', { message, stack }, true);
      return null;
    };
    const restore = (cls as { restore?: unknown }).restore;
    if (typeof restore !== 'function') {
      return fatal(`${name} has no static restore(snapshot, options), so its room cannot be restored: add one that rebuilds the game from what save() returned`);
    }
    let data: unknown;
    try {
      data = JSON.parse(snapshot);
    } catch {
      return fatal(`the stored snapshot of ${name} is not JSON, so its room cannot be restored`);
    }
    let game: unknown;
    try {
      game = (restore as (s: unknown, o: Record<string, unknown>) => unknown).call(cls, data, this.spec.options ?? {});
    } catch (err) {
      const d = describeError(err);
      return fatal(`${name}.restore(snapshot, options) threw: ${d.message}`, d.stack);
    }
    if (!game || typeof (game as Partial<Game>).getLayers !== 'function') {
      return fatal(`${name}.restore(snapshot, options) must return the rebuilt game (an instance of ${name})`);
    }
    return game as G;
  }

  /** The engine as {@link TurnControl} sees it. */
  private turnHost(game: G): TurnHost {
    const engine = this;
    return {
      game,
      get paused() {
        return engine.paused;
      },
      get ended() {
        return engine.ended;
      },
      isSpectator: (pid) => this.spectators.has(pid),
      post: (msg) => this.post(msg),
      fail: (where, err) => this.fail(where, err),
      afterGameCode: () => this.afterGameCode(),
      pause: () => this.pause(),
      flushNow: () => this.flushNow(),
    };
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
