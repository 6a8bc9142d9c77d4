/** The failed-authentication throttle, shared by the agent socket and the REST API. */

/**
 * Per-IP failed-authentication throttle: more than `limit` failures within `windowMs` blocks the
 * address until the window ends (every request from it gets `AUTH_THROTTLED`).
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Whether the address is blocked now. */
  blocked(ip: string): boolean {
    const e = this.failures.get(ip);
    if (!e) return false;
    if (Date.now() >= e.resetAt) {
      this.failures.delete(ip);
      return false;
    }
    return e.count > this.limit;
  }

  /** Records a failure. */
  fail(ip: string): void {
    const now = Date.now();
    let e = this.failures.get(ip);
    if (!e || now >= e.resetAt) {
      e = { count: 0, resetAt: now + this.windowMs };
      this.failures.set(ip, e);
    }
    e.count++;
    if (this.failures.size > 100_000) {
      for (const [k, v] of this.failures) if (now >= v.resetAt) this.failures.delete(k);
    }
  }
}
