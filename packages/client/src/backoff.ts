/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay of the first attempt before jitter, ms; default 250. */
  initialMs?: number;
  /** Upper bound before jitter, ms; default 5000. */
  maxMs?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1 = first retry): exponential backoff
 * `min(maxMs, initialMs × 2^(attempt−1))` with "equal jitter" — half of it fixed, half random —
 * so many clients dropped at once do not come back in lockstep. With the defaults the delay
 * grows 250 → 500 → 1000 → … and is capped at 5000 ms; the result lies in [base/2, base].
 *
 * @param random a number in [0, 1); default `Math.random()`.
 */
export function backoffDelay(attempt: number, random: number = Math.random(), options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 5000;
  const n = Math.max(1, Math.floor(attempt));
  const base = Math.min(max, initial * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random, 0), 1);
  return base / 2 + (base / 2) * r;
}
