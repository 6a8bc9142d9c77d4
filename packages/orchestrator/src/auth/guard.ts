/**
 * One authentication check for both doors (the agent socket and the REST API): the key against
 * the role's ring first (a valid key always passes), then, for a wrong or missing key, the
 * failed-auth throttle of its (address, presented-key fingerprint) and of its address. Failures
 * are logged with fingerprints and addresses only, never keys.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';
import { keyFingerprint, type AccessKeys } from './keys.js';
import type { AuthThrottle } from './throttle.js';

/**
 * Outcome of {@link AuthGuard.check}. `throttled` carries `retryAfterS`: whole seconds (rounded
 * up) until a wrong key from this caller is heard again, the value of `Retry-After`.
 */
export type AuthVerdict =
  | { ok: true; fingerprint: string }
  | { ok: false; reason: 'unauthorized' }
  | { ok: false; reason: 'throttled'; retryAfterS: number };

/** Counters of {@link AuthGuard} since start (for metrics). */
export interface AuthCounters {
  /** Wrong or missing keys answered `unauthorized`, by role. */
  failures: { agent: number; admin: number };
  /** Wrong or missing keys answered `throttled`, by role. */
  throttled: { agent: number; admin: number };
}

/** Checks keys for a role, with the failed-auth throttle. */
export class AuthGuard {
  /** Counters since start. */
  readonly counters: AuthCounters = { failures: { agent: 0, admin: 0 }, throttled: { agent: 0, admin: 0 } };

  constructor(
    private readonly keys: AccessKeys,
    private readonly throttle: AuthThrottle,
    private readonly logger: Logger,
  ) {}

  /**
   * Checks `key` (`null`: none offered) for `role` from address `ip`. A valid key is never
   * refused by the throttle. `logFields` are added to the failure log line.
   */
  check(role: 'agent' | 'admin', ip: string, key: string | null, logFields: Record<string, unknown> = {}): AuthVerdict {
    const fp = (role === 'agent' ? this.keys.agent : this.keys.admin).match(key);
    if (fp) return { ok: true, fingerprint: fp };
    const presented = key ? keyFingerprint(key) : 'none';
    const now = Date.now();
    const waitMs = this.throttle.blockedFor(ip, presented, now);
    if (waitMs > 0) {
      this.counters.throttled[role]++;
      return { ok: false, reason: 'throttled', retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    this.counters.failures[role]++;
    const blockMs = this.throttle.fail(ip, presented, now);
    this.logger.warn({ role, ip, keyFp: presented, ...logFields }, 'auth failed');
    if (blockMs > 0) this.logger.warn({ role, ip, keyFp: presented, retryAfterS: Math.ceil(blockMs / 1000) }, 'auth throttled: wrong keys from this address are refused until the window ends (valid keys still pass)');
    return { ok: false, reason: 'unauthorized' };
  }
}

/** The client address of a request: the first `X-Forwarded-For` entry when `trustProxy`, else the socket's. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? '?';
}
