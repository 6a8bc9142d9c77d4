import {
  messageFor, resolveMetadata,
  type Game, type GameClass, type GameResult, type InputEvent, type Node, type PlaneAspect, type PlaneHitOptions, type PlayerId, type RoomState,
} from '@parlor/squish';
import { RoomEngine } from '../engine/room-engine.js';
import type { EngineErrorMessage, EngineToHostMessage, FramesMessage } from '../engine/messages.js';
import { ServerErrorCode } from '../errors.js';
import { misuse, TestKitError } from './errors.js';
import { TestPlayer, TestSpectator, type MemberPort, type TestMember } from './member.js';
import { PrivacyWatch, type Leak } from './privacy.js';
import { TurnHost } from './turns.js';

/**
 * Options of {@link createTestRoom}.
 * @example
 * createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], spectators: 1, options: { seed: 5 }, tickMs: 50 });
 */
export interface TestRoomOptions {
  /**
   * The players who join at once, in order: a count (named `Player 1`, `Player 2`…) or their
   * names. Default none (join later with {@link TestRoom.join}).
   */
  players?: number | readonly string[];
  /** How many spectators join at once (named `Spectator 1`…), after the players. Default 0. */
  spectators?: number;
  /** Create-time options handed to the game's constructor (e.g. `{ seed: 1 }`). Default `{}`. */
  options?: Record<string, unknown>;
  /** The tick period {@link TestRoom.step} advances by, in ms. Default `1000 / metadata().tickRate`. */
  tickMs?: number;
  /**
   * Start from a snapshot (e.g. an earlier room's {@link TestRoom.snapshot} or
   * {@link TestRoom.save}) as a restarted or patched room does: the game comes from its class's
   * static `restore(JSON.parse(snapshot), options)`, a turn-based game's open turn is `turn`
   * (default 1), and the room starts paused when `paused` (default false). Default: the constructor.
   */
  restore?: { snapshot: string; turn?: number; paused?: boolean };
}

/**
 * A game class the kit can run: a `Game` subclass with `static metadata()` whose constructor takes
 * the create-time options.
 * @example
 * const games: Array<TestableGame<Game>> = [Pong, HiddenHand];
 */
export type TestableGame<G extends Game> = (new (options?: Record<string, unknown>) => G) & GameClass;

/**
 * Makes a room of a game on the real room engine (the one every runtime runs: the same join,
 * input, tick and Squisher code as a live room) on a manual clock: no server, sockets or timers,
 * so a test is deterministic. Players and spectators join at once; nothing ticks until
 * {@link TestRoom.step}.
 *
 * @param gameClass the game's class (its default export)
 * @throws {TestKitError} `SERVER_TESTING_GAME_FAILED` when the game's constructor, `metadata()` or
 *   first `getLayers()` throws; `SERVER_TESTING_MISUSE` for more players than `maxPlayers`, or a bad `tickMs`
 * @example
 * import { createTestRoom } from '@parlor/server/testing';
 * import Pong from './index.js';
 *
 * const room = createTestRoom(Pong, { players: ['Ann', 'Bob'], spectators: 1, options: { seed: 1 } });
 * const [ann, bob] = room.players;
 * ann.hold('ArrowDown');
 * room.step(1000);                  // one second of game time: 60 ticks at Pong's 60 Hz
 * bob.view.texts();                 // what Bob sees now
 * room.assertPrivate();             // nobody was ever sent another player's private nodes
 */
export function createTestRoom<G extends Game>(gameClass: TestableGame<G>, options: TestRoomOptions = {}): TestRoom<G> {
  return new TestRoom(gameClass, options);
}

/**
 * A room under test: the game instance, its players and spectators, and a manual clock. See
 * {@link createTestRoom}. Every call that runs game code (join, leave, input, step) throws
 * `SERVER_TESTING_GAME_FAILED` when the game threw in it (a live room would log it and go on).
 *
 * @example
 * const room = createTestRoom(HiddenHand, { players: 2, options: { seed: 5 } });
 * room.step();
 * const [ann, bob] = room.players;
 * ann.click(ann.view.all({ kind: 'shape', clickable: true })[0]); // play Ann's first card
 * room.step();
 * room.assertPrivate();
 */
