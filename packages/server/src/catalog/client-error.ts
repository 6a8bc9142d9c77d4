/** The one error class of the catalog client ({@link CatalogClient}) and of packing a game folder. */
import { ServerError, type ServerErrorCodeValue } from '../errors.js';

/**
 * Thrown by every `CatalogClient` method and by `packGameFolder`. `code` is either the
 * catalog's REST `cause`, unchanged (`VERSION_EXISTS`, `UNKNOWN_GAME`, `UNAUTHORIZED`,
 * `FORBIDDEN`, `RATE_LIMITED`, …; a newer catalog may send one this client does not know), or one
 * of the client's own `SERVER_CATALOG_*` codes of `ServerErrorCode`:
 * `SERVER_CATALOG_PACK` (the folder cannot be packed: missing, a link in it, over a cap),
 * `SERVER_CATALOG_NETWORK` (no answer), `SERVER_CATALOG_BAD_RESPONSE` (an answer that is not
 * the `/v1` envelope), `SERVER_CATALOG_TIMEOUT` (a publish request did not end in time).
 * `status` is the HTTP status of the answer, 0 when there was none.
 */
export class CatalogClientError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.CatalogClientError');
  /** HTTP status of the catalog's answer; 0 when there was none (network, packing, timeout). */
  readonly status: number;
  /** With `RATE_LIMITED`: the seconds the catalog's `Retry-After` asked for. */
  readonly retryAfterSeconds?: number;
  /**
   * @param code a REST cause or a `SERVER_CATALOG_*` code.
   * @param status the HTTP status, 0 when there was no answer.
   * @param options.cause the underlying error; `options.retryAfterSeconds` from `Retry-After`.
   */
  constructor(code: string, status: number, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    // A REST cause is the catalog's code, kept as it came (ServerError's codes are the client's own).
    super(code as ServerErrorCodeValue, message, { cause: options?.cause });
    this.status = status;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
