/**
 * A room's runtime state and what follows from it: the status players and the API see
 * (`running`, `generation_in_progress`, `paused`, `finished`), the open turn and the turn schedule
 * of a turn-based game, the guards on input and orders, the turn flow around each cutoff, the
 * durable snapshots (`RoomStateStore`, when the host has one) and the room events. The HOST owns
 * status and schedule: the engine only runs the game's code and answers. The room (`room.ts`)
 * owns members, sockets and engines, and forwards the engine's lifecycle messages here.
 *
 * "Acknowledged = durable": an accepted order's snapshot is stored before the player is told; a
 * turn's snapshot is stored before `state` turns `running` and `turn.ready` is emitted.
 */
import {
  RefusalCode,
  type GameResult,
  type OperationSource,
  type PlayerId,
  type RoomEvent,
  type RoomState,
  type ServerMessage,
} from '@parlor/squish';
import { ENGINE_MESSAGE_LIMITS, type HostToEngineMessage, type OrderResultEngineMessage, type SavedMessage, type TurnResultMessage } from '../engine/messages.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { RoomStateStore } from '../state/store.js';
import { parseOrder, statusRefusal, type Refusal } from './refusals.js';
import { TurnSchedule } from './turn-schedule.js';

/** How long a `save` may take before it counts as failed (ms). */
const SAVE_TIMEOUT_MS = 2000;
/** At most one input refusal per member in this long (ms): a paused room does not echo every pointer move. */
const INPUT_REFUSAL_EVERY_MS = 500;

/** What a {@link RoomLifecycle} needs from its room. */
export interface LifecycleRoom {
  readonly id: string;
  /** The build the room runs now (a patch changes it). */
  readonly game: LoadedGame;
  readonly options: Record<string, unknown>;
  readonly createdAt: number;
  readonly log: Logger;
  readonly store: RoomStateStore | undefined;
  /** Sends a message to the room's current engine. */
  send(msg: HostToEngineMessage): void;
  /** Sends a message to every connected member. */
  broadcast(msg: Exclude<ServerMessage, { type: 'frame' }>): void;
  /** Sends a message to one member, if connected. */
  sendTo(playerId: PlayerId, msg: Exclude<ServerMessage, { type: 'frame' }>): void;
  /** Emits a room event (the server's `events`). */
  emit(event: RoomEvent): void;
}

/** The last snapshot the room has seen (stored or not), to restart an engine from. */
export interface KnownSnapshot {
  snapshot: string;
  turn: number;
}

/** A room's status, turn, schedule, guards and snapshots: see the file's opening comment. */
export class RoomLifecycle {
  readonly turnBased: boolean;
  private turn: number;
  private paused = false;
  private finished = false;
  private reason = '';
  /** The turn generating now, or `null`. */
  private generating: number | null = null;
  /** An engine swap (restart, patch) is under way: input and orders wait outside. */
  swapping = false;
  private result: GameResult | null = null;
  private readonly schedule: TurnSchedule | null;
  private readonly saves = new Map<number, (m: SavedMessage | null) => void>();
  private nextSaveId = 1;
  private turnWaiters: Array<() => void> = [];
  private readonly inputRefusedAt = new Map<PlayerId, number>();
  /** The last snapshot seen from the engine (order, turn, save), or restored from. */
  known: KnownSnapshot | null = null;
  /**
   * The engine's game state is not the last stored one (a turn failed, or its result could not be
   * stored): a resume, restart or patch starts a new engine from {@link known}, never from a save.
   */
  stale = false;
  /** Whether the game saves: `false` once it answered `NOT_SAVABLE`; `null` until known. */
  savable: boolean | null = null;

  constructor(private readonly room: LifecycleRoom, restored?: { turn: number; paused: boolean; reason: string; snapshot: KnownSnapshot | null }) {
    const turns = room.game.metadata.turns;
    this.turnBased = turns !== undefined;
    this.turn = this.turnBased ? 1 : 0;
    this.schedule = turns ? new TurnSchedule(turns, () => this.scheduledCutoff()) : null;
    if (restored) {
      this.turn = this.turnBased ? Math.max(1, restored.turn) : 0;
      this.paused = restored.paused;
      this.reason = restored.paused ? restored.reason : '';
      this.known = restored.snapshot;
    }
  }

