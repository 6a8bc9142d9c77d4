/**
 * The failed-authentication throttle, shared by the agent socket and the REST API. It only ever
 * answers for requests whose key is wrong (or missing): {@link AuthGuard} checks the key first, so
 * a valid key is never refused by it, whatever its address has done.
 */

/** One fixed counting window. */
interface Window {
  count: number;
  /** When the window ends (ms since the epoch): the counter starts again from 0 then. */
  resetAt: number;
}

/** Entries kept per map before expired ones are swept (and, past it, the oldest dropped). */
const MAX_ENTRIES = 100_000;

/**
 * Failed authentications counted two ways, each in fixed windows of `windowMs` that start at the
 * first failure:
 * - per (address, fingerprint of the credential presented): more than `pairLimit` failures block
 *   that pair until its window ends (an agent left on an old key, or one wrong key retried);
 * - per address, every credential together: more than `sourceLimit` failures block every wrong or
 *   missing key from that address until its window ends (a flood of guessed keys).
 * While blocked, failures are not counted: the block ends exactly when {@link blockedFor} says.
 */
export class AuthThrottle {
  private readonly pairs = new Map<string, Window>();
  private readonly sources = new Map<string, Window>();

  /**
   * @param pairLimit failures of one (address, credential) pair per window before it is blocked.
   * @param sourceLimit failures of one address per window (all credentials) before it is blocked.
   * @param windowMs length of a window, ms.
   */
  constructor(
    private readonly pairLimit: number,
    private readonly sourceLimit: number,
    private readonly windowMs: number,
  ) {}

  /**
   * How long (ms) `ip` presenting the credential fingerprinted `fp` (`'none'`: no credential) must
   * wait before a wrong key from it is heard again; `0` when it is not blocked. This is the truth
   * the `Retry-After` answer is made of.
   */
  blockedFor(ip: string, fp: string, now = Date.now()): number {
    return Math.max(wait(this.sources, ip, this.sourceLimit, now), wait(this.pairs, pairKey(ip, fp), this.pairLimit, now));
  }

  /**
   * Records a failure of `ip` presenting `fp`.
   * @returns the wait (ms) of a block this failure started, or `0` (for one log line per block).
   */
  fail(ip: string, fp: string, now = Date.now()): number {
    const pair = count(this.pairs, pairKey(ip, fp), this.windowMs, now);
    const source = count(this.sources, ip, this.windowMs, now);
    if (this.pairs.size > MAX_ENTRIES) sweep(this.pairs, now);
    if (this.sources.size > MAX_ENTRIES) sweep(this.sources, now);
    const started = (pair.count === this.pairLimit + 1 ? pair.resetAt - now : 0) || (source.count === this.sourceLimit + 1 ? source.resetAt - now : 0);
    return Math.max(0, started);
  }
}

function pairKey(ip: string, fp: string): string {
  return `${ip}\u0000${fp}`;
}

function wait(map: Map<string, Window>, key: string, limit: number, now: number): number {
  const w = map.get(key);
  if (!w) return 0;
  if (now >= w.resetAt) {
    map.delete(key);
    return 0;
  }
  return w.count > limit ? w.resetAt - now : 0;
}

function count(map: Map<string, Window>, key: string, windowMs: number, now: number): Window {
  let w = map.get(key);
  if (!w || now >= w.resetAt) {
    map.delete(key);
    w = { count: 0, resetAt: now + windowMs };
    map.set(key, w);
  }
  w.count++;
  return w;
}

/** Drops expired windows; if the map is still over its bound (many live addresses), the oldest go. */
function sweep(map: Map<string, Window>, now: number): void {
  for (const [k, w] of map) if (now >= w.resetAt) map.delete(k);
  for (const k of map.keys()) {
    if (map.size <= MAX_ENTRIES) break;
    map.delete(k);
  }
}