export class TestRoom<G extends Game = Game> {
  /** The room's engine, on its manual clock (for what the kit does not cover). */
  readonly engine: RoomEngine<G>;
  /** The game instance, for assertions on its own state. */
  readonly game: G;
  /** Width:height of the game's screen (`metadata().aspectRatio`). */
  readonly aspect: PlaneAspect;
  /** The period one tick advances game time by, in ms. */
  readonly tickMs: number;
  private readonly maxPlayers: number;
  private readonly members = new Map<PlayerId, TestMember>();
  private readonly _players: TestPlayer[] = [];
  private readonly _spectators: TestSpectator[] = [];
  private readonly errors: EngineErrorMessage[] = [];
  private readonly privacy = new PrivacyWatch();
  private readonly port: MemberPort;
  private readonly hit: PlaneHitOptions;
  private nextId = 1;
  private playersJoined = 0;
  private spectatorsJoined = 0;
  private carryMs = 0;
  private _ticks = 0;
  private _timeMs = 0;
  private failed: string | null = null;
  private readonly turns: TurnHost;
  private readonly early: EngineToHostMessage[] = [];
  private stepping = false;

  /** @internal use {@link createTestRoom} */
  constructor(gameClass: TestableGame<G>, options: TestRoomOptions) {
    const r = options.restore;
    const restore = r ? { snapshot: r.snapshot, turn: r.turn ?? 1, paused: r.paused ?? false } : undefined;
    this.engine = new RoomEngine<G>(
      { gameClass, options: options.options ?? {}, ...(restore ? { restore } : {}) },
      { clock: 'manual', post: (m) => this.onEngineMessage(m) },
    );
    this.engine.start();
    this.rethrow();
    this.game = this.engine.game!;
    const meta = resolveMetadata(gameClass.metadata());
    this.turns = new TurnHost({
      send: (msg) => this.engine.handle(msg),
      deliver: (playerId, result) => {
        const member = this.members.get(playerId);
        if (member && !member.spectator) (member as TestPlayer)._orderResult(result);
      },
    }, meta.turns, { turn: restore?.turn ?? 1, paused: restore?.paused ?? false, timeMs: 0 });
    if (restore) this.turns.snapshot = restore.snapshot;
    for (const m of this.early.splice(0)) this.turns.onEngineMessage(m);
    this.aspect = meta.aspectRatio;
    this.maxPlayers = meta.maxPlayers;
    this.tickMs = options.tickMs ?? 1000 / meta.tickRate;
    if (!(this.tickMs > 0 && Number.isFinite(this.tickMs))) throw misuse(`tickMs must be a positive number of ms, got ${options.tickMs}`);
    const assets = meta.assets;
    this.hit = { assetType: (id) => (Object.hasOwn(assets, id) ? assets[id].type : undefined) };
    const room = this;
    this.port = {
      aspect: this.aspect,
      hit: this.hit,
      input(member: TestPlayer, event: InputEvent) {
        if (!room.turns.admitInput(member.id)) return;
        room.run(() => room.engine.handle({ type: 'input', playerId: member.id, event }));
      },
      order(member: TestPlayer, id: number, order: string) {
        room.usable();
        room.run(() => room.turns.order(member.id, id, order));
      },
    };
    const players = options.players ?? 0;
    const names = typeof players === 'number' ? Array.from({ length: players }, (_, i) => `Player ${i + 1}`) : players;
    for (const name of names) this.join(name);
    for (let i = 0; i < (options.spectators ?? 0); i++) this.spectate();
  }

  /** The players in the room, in join order (left players are removed). */
  get players(): readonly TestPlayer[] {
    return this._players;
  }

  /** The spectators in the room, in join order. */
  get spectators(): readonly TestSpectator[] {
    return this._spectators;
  }

  /** Ticks run so far. */
  get ticks(): number {
    return this._ticks;
  }

  /** Game time so far, in ms (the sum of every tick's `dtMs`). */
  get timeMs(): number {
    return this._timeMs;
  }