  /** The room's engine runs: the turn schedule starts (unless paused). */
  start(): void {
    if (!this.paused && !this.finished) this.schedule?.arm();
  }

  /** The room's state now. */
  state(): RoomState {
    const status = this.finished ? 'finished' : this.paused ? 'paused' : this.generating !== null ? 'generation_in_progress' : 'running';
    return { status, turn: this.turn, nextTurnAt: status === 'running' ? (this.schedule?.nextAt ?? null) : null, reason: this.reason };
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  get gameResult(): GameResult | null {
    return this.result;
  }

  /** Why input or an order is refused now (`null`: taken). */
  guard(): Refusal | null {
    return statusRefusal({ finished: this.finished, paused: this.paused, reason: this.reason, generating: this.generating, swapping: this.swapping });
  }

  /**
   * Whether a member's input may reach the engine; when not, the member gets an `orderResult` of
   * id 0 with the refusal (at most one per {@link INPUT_REFUSAL_EVERY_MS}), and the socket stays open.
   */
  admitInput(playerId: PlayerId): boolean {
    const refused = this.guard();
    if (!refused) return true;
    const now = Date.now();
    if (now - (this.inputRefusedAt.get(playerId) ?? 0) >= INPUT_REFUSAL_EVERY_MS) {
      this.inputRefusedAt.set(playerId, now);
      this.refuse(playerId, 0, refused.code, refused.message);
    }
    return false;
  }

  /** A member left for good: nothing of theirs is kept. */
  forget(playerId: PlayerId): void {
    this.inputRefusedAt.delete(playerId);
  }

  /** A member's `order` message: refused here, or handed to the engine (which answers `orderResult`). */
  order(playerId: PlayerId, spectator: boolean, id: number, text: string): void {
    const refuse = (r: Refusal): void => this.refuse(playerId, id, r.code, r.message);
    if (this.finished) return refuse(statusRefusal({ finished: true, paused: false, reason: '', generating: null })!);
    const parsed = parseOrder(text, { spectator, turnBased: this.turnBased });
    if (!('order' in parsed)) return refuse(parsed);
    const refused = this.guard();
    if (refused) return refuse(refused);
    this.room.send({ type: 'order', playerId, id, order: parsed.order });
  }

  /** The engine's answer to an order: store its snapshot, THEN tell the player. */
  onOrderResult(msg: OrderResultEngineMessage): void {
    const turn = typeof msg.turn === 'number' ? msg.turn : this.turn;
    if (msg.accepted !== true) {
      this.refuse(msg.playerId, msg.id, text(msg.code, 64) || RefusalCode.ORDER_REJECTED, text(msg.message, ENGINE_MESSAGE_LIMITS.orderMessageChars));
      return;
    }
    if (!this.keepSnapshot(msg.snapshot, turn, 'order')) {
      this.refuse(msg.playerId, msg.id, RefusalCode.NOT_STORED, 'the order could not be stored; send it again');
      return;
    }
    this.room.sendTo(msg.playerId, { type: 'orderResult', id: msg.id, accepted: true, code: '', message: '', turn });
  }

  /**
   * The cutoff of the open turn (from the schedule, the game's `endTurnNow()`, or a forced turn):
   * status `generation_in_progress`, the engine generates. Ignored unless running.
   * @returns whether a turn started
   */
  cutoff(source: OperationSource): boolean {
    if (!this.turnBased || this.guard()) return false;
    this.schedule?.disarm();
    this.generating = this.turn;
    this.room.log.info({ turn: this.turn, source }, 'turn cutoff');
    // players see the turn generating; the record is not rewritten (one fsync less per turn): a host
    // that dies now comes back `running` at this turn from the same record, and generates it then
    this.changed({ store: false });
    this.room.send({ type: 'turn', turn: this.turn });
    return true;
  }

  /** The schedule's cutoff; during an engine swap it is retried a second later (never dropped). */
  private scheduledCutoff(): void {
    if (this.cutoff('schedule')) return;
    if (this.swapping && !this.paused && !this.finished) this.schedule?.armAt(Date.now() + 1000);
  }

  /** The engine asked for the cutoff now (`endTurnNow()`). */
  onTurnRequest(): void {
    this.cutoff('agent');
  }

  /** The engine's answer to `turn`: store, `running`, `turn.ready` — or pause with the reason. */
  onTurnResult(msg: TurnResultMessage): void {
    const turn = this.generating;
    if (turn === null || msg.turn !== turn) return; // not the turn asked for: ignore
    this.generating = null;
    if (msg.ok === true && this.keepSnapshot(msg.snapshot, turn + 1, 'turn')) {
      this.turn = turn + 1;
      if (!this.paused && !this.finished) this.schedule?.arm();
      this.changed();
      this.room.log.info({ turn: this.turn }, 'turn ready');
      this.emit({ kind: 'turn.ready', turn: this.turn });
    } else {
      const why = msg.ok === true ? 'its state could not be stored' : text(msg.message, 500) || 'unknown error';
      this.stale = true;
      this.room.log.error({ turn, error: why }, 'turn generation failed');
      this.enterPause(`turn ${turn} generation failed: ${why}`);
    }
    const waiters = this.turnWaiters;
    this.turnWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once no turn is generating. */
  turnSettled(): Promise<void> {
    if (this.generating === null) return Promise.resolve();
    return new Promise((resolve) => this.turnWaiters.push(resolve));
  }

  /** Pauses (idempotent: `false` when it already was). Ticks and turns stop; players stay. */
  pause(reason: string): boolean {
    if (this.paused || this.finished) return false;
    this.enterPause(reason);
    return true;
  }

  /** Resumes (idempotent: `false` when it was not paused). The schedule restarts from now. */
  resume(): boolean {
    if (!this.paused || this.finished) return false;
    this.paused = false;
    this.reason = '';
    this.room.send({ type: 'resume' });
    this.schedule?.arm();
    this.changed();
    this.room.log.info({ turn: this.turn }, 'room resumed');
    this.emit({ kind: 'room.resumed', turn: this.turn });
    return true;
  }

  /** The game ended itself: `finished`, stored, `state` sent, `room.ended` with the result. */
  finish(result: GameResult): void {
    if (this.finished) return;
    this.finished = true;
    this.result = result;
    this.reason = result.summary || 'the game has finished';
    this.schedule?.disarm();
    this.changed();
    try {
      this.room.store?.endRoom(this.room.id, this.reason, result);
    } catch (err) {
      this.room.log.error({ error: errMessage(err) }, 'room state store failed');
    }
    this.room.log.info({ reason: this.reason }, 'game finished');
    this.room.emit({ kind: 'room.ended', roomId: this.room.id, game: this.room.game.name, reason: this.reason, result, at: Date.now() });
  }

  /**
   * Asks the engine for a snapshot (`save`) and keeps it (stored with `cause` when the host has a
   * store). @returns the snapshot, or `null` when the game does not save, failed, or did not answer in 2 s.
   */
  async save(cause: string): Promise<string | null> {
    const id = this.nextSaveId++;
    const answer = await new Promise<SavedMessage | null>((resolve) => {
      const timer = setTimeout(() => {
        this.saves.delete(id);
        resolve(null);
      }, SAVE_TIMEOUT_MS);
      timer.unref?.();
      this.saves.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.room.send({ type: 'save', id });
    });
    if (!answer || typeof answer.snapshot !== 'string') {
      if (answer && text(answer.error, 200).startsWith('NOT_SAVABLE')) this.savable = false;
      else this.room.log.warn({ cause, error: answer ? text(answer.error, 500) : 'no answer in time' }, 'game save failed');
      return null;
    }
    this.savable = true;
    return this.keepSnapshot(answer.snapshot, this.turn, cause) ? answer.snapshot : null;
  }

  /** The engine's `saved`: the answer to a pending {@link save} (a snapshot the engine sent by itself, id 0, is kept too). */
  onSaved(msg: SavedMessage): void {
    const pending = this.saves.get(msg.id);
    if (pending) {
      this.saves.delete(msg.id);
      pending(msg);
    } else if (msg.id === 0 && typeof msg.snapshot === 'string') {
      this.keepSnapshot(msg.snapshot, this.turn, 'periodic');
    }
  }

  /** Records the room (create, and every status or turn change) when the host has a store. Never throws. */
  storeRoom(): void {
    const store = this.room.store;
    if (!store || this.finished) return;
    const { game } = this.room;
    const state = this.state();
    try {
      store.putRoom({
        roomId: this.room.id,
        game: game.name,
        version: game.version ?? null,
        sha256: game.sha256 ?? null,
        options: this.room.options,
        status: state.status,
        turn: this.turn,
        reason: this.reason,
        createdAt: this.room.createdAt,
        updatedAt: Date.now(),
      });
    } catch (err) {
      this.room.log.error({ error: errMessage(err) }, 'room state store failed');
    }
  }

  /** The room ends: no more cutoffs; pending saves answer `null`. */
  close(): void {
    this.schedule?.disarm();
    for (const [id, pending] of this.saves) {
      this.saves.delete(id);
      pending(null);
    }
    const waiters = this.turnWaiters;
    this.turnWaiters = [];
    for (const w of waiters) w();
  }

  /** Tells every member the state, and records it (unless `store: false`). */
  changed(opts: { store?: boolean } = {}): void {
    this.room.broadcast({ type: 'state', ...this.state() });
    if (opts.store !== false) this.storeRoom();
  }

  /** Emits a room event of this room with the room's id and game and the time. */
  emit(event: { kind: 'turn.ready' | 'room.resumed'; turn: number } | { kind: 'room.paused'; turn: number; reason: string }): void {
    this.room.emit({ ...event, roomId: this.room.id, game: this.room.game.name, at: Date.now() } as RoomEvent);
  }

  /** The engine failed: paused with `reason` (replacing a pause's reason), `room.paused` emitted. */
  failed(reason: string): void {
    if (this.finished) return;
    this.room.log.error({ turn: this.turn, reason }, 'room paused: the game failed');
    this.generating = null;
    this.enterPause(reason);
    const waiters = this.turnWaiters;
    this.turnWaiters = [];
    for (const w of waiters) w();
  }

  private enterPause(reason: string): void {
    this.paused = true;
    this.reason = reason.slice(0, 500);
    this.schedule?.disarm();
    this.room.send({ type: 'pause' });
    this.changed();
    this.room.log.info({ turn: this.turn, reason: this.reason }, 'room paused');
    this.emit({ kind: 'room.paused', turn: this.turn, reason: this.reason });
  }

  /**
   * Keeps a snapshot from the engine as the room's latest and stores it when the host has a store.
   * @returns `false` when it is not a snapshot (not a string, over the cap) or the store failed
   */
  private keepSnapshot(snapshot: unknown, turn: number, cause: string): boolean {
    if (typeof snapshot !== 'string' || Buffer.byteLength(snapshot) > ENGINE_MESSAGE_LIMITS.snapshotBytes) {
      this.room.log.warn({ cause }, 'game snapshot refused: not a string within the size cap');
      return false;
    }
    const store = this.room.store;
    if (store) {
      try {
        store.putSnapshot({ roomId: this.room.id, turn, snapshot, cause, version: this.room.game.version ?? null, savedAt: Date.now() });
      } catch (err) {
        this.room.log.error({ cause, error: errMessage(err) }, 'snapshot could not be stored');
        return false;
      }
    }
    this.known = { snapshot, turn };
    return true;
  }

  private refuse(playerId: PlayerId, id: number, code: string, message: string): void {
    this.room.sendTo(playerId, { type: 'orderResult', id, accepted: false, code, message, turn: this.turn });
  }
}

/** A string field of an untrusted engine message, bounded ('' when it is not a string). */
function text(v: unknown, max: number): string {
  return typeof v === 'string' ? v.slice(0, max) : '';
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
