/**
 * The catalog's errors: {@link CatalogError}, whose `code` is one of the catalog's REST causes
 * ({@link CatalogCauseValue}, declared with their statuses in the orchestrator's one cause table
 * `FLEET_CAUSES`), and the codes a failed publish request keeps in `PublishRequest.error`
 * ({@link PublishFailureCause}).
 */
import { OrchestratorError, type FleetCauseValue } from '../errors.js';

/** The REST causes the catalog throws (statuses in `FLEET_CAUSES`): 400, 404, 409, 413, 429. */
export type CatalogCauseValue = Extract<
  FleetCauseValue,
  | 'VALIDATION'
  | 'BAD_UPLOAD'
  | 'UNKNOWN_GAME'
  | 'UNKNOWN_VERSION'
  | 'UNKNOWN_ENV'
  | 'UNKNOWN_PUBLISH_REQUEST'
  | 'NOT_IN_MANIFEST'
  | 'VERSION_EXISTS'
  | 'NOTHING_TO_ROLL_BACK'
  | 'UPLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
>;

/**
 * Codes a `FAILED` publish request keeps in `PublishRequest.error.code`, besides the catalog
 * causes a pipeline step may end with (`VERSION_EXISTS`): `GATE_FAILED` (the gate's report, kept
 * with it, says why), `GATE_TIMEOUT` (the gate took longer than the catalog's `gateTimeoutMs`),
 * `INTERRUPTED` (the catalog stopped or crashed while the request ran; publish again),
 * `INTERNAL` (an unexpected failure of the catalog, logged).
 */
export const PublishFailureCause = {
  GATE_FAILED: 'GATE_FAILED',
  GATE_TIMEOUT: 'GATE_TIMEOUT',
  INTERRUPTED: 'INTERRUPTED',
  INTERNAL: 'INTERNAL',
} as const;

/**
 * What the catalog throws: an {@link OrchestratorError} whose `code` is a {@link CatalogCauseValue}
 * and `status` its HTTP status; `retryAfterSeconds` with `RATE_LIMITED`.
 */
export class CatalogError extends OrchestratorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.CatalogError');
  /** Seconds until a retry may pass (with `RATE_LIMITED`). */
  readonly retryAfterSeconds?: number;
  /**
   * @param code a {@link CatalogCauseValue}.
   * @param message one line for people, naming what was refused and the fix.
   * @param options.cause the underlying error; `options.retryAfterSeconds` with `RATE_LIMITED`.
   */
  constructor(code: CatalogCauseValue, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, { cause: options?.cause });
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