  /**
   * A player joins (the game's `onPlayerJoin` runs now; their first frame, a full one, comes with
   * the next tick).
   * @param name default `Player <n>`, n counting every player who joined this room
   * @param identity a signed-in player's identity, as a server verifies it: the game sees `player.userId` and
   *   `player.roles` (default `[]`); default none (anonymous). Access rules (`requiresAuth`, `minRole`) are the server's, not checked here.
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when the room has `maxPlayers` players (a real client gets close 4409)
   * @example const cyd = room.join('Cyd', { userId: 'u-17', roles: ['moderator'] }); room.step();
   */
  join(name?: string, identity?: { userId: string; roles?: readonly string[] }): TestPlayer {
    this.usable();
    if (this._players.length >= this.maxPlayers) throw misuse(`the room is full: ${this.maxPlayers} players (metadata().maxPlayers); a real client would get close code 4409`);
    const id = this.nextId++;
    const player = new TestPlayer(id, name ?? `Player ${++this.playersJoined}`, this.port);
    if (name !== undefined) this.playersJoined++;
    this.members.set(id, player);
    this._players.push(player);
    const who = identity ? { userId: identity.userId, roles: [...(identity.roles ?? [])] } : {};
    this.run(() => this.engine.handle({ type: 'join', playerId: id, name: player.name, spectator: false, ...who }));
    return player;
  }

  /**
   * A spectator joins (never shown to the game; it gets the spectators' view from the next tick).
   * @param name default `Spectator <n>`, n counting every spectator who joined this room
   * @example const watcher = room.spectate(); room.step(); watcher.view.texts();
   */
  spectate(name?: string): TestSpectator {
    this.usable();
    const id = this.nextId++;
    const spectator = new TestSpectator(id, name ?? `Spectator ${++this.spectatorsJoined}`, this.aspect, this.hit);
    if (name !== undefined) this.spectatorsJoined++;
    this.members.set(id, spectator);
    this._spectators.push(spectator);
    this.run(() => this.engine.handle({ type: 'join', playerId: id, name: spectator.name, spectator: true }));
    return spectator;
  }

  /**
   * A member leaves for good (for a player, `onPlayerLeave` runs now, as after a real room's
   * reconnect grace period). Its view keeps the last frame it got; it can send nothing more.
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when the member is not in this room
   * @example room.leave(bob); room.step();
   */
  leave(member: TestMember): this {
    this.usable();
    if (this.members.get(member.id) !== member) throw misuse(`${member.name} is not in this room${member.left ? ' (they left already)' : ''}`);
    this.members.delete(member.id);
    const list: TestMember[] = member.spectator ? this._spectators : this._players;
    list.splice(list.indexOf(member), 1);
    member._leave();
    this.run(() => this.engine.handle({ type: 'leave', playerId: member.id }));
    return this;
  }

  /**
   * Advances the manual clock. Without `ms`: exactly one tick of {@link tickMs}. With `ms`: as many
   * whole ticks of {@link tickMs} as fit in `ms` plus what earlier calls left over (so
   * `step(1000)` at 60 Hz runs 60 ticks, and `step(10)` twice at 20 Hz runs one). Each tick is a
   * live room's tick: `game.tick(tickMs)`, the Squisher's flush, and every member's frame
   * decoded into its view; then the privacy check records any leak for {@link assertPrivate}.
   * @throws {TestKitError} `SERVER_TESTING_GAME_FAILED` when the game threw; `SERVER_TESTING_MISUSE` for a negative or non-finite `ms`
   * @example room.step();      // one tick
   * @example room.step(2500);  // two and a half seconds of game time
   */
  step(ms?: number): this {
    this.usable();
    if (ms === undefined) {
      this.tick(this.tickMs);
      return this;
    }
    if (!(ms >= 0 && Number.isFinite(ms))) throw misuse(`step(ms) takes a finite number of ms ≥ 0, got ${ms}`);
    this.carryMs += ms;
    const n = Math.floor(this.carryMs / this.tickMs + 1e-9);
    this.carryMs = Math.max(0, this.carryMs - n * this.tickMs);
    for (let i = 0; i < n; i++) this.tick(this.tickMs);
    return this;
  }

  /**
   * Runs one tick of 0 ms: sends what joins, leaves and input changed without advancing game time
   * (`game.tick(0)` still runs).
   * @example ann.click('Deal'); room.flush(); // the views show the deal, no time passed
   */
  flush(): this {
    this.usable();
    this.tick(0);
    return this;
  }

