/**
 * The one retry delay of Parlor: the browser client's reconnects, the fleet agent's reconnects to
 * the orchestrator (and any other retry loop) all call {@link backoffDelay}.
 *
 * Exponential backoff with "full jitter", as in Marc Brooker, "Exponential Backoff And Jitter",
 * AWS Architecture Blog (2015): https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * — `sleep = random_between(0, min(cap, base × 2^attempt))`. Of the variants compared there it
 * does the least total work and spreads clients dropped at once the widest, so they do not come
 * back in lockstep.
 */

/** Options of {@link backoffDelay}. Units: milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay, ms (the "base"); default 250. */
  initialMs?: number;
  /** Largest ceiling, ms (the "cap"); default 5000. */
  maxMs?: number;
}

/** Default first-retry ceiling, ms. */
export const DEFAULT_BACKOFF_INITIAL_MS = 250;
/** Default largest ceiling, ms. */
export const DEFAULT_BACKOFF_MAX_MS = 5000;

/**
 * Delay before retry number `attempt` (1 = the first retry), in ms: a uniformly random value in
 * `[0, ceiling)` where `ceiling = min(maxMs, initialMs × 2^(attempt−1))` ("full jitter"). With the
 * defaults the ceiling goes 250 → 500 → 1000 → 2000 → 4000 → 5000 ms and stays there.
 *
 * @param attempt retry number, from 1; values below 1 (or not integers) are floored and clamped to 1.
 * @param random a number in [0, 1) (clamped); default `Math.random()`. Tests pass a fixed value.
 * @param options `initialMs` (default 250) and `maxMs` (default 5000), both ms.
 * @returns the delay in ms, `0 ≤ delay ≤ ceiling`.
 */
export function backoffDelay(attempt: number, random: number = Math.random(), options: BackoffOptions = {}): number {
  const initial = Math.max(0, options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS);
  const max = Math.max(initial, options.maxMs ?? DEFAULT_BACKOFF_MAX_MS);
  const n = Number.isNaN(attempt) ? 1 : Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(max, initial * 2 ** Math.min(n - 1, 40));
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  return ceiling * r;
}
