import { CloseCode } from '@parlor/squish';

/** What the client does after its socket closed with a given code. */
export type CloseAction =
  /** Reconnect with backoff, rejoining with the reconnect token. */
  | 'reconnect'
  /** Forget the reconnect token and join the room afresh. */
  | 'rejoin'
  /** Stop and show the error. */
  | 'stop';

const MEANINGS: Record<number, string> = {
  1000: 'the room ended',
  1001: 'the server is going away',
  1005: 'connection closed',
  1006: 'connection lost',
  1009: 'message too big',
  1011: 'server error',
  [CloseCode.MALFORMED]: 'malformed message',
  [CloseCode.RECONNECT_REJECTED]: 'reconnect token rejected',
  [CloseCode.TICKET_REJECTED]: 'join ticket rejected',
  [CloseCode.NOT_FOUND]: 'no such game or room',
  [CloseCode.JOIN_TIMEOUT]: 'join timed out',
  [CloseCode.ROOM_FULL]: 'room full',
  [CloseCode.REPLACED]: 'connected again elsewhere',
  [CloseCode.VERSION_MISMATCH]: 'client and server versions do not match',
  [CloseCode.RATE_LIMITED]: 'rate limited (too much input, or too many new rooms)',
  [CloseCode.SLOW_CLIENT]: 'the connection could not keep up',
  [CloseCode.SERVER_BUSY]: 'the server is full; try again later',
  [CloseCode.ROOM_FAILED]: 'the game failed',
};

/** A human-readable meaning of a WebSocket close code (Parlor's 4xxx codes and RFC 6455's). */
export function closeCodeMeaning(code: number): string {
  return MEANINGS[code] ?? `connection closed (code ${code})`;
}

const STOP = new Set<number>([
  1000,
  1009,
  CloseCode.MALFORMED,
  CloseCode.TICKET_REJECTED,
  CloseCode.NOT_FOUND,
  CloseCode.ROOM_FULL,
  CloseCode.REPLACED,
  CloseCode.VERSION_MISMATCH,
  CloseCode.ROOM_FAILED,
]);

/**
 * The client's reaction to a close code: 4401 (token rejected) → `'rejoin'`; 1000, 1009, 4400,
 * 4403, 4404, 4409, 4411, 4426, 4500 → `'stop'` (retrying cannot help); anything else (1001,
 * 1006 network loss, 4408, 4413 not reading fast enough, 4429, 4503 server full, …) → `'reconnect'` with backoff.
 */
export function closeAction(code: number): CloseAction {
  if (code === CloseCode.RECONNECT_REJECTED) return 'rejoin';
  return STOP.has(code) ? 'stop' : 'reconnect';
}
