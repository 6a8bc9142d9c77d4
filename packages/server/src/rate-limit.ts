/**
 * The server's rate limits over squish's one `TokenBucket` (per socket: client input, in
 * `realtime/connection.ts`): {@link KeyedBuckets} (per source address: rooms created) and
 * {@link addressKey} (how addresses are grouped, also for the TCP connection caps in
 * `realtime/admission.ts`).
 */
import { isIPv6 } from 'node:net';
import { TokenBucket } from '@parlor/squish';

/**
 * Token buckets by key (e.g. one per source address, see {@link addressKey}), created full on
 * first use; a bucket untouched for `idleMs` is full again and is forgotten by {@link prune}
 * (which bounds the map under address churn).
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; last: number }>();

  /**
   * @param ratePerSecond sustained takes per second per key
   * @param burst bucket size per key
   * @param idleMs after this long untouched a bucket is forgotten by {@link prune}
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly idleMs: number,
  ) {}

  /** Takes one token from `key`'s bucket; `false` (nothing taken) when it is empty. */
  take(key: string, now: number = performance.now()): boolean {
    let entry = this.buckets.get(key);
    if (!entry) {
      entry = { bucket: new TokenBucket(this.ratePerSecond, this.burst), last: now };
      this.buckets.set(key, entry);
    }
    entry.last = now;
    return entry.bucket.take();
  }

  /** Forgets buckets idle for longer than `idleMs`. */
  prune(now: number = performance.now()): void {
    for (const [key, e] of this.buckets) if (now - e.last > this.idleMs) this.buckets.delete(key);
  }
}

/**
 * The key a source address is counted under: an IPv4 address (IPv4-mapped IPv6 unwrapped), or
 * the /64 prefix of an IPv6 address (one subscriber usually holds a whole /64).
 */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('%')[0].split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
