import { ParlorError } from '@parlor/squish';

/** Stable error codes of `@parlor/client`. Callers switch on `error.code`, never on messages. */
export const ClientErrorCode = {
  /** Invalid or missing options: `start()` without `game`, or without `url` outside a browser page. */
  OPTIONS: 'CLIENT_OPTIONS',
  /** No WebSocket implementation (none in the page and none passed as `WebSocket`). */
  NO_WEBSOCKET: 'CLIENT_NO_WEBSOCKET',
  /** The canvas gives no 2D context. */
  NO_CANVAS: 'CLIENT_NO_CANVAS',
  /**
   * A server `redirect` the client refused (scheme not http(s)/ws(s), or an origin not allowed).
   * Never thrown: emitted as a {@link RedirectRefusedError} in the connection's `refused` event.
   */
  REDIRECT_REFUSED: 'CLIENT_REDIRECT_REFUSED',
  /**
   * `sendOrder` was given an order it cannot send: no JSON form (`undefined`, a function, a cycle,
   * a BigInt) or JSON text over `ORDER_LIMITS.bytes` (4096 UTF-8 bytes). Nothing was sent.
   */
  ORDER_INVALID: 'CLIENT_ORDER_INVALID',
  /**
   * `sendOrder` while not joined as a player (connecting, reconnecting, stopped, closed), or the
   * connection was lost before the server answered the order (it may or may not have been applied).
   */
  DISCONNECTED: 'CLIENT_DISCONNECTED',
} as const;

/** One of {@link ClientErrorCode}'s values. */
export type ClientErrorCodeValue = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * Every error `@parlor/client` throws or emits: a {@link ParlorError} with a {@link ClientErrorCode}
 * (the client never throws a plain `Error` or `TypeError`). `instanceof` works across copies of the package.
 */
export class ClientError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.ClientError');
  constructor(code: ClientErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
