import type { EngineToHostMessage, HostToEngineMessage } from '../../engine/messages.js';

/**
 * What the host asked a sandboxed engine and may hear back: answers must match questions. The
 * supervisor records each message it sends ({@link EngineExpectations.sent}) and checks each
 * answer that passed the shape checks of messages.ts ({@link EngineExpectations.check}):
 * - `turnResult` only for the turn the host sent (one at a time), once;
 * - `orderResult` only for a player the host admitted (a `join` was sent, even if they left
 *   since: the answer may cross their `leave`), and, unless its id is 0 (an order the game made
 *   itself), for an order the host sent with that player and id;
 * - `saved` only for a `save` the host sent, or id 0 (a snapshot the engine sends by itself);
 * - `ended` at most once.
 * Anything else is a protocol violation: the room ends.
 */
export class EngineExpectations {
  private readonly admitted = new Set<number>();
  private pendingTurn: number | null = null;
  private readonly orders = new Map<string, number>();
  private readonly saves = new Map<number, number>();
  private ended = false;

  /** Whether a `turn` was sent and its `turnResult` has not come back: the game is generating a turn. */
  get turnPending(): boolean {
    return this.pendingTurn !== null;
  }

  /** Records a message the host sent the engine. */
  sent(msg: HostToEngineMessage): void {
    switch (msg.type) {
      case 'join':
        this.admitted.add(msg.playerId);
        return;
      case 'turn':
        this.pendingTurn = msg.turn;
        return;
      case 'order':
        bump(this.orders, `${msg.playerId}:${msg.id}`, 1);
        return;
      case 'save':
        bump(this.saves, msg.id, 1);
        return;
    }
  }

  /** Checks an answer of the engine; returns the violation, or `null` when it answers a question. */
  check(msg: EngineToHostMessage): string | null {
    switch (msg.type) {
      case 'turnResult':
        if (this.pendingTurn !== msg.turn) return `a turnResult for turn ${msg.turn} that nobody asked for`;
        this.pendingTurn = null;
        return null;
      case 'orderResult':
        if (!this.admitted.has(msg.playerId)) return `an orderResult for player ${msg.playerId}, who is not a member`;
        if (msg.id !== 0 && !bump(this.orders, `${msg.playerId}:${msg.id}`, -1)) return `an orderResult for order ${msg.id} of player ${msg.playerId} that nobody sent`;
        return null;
      case 'saved':
        if (msg.id !== 0 && !bump(this.saves, msg.id, -1)) return `a saved message for save ${msg.id} that nobody asked for`;
        return null;
      case 'ended':
        if (this.ended) return 'a second ended message';
        this.ended = true;
        return null;
      default:
        return null;
    }
  }
}

/** Adds `by` to `key`'s count (deleting it at 0); `false` when decrementing a count that is not there. */
function bump<K>(map: Map<K, number>, key: K, by: 1 | -1): boolean {
  const n = (map.get(key) ?? 0) + by;
  if (n < 0) return false;
  if (n === 0) map.delete(key);
  else map.set(key, n);
  return true;
}
