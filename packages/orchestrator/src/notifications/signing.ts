/**
 * Webhook signatures: `X-Parlor-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 * with `X-Parlor-Timestamp: <ms since the epoch>`, so a receiver can check both who sent the body
 * and that it is recent (a captured request replayed later fails the age check).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of a webhook POST (lower case, as node gives them to a receiver). */
export const WEBHOOK_HEADERS = {
  event: 'x-parlor-event',
  delivery: 'x-parlor-delivery',
  idempotencyKey: 'idempotency-key',
  signature: 'x-parlor-signature',
  timestamp: 'x-parlor-timestamp',
} as const;

/** `sha256=<hex>`: the HMAC-SHA256 of `<timestamp>.<body>` with `secret`. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * For receivers: whether a webhook request is genuine. `body` must be the raw body as received
 * (before any JSON parse); `headers` as node gives them (`req.headers`).
 * @param opts.toleranceMs largest age (and clock skew ahead) of `X-Parlor-Timestamp` accepted, ms.
 *   Default 300 000 (5 minutes); `Infinity` skips the check.
 * @param opts.now the receiver's clock, ms since the epoch (default `Date.now()`).
 * @returns `true` when the signature matches (compared in constant time) and the timestamp is within the tolerance.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string | Buffer,
  opts: { toleranceMs?: number; now?: number } = {},
): boolean {
  const ts = headers[WEBHOOK_HEADERS.timestamp];
  const sig = headers[WEBHOOK_HEADERS.signature];
  if (typeof ts !== 'string' || typeof sig !== 'string' || !/^\d{1,16}$/.test(ts)) return false;
  const tolerance = opts.toleranceMs ?? 300_000;
  if (Math.abs((opts.now ?? Date.now()) - Number(ts)) > tolerance) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
