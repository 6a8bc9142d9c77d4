import { ParlorError } from '../wire/errors.js';
import type { RoomStatus } from '../wire/lifecycle.js';
import type { PlayerId } from '../scene/nodes.js';
import { Game } from './game.js';

/**
 * Throw it from {@link TurnBasedGame.onOrder} to refuse an order: the player gets an `orderResult`
 * with code `ORDER_REJECTED` and this message (shown to them as is: say what is wrong and how to
 * fix it). Any other error thrown from `onOrder` refuses the order too, and is reported as a game
 * error.
 */
export class OrderRejectedError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.OrderRejectedError');

  /** @param message why the order is refused, for the player (`'planet 4 is not yours'`) */
  constructor(message: string) {
    super('ORDER_REJECTED', message);
  }
}

/**
 * Base class of a turn-based game (Galaxy-style): players submit **orders** while a turn is open;
 * at the turn's **cutoff** (the schedule in `metadata().turns`, a forced turn, or
 * {@link TurnBasedGame.endTurnNow}) the host closes the turn and the engine calls
 * {@link TurnBasedGame.generateTurn}, which applies the orders and opens the next turn.
 *
 * Around each turn the room's status flips `running → generation_in_progress → running`; orders
 * that arrive while the turn generates are refused `TURN_ALREADY_CLOSED`, while paused
 * `GAME_PAUSED` (players see a banner, never a dropped message). A throwing `generateTurn` pauses
 * the room with the reason, keeping the last good state.
 *
 * State is durable: {@link TurnBasedGame.save} is required and the class must define a static
 * `restore(snapshot, options)`. The host stores a snapshot after every accepted order (an accepted
 * order is never lost, even to kill -9 of the host) and after every turn; a restarted, patched or
 * recovered room is rebuilt from the last one. Players may be offline for days: the room is kept
 * while empty, and a signed-in player rejoins as themselves.
 *
 * ```ts
 * export default class Conquest extends TurnBasedGame {
 *   static metadata() { return { name: 'Conquest', turns: { everyMs: 30_000 } }; }
 *   static restore(s: Saved, options: Record<string, unknown>) { const g = new Conquest(options); g.load(s); return g; }
 *   onOrder(pid: PlayerId, order: unknown) { if (!valid(order)) throw new OrderRejectedError('pick one of your planets'); this.orders.push(...); }
 *   generateTurn(turn: number) { ...apply this.orders...; this.orders = []; }
 *   save(): Saved { return { planets: this.planets, orders: this.orders }; }
 *   getLayers() { return [this.board]; }
 * }
 * ```
 */
export abstract class TurnBasedGame extends Game {
  /** @internal the open turn, maintained by the engine (1 at start; +1 after each generated turn) */
  _turn = 1;
  /** @internal the room's status, maintained by the engine */
  _status: RoomStatus = 'running';
  /**
   * @internal set by the engine: routes {@link TurnBasedGame.submitOrder} through the order path
   * (guards, `onOrder`, durable snapshot, `orderResult` to the player). `null` outside an engine.
   */
  _submit: ((playerId: PlayerId, order: unknown) => void) | null = null;
  /** @internal set by the engine: asks the host for the cutoff now ({@link TurnBasedGame.endTurnNow}). */
  _requestTurn: (() => void) | null = null;

  /** The open turn: orders submitted now count for it. 1 for a new game. */
  get turn(): number {
    return this._turn;
  }

  /** The room's status as players see it (`running`, `generation_in_progress`, `paused`, `finished`). */
  get status(): RoomStatus {
    return this._status;
  }

  /**
   * A player's order for the open turn (from an `order` message, or {@link TurnBasedGame.submitOrder}
   * from a click). Validate it for this player and record it; throw {@link OrderRejectedError} to
   * refuse it. Called only while the turn is open and the room running.
   * @param order the parsed JSON value the client sent (untrusted: check its shape)
   */
  abstract onOrder(playerId: PlayerId, order: unknown): void;

  /**
   * The cutoff of `turn`: apply the turn's orders and advance the game. Afterwards
   * {@link TurnBasedGame.turn} is `turn + 1`. Throwing pauses the room (the state it had before
   * the turn is what was last stored, so the turn can be generated again after a fix and a patch).
   * So does a turn whose state cannot be stored (`save()` throws or is over 1 MiB of JSON): a
   * turn is announced only once it is durable.
   */
  abstract generateTurn(turn: number): void;

  /** Required for a turn-based game: see {@link Game.save}. */
  abstract override save(): unknown;

  /**
   * Submits an order for `playerId` from the game's own input handling (e.g. a click on a planet):
   * it takes the same path as an `order` message (refused while the turn generates or the room is
   * paused, validated by {@link TurnBasedGame.onOrder}, stored durably, answered to the player with
   * an `orderResult` of id 0). It never throws into the caller: a refusal is answered to the
   * player, and an order for someone who is not in the room is reported as a game error. Outside
   * an engine (a unit test), it calls `onOrder` directly (which may throw).
   */
  submitOrder(playerId: PlayerId, order: unknown): void {
    if (this._submit) this._submit(playerId, order);
    else this.onOrder(playerId, order);
  }

  /**
   * Asks for this turn's cutoff now (e.g. every player has submitted their orders), instead of
   * waiting for the schedule. The turn generates after the current hook; the schedule restarts
   * from then. Ignored while paused or generating.
   */
  endTurnNow(): void {
    this._requestTurn?.();
  }
}
