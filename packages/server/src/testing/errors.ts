import { ServerError, ServerErrorCode } from '../errors.js';

/**
 * The codes a {@link TestKitError} carries (each documented in docs/ERRORS.md).
 * @example
 * const code: TestKitErrorCode = 'SERVER_TESTING_LEAK';
 */
export type TestKitErrorCode =
  | typeof ServerErrorCode.TESTING_MISUSE
  | typeof ServerErrorCode.TESTING_QUERY
  | typeof ServerErrorCode.TESTING_GAME_FAILED
  | typeof ServerErrorCode.TESTING_LEAK;

/**
 * What the test kit (`@parlor/server/testing`) throws, a {@link ServerError} with one of the
 * `SERVER_TESTING_*` codes:
 * - `SERVER_TESTING_MISUSE`: a call no real room or client could make (input from a member who
 *   left, a click on a node the player was not shown, a key released that is not held, a point
 *   outside the plane, a join into a full room, a view read before its first frame);
 * - `SERVER_TESTING_QUERY`: `view.one(query)` found no node or several;
 * - `SERVER_TESTING_GAME_FAILED`: the game threw during the call (`where` says in what, `cause`
 *   carries the game's stack);
 * - `SERVER_TESTING_LEAK`: `room.assertPrivate()` found another player's private node in a
 *   member's bytes.
 *
 * @example
 * try {
 *   ann.release('ArrowUp');
 * } catch (err) {
 *   if (err instanceof TestKitError && err.code === 'SERVER_TESTING_MISUSE') console.log(err.message); // "Ann does not hold 'ArrowUp' …"
 * }
 */
export class TestKitError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.TestKitError');
  /** For `SERVER_TESTING_GAME_FAILED`: where the game threw (`'tick'`, `'onKeyDown'`, `'constructor'`…). */
  readonly where?: string;
  constructor(code: TestKitErrorCode, message: string, options?: { cause?: unknown; where?: string }) {
    super(code, message, options);
    if (options?.where !== undefined) this.where = options.where;
  }
}

/** A `SERVER_TESTING_MISUSE` error. */
export function misuse(message: string): TestKitError {
  return new TestKitError(ServerErrorCode.TESTING_MISUSE, message);
}
