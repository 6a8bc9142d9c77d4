import { OrderRejectedError, RefusalCode, type Game, type PlayerId, type TurnBasedGame } from '@parlor/squish';
import { describeError } from './describe-error.js';
import { clip, isTurnBased, takeSnapshot, type SnapshotOutcome } from './durable.js';
import { ENGINE_MESSAGE_LIMITS, type EngineToHostMessage, type OrderResultEngineMessage } from './messages.js';

/** What {@link TurnControl} needs from its engine. */
export interface TurnHost {
  /** The game instance. */
  readonly game: Game;
  /** Whether the engine is paused (by `pause`, a failed turn, or a restore that asked for it). */
  readonly paused: boolean;
  /** Whether the game ended itself (`ended` was posted). */
  readonly ended: boolean;
  /** Whether `playerId` joined as a spectator. */
  isSpectator(playerId: PlayerId): boolean;
  /** Posts a message to the host. */
  post(msg: EngineToHostMessage): void;
  /** Reports a game error (non-fatal unless it is the N-th consecutive one), as a hook's. */
  fail(where: string, err: unknown): void;
  /** After game code ran: posts `ended` once when the game called `end(result)`. */
  afterGameCode(): void;
  /** Pauses the engine (as `pause` does). */
  pause(): void;
  /** Flushes a frame now (outside the tick), so players see what just changed. */
  flushNow(): void;
}

/**
 * The engine's side of turn-based games and durable state: the `turn`, `order` and `save`
 * messages, and a game's own `submitOrder` / `endTurnNow`. It only runs game code; the host
 * owns the room's status and schedule and refuses orders itself while paused or generating, so
 * the guards here are a second line (an order the engine refuses is answered, never dropped).
 */
export class TurnControl {
  /** A `turnRequest` was posted since the last tick or turn (one per burst of `endTurnNow()`). */
  private turnRequested = false;
  private inOrder = false;

  constructor(private readonly host: TurnHost) {}

  /** The game when it is turn-based, else `null`. */
  get turnBased(): TurnBasedGame | null {
    return isTurnBased(this.host.game) ? this.host.game : null;
  }

  /**
   * Wires a turn-based game to the engine: `submitOrder` takes the order path with id 0,
   * `endTurnNow` posts `turnRequest`; sets the open turn and the status.
   */
  attach(turn: number, paused: boolean): void {
    const g = this.turnBased;
    if (!g) return;
    if (Number.isSafeInteger(turn) && turn >= 1) g._turn = turn;
    g._status = paused ? 'paused' : 'running';
    g._submit = (playerId, order) => this.order(playerId, 0, order);
    g._requestTurn = () => this.requestTurn();
  }

  /** A tick ran: `endTurnNow()` may ask again. */
  ticked(): void {
    this.turnRequested = false;
  }

  /** Status after `pause` / `resume` (a finished game stays `finished`). */
  setPaused(paused: boolean): void {
    const g = this.turnBased;
    if (g && g._status !== 'finished') g._status = paused ? 'paused' : 'running';
  }

  private requestTurn(): void {
    if (this.turnRequested || this.host.paused || this.host.ended) return;
    if (this.turnBased?._status !== 'running') return;
    this.turnRequested = true;
    this.host.post({ type: 'turnRequest' });
  }

  /**
   * `turn {turn}`: `generateTurn(turn)`, then the snapshot after it. Answers `turnResult`:
   * - `ok`: the open turn is now `turn + 1`, `snapshot` the state after it; a frame is flushed at
   *   once so players see the new turn;
   * - not `ok` when `generateTurn` threw (`message`/`stack` its error, bounded), or when the state
   *   after the turn cannot be stored (`save()` throws, is not JSON, or is over
   *   `ENGINE_MESSAGE_LIMITS.snapshotBytes`: `message` `'<CODE>: …'`, e.g. `SNAPSHOT_TOO_LARGE`).
   *   An unstorable turn is a failed turn: announcing it without a snapshot would lose it (and
   *   generate it twice) if the host crashed. Either way the open turn stays `turn`, the engine
   *   pauses itself (the host pauses the room and keeps the previous snapshot: restart or patch
   *   the room to rebuild it from there), and nothing of the turn is announced;
   * - not `ok` without running game code when the game is not turn-based (`NOT_TURN_BASED: …`),
   *   has ended (`GAME_FINISHED: …`) or the engine is paused (`GAME_PAUSED: …`).
   */
  turn(turn: number): void {
    const refuse = (message: string): void => this.host.post({ type: 'turnResult', turn, ok: false, snapshot: null, message, stack: '' });
    const g = this.turnBased;
    if (!g) return refuse(`${RefusalCode.NOT_TURN_BASED}: the game is not turn-based`);
    if (this.host.ended) return refuse(`${RefusalCode.GAME_FINISHED}: the game has ended`);
    if (this.host.paused) return refuse(`${RefusalCode.GAME_PAUSED}: the room is paused; no turn was generated`);
    this.turnRequested = false;
    g._status = 'generation_in_progress';
    let failure: { message: string; stack: string } | null = null;
    try {
      g.generateTurn(turn);
    } catch (err) {
      failure = describeError(err);
    }
    let snapshot: string | null = null;
    if (!failure) {
      const s = takeSnapshot(g);
      if (s.ok) snapshot = s.snapshot;
      else failure = { message: `${snapshotError(s)} (after turn ${turn}; the turn is not kept)`, stack: '' };
    }
    if (failure) {
      g._status = 'paused';
      this.host.pause();
      this.host.post({ type: 'turnResult', turn, ok: false, snapshot: null, message: failure.message, stack: failure.stack });
    } else {
      g._turn = turn + 1;
      g._status = 'running';
      this.host.post({ type: 'turnResult', turn, ok: true, snapshot, message: '', stack: '' });
    }
    this.host.afterGameCode();
    this.turnRequested = false;
    this.host.flushNow();
  }

