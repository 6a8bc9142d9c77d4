/**
 * The routes of the REST API: `/healthz`, `/readyz`, `/v1/*` and `/v1/openapi.json`, each with
 * its TypeBox schemas (params, query, body, every answer), against the narrow
 * {@link ControlPlane}. A path answers the methods it does not serve with 405 and `Allow`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { FleetCause, OrchestratorError, type FleetCauseValue } from '../errors.js';
import { CreateRoomSchema, FleetStatsSchema, InstanceInfoSchema, RoomInfoSchema, SeatReservationSchema, SeatsSchema } from '../schemas.js';
import type { CreateRoomRequest, RoomQuery } from '../types.js';
import { RESOLVE_CAUSES, type ApiOptions, type ControlPlane } from './control-plane.js';
import { cached, reject } from './reply.js';
import { BODY_CAUSES, COMMAND_CAUSES, Destroyed, EventsQuery, InstanceParams, NOT_MODIFIED, ok, rejections, RoomParams, RoomQuerySchema, V1_CAUSES } from './schemas.js';
import type { SseStreams } from './sse.js';

/** Where the OpenAPI document of the REST API is served (no auth: it holds no secret). */
export const OPENAPI_PATH = '/v1/openapi.json';

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;

interface Operation {
  summary: string;
  /** `[]` for a route without auth. */
  security?: Array<Record<string, string[]>>;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  response: Record<number, unknown>;
  handler: Handler;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Registers the operations of one path and a 405 (with `Allow`) for the other methods. */
function resource(app: FastifyInstance, url: string, ops: Partial<Record<(typeof METHODS)[number], Operation>>, tags: string[]): void {
  const allowed = Object.keys(ops) as Array<(typeof METHODS)[number]>;
  for (const method of allowed) {
    const { handler, summary, ...schema } = ops[method]!;
    app.route({ method, url, schema: { summary, tags, ...schema }, handler });
  }
  const others: HTTPMethods[] = METHODS.filter((m) => !allowed.includes(m));
  if (!allowed.includes('GET')) others.push('HEAD');
  const allow = allowed.join(', ');
  app.route({
    method: others,
    url,
    schema: { hide: true },
    handler: (req, reply) => reject(reply, FleetCause.METHOD_NOT_ALLOWED, `${req.method} not allowed on ${url}`, { Allow: allow }),
  });
}

function v1(...causes: FleetCauseValue[]): Record<number, TSchema> {
  return rejections(...V1_CAUSES, ...causes);
}

const notFound = (what: 'instance' | 'room', id: string): OrchestratorError =>
  new OrchestratorError(what === 'instance' ? FleetCause.INSTANCE_NOT_FOUND : FleetCause.ROOM_NOT_FOUND, `no ${what} ${id.slice(0, 64)}`);

/** Registers every route on `app`. */
export function registerRoutes(app: FastifyInstance, control: ControlPlane, opts: ApiOptions, streams: SseStreams): void {
  app.route({ method: 'OPTIONS', url: '*', schema: { hide: true }, handler: (_req, reply) => reply.code(204).send() });
  const health = ['health'];
  resource(app, '/healthz', { GET: { summary: 'Liveness (no auth)', security: [], response: { 200: ok(Type.Object({ ok: Type.Literal(true) }), 'alive'), ...rejections('INTERNAL') }, handler: () => ({ status: 'OK', data: { ok: true } }) } }, health);
  resource(
    app,
    '/readyz',
    {
      GET: {
        summary: 'Readiness: listening and not shutting down (no auth)',
        security: [],
        response: { 200: ok(Type.Object({ ready: Type.Literal(true) }), 'ready'), ...rejections('SHUTTING_DOWN', 'INTERNAL') },
        handler: () => {
          if (!control.ready) throw new OrchestratorError(FleetCause.SHUTTING_DOWN, 'not ready');
          return { status: 'OK', data: { ready: true } };
        },
      },
    },
    health,
  );
  if (!opts.api) return;
  const fleet = control.fleet;

  resource(app, OPENAPI_PATH, { GET: { summary: 'This document (no auth)', security: [], response: { 200: Type.Object({}, { description: 'OpenAPI 3.1 document' }), ...rejections('INTERNAL') }, handler: () => app.swagger() } }, ['meta']);
  resource(app, '/v1/stats', { GET: { summary: 'Fleet totals', response: { 200: ok(FleetStatsSchema, 'fleet totals'), ...NOT_MODIFIED, ...v1() }, handler: (req, reply) => cached(req, reply, fleet.stats) } }, ['fleet']);
  resource(
    app,
    '/v1/events',
    {
      GET: {
        summary:
          'SSE: instance:*, room:* and player:* events with ids `<epoch>-<seq>`; `: ping` keep-alive. With `Last-Event-ID` (or `?lastEventId=`) ' +
          'whose following events are still kept: exactly those first; otherwise a `sync` (whole read model, `reason` new | expired | restart) first ' +
          '(a `restart` one once the returning agents have reported). A consumer that stops reading gets `overflow` and is closed; every stream gets `shutdown` when the orchestrator stops.',
        querystring: EventsQuery,
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...v1('SSE_LIMIT') },
        handler: (req, reply) => {
          if (streams.full) throw new OrchestratorError(FleetCause.SSE_LIMIT, `at most ${opts.maxSseStreams} event streams`);
          const header = req.headers['last-event-id'];
          const lastEventId = typeof header === 'string' ? header : (req.query as Static<typeof EventsQuery>).lastEventId;
          reply.hijack();
          streams.open(req.raw, reply.raw, lastEventId);
        },
      },
    },
    ['fleet'],
  );