  /**
   * The members (players and spectators) whose decoded view holds this node now: "who can see it".
   * @param node a node of the game or of any view (matched by id), or a node id
   * @example expect(room.seenBy(annsHand).map((m) => m.name)).toEqual(['Ann']);
   */
  seenBy(node: Node | number): TestMember[] {
    const id = typeof node === 'number' ? node : node.id;
    return [...this._players, ...this._spectators].filter((m) => m.view.ready && m.view.nodes.has(id));
  }

  /**
   * The room's runtime state, as its players' `state` message and the host API show it: `status`
   * (`running`, `generation_in_progress` — never seen between calls, the kit generates at once —,
   * `paused`, `finished`), the open `turn` (0 for a real-time game), `nextTurnAt` (the next cutoff
   * of an `everyMs` schedule on the kit's game time, comparable with {@link timeMs}; `null` for a
   * cron or `{}` schedule, which run turns only through {@link turn}, or when not running), and
   * the `reason` of a pause or the end.
   * @example
   * room.step(30_000);                       // metadata().turns = { everyMs: 30_000 }
   * expect(room.state).toMatchObject({ status: 'running', turn: 2 });
   */
  get state(): RoomState {
    return this.turns.state;
  }

  /**
   * The last snapshot the host would have stored (JSON text of `game.save()`): after every accepted
   * order and every turn, and {@link save}; the `restore` option's before those; `null` before any.
   * @example const again = createTestRoom(Galaxy, { restore: { snapshot: room.snapshot!, turn: room.state.turn } });
   */
  get snapshot(): string | null {
    return this.turns.snapshot;
  }

  /** The game's result once it ended itself (`game.end(result)`; the room is then `finished`), else `null`. */
  get result(): GameResult | null {
    return this.turns.result;
  }

  /**
   * Forces the cutoff of the open turn now (as `GameServer.forceTurn`): the game's
   * `generateTurn(turn)` runs and the room opens the next turn; a `generateTurn` that throws (or
   * whose state cannot be saved) pauses the room with the reason `turn N generation failed:
   * <message>` instead — no error is thrown, look at the returned state. Players see the new turn's
   * frame at once.
   * @returns the room's state after it
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` for a game that is not turn-based, or a room
   *   paused or finished (resume first)
   * @example
   * ann.order({ from: 1, to: 4, ships: 3 });
   * expect(room.turn()).toMatchObject({ status: 'running', turn: 2 });
   */
  turn(): RoomState {
    this.usable();
    let state: RoomState = this.turns.state;
    this.run(() => (state = this.turns.cutoff(this._timeMs)));
    return state;
  }

  /**
   * Pauses the room (as `GameServer.pauseRoom`): no more game ticks or turns; players keep their
   * last frame; input and orders are refused `GAME_PAUSED` (see {@link TestPlayer.orderResults}).
   * Pausing a paused room does nothing.
   * @param reason shown to players as "Paused — <reason>"; default `'paused by admin'`
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when the game has finished
   * @example room.pause('maintenance'); expect(ann.order({ a: 1 }).code).toBe('GAME_PAUSED');
   */
  pause(reason = 'paused by admin'): RoomState {
    this.usable();
    let state: RoomState = this.turns.state;
    this.run(() => (state = this.turns.pause(reason)));
    return state;
  }

  /**
   * Resumes a paused room (also after a failed turn); an `everyMs` schedule restarts from now.
   * Resuming a running room does nothing.
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when the game has finished
   * @example room.resume(); room.turn();
   */
  resume(): RoomState {
    this.usable();
    let state: RoomState = this.turns.state;
    this.run(() => (state = this.turns.resume(this._timeMs)));
    return state;
  }

  /**
   * Saves the game now (`game.save()`, as the host does on pause, stop and patch), keeps it as
   * {@link snapshot} and returns it.
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when the game has no `save()`, it threw, its
   *   result is not JSON-serialisable or is over the 1 MiB cap (the message says which)
   * @example const snap = JSON.parse(room.save());
   */
  save(): string {
    this.usable();
    let snapshot = '';
    this.run(() => (snapshot = this.turns.save()));
    return snapshot;
  }

