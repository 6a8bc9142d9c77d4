/**
 * What the client makes of WebSocket close codes (read from squish's `CLOSE_CODES` table), and the
 * code it closes with itself. Pure: no state.
 */
import { CloseCode, closeCodeInfo, type CloseRetry } from '@parlor/squish';

/**
 * What the client does after its socket closed with a given code (squish's `CloseRetry`):
 * `'reconnect'` with backoff, rejoining with the reconnect token; `'rejoin'`: forget the token
 * and join the room afresh; `'stop'`: stop and show the error.
 */
export type CloseAction = CloseRetry;

/**
 * A human-readable meaning of a WebSocket close code, from squish's `CLOSE_CODES` table
 * (Parlor's 4xxx codes and the RFC 6455 codes a client meets); `connection closed (code N)` otherwise.
 */
export function closeCodeMeaning(code: number): string {
  return closeCodeInfo(code)?.meaning ?? `connection closed (code ${code})`;
}

/**
 * The client's reaction to a close code, read from squish's `CLOSE_CODES` table (its `retry`
 * column): 4401 → `'rejoin'`; 1000, 1009, 4400, 4403, 4404, 4409, 4411, 4426, 4500 and the
 * identity refusals 4402 (sign-in needed), 4407 (role needed), 4498 (token rejected) → `'stop'`
 * (retrying cannot help); any other code (1001, 1006 network loss, 4408, 4413, 4429, 4503, one the
 * table does not know…) → `'reconnect'` with backoff.
 */
export function closeAction(code: number): CloseAction {
  return closeCodeInfo(code)?.retry ?? 'reconnect';
}

/** Close code the client uses when it drops a socket itself (dead link, undecodable frame): `CloseCode.CLIENT_RESET` (4000). */
export const CLIENT_RESET_CLOSE: number = CloseCode.CLIENT_RESET;

/**
 * The headline the client shows for an identity refusal, or `undefined` for any other code:
 * 4402 "This game needs you to sign in", 4407 "This game needs the role X" (X from the server's
 * `reason`, when it names one), 4498 "Your sign-in was not accepted".
 */
export function identityRefusalTitle(code: number, reason: string): string | undefined {
  switch (code) {
    case CloseCode.AUTH_REQUIRED:
      return 'This game needs you to sign in';
    case CloseCode.ROLE_REQUIRED: {
      const m = /needs the role (\S+)/.exec(reason);
      return m ? `This game needs the role ${m[1]}` : 'This game needs a role you do not have';
    }
    case CloseCode.TOKEN_REJECTED:
      return 'Your sign-in was not accepted';
    default:
      return undefined;
  }
}
