/**
 * One authentication check for both doors (the agent socket and the REST API; publisher keys only on the latter): the key against
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
  | { ok: true; fingerprint: string; role: KeyRole; name: string }
  | { ok: false; reason: 'unauthorized' }
  | { ok: false; reason: 'throttled'; retryAfterS: number };

/**
 * A key's class: `admin` may do everything, `publisher` may publish and read the catalog, `agent`
 * (a fleet agent's key) may read the catalog (hosts fetch artifacts with it).
 */
export type KeyRole = 'agent' | 'admin' | 'publisher';

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
    const id = (role === 'agent' ? this.keys.agent : this.keys.admin).identify(key);
    if (id) return { ok: true, fingerprint: id.fingerprint, role, name: id.name };
    return this.refuse(role, ip, key, logFields);
  }

  /**
   * Which class `key` belongs to (admin, then publisher, then agent), for the routes every class
   * may call (the catalog's); the route then checks the class. A wrong or missing key is counted
   * and throttled as an admin failure (the REST door), exactly as {@link check} does.
   */
  identify(ip: string, key: string | null, logFields: Record<string, unknown> = {}): AuthVerdict {
    for (const role of ['admin', 'publisher', 'agent'] as const) {
      const id = this.keys[role].identify(key);
      if (id) return { ok: true, fingerprint: id.fingerprint, role, name: id.name };
    }
    return this.refuse('admin', ip, key, logFields);
  }

  private refuse(role: 'agent' | 'admin', ip: string, key: string | null, logFields: Record<string, unknown>): AuthVerdict {
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
