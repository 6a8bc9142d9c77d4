/**
 * The host's refusals of input and orders, shared by live rooms (`lifecycle.ts`) and the test kit
 * (`testing/turns.ts`), so a game author's tests refuse exactly what a live host refuses, with the
 * same words. Pure functions of a room's state.
 */
import { ORDER_LIMITS, RefusalCode, type RefusalCodeValue } from '@parlor/squish';

/** Why an input or order is refused (an `orderResult`'s `code` and `message`). */
export interface Refusal {
  code: RefusalCodeValue;
  message: string;
}

/** What {@link statusRefusal} reads of a room. */
export interface RefusalState {
  finished: boolean;
  paused: boolean;
  /** Why paused (`''` if none given). */
  reason: string;
  /** The turn being generated, or `null`. */
  generating: number | null;
  /** The room's engine is being swapped (restart, patch). Default `false`. */
  swapping?: boolean;
}

/** The refusal of any input or order in this state (finished, paused, swapping, generating), or `null` when the room takes them. */
export function statusRefusal(s: RefusalState): Refusal | null {
  if (s.finished) return { code: RefusalCode.GAME_FINISHED, message: 'the game has finished' };
  if (s.paused) return { code: RefusalCode.GAME_PAUSED, message: s.reason ? `the game is paused: ${s.reason}` : 'the game is paused' };
  if (s.swapping) return { code: RefusalCode.GAME_PAUSED, message: 'the game is restarting; try again in a moment' };
  if (s.generating !== null) return { code: RefusalCode.TURN_ALREADY_CLOSED, message: `turn ${s.generating} is generating: its orders are closed` };
  return null;
}

/**
 * An `order` message's text checked before the room's state is: a spectator, a real-time game,
 * over {@link ORDER_LIMITS} bytes, not JSON. Returns the parsed order, or the refusal.
 */
export function parseOrder(text: string, who: { spectator: boolean; turnBased: boolean }): { order: unknown } | Refusal {
  if (who.spectator) return { code: RefusalCode.SPECTATOR, message: 'spectators cannot give orders' };
  if (!who.turnBased) return { code: RefusalCode.NOT_TURN_BASED, message: 'this game is not turn-based: it takes no orders' };
  if (new TextEncoder().encode(text).length > ORDER_LIMITS.bytes) return { code: RefusalCode.ORDER_INVALID, message: `the order is over ${ORDER_LIMITS.bytes} bytes of JSON` };
  try {
    return { order: JSON.parse(text) as unknown };
  } catch {
    return { code: RefusalCode.ORDER_INVALID, message: 'the order is not JSON' };
  }
}