  const instances = ['instances'];
  resource(app, '/v1/instances', { GET: { summary: 'Live instances', response: { 200: ok(Type.Array(InstanceInfoSchema), 'instances by id'), ...NOT_MODIFIED, ...v1() }, handler: (req, reply) => cached(req, reply, fleet.instances) } }, instances);
  resource(
    app,
    '/v1/instances/:id',
    {
      GET: {
        summary: 'One instance',
        params: InstanceParams,
        response: { 200: ok(InstanceInfoSchema, 'the instance'), ...NOT_MODIFIED, ...v1('INSTANCE_NOT_FOUND') },
        handler: (req, reply) => {
          const { id } = req.params as Static<typeof InstanceParams>;
          const inst = fleet.getInstance(id);
          if (!inst) throw notFound('instance', id);
          return cached(req, reply, inst);
        },
      },
    },
    instances,
  );
  resource(
    app,
    '/v1/instances/:id/rooms',
    {
      GET: {
        summary: "An instance's rooms",
        params: InstanceParams,
        response: { 200: ok(Type.Array(RoomInfoSchema), 'rooms by id'), ...NOT_MODIFIED, ...v1('INSTANCE_NOT_FOUND') },
        handler: (req, reply) => {
          const { id } = req.params as Static<typeof InstanceParams>;
          const inst = fleet.getInstance(id);
          if (!inst) throw notFound('instance', id);
          return cached(req, reply, fleet.findRooms({ instanceId: inst.id }));
        },
      },
    },
    instances,
  );
  for (const action of ['drain', 'undrain'] as const) {
    resource(
      app,
      `/v1/instances/:id/${action}`,
      {
        POST: {
          summary: action === 'drain' ? 'Drain: no new placements there unless `force`' : 'End a drain',
          params: InstanceParams,
          response: { 200: ok(InstanceInfoSchema, 'the instance after the ack'), ...v1(...BODY_CAUSES, ...COMMAND_CAUSES, 'INSTANCE_NOT_FOUND') },
          handler: async (req) => {
            const { id } = req.params as Static<typeof InstanceParams>;
            return { status: 'OK', data: action === 'drain' ? await control.drainInstance(id) : await control.undrainInstance(id) };
          },
        },
      },
      instances,
    );
  }

