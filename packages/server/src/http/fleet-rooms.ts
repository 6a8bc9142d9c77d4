/**
 * The fleet rooms endpoint, the lobby's "New room (fleet)": `POST /parlor/api/fleet/rooms`
 * `{ game }` → `{ joinUrl, roomId?, instanceId? }`, placed through the fleet hook.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import { answer, fleetFailure, refuse } from './errors.js';

/** Path of the lobby's "New room (fleet)" endpoint (`POST`, JSON `{ game }`; 404 without a fleet). */
export const FLEET_ROOMS_PATH = '/parlor/api/fleet/rooms';
/** Largest body accepted on {@link FLEET_ROOMS_PATH}, in bytes. */
export const FLEET_ROOMS_MAX_BODY = 1024;

/** The body of {@link FLEET_ROOMS_PATH}: the game to place a room of. */
export const FleetRoomsBody = Type.Object({ game: Type.String({ minLength: 1, maxLength: 256, description: 'name of a game served here' }) });

/**
 * Places a room of `game` through the fleet and returns where it is (at least a browser `joinUrl`).
 * `parlor serve --fleet-url …` sets it to the agent's `requestRoom`. Its errors are answered by
 * their `code` and `fleetCause` (`FLEET_FAILURE_STATUS` in `http/errors.ts`): not connected 503,
 * timeout 504, `INSTANCE_BUSY` 429, other refusals 502.
 */
export type FleetRoomsHook = (game: string) => Promise<{ joinUrl: string; roomId?: string; instanceId?: string }>;

/** What {@link registerFleetRooms} reads. */
export interface FleetRoomsView {
  readonly logger: Logger;
  /** The hook, or `null` without a fleet (then 404). */
  fleetRooms(): FleetRoomsHook | null;
  /** Whether a game of this name is served here. */
  hasGame(name: string): boolean;
}

/**
 * Registers {@link FLEET_ROOMS_PATH}: 404 without a fleet hook (whatever the method); `POST` only
 * (405 with `Allow: POST`); same-origin only when an `Origin` header is sent (403); JSON (415)
 * bodies of at most {@link FLEET_ROOMS_MAX_BODY} bytes (413) matching {@link FleetRoomsBody}
 * (400); only games served here (404 `UNKNOWN_GAME`); the hook's refusals as 503 / 504 / 429 / 502.
 * The 404 and 403 are decided before the body is read.
 */
export function registerFleetRooms(app: FastifyInstance, view: FleetRoomsView): void {
  // Returning the reply after sending it stops the request here (fastify's early answer from an async hook).
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!view.fleetRooms()) return refuse(req, reply, 'NOT_FOUND', 'this server has no fleet attached');
    if (req.method !== 'POST') return refuse(req, reply, 'METHOD_NOT_ALLOWED', 'use POST', { Allow: 'POST' });
    if (!sameOrigin(req)) return refuse(req, reply, 'FORBIDDEN');
    return undefined;
  };
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: FLEET_ROOMS_PATH,
    exposeHeadRoute: false,
    onRequest: guard,
    handler: async (req, reply) => refuse(req, reply, 'METHOD_NOT_ALLOWED', 'use POST', { Allow: 'POST' }),
  });
  app.post<{ Body: Static<typeof FleetRoomsBody> }>(
    FLEET_ROOMS_PATH,
    { bodyLimit: FLEET_ROOMS_MAX_BODY, schema: { body: FleetRoomsBody }, onRequest: guard },
    async (req, reply) => {
      const hook = view.fleetRooms();
      if (!hook) return refuse(req, reply, 'NOT_FOUND', 'this server has no fleet attached');
      const { game } = req.body;
      if (!view.hasGame(game)) return refuse(req, reply, 'UNKNOWN_GAME', `no game named ${JSON.stringify(game.slice(0, 64))} here`);
      let placed: { joinUrl: string; roomId?: string; instanceId?: string };
      try {
        placed = await hook(game);
      } catch (err) {
        const f = fleetFailure(err);
        view.logger.warn({ game, code: f.error, status: f.status }, 'fleet room refused');
        return answer(req, reply, f.status, f.error, f.message);
      }
      let joinUrl: URL | null = null;
      try {
        joinUrl = new URL(String(placed?.joinUrl));
      } catch {
        joinUrl = null;
      }
      if (!joinUrl || (joinUrl.protocol !== 'http:' && joinUrl.protocol !== 'https:')) return refuse(req, reply, 'FLEET_FAILED', 'the fleet returned no usable join URL');
      view.logger.info({ game, room: placed.roomId, instance: placed.instanceId }, 'fleet room placed');
      return reply
        .header('Cache-Control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ joinUrl: joinUrl.toString(), roomId: placed.roomId, instanceId: placed.instanceId }));
    },
  );
}

/** No `Origin` header, or an http(s) origin whose host is this request's `Host`. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === req.headers.host;
  } catch {
    return false;
  }
}
