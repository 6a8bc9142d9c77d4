import {
  RefusalCode,
  type GameResult, type OrderResultMessage, type PlayerId, type RoomState, type TurnSchedule,
} from '@parlor/squish';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import { parseOrder, statusRefusal, type Refusal } from '../rooms/refusals.js';
import { misuse } from './errors.js';

/**
 * The answer to an order, as the player's client gets it (an `orderResult` message without its
 * `type`): `accepted` (applied, and its snapshot kept as {@link TestRoom.snapshot}), or refused
 * with a `RefusalCode` value in `code` (`GAME_PAUSED`, `TURN_ALREADY_CLOSED`, `ORDER_REJECTED`
 * with the game's own `message`, `ORDER_INVALID`, `NOT_TURN_BASED`, `GAME_FINISHED`, `NOT_STORED`).
 * `id` is the order's (1, 2, … per player), or 0 for a refused input or an order the game made
 * from a click (`submitOrder`). `turn`: the turn it counts for, or the room's open turn.
 * @example
 * const r: OrderResult = ann.order({ from: 1, to: 4, ships: 3 });
 * if (!r.accepted) console.log(r.code, r.message);
 */
export type OrderResult = Omit<OrderResultMessage, 'type'>;

/** @internal What the turn host needs from its room. */
export interface TurnPort {
  /** Hands a message to the engine (the room rethrows game errors after). */
  send(msg: HostToEngineMessage): void;
  /** Delivers an `orderResult` to a member's client. */
  deliver(playerId: PlayerId, result: OrderResult): void;
}

/**
 * @internal The host's side of rooms that last, as the test kit plays it on its manual clock:
 * the room's status, the open turn, the `everyMs` schedule on the kit's game time, the guards
 * on input and orders, snapshots kept after accepted orders and turns, the game's result. Same
 * rules as a live host (`rooms/lifecycle.ts`), synchronous.
 */
export class TurnHost {
  /** The last snapshot kept (JSON text of `game.save()`), or `null`. */
  snapshot: string | null = null;
  /** The game's result once it ended itself, else `null`. */
  result: GameResult | null = null;
  private status: RoomState['status'] = 'running';
  private turn: number;
  private reason = '';
  private nextTurnAt: number | null = null;
  private requested = false;
  private turnResult: { ok: boolean; message: string } | null = null;
  private saved: { snapshot: string | null; error: string } | null = null;

  constructor(
    private readonly port: TurnPort,
    /** The game's schedule (`metadata().turns`), `undefined` for a real-time game. */
    private readonly schedule: TurnSchedule | undefined,
    start: { turn: number; paused: boolean; timeMs: number },
  ) {
    this.turn = schedule ? start.turn : 0;
    if (start.paused) {
      this.status = 'paused';
      this.reason = 'restored paused';
    } else this.arm(start.timeMs);
  }

  /** Whether the game is turn-based (`metadata().turns`). */
  get turnBased(): boolean {
    return this.schedule !== undefined;
  }

  /** The room's state as players and the API see it (`nextTurnAt` on the kit's game time, ms). */
  get state(): RoomState {
    return { status: this.status, turn: this.turn, nextTurnAt: this.status === 'running' ? this.nextTurnAt : null, reason: this.reason };
  }

  /** Why input or an order is refused now (`null`: taken). */
  guard(): Refusal | null {
    return statusRefusal({
      finished: this.status === 'finished',
      paused: this.status === 'paused',
      reason: this.reason,
      generating: this.status === 'generation_in_progress' ? this.turn : null,
    });
  }

  /** A player's order (JSON text): refused here, or handed to the engine, which answers at once. */
  order(playerId: PlayerId, id: number, text: string): void {
    const refuse = (r: Refusal): void => this.port.deliver(playerId, { id, accepted: false, code: r.code, message: r.message, turn: this.turn });
    if (this.status === 'finished') return refuse(statusRefusal({ finished: true, paused: false, reason: '', generating: null })!);
    const parsed = parseOrder(text, { spectator: false, turnBased: this.turnBased });
    if (!('order' in parsed)) return refuse(parsed);
    const refused = this.guard();
    if (refused) return refuse(refused);
    this.port.send({ type: 'order', playerId, id, order: parsed.order });
  }

  /** Whether input may reach the game now; when not, the player gets an `orderResult` of id 0 with the refusal. */
  admitInput(playerId: PlayerId): boolean {
    const refused = this.guard();
    if (!refused) return true;
    this.port.deliver(playerId, { id: 0, accepted: false, code: refused.code, message: refused.message, turn: this.turn });
    return false;
  }

