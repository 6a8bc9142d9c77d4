/**
 * The webhooks' admin routes, in the `/v1` envelope with their TypeBox schemas (admin key, as
 * every `/v1` route): `GET /v1/webhooks` (the configured URLs with their counts, never a secret),
 * `GET /v1/webhooks/dead-letters` (newest first, paged), `POST /v1/webhooks/dead-letters/:id/retry`
 * (back to pending, sent now).
 */
import { NOTIFICATION_KINDS } from '@parlor/squish';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { FleetCause, OrchestratorError, type FleetCauseValue } from '../errors.js';
import { reject } from '../api/reply.js';
import { ok, rejections, V1_CAUSES } from '../api/schemas.js';
import type { WebhookNotifier } from './notifier.js';

const Kind = Type.Union(NOTIFICATION_KINDS.map((k) => Type.Literal(k)));
const Ms = Type.Integer({ minimum: 0, description: 'ms since the epoch' });

/** One configured webhook as `GET /v1/webhooks` shows it. */
export const WebhookSummarySchema = Type.Object(
  {
    url: Type.String({ description: 'The URL, its user-info masked' }),
    kinds: Type.Array(Kind),
    pending: Type.Integer({ minimum: 0 }),
    delivered: Type.Integer({ minimum: 0 }),
    dead: Type.Integer({ minimum: 0 }),
    lastError: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

/** One delivery row (a dead letter, or one sent again). */
export const WebhookDeliverySchema = Type.Object(
  {
    id: Type.String({ description: 'The delivery id (X-Parlor-Delivery)' }),
    notificationId: Type.String(),
    url: Type.String(),
    kind: Kind,
    idempotencyKey: Type.String(),
    payload: Type.Record(Type.String(), Type.Unknown()),
    state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')]),
    attempts: Type.Integer({ minimum: 0 }),
    lastStatus: Type.Union([Type.Integer(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    createdAt: Ms,
    updatedAt: Ms,
  },
  { additionalProperties: false },
);

const DeadLetterQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Page size, 1–500; default 100' })),
  before: Type.Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' })),
});
const DeliveryParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
interface Operation {
  summary: string;
  params?: TSchema;
  querystring?: TSchema;
  response: Record<number, unknown>;
  handler: Handler;
}
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** One path's operations, and a 405 (with `Allow`) for its other methods. */
function resource(app: FastifyInstance, url: string, ops: Partial<Record<(typeof METHODS)[number], Operation>>): void {
  const allowed = Object.keys(ops) as Array<(typeof METHODS)[number]>;
  for (const method of allowed) {
    const { handler, summary, ...schema } = ops[method]!;
    app.route({ method, url, schema: { summary, tags: ['webhooks'], ...schema }, handler });
  }
  const others: HTTPMethods[] = METHODS.filter((m) => !allowed.includes(m));
  if (!allowed.includes('GET')) others.push('HEAD');
  app.route({ method: others, url, schema: { hide: true }, handler: (req, reply) => reject(reply, FleetCause.METHOD_NOT_ALLOWED, `${req.method} not allowed on ${url}`, { Allow: allowed.join(', ') }) });
}

const v1 = (...causes: FleetCauseValue[]): Record<number, TSchema> => rejections(...V1_CAUSES, ...causes);

/** Registers the webhook routes on `app`. */
export function registerWebhookRoutes(app: FastifyInstance, notifier: WebhookNotifier): void {
  resource(app, '/v1/webhooks', {
    GET: {
      summary: 'The configured webhooks: URL (user-info masked), kinds, and deliveries pending, delivered and dead (never a secret)',
      response: { 200: ok(Type.Array(WebhookSummarySchema), 'webhooks in configuration order'), ...v1() },
      handler: async () => ({ status: 'OK', data: await notifier.summaries() }),
    },
  });
  resource(app, '/v1/webhooks/dead-letters', {
    GET: {
      summary: 'Deliveries that gave up after the last attempt, newest first (`limit` 1–500, default 100; `before` = the last id of the previous page)',
      querystring: DeadLetterQuery,
      response: { 200: ok(Type.Array(WebhookDeliverySchema), 'dead letters, newest first'), ...v1() },
      handler: async (req) => {
        const q = req.query as Static<typeof DeadLetterQuery>;
        const limit = q.limit === undefined ? 100 : Number(q.limit);
        if (limit < 1 || limit > 500) throw new OrchestratorError(FleetCause.VALIDATION, `querystring limit: must be 1–500 (got ${limit})`);
        return { status: 'OK', data: await notifier.deadLetters(limit, q.before) };
      },
    },
  });
  resource(app, '/v1/webhooks/dead-letters/:id/retry', {
    POST: {
      summary: 'Sends a dead letter again: back to pending with a fresh count of attempts, sent at once',
      params: DeliveryParams,
      response: { 200: ok(WebhookDeliverySchema, 'the delivery, pending again'), ...v1('NOT_FOUND') },
      handler: async (req) => {
        const { id } = req.params as Static<typeof DeliveryParams>;
        const out = await notifier.retry(id);
        if ('error' in out) throw new OrchestratorError(FleetCause.NOT_FOUND, out.error);
        return { status: 'OK', data: out };
      },
    },
  });
}
