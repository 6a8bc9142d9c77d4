/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`; each message takes one.
 * Used per socket to limit client input.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSecond sustained messages per second
   * @param burst bucket size (messages accepted at once after a quiet period)
   * @param now clock in ms; default `performance.now`
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
    const elapsed = (t - this.last) / 1000;
    this.last = t;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
