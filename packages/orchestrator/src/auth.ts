import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Short, non-reversible id of a key for logs: `fp:` + the first 8 hex chars of its SHA-256. */
export function keyFingerprint(key: string): string {
  return `fp:${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 8)}`;
}

/** A fresh random key (32 bytes, base64url). */
export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A list of accepted keys (several at once for rotation). Keys are kept only as SHA-256 digests;
 * a candidate is compared with every digest in constant time (`crypto.timingSafeEqual`), with no
 * early exit, so timing tells nothing about which key (or how much of it) matched.
 */
export class KeyRing {
  private readonly digests: Array<{ digest: Buffer; fingerprint: string }>;

  constructor(keys: readonly string[]) {
    this.digests = keys.map((k) => ({ digest: sha256(k), fingerprint: keyFingerprint(k) }));
  }

  /** Number of keys. */
  get size(): number {
    return this.digests.length;
  }

  /** The fingerprint of the matching key, or `null`. */
  match(candidate: string | undefined | null): string | null {
    const d = sha256(typeof candidate === 'string' ? candidate : '');
    let found: string | null = null;
    for (const k of this.digests) {
      if (timingSafeEqual(d, k.digest) && typeof candidate === 'string' && candidate.length > 0) found = k.fingerprint;
    }
    return found;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

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
