/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`; each {@link take}
 * takes one. The one rate limiter of Parlor: the server limits each socket's input and the rooms
 * created per source address with it, the orchestrator the placements each agent asks for.
 * (Failed-authentication lockouts and a sandbox channel's flood window are other mechanisms, not
 * rate limits, and live with their owners.)
 *
 * @example
 * const input = new TokenBucket(120, 240); // 120 messages/s sustained, 240 at once
 * if (!input.take()) closeWith(4429);
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSecond sustained takes per second (> 0)
   * @param burst bucket size: takes accepted at once after a quiet period (≥ 1); the bucket starts full
   * @param now clock in ms; default `performance.now` (monotonic)
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; returns `false` (and takes nothing) when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
