import type { InputEvent, PlayerId } from '@parlor/squish';

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
  | { type: 'stop' };

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
export type EngineToHostMessage = FramesMessage | EngineErrorMessage | { type: 'stopped' };

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
} as const;
