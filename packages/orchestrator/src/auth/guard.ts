/**
 * One authentication check for both doors (the agent socket and the REST API): throttled
 * address first, then the key against the role's ring; a failure counts against the address
 * and is logged (fingerprints and addresses only, never keys).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';
import type { AccessKeys } from './keys.js';
import type { AuthThrottle } from './throttle.js';

/** Outcome of {@link AuthGuard.check}. */
export type AuthVerdict = { ok: true; fingerprint: string } | { ok: false; reason: 'throttled' | 'unauthorized' };

/** Checks keys for a role, with the failed-auth throttle. */
export class AuthGuard {
  constructor(
    private readonly keys: AccessKeys,
    private readonly throttle: AuthThrottle,
    private readonly logger: Logger,
  ) {}

  /**
   * Checks `key` (`null`: none offered) for `role`. `logFields` are added to the failure log line.
   */
  check(role: 'agent' | 'admin', ip: string, key: string | null, logFields: Record<string, unknown> = {}): AuthVerdict {
    if (this.throttle.blocked(ip)) return { ok: false, reason: 'throttled' };
    const fp = (role === 'agent' ? this.keys.agent : this.keys.admin).match(key);
    if (!fp) {
      this.throttle.fail(ip);
      this.logger.warn({ role, ip, ...logFields }, 'auth failed');
      return { ok: false, reason: 'unauthorized' };
    }
    return { ok: true, fingerprint: fp };
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