  const rooms = ['rooms'];
  const placeCauses: FleetCauseValue[] = [...BODY_CAUSES, ...COMMAND_CAUSES, 'ROOM_EXISTS', 'NO_CANDIDATE', 'INSTANCE_NOT_FOUND', 'INSTANCE_DRAINING'];
  resource(
    app,
    '/v1/rooms',
    {
      GET: {
        summary: 'Rooms, filtered by type, instance and instance labels',
        querystring: RoomQuerySchema,
        response: { 200: ok(Type.Array(RoomInfoSchema), 'rooms by id'), ...NOT_MODIFIED, ...v1('VALIDATION') },
        handler: (req, reply) => cached(req, reply, fleet.findRooms(roomQuery(req.query as Static<typeof RoomQuerySchema>))),
      },
      POST: {
        summary:
          'Place and create a room (201 on the agent ack): by `type` (a game the hosts serve from their folders) or by `game`, a catalog version ' +
          '(`pong` as `env` pins it, default the orchestrator\'s environment, or `pong@1.2.0`), resolved before placement and placed only on ' +
          'an instance whose host encodes its squish version; give exactly one of `type` and `game`',
        body: CreateRoomSchema,
        response: { 201: ok(RoomInfoSchema, 'the room, with its joinUrl (and version, for a catalog room)'), ...v1(...placeCauses, ...RESOLVE_CAUSES) },
        handler: async (req, reply) => reply.code(201).send({ status: 'OK', data: await control.createRoom(req.body as CreateRoomRequest) }),
      },
    },
    rooms,
  );
  resource(
    app,
    '/v1/rooms/:roomId',
    {
      GET: {
        summary: 'One room',
        params: RoomParams,
        response: { 200: ok(RoomInfoSchema, 'the room'), ...NOT_MODIFIED, ...v1('ROOM_NOT_FOUND') },
        handler: (req, reply) => {
          const { roomId } = req.params as Static<typeof RoomParams>;
          const room = fleet.getRoom(roomId);
          if (!room) throw notFound('room', roomId);
          return cached(req, reply, room);
        },
      },
      DELETE: {
        summary: 'Destroy a room (on the agent ack); a room that already ended by itself answers 200 with alreadyGone',
        params: RoomParams,
        response: { 200: ok(Destroyed, 'destroyed'), ...v1(...BODY_CAUSES, ...COMMAND_CAUSES, 'ROOM_NOT_FOUND') },
        handler: async (req) => {
          const { roomId } = req.params as Static<typeof RoomParams>;
          return { status: 'OK', data: await control.destroyRoom(roomId) };
        },
      },
    },
    rooms,
  );
  resource(
    app,
    '/v1/rooms/:roomId/seats',
    {
      POST: {
        summary: 'Reserve seats: single-use join tickets (201); never oversold: players + live tickets + count ≤ maxPlayers, else 409 ROOM_FULL',
        params: RoomParams,
        body: SeatsSchema,
        response: { 201: ok(SeatReservationSchema, 'tickets and one join URL each'), ...v1(...BODY_CAUSES, ...COMMAND_CAUSES, 'ROOM_NOT_FOUND', 'ROOM_FULL') },
        handler: async (req, reply) => {
          const { roomId } = req.params as Static<typeof RoomParams>;
          const { count, ttlMs, userIds } = req.body as Static<typeof SeatsSchema>;
          return reply.code(201).send({ status: 'OK', data: await control.reserveSeats(roomId, { count, ttlMs, ...(userIds ? { userIds } : {}) }) });
        },
      },
    },
    rooms,
  );
}

function roomQuery(q: Static<typeof RoomQuerySchema>): RoomQuery {
  const out: RoomQuery = {};
  if (q.type) out.type = q.type;
  if (q.instanceId) out.instanceId = q.instanceId;
  const labels = q.label === undefined ? [] : Array.isArray(q.label) ? q.label : [q.label];
  if (labels.length > 0) {
    out.labels = {};
    for (const l of labels) {
      const i = l.indexOf(':');
      out.labels[l.slice(0, i)] = l.slice(i + 1);
    }
  }
  return out;
}