  /** Every leak found so far (at most the first 50 kept), for custom reporting. */
  get leaks(): readonly Leak[] {
    return this.privacy.leaks;
  }

  /**
   * Asserts that, for every tick so far, no member (player or spectator) was sent a node hidden
   * from it by `playerIds` (on the node or an ancestor) at that tick: no frame's bytes carried
   * anything of such a node (the whole node, field values, a move, its child list; read op by op
   * with squish's `frameNodes`), no such node was in the view decoded from them, and no such
   * node's text (of 4 or more UTF-8 bytes) appeared in a frame's raw bytes unless the member saw
   * that text legitimately elsewhere.
   * @throws {TestKitError} `SERVER_TESTING_LEAK`, naming the tick, the member, the node (kind, id,
   *   text, path) and whose it is, for the first leaks found
   * @example
   * room.step(5000);
   * room.assertPrivate();
   */
  assertPrivate(): void {
    const { leaks, count } = this.privacy;
    if (count === 0) return;
    const shown = leaks.slice(0, 5).map((l) => `  ${l.message}`).join('\n');
    throw new TestKitError(ServerErrorCode.TESTING_LEAK, `private nodes reached members who may not see them (${count} finding${count === 1 ? '' : 's'}):\n${shown}${count > 5 ? `\n  … and ${count - 5} more` : ''}`);
  }

  private tick(dtMs: number): void {
    this.stepping = true;
    let frames: FramesMessage | null;
    try {
      frames = this.engine.step(dtMs);
    } finally {
      this.stepping = false;
    }
    this.rethrow();
    this._ticks++;
    this._timeMs += dtMs;
    if (frames) this.deliver(frames);
    if (this.turns.due(this._timeMs)) this.turn();
  }

  /** The engine's messages: errors (rethrown by {@link run}), frames flushed outside a tick (after a turn), and the turn host's. */
  private onEngineMessage(m: EngineToHostMessage): void {
    if (m.type === 'error') this.errors.push(m);
    // a tick's frames are delivered by tick(), after it counted the tick
    else if (m.type === 'frames') {
      if (!this.stepping) this.deliver(m);
    }
    // before the turn host exists (the engine starting): kept for it
    else if (!this.turns) this.early.push(m);
    else this.turns.onEngineMessage(m);
  }

  /** Decodes a frames message into each member's view, then checks privacy. */
  private deliver(frames: FramesMessage): void {
    const receivers: Parameters<PrivacyWatch['check']>[2][number][] = [];
    for (const send of frames.sends) {
      const member = this.members.get(send.playerId);
      const bytes = member && messageFor(frames, send.playerId);
      const carried = member && bytes ? member._receive(bytes, send.full) : null;
      if (!member || !bytes || !carried) continue;
      const mirror = member.view.mirror;
      receivers.push({ id: member.id, name: member.name, spectator: member.spectator, nodes: mirror.nodes, rootId: mirror.root?.id ?? -1, bytes, carried });
    }
    if (receivers.length === 0) return;
    let layers: readonly Node[];
    try {
      layers = this.game.getLayers();
    } catch (err) {
      throw new TestKitError(ServerErrorCode.TESTING_GAME_FAILED, `the game threw in getLayers: ${err instanceof Error ? err.message : String(err)}`, { cause: err, where: 'getLayers' });
    }
    this.privacy.check(this._ticks, layers, receivers);
  }

  /** Runs engine work and throws what the game threw in it; then a turn the game asked for (`endTurnNow()`). */
  private run(fn: () => void): void {
    fn();
    this.rethrow();
    if (this.turns?.due(this._timeMs)) this.turn();
  }

  private rethrow(): void {
    const err = this.errors.shift();
    this.errors.length = 0;
    if (!err) return;
    const stopped = err.fatal ? ' (the room stopped)' : '';
    if (err.fatal) this.failed = `the game threw in ${err.where}: ${err.message}`;
    const cause = Object.assign(new Error(err.message), { stack: err.stack || undefined });
    throw new TestKitError(ServerErrorCode.TESTING_GAME_FAILED, `the game threw in ${err.where}: ${err.message}${stopped}`, { cause, where: err.where });
  }

  private usable(): void {
    if (this.failed) throw misuse(`the room has stopped: ${this.failed}`);
  }
}