  /**
   * An order of `playerId` (`id` 0: the game's own `submitOrder`). Answers `orderResult`:
   * accepted with the snapshot after it; refused `NOT_TURN_BASED`, `GAME_FINISHED`,
   * `GAME_PAUSED`, `TURN_ALREADY_CLOSED`, `SPECTATOR` (guards, no game code run),
   * `ORDER_REJECTED` (`onOrder` threw an `OrderRejectedError`: its message; any other throw:
   * `'the game could not take this order'`, and the error is reported as a hook error), or
   * `NOT_STORED` (`onOrder` took it but the snapshot after it failed: `save()` threw, is not JSON
   * or is over the cap; reported as an error too; the order stays in the game's memory but is
   * not durable, so the player is told it was not taken). A game's `submitOrder` for a player
   * who is not in the room is not answered (there is nobody to tell): it is reported as an error.
   */
  order(playerId: PlayerId, id: number, order: unknown): void {
    const g = this.turnBased;
    const answer = (accepted: boolean, code: string, message: string, snapshot: string | null): void => {
      const msg: OrderResultEngineMessage = {
        type: 'orderResult',
        playerId,
        id,
        accepted,
        code,
        message: clip(message, ENGINE_MESSAGE_LIMITS.orderMessageChars),
        turn: g ? g._turn : 0,
        snapshot,
      };
      this.host.post(msg);
    };
    if (id === 0 && !this.host.isSpectator(playerId) && !g?.players.has(playerId)) {
      // The game's own submitOrder for someone not in the room: a game bug, reported; nobody to answer.
      this.host.fail('submitOrder', { message: `submitOrder() for player ${typeof playerId === 'number' ? playerId : `(a ${typeof playerId})`}, who is not in the room`, stack: '' });
      return;
    }
    if (!g) return answer(false, RefusalCode.NOT_TURN_BASED, 'this game takes no orders', null);
    if (this.host.ended) return answer(false, RefusalCode.GAME_FINISHED, 'the game has ended', null);
    if (this.host.paused) return answer(false, RefusalCode.GAME_PAUSED, 'the game is paused', null);
    if (g._status === 'generation_in_progress') return answer(false, RefusalCode.TURN_ALREADY_CLOSED, `turn ${g._turn} is generating`, null);
    if (this.host.isSpectator(playerId)) return answer(false, RefusalCode.SPECTATOR, 'spectators cannot order', null);
    if (!g.players.has(playerId)) return answer(false, RefusalCode.ORDER_REJECTED, `player ${playerId} is not in the room`, null);
    if (this.inOrder) return answer(false, RefusalCode.ORDER_REJECTED, 'submitOrder() was called inside onOrder()', null);
    this.inOrder = true;
    try {
      g.onOrder(playerId, order);
    } catch (err) {
      this.inOrder = false;
      const rejected = orderRejectedMessage(err);
      if (rejected === null) this.host.fail('onOrder', err);
      answer(false, RefusalCode.ORDER_REJECTED, rejected ?? 'the game could not take this order', null);
      this.host.afterGameCode();
      return;
    }
    this.inOrder = false;
    const s = takeSnapshot(g);
    if (s.ok) answer(true, '', '', s.snapshot);
    else {
      const reason = snapshotError(s);
      this.host.fail('save', { message: `${reason} (after an order of player ${playerId})`, stack: '' });
      answer(false, RefusalCode.NOT_STORED, reason, null);
    }
    this.host.afterGameCode();
  }

  /**
   * `save {id}`: answers `saved` with the JSON text of `game.save()`, or `null` and
   * `'<CODE>: <one line>'` (`NOT_SAVABLE`, `SAVE_FAILED`, `SNAPSHOT_TOO_LARGE`).
   */
  save(id: number): void {
    const s = takeSnapshot(this.host.game);
    this.host.post(s.ok ? { type: 'saved', id, snapshot: s.snapshot, error: '' } : { type: 'saved', id, snapshot: null, error: snapshotError(s) });
    this.host.afterGameCode();
  }
}

/** `'<CODE>: <one line>'` for a failed snapshot, bounded. */
function snapshotError(s: Extract<SnapshotOutcome, { ok: false }>): string {
  const cause = s.cause !== undefined ? `: ${describeError(s.cause).message}` : '';
  return clip(`${s.code}: ${s.message}${cause}`.replace(/\s*\n\s*/g, ' '), ENGINE_MESSAGE_LIMITS.messageChars);
}

/**
 * The message of an order refusal (an `OrderRejectedError`, by its brand or its `code`
 * `ORDER_REJECTED`, from any copy of `@parlor/squish`), or `null` for any other thrown value.
 * Never throws (the thrown value is untrusted).
 */
function orderRejectedMessage(err: unknown): string | null {
  try {
    if (!(err instanceof OrderRejectedError) && (err as { code?: unknown } | null)?.code !== 'ORDER_REJECTED') return null;
    const m = (err as { message?: unknown }).message;
    return typeof m === 'string' && m !== '' ? m : 'the game refused this order';
  } catch {
    return null;
  }
}
