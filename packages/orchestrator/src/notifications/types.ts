/**
 * Webhooks: what is configured (URLs, secrets, kinds, delivery settings) and what the admin API
 * shows of them (counts per URL, dead letters). Checked once, at construction.
 */
import { NOTIFICATION_KINDS, type NotificationKind } from '@parlor/squish';
import { OrchestratorConfigError } from '../errors.js';

/** One webhook: where notifications are POSTed and the secret they are signed with. */
export interface WebhookConfig {
  /** `http(s)://…`; each URL at most once in the list (it is the route idempotency keys are kept per). */
  url: string;
  /** The HMAC-SHA256 key of `X-Parlor-Signature`; at least 16 characters. Never shown by the API or the logs. */
  secret: string;
  /** The kinds this URL gets; default every {@link NotificationKind}. */
  kinds?: NotificationKind[];
}

/** How webhooks are delivered. Durations in ms. */
export interface WebhookDeliveryOptions {
  /** Attempts of one delivery (the first included) before it becomes a dead letter. Default 8. */
  maxAttempts?: number;
  /** One attempt's deadline (connect, headers and body), ms. Default 10 000. */
  timeoutMs?: number;
  /** Ceiling of the first retry's delay (exponential backoff with full jitter, `backoffDelay`), ms. Default 1000. */
  backoffInitialMs?: number;
  /** Largest retry delay ceiling, ms. Default 300 000 (5 minutes). */
  backoffMaxMs?: number;
  /** Deliveries in flight at once per URL: a slow or down endpoint holds at most these, never the others. Default 4. */
  concurrencyPerUrl?: number;
  /** Delivered and dead rows older than this are deleted (a key is deduplicated while its row is kept), ms. Default 7 days. */
  retentionMs?: number;
}

/** {@link WebhookDeliveryOptions} with their defaults. */
export type ResolvedDelivery = Required<WebhookDeliveryOptions>;

/** A configured webhook, checked. */
export interface ResolvedWebhook {
  url: string;
  secret: string;
  kinds: readonly NotificationKind[];
}

/** What `GET /v1/webhooks` shows of one webhook (never its secret). */
export interface WebhookSummary {
  /** The URL, its user-info part (`user:pass@`) masked. */
  url: string;
  kinds: NotificationKind[];
  /** Deliveries waiting (first attempt or a retry). */
  pending: number;
  delivered: number;
  /** Dead letters: given up after `maxAttempts`. */
  dead: number;
  /** The last failed attempt's error (`HTTP 500`, `connect ECONNREFUSED …`), `null` if none is kept. */
  lastError: string | null;
}

/** State of one delivery (one notification to one URL). */
export type DeliveryState = 'pending' | 'delivered' | 'dead';

/** One delivery row as the admin API shows it (`GET /v1/webhooks/dead-letters`). */
export interface WebhookDelivery {
  /** The delivery's id (`X-Parlor-Delivery`), the same across its retries. */
  id: string;
  /** The notification's id (the body's `id`), shared by its deliveries to every URL. */
  notificationId: string;
  /** The URL, user-info masked. */
  url: string;
  kind: NotificationKind;
  idempotencyKey: string;
  payload: Record<string, unknown>;
  state: DeliveryState;
  /** Attempts made. */
  attempts: number;
  /** The last attempt's HTTP status, `null` when it got none (refused, timed out). */
  lastStatus: number | null;
  /** The last attempt's error, `null` after a success or before any attempt. */
  lastError: string | null;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch of the last change. */
  updatedAt: number;
}

/** Defaults of {@link WebhookDeliveryOptions}. */
export const WEBHOOK_DELIVERY_DEFAULTS: ResolvedDelivery = Object.freeze({
  maxAttempts: 8,
  timeoutMs: 10_000,
  backoffInitialMs: 1000,
  backoffMaxMs: 300_000,
  concurrencyPerUrl: 4,
  retentionMs: 7 * 24 * 3600_000,
});

/** The URL with its user-info (`user:pass@`) masked, for the API and the logs. */
export function maskUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/?#]*@/i, '$1***@');
}

/**
 * Checks the webhooks and delivery options.
 * @throws {OrchestratorConfigError} naming the option and the fix: a URL that is not http(s), a URL
 *   listed twice, a secret under 16 characters, an unknown kind, a setting out of bounds.
 */
export function resolveWebhooks(webhooks: WebhookConfig[] | undefined, delivery: WebhookDeliveryOptions | undefined): { webhooks: ResolvedWebhook[]; delivery: ResolvedDelivery } {
  const list = webhooks ?? [];
  if (!Array.isArray(list)) throw new OrchestratorConfigError('webhooks must be an array of { url, secret, kinds? }');
  const seen = new Set<string>();
  const out = list.map((w, i): ResolvedWebhook => {
    const at = `webhooks[${i}]`;
    if (typeof w?.url !== 'string' || !/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(w.url)) throw new OrchestratorConfigError(`${at}.url must be an http(s) URL (got ${JSON.stringify(maskUrl(String(w?.url)))})`);
    if (seen.has(w.url)) throw new OrchestratorConfigError(`${at}.url ${maskUrl(w.url)} is listed twice: give each URL once (with the kinds it gets)`);
    seen.add(w.url);
    if (typeof w.secret !== 'string' || w.secret.length < 16) throw new OrchestratorConfigError(`${at}.secret must be a string of at least 16 characters (--webhook-secret-file or PARLOR_WEBHOOK_SECRET)`);
    const kinds = w.kinds ?? NOTIFICATION_KINDS;
    if (!Array.isArray(kinds) || kinds.length === 0) throw new OrchestratorConfigError(`${at}.kinds must be a non-empty list of ${NOTIFICATION_KINDS.join(', ')} (or left out for all)`);
    for (const k of kinds) if (!NOTIFICATION_KINDS.includes(k)) throw new OrchestratorConfigError(`${at}.kinds: unknown kind ${JSON.stringify(k)} (known: ${NOTIFICATION_KINDS.join(', ')})`);
    return { url: w.url, secret: w.secret, kinds: [...new Set(kinds)] };
  });
  const d = delivery ?? {};
  const int = (name: keyof WebhookDeliveryOptions, min: number): number => {
    const v = d[name];
    if (v === undefined) return WEBHOOK_DELIVERY_DEFAULTS[name];
    if (!Number.isInteger(v) || v < min) throw new OrchestratorConfigError(`webhookDelivery.${name} must be an integer ≥ ${min} (got ${String(v)})`);
    return v;
  };
  const resolved: ResolvedDelivery = {
    maxAttempts: int('maxAttempts', 1),
    timeoutMs: int('timeoutMs', 1),
    backoffInitialMs: int('backoffInitialMs', 0),
    backoffMaxMs: int('backoffMaxMs', 0),
    concurrencyPerUrl: int('concurrencyPerUrl', 1),
    retentionMs: int('retentionMs', 1),
  };
  return { webhooks: out, delivery: resolved };
}
