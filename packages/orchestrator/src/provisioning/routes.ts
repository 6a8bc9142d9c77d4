/**
 * `GET /v1/autoscaler` (admin keys, like the rest of `/v1`): the buffer autoscaler's state as of
 * its last sync — provisioner, buffer (target, free), instances (provisioned, joined, draining,
 * min, max) and its last decision. Registered only when the orchestrator has an autoscaler
 * (`--provisioner`); without one the path answers `NOT_FOUND` like any unknown path.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { FleetCause } from '../errors.js';
import { cached, reject } from '../api/reply.js';
import { NOT_MODIFIED, ok, rejections, V1_CAUSES } from '../api/schemas.js';
import type { AutoscalerStatus } from '../types.js';

/** Where the autoscaler's state is served. */
export const AUTOSCALER_PATH = '/v1/autoscaler';

const BufferSchema = Type.Object({ free: Type.Integer({ minimum: 0, description: 'free room slots' }), target: Type.Integer({ minimum: 0, description: 'the free slots to keep' }) }, { additionalProperties: false });

/** One decision of the autoscaler (also the SSE event `autoscaler`). */
export const AutoscalerDecisionSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('scale_up'), Type.Literal('drain'), Type.Literal('scale_down')]),
    reason: Type.Union([Type.Literal('buffer'), Type.Literal('min_instances'), Type.Literal('drained_empty'), Type.Literal('drain_timeout')]),
    count: Type.Integer({ minimum: 0 }),
    instanceId: Type.Union([Type.String(), Type.Null()]),
    provisionedIds: Type.Array(Type.String()),
    provisioner: Type.String(),
    buffer: BufferSchema,
    ok: Type.Boolean(),
    error: Type.Union([Type.String(), Type.Null()], { description: '`CODE: message` when it failed' }),
    operationId: Type.Union([Type.String(), Type.Null()], { description: 'its operation in the log' }),
    at: Type.Number({ description: 'ms since the epoch' }),
  },
  { additionalProperties: false },
);

/** The answer of `GET /v1/autoscaler`. */
export const AutoscalerStatusSchema = Type.Object(
  {
    provisioner: Type.String({ description: 'process | swarm | kubernetes' }),
    buffer: BufferSchema,
    instances: Type.Object(
      {
        provisioned: Type.Integer({ minimum: 0, description: 'instances the provisioner runs (booting, joined or stopping)' }),
        joined: Type.Integer({ minimum: 0, description: 'of those, the ones whose agent joined the fleet' }),
        draining: Type.Integer({ minimum: 0, description: 'joined ones draining' }),
        min: Type.Integer({ minimum: 0 }),
        max: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    lastDecision: Type.Union([AutoscalerDecisionSchema, Type.Null()]),
    waiting: Type.Union([Type.String(), Type.Null()], { description: "why the change decided at the last sync waits for the engine (the provisioner's reason), or null" }),
  },
  { additionalProperties: false },
);

/** Registers `GET /v1/autoscaler` (and 405 for the other methods) on the orchestrator's `/v1` app. */
export function registerAutoscalerRoutes(app: FastifyInstance, status: () => AutoscalerStatus): void {
  app.route({
    method: 'GET',
    url: AUTOSCALER_PATH,
    schema: { summary: "The buffer autoscaler's state as of its last sync: buffer (free, target), provisioned instances, last decision", tags: ['autoscaler'], response: { 200: ok(AutoscalerStatusSchema, 'the autoscaler'), ...NOT_MODIFIED, ...rejections(...V1_CAUSES) } },
    handler: (req, reply) => cached(req, reply, status()),
  });
  const others: HTTPMethods[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
  app.route({ method: others, url: AUTOSCALER_PATH, schema: { hide: true }, handler: (req, reply) => reject(reply, FleetCause.METHOD_NOT_ALLOWED, `${req.method} not allowed on ${AUTOSCALER_PATH}`, { Allow: 'GET' }) });
}
