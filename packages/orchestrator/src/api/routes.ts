/**
 * The routes of the REST API: `/healthz`, `/readyz`, `/v1/*` and `/v1/openapi.json`, each with
 * its TypeBox schemas (params, query, body, every answer), against the narrow
 * {@link ControlPlane}. A path answers the methods it does not serve with 405 and `Allow`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { FleetCause, OrchestratorError, isFleetCause, type FleetCauseValue } from '../errors.js';
import { CreateRoomSchema, FleetStatsSchema, InstanceInfoSchema, RoomInfoSchema, SeatReservationSchema, SeatsSchema } from '../schemas.js';
import { failedOperation } from '../operations/run.js';
import type { CreateRoomRequest, RoomOperationRequest, RoomQuery } from '../types.js';
import { RESOLVE_CAUSES, type ApiOptions, type ControlPlane } from './control-plane.js';
import { cached, reject } from './reply.js';
import {
  BODY_CAUSES,
  COMMAND_CAUSES,
  Destroyed,
  EmptyBody,
  EventsQuery,
  InstanceParams,
  NOT_MODIFIED,
  ok,
  PatchBody,
  PauseBody,
  rejections,
  ROOM_OP_CAUSES,
  RoomOperationAnswer,
  RoomParams,
  RoomQuerySchema,
  V1_CAUSES,
} from './schemas.js';
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
        handler: async (req, reply) =>
          reply.code(201).send({ status: 'OK', data: await control.createRoom(req.body as CreateRoomRequest, { source: req.keyRole === 'admin' ? 'admin' : 'api', actor: req.keyName ?? req.keyFp ?? '' }) }),
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
        summary: 'Stop (destroy) a room (on the agent ack), recorded in the operation log as `stop`; a room that already ended by itself answers 200 with alreadyGone',
        params: RoomParams,
        response: { 200: ok(Destroyed, 'destroyed, with the recorded operation'), ...v1(...BODY_CAUSES, ...COMMAND_CAUSES, 'ROOM_NOT_FOUND') },
        handler: (req) => operate(control, req, { op: 'stop' }),
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
  registerLifecycle(app, control);
}

/** The lifecycle routes `POST /v1/rooms/:roomId/<op>`: what each says and takes. */
const LIFECYCLE: ReadonlyArray<{ op: 'pause' | 'resume' | 'restart' | 'patch' | 'turn'; summary: string; body: TSchema }> = [
  { op: 'pause', body: PauseBody, summary: 'Pause a room: ticks and turns stop, players stay connected and see the paused state (with `reason`), input is refused GAME_PAUSED' },
  { op: 'resume', body: EmptyBody, summary: 'Resume a paused room' },
  { op: 'restart', body: EmptyBody, summary: 'Restart a room on the same version: saved, its engine stopped and started again from the snapshot; players stay connected' },
  {
    op: 'patch',
    body: PatchBody,
    summary:
      "Patch a room to another version of its game within the same major.minor (resolved through the catalog as `slug@version`, never placed elsewhere): saved, the new version's engine started from the snapshot; players stay connected. Another major.minor is 409 PATCH_SEMVER_INCOMPATIBLE",
  },
  { op: 'turn', body: EmptyBody, summary: 'Force the next turn of a turn-based room now (answers once it is generated); 409 NOT_TURN_BASED otherwise' },
];

/** Registers the lifecycle routes of rooms (every attempt is recorded in the operation log). */
function registerLifecycle(app: FastifyInstance, control: ControlPlane): void {
  for (const { op, summary, body } of LIFECYCLE) {
    const causes: FleetCauseValue[] = [...BODY_CAUSES, ...COMMAND_CAUSES, ...ROOM_OP_CAUSES, ...(op === 'patch' ? RESOLVE_CAUSES : [])];
    resource(
      app,
      `/v1/rooms/:roomId/${op}`,
      {
        POST: {
          summary: `${summary}. Answers (on the agent ack) the recorded operation and the room's state after it; a refusal is recorded as a failed operation (its id in the message)`,
          params: RoomParams,
          body,
          response: { 200: ok(RoomOperationAnswer, 'the operation (succeeded) and the room state after it'), ...v1(...causes) },
          handler: (req) => {
            const b = (req.body ?? {}) as { reason?: string; version?: string };
            const request: RoomOperationRequest = op === 'pause' ? { op, ...(b.reason !== undefined && { reason: b.reason }) } : op === 'patch' ? { op, version: String(b.version) } : { op };
            return operate(control, req, request);
          },
        },
      },
      ['rooms'],
    );
  }
}

/**
 * Runs a lifecycle operation for a REST call: the caller is the key (source `admin` for an admin
 * key, `api` for any other class; actor its name or fingerprint); a refusal keeps its cause and
 * names the failed operation the log recorded.
 */
async function operate(control: ControlPlane, req: FastifyRequest, request: RoomOperationRequest): Promise<{ status: 'OK'; data: unknown }> {
  const { roomId } = req.params as Static<typeof RoomParams>;
  try {
    const data = await control.operateRoom(roomId, request, { source: req.keyRole === 'admin' ? 'admin' : 'api', actor: req.keyName ?? req.keyFp ?? '' });
    return { status: 'OK', data };
  } catch (err) {
    const failed = failedOperation(err);
    if (failed && err instanceof OrchestratorError && isFleetCause(err.code)) throw new OrchestratorError(err.code, `${err.message} (operation ${failed.id})`, { cause: err, agentCode: err.agentCode });
    throw err;
  }
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