  /** The engine's messages about turns, orders, snapshots and the game's end; `false` for others. */
  onEngineMessage(msg: EngineToHostMessage): boolean {
    switch (msg.type) {
      case 'orderResult':
        if (msg.accepted && msg.snapshot !== null) this.snapshot = msg.snapshot;
        this.port.deliver(msg.playerId, msg.accepted
          ? { id: msg.id, accepted: true, code: '', message: '', turn: msg.turn }
          : { id: msg.id, accepted: false, code: msg.code || RefusalCode.ORDER_REJECTED, message: msg.message, turn: msg.turn });
        return true;
      case 'turnResult':
        this.turnResult = { ok: msg.ok, message: msg.message };
        if (msg.ok && msg.snapshot !== null) this.snapshot = msg.snapshot;
        return true;
      case 'saved':
        this.saved = { snapshot: msg.snapshot, error: msg.error };
        if (msg.snapshot !== null) this.snapshot = msg.snapshot;
        return true;
      case 'ended':
        this.result = msg.result;
        this.status = 'finished';
        this.reason = msg.result.summary || 'the game has finished';
        this.nextTurnAt = null;
        return true;
      case 'turnRequest':
        this.requested = true;
        return true;
      default:
        return false;
    }
  }

  /** Whether a cutoff is due now: the game asked (`endTurnNow()`), or the schedule's time came. */
  due(timeMs: number): boolean {
    if (this.guard() || !this.turnBased) {
      this.requested = false;
      return false;
    }
    const asked = this.requested;
    this.requested = false;
    return asked || (this.nextTurnAt !== null && timeMs >= this.nextTurnAt);
  }

  /**
   * The cutoff of the open turn: `generation_in_progress`, the engine generates, then `running`
   * on the next turn, or `paused` with `turn N generation failed: <message>`.
   */
  cutoff(timeMs: number): RoomState {
    if (!this.turnBased) throw misuse('the game is not turn-based (no metadata().turns): it has no turns to generate');
    const refused = this.guard();
    if (refused) throw misuse(`no turn can be generated now: ${refused.message}`);
    const turn = this.turn;
    this.status = 'generation_in_progress';
    this.turnResult = null;
    this.port.send({ type: 'turn', turn });
    const r = this.turnResult as { ok: boolean; message: string } | null;
    if (r?.ok) this.turn = turn + 1;
    if (this.status !== 'generation_in_progress') return this.state; // the game ended itself in generateTurn
    if (r?.ok) {
      this.status = 'running';
      this.arm(timeMs);
    } else {
      this.enterPause(`turn ${turn} generation failed: ${r?.message || 'the engine did not answer'}`);
    }
    return this.state;
  }

  /** Pauses (ticks and turns stop; input and orders refused `GAME_PAUSED`). */
  pause(reason: string): RoomState {
    if (this.status === 'finished') throw misuse('the game has finished: it cannot be paused');
    if (this.status !== 'paused') this.enterPause(reason);
    return this.state;
  }

  /** Resumes; the schedule restarts from now. */
  resume(timeMs: number): RoomState {
    if (this.status === 'finished') throw misuse('the game has finished: it cannot be resumed');
    if (this.status !== 'paused') return this.state;
    this.status = 'running';
    this.reason = '';
    this.port.send({ type: 'resume' });
    this.arm(timeMs);
    return this.state;
  }

  /** Asks the engine for `game.save()` now. @returns the snapshot's JSON text */
  save(): string {
    this.saved = null;
    this.port.send({ type: 'save', id: 1 });
    const s = this.saved as { snapshot: string | null; error: string } | null;
    if (!s) throw misuse('the engine did not answer save: it has stopped');
    if (s.snapshot === null) throw misuse(`the game could not be saved: ${s.error}`);
    return s.snapshot;
  }

  /** Whether the room is paused (the kit's clock then runs no game ticks). */
  get paused(): boolean {
    return this.status === 'paused';
  }

  private enterPause(reason: string): void {
    this.status = 'paused';
    this.reason = reason;
    this.nextTurnAt = null;
    this.port.send({ type: 'pause' });
  }

  private arm(timeMs: number): void {
    const every = this.schedule?.everyMs;
    this.nextTurnAt = every !== undefined ? timeMs + every : null;
  }
}
