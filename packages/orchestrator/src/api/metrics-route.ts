/**
 * `GET /metrics`: the orchestrator's Prometheus metrics. Served whether or not `/v1` is, behind a
 * bearer token as Prometheus sends one (`authorization` / `bearer_token_file` of a scrape
 * config): a metrics key (read-only: it opens nothing else) or an admin key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OrchestratorMetrics } from '../metrics.js';
import { rejections } from './schemas.js';

/** Where the metrics are served. */
export const METRICS_PATH = '/metrics';

const digest = (k: string): Buffer => createHash('sha256').update(k).digest();

/** Whether the request's bearer token is one of `keys` (compared in constant time). */
export function hasMetricsKey(req: FastifyRequest, keys: readonly string[]): boolean {
  if (keys.length === 0) return false;
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !/^Bearer [^\s]+$/i.test(h.trim())) return false;
  const got = digest(h.trim().slice(7));
  let ok = false;
  for (const k of keys) ok = timingSafeEqual(got, digest(k)) || ok;
  return ok;
}

/** Registers `GET /metrics` (auth happens in the request hook, before routing). */
export function registerMetricsRoute(app: FastifyInstance, metrics: OrchestratorMetrics): void {
  app.route({
    method: 'GET',
    url: METRICS_PATH,
    schema: {
      summary: 'Prometheus metrics (text exposition); bearer token: a metrics key or an admin key',
      tags: ['health'],
      security: [{ adminKey: [] }, { metricsKey: [] }],
      response: {
        200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } },
        ...rejections('UNAUTHORIZED', 'AUTH_THROTTLED', 'INTERNAL'),
      },
    },
    handler: async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()),
  });
}
