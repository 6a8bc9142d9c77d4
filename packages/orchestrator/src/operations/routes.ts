/**
 * The operation log's REST routes: `GET /v1/rooms/:roomId/operations` and `GET /v1/operations`
 * (filters room, state, op, since, until; newest first; cursor paging with `limit` and `before`),
 * in the `/v1` envelope, admin keys only like the rest of the rooms API.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { OperationKind, OperationSource, OperationState } from '@parlor/squish';
import { FleetCause } from '../errors.js';
import { cached, reject } from '../api/reply.js';
import { NOT_MODIFIED, ok, rejections, RoomParams, V1_CAUSES } from '../api/schemas.js';
import type { OperationLog, OperationQuery } from './log.js';
import { OperationPage, OperationsQuery, RoomOperationsQuery } from './schemas.js';
import { OPERATION_PAGE } from './rows.js';

/** What the routes need: the log, or how to get it at each request (it throws `SHUTTING_DOWN` when not open). */
export interface OperationRouteOptions {
  operations: OperationLog | (() => OperationLog);
}

const OTHER_METHODS: HTTPMethods[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
const RESPONSES = { 200: ok(OperationPage, 'operations, newest first, and the cursor of the next page'), ...NOT_MODIFIED, ...rejections(...V1_CAUSES, 'SHUTTING_DOWN') };

/** Registers the listing routes on `app` (the orchestrator's `/v1` app). */
export function registerOperationRoutes(app: FastifyInstance, options: OperationRouteOptions): void {
  const log = (): OperationLog => (typeof options.operations === 'function' ? options.operations() : options.operations);
  const page = async (req: FastifyRequest, reply: FastifyReply, q: Static<typeof OperationsQuery>, roomId: string | undefined): Promise<FastifyReply> => {
    const query = toQuery(q, roomId);
    const limit = query.limit ?? OPERATION_PAGE.default;
    const operations = await log().list(query);
    const next = operations.length === limit ? operations[operations.length - 1]!.id : null;
    return cached(req, reply, { operations, next });
  };
  route(app, '/v1/rooms/:roomId/operations', 'Operations of one room (also after it ended), newest first; page with limit and before=next', RoomOperationsQuery, RoomParams, (req, reply) =>
    page(req, reply, req.query as Static<typeof OperationsQuery>, (req.params as Static<typeof RoomParams>).roomId),
  );
  route(app, '/v1/operations', 'Operations of every room, newest first, filtered by room, state, op and creation time; page with limit and before=next', OperationsQuery, undefined, (req, reply) =>
    page(req, reply, req.query as Static<typeof OperationsQuery>, undefined),
  );
}

function route(app: FastifyInstance, url: string, summary: string, querystring: TSchema, params: TSchema | undefined, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>): void {
  app.route({ method: 'GET', url, schema: { summary, tags: ['operations'], querystring, ...(params ? { params } : {}), response: RESPONSES }, handler });
  app.route({
    method: OTHER_METHODS,
    url,
    schema: { hide: true },
    handler: (req, reply) => reject(reply, FleetCause.METHOD_NOT_ALLOWED, `${req.method} not allowed on ${url}`, { Allow: 'GET' }),
  });
}

function toQuery(q: Static<typeof OperationsQuery>, roomId: string | undefined): OperationQuery {
  const out: OperationQuery = {};
  const room = roomId ?? q.room;
  if (room !== undefined) out.roomId = room;
  if (q.state !== undefined) out.state = q.state as OperationState;
  if (q.op !== undefined) out.op = q.op as OperationKind;
  if (q.source !== undefined) out.source = q.source as OperationSource;
  if (q.since !== undefined) out.since = Number(q.since);
  if (q.until !== undefined) out.until = Number(q.until);
  if (q.before !== undefined) out.before = q.before;
  out.limit = q.limit === undefined ? OPERATION_PAGE.default : Math.min(OPERATION_PAGE.max, Math.max(1, Number(q.limit)));
  return out;
}
