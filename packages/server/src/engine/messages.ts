import type { GameResult, InputEvent, PlayerId } from '@parlor/squish';

/**
 * Messages from the host to a room engine. Plain data only (msgpack-serializable), so the
 * engine can run in-process, in a child process or in a container behind the same channel.
 */
export type HostToEngineMessage =
  /**
   * A player (or spectator) entered the room. Spectators are never shown to the game. `userId` and
   * `roles` are the verified identity of a signed-in player (absent / empty for an anonymous one;
   * absent `roles` from an older host reads as empty).
   */
  | { type: 'join'; playerId: PlayerId; name: string; spectator: boolean; userId?: string; roles?: string[] }
  /** A player (or spectator) left for good (after the reconnect grace period). */
  | { type: 'leave'; playerId: PlayerId }
  /** One input event of a player. */
  | { type: 'input'; playerId: PlayerId; event: InputEvent }
  /**
   * Send this player a full frame on the next tick (reconnect, backpressure drained). The host's
   * fan-out decides when a player needs one (see `rooms/fanout.ts`); this only asks the Squisher.
   */
  | { type: 'resync'; playerId: PlayerId }
  /** Stop the tick loop; the engine answers `stopped`. */
  | { type: 'stop' }
  /**
   * Pause: `game.tick` is no longer called and no turn is generated; the engine still flushes
   * frames (joins, resyncs get their full frame) and applies joins and leaves. The host refuses
   * input and orders itself while paused, so none arrive.
   */
  | { type: 'pause' }
  /** Resume after `pause` (the first tick's `dtMs` does not include the paused time). */
  | { type: 'resume' }
  /**
   * Turn-based games: the cutoff of `turn` (the open one): the engine calls `generateTurn(turn)`
   * and answers `turnResult`. The host sends it only while no other turn generates.
   */
  | { type: 'turn'; turn: number }
  /**
   * Turn-based games: a player's order (`order` is the parsed JSON). The engine answers
   * `orderResult` with the same `playerId` and `id`.
   */
  | { type: 'order'; playerId: PlayerId; id: number; order: unknown }
  /** Asks for a snapshot now (`game.save()`); the engine answers `saved` with the same `id`. */
  | { type: 'save'; id: number };

/**
 * Turn-based: the answer to an `order` (or, with `id` 0, an order the game made itself with
 * `submitOrder`). When accepted, `snapshot` is the game's state with the order applied: the host
 * stores it durably BEFORE it tells the player the order is accepted.
 */
export interface OrderResultEngineMessage {
  type: 'orderResult';
  playerId: PlayerId;
  id: number;
  accepted: boolean;
  /** `''` when accepted; a `RefusalCode` value of `@parlor/squish` otherwise (`ORDER_REJECTED`, `ORDER_INVALID`). */
  code: string;
  message: string;
  /** The turn the order counts for. */
  turn: number;
  /** JSON text of `game.save()` after the order (accepted only); `null` otherwise. */
  snapshot: string | null;
}

/**
 * Turn-based: the answer to `turn`. `ok`: `generateTurn(turn)` returned; the open turn is now
 * `turn + 1` and `snapshot` the state after it (stored by the host before it announces the turn).
 * Not `ok`: it threw; the game state is whatever the throw left, so the host pauses the room and
 * keeps the previous snapshot.
 */
export interface TurnResultMessage {
  type: 'turnResult';
  turn: number;
  ok: boolean;
  snapshot: string | null;
  /** The error when not `ok` (bounded as other engine errors); `''` otherwise. */
  message: string;
  stack: string;
}

/**
 * The answer to `save` (or, with `id` 0, a snapshot the engine sends by itself). `snapshot` is the
 * JSON text of `game.save()`, or `null` with `error` set: the game has no `save()` (`NOT_SAVABLE`),
 * it threw, its result is not JSON-serialisable, or the JSON is over `ENGINE_MESSAGE_LIMITS.snapshotBytes`
 * (`SNAPSHOT_TOO_LARGE`). The host keeps the previous snapshot on an error.
 */
export interface SavedMessage {
  type: 'saved';
  id: number;
  snapshot: string | null;
  /** `''` when saved; otherwise `'<CODE>: <one line>'` (codes `NOT_SAVABLE`, `SAVE_FAILED`, `SNAPSHOT_TOO_LARGE`). */
  error: string;
}

/**
 * The game ended itself (`game.end(result)`): the engine keeps running (players see the final
 * frame) until the host stops it.
 */
export interface EndedMessage {
  type: 'ended';
  result: GameResult;
}

/**
 * Turn-based: the game asked for the cutoff now (`endTurnNow()`); the host decides (it ignores the
 * request while paused or generating) and, if it agrees, sends `turn`.
 */
export interface TurnRequestMessage {
  type: 'turnRequest';
}

/** One tick's encoded frames (see the Squisher's `TickFrames`), plus the tick's duration. */
export interface FramesMessage {
  type: 'frames';
  /** Frame sequence number of this tick. */
  seq: number;
  /** Distinct encoded buffers of this tick, each encoded once. */
  parts: Uint8Array[];
  /**
   * Per recipient: indices into `parts` (the recipient's one WebSocket message is their
   * concatenation), and whether it is a full frame (`full`, the Squisher's mark; otherwise a
   * delta). From a sandboxed engine the mark is untrusted: its type is checked, its truth cannot be.
   */
  sends: Array<{ playerId: PlayerId; parts: number[]; full: boolean }>;
  /** Time spent in `game.tick` plus encoding, in ms. */
  tickMs: number;
}

/** The game threw (in a hook, in `tick`, while encoding) or could not be constructed. */
export interface EngineErrorMessage {
  type: 'error';
  message: string;
  stack: string;
  /** `true` when the engine gave up and stopped (it sends `stopped` next). */
  fatal: boolean;
  /** Where it happened: `'tick'`, `'constructor'`, a hook name such as `'onKeyDown'`, `'flush'`. */
  where: string;
}

/** Messages from a room engine to its host. */
export type EngineToHostMessage =
  | FramesMessage
  | EngineErrorMessage
  | { type: 'stopped' }
  | OrderResultEngineMessage
  | TurnResultMessage
  | SavedMessage
  | EndedMessage
  | TurnRequestMessage;

/**
 * Caps on what a sandboxed engine may send the host (see `superviseSandbox`). A message over a
 * cap is a protocol violation: the room ends (close code 4500) and nothing of it reaches players.
 * Strings over their cap are truncated (a long error message is not hostile by itself).
 */
export const ENGINE_MESSAGE_LIMITS = {
  /** Parts one recipient's frame may list (a Squisher lists 1 or 2: shared + private). */
  partsPerSend: 4,
  /** Recipients of one `frames` message (also never more than the members the host admitted). */
  sendsPerTick: 4096,
  /** Distinct parts of one `frames` message. */
  partsPerTick: 8192,
  /** Characters of an error's `where`. */
  whereChars: 64,
  /** Characters of an error's `message`. */
  messageChars: 2000,
  /** Characters of an error's `stack`. */
  stackChars: 8000,
  /** UTF-8 bytes of a snapshot's JSON text (`saved`, `turnResult`, `orderResult`): 1 MiB. */
  snapshotBytes: 1024 * 1024,
  /** Characters of an `orderResult`'s message or code. */
  orderMessageChars: 500,
} as const;
