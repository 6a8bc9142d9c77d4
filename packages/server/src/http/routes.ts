/**
 * The HTTP routes, on fastify: lobby, play pages, static page assets, the client bundle, game
 * assets, health, readiness, metrics, the JSON API, the fleet rooms endpoint and, in dev mode, the
 * dev status routes (`dev-routes.ts`). They read the
 * server through {@link HttpView} only. Every HTML page carries `PAGE_HEADERS` (strict CSP,
 * nosniff, Referrer-Policy, framing); every response carries `nosniff`. `HEAD` is answered for
 * every `GET` route; other methods get 405 (`Allow: GET, HEAD`) except on the fleet endpoint.
 * Refusals of the JSON API are declared in `errors.ts`. The WebSocket upgrade does not pass
 * here: it is an `upgrade` event of the same HTTP server (`realtime/upgrade.ts`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import { isRoomId, playPath } from '@parlor/squish';
import { ASSETS_PATH, type LoadedAsset } from '../games/assets.js';
import type { DevStatus } from '../dev/status.js';
import type { GameInfo } from '../games/catalog.js';
import type { LoadedGame } from '../games/loader.js';
import { errText, type Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomInfo } from '../rooms/room.js';
import type { ClientBundle } from './client-bundle.js';
import { FRAMEWORK_STATUS_CAUSES, HTTP_CAUSES, refuse } from './errors.js';
import { registerDevRoutes } from './dev-routes.js';
import { registerFleetRooms, type FleetRoomsHook } from './fleet-rooms.js';
import {
  LOBBY_SCRIPT,
  LOBBY_SCRIPT_PATH,
  PAGE_HEADERS,
  PAGE_STYLE,
  PLAY_SCRIPT,
  PLAY_SCRIPT_PATH,
  STYLE_PATH,
  assetHeaders,
  renderErrorPage,
  renderLobby,
  renderPlay,
} from './pages.js';
import { safeDecode, safePath } from './url.js';

/** What the routes read: the games, the rooms, readiness, metrics and the fleet hook. */
export interface HttpView {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly clientBundle: ClientBundle;
  /** Most rows the lobby lists, and the largest (and default) `limit` of `/parlor/api/rooms`. */
  readonly listLimit: number;
  /** The games served, as the lobby and `/parlor/api/games` show them. */
  games(): GameInfo[];
  /** The current build of a game. */
  game(name: string): LoadedGame | undefined;
  /** A game asset by its URL path. */
  asset(path: string): LoadedAsset | undefined;
  /** The live rooms. */
  readonly rooms: {
    list(limit: number): RoomInfo[];
    page(offset: number, limit: number): { rooms: RoomInfo[]; total: number };
    get(id: string): { readonly game: LoadedGame } | undefined;
  };
  /** `/readyz`: listening and not shutting down. */
  ready(): boolean;
  /** The fleet hook, or `null` without a fleet. */
  fleetRooms(): FleetRoomsHook | null;
  /** `parlor dev`'s build status of the games (the dev routes and overlay), or `null` outside dev mode. */
  readonly devStatus: DevStatus | null;
}

/** Path of the JSON room list (`?offset=&limit=`). */
export const ROOMS_API_PATH = '/parlor/api/rooms';
/** Path of the JSON game list. */
export const GAMES_API_PATH = '/parlor/api/games';

/** The query of {@link ROOMS_API_PATH}: a page of at most `max` rows (the server's `listLimit`). */
export function roomsQuery(max: number) {
  return Type.Object({
    offset: Type.Integer({ minimum: 0, maximum: 999_999_999, default: 0, description: 'rows to skip' }),
    limit: Type.Integer({ minimum: 1, maximum: max, default: max, description: `rows in the page, 1–${max}` }),
  });
}

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

/**
 * The server's HTTP app on `serverFactory`'s server (the caller owns that server: it listens,
 * caps connections and takes the WebSocket upgrades). Call `ready()` before the server listens.
 * A route that throws is answered 500 (logged, never its message); a refused connection
 * (`ConnectionAdmission`) never reaches a route.
 */
export function createHttpApp(view: HttpView, serverFactory: FastifyServerFactory, clientErrorHandler: (err: Error, socket: import('node:stream').Duplex) => void): FastifyInstance {
  const app = fastify({
    serverFactory,
    clientErrorHandler,
    logger: false,
    // Room ids may be long enough to be refused as ids (a 404 page), not as routes.
    routerOptions: { maxParamLength: 1000, ignoreTrailingSlash: true },
    return503OnClosing: false,
    // A path that is not valid percent-encoding is nothing here: the 404 page, as for any unknown path.
    frameworkErrors: (err, _req, reply) => {
      const r = reply as unknown as FastifyReply;
      if (err.code === 'FST_ERR_BAD_URL') return void page(r, 404, renderErrorPage(404, 'Not found', 'Nothing at that address.'));
      void r.code(400).headers({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' }).type(TEXT).send('bad request\n');
    },
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('X-Content-Type-Options')) reply.header('X-Content-Type-Options', 'nosniff');
    return payload;
  });

  const staticFile = (type: string, body: string) => async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.headers({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin' }).type(type).send(body);
  const noStore = (reply: FastifyReply, type: string, status = 200) => reply.code(status).header('Cache-Control', 'no-store').type(type);

  app.get('/', async (_req, reply) => {
    let body: string;
    try {
      body = renderLobby(view.games(), view.rooms.list(view.listLimit), { fleet: view.fleetRooms() !== null });
    } catch (err) {
      // Never a 500 for every visitor because of one game's data: log, and serve the lobby without rows.
      view.logger.error({ error: errText(err) }, 'lobby render failed');
      body = renderLobby([], [], { fleet: false });
    }
    return page(reply, 200, body, { 'Cache-Control': 'no-store' });
  });
  app.get(STYLE_PATH, staticFile('text/css; charset=utf-8', PAGE_STYLE));
  app.get(LOBBY_SCRIPT_PATH, staticFile(JS, LOBBY_SCRIPT));
  app.get(PLAY_SCRIPT_PATH, staticFile(JS, PLAY_SCRIPT));
  app.get('/healthz', async (_req, reply) => noStore(reply, TEXT).send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    const ready = view.ready();
    return noStore(reply, TEXT, ready ? 200 : 503).send(ready ? 'ready\n' : 'not ready\n');
  });
  app.get('/metrics', async (_req, reply) => noStore(reply, view.metrics.registry.contentType).send(await view.metrics.text()));

  const query = roomsQuery(view.listLimit);
  const rooms = { schema: { querystring: query }, attachValidation: true, preValidation: dropEmptyParams };
  app.get<{ Querystring: Static<typeof query> }>(ROOMS_API_PATH, rooms, async (req, reply) => {
    if (req.validationError) return refuse(req, reply, 'VALIDATION', `offset must be an integer ≥ 0 and limit 1–${view.listLimit}`);
    const { offset, limit } = req.query;
    const { rooms, total } = view.rooms.page(offset, limit);
    return noStore(reply, JSON_TYPE).send(JSON.stringify({ rooms, total, offset, limit }));
  });
  app.get(GAMES_API_PATH, async (_req, reply) => noStore(reply, JSON_TYPE).send(JSON.stringify({ games: view.games() })));

  app.get('/parlor/client.js', async (_req, reply) => {
    const data = view.clientBundle.read();
    if (data) return reply.header('Cache-Control', 'no-cache').type(JS).send(data);
    return noStore(reply, JS, 503).send(
      `/* Parlor client bundle not built (${view.clientBundle.path ?? '@parlor/client not found'}). Run \`npm run build\`. */\n` +
        `document.body.insertAdjacentHTML('afterbegin','<p style="color:#fff;font:16px sans-serif;padding:16px">The Parlor client is not built: run <code>npm run build</code>.</p>');\n`,
    );
  });

  app.get(`${ASSETS_PATH}*`, async (req, reply) => {
    const path = safePath(req.url);
    const asset = view.asset(path);
    if (!asset) return reply.code(404).type(TEXT).send('asset not found\n');
    return reply
      .headers({
        'Cache-Control': 'public, max-age=31536000, immutable',
        ETag: `"${asset.hash}"`,
        ...assetHeaders(asset.contentType, safeDecode(path.slice(path.lastIndexOf('/') + 1))),
      })
      .type(asset.contentType)
      .send(asset.data);
  });

  const play = async (req: FastifyRequest<{ Params: { game: string; roomId?: string }; Querystring: { spectate?: unknown; create?: unknown } }>, reply: FastifyReply) => {
    const { game: name, roomId = '' } = req.params;
    // A live room plays the build it was created with: a catalog version that is no longer the
    // current one (a promotion since) keeps serving that version's page and assets.
    const live = roomId !== '' && isRoomId(roomId) ? view.rooms.get(roomId) : undefined;
    const game = live && live.game.name === name && live.game.version !== undefined ? live.game : view.game(name);
    const dev = view.devStatus !== null;
    const yes = (v: unknown): boolean => ['1', 'true', 'yes'].includes(String(v ?? ''));
    // In dev mode a game whose first build failed has a status but no build: its play page shows
    // the dev overlay (the error) and reloads itself once a build loads.
    if (!game && view.devStatus?.get(name) && (roomId === '' || isRoomId(roomId))) {
      return page(reply, 200, renderPlay({ game: name, title: name, roomId, spectate: yes(req.query.spectate), dev, pending: true }), { 'Cache-Control': 'no-store' });
    }
    if (!game) return page(reply, 404, renderErrorPage(404, 'Game not found', `There is no game called "${name.slice(0, 64)}" here.`));
    if (roomId !== '' && !isRoomId(roomId)) return page(reply, 404, renderErrorPage(404, 'Room not found', 'That room id is not valid.'));
    const other = roomId ? view.rooms.get(roomId) : undefined;
    if (other && other.game.name !== game.name) return page(reply, 404, renderErrorPage(404, 'Room not found', `Room ${roomId} is not a ${game.metadata.name} room.`));
    // A room id nobody plays in (a typo, or a room that ended) is a 404 that offers to start it,
    // rather than a silent new room; `?create=1` starts it (a named room to share).
    if (roomId !== '' && !other && !yes(req.query.create)) {
      return page(reply, 404, renderErrorPage(404, 'Room not found', `There is no ${game.metadata.name} room "${roomId}" here: it may have ended, or the link has a typo.`, { href: `${playPath(game.name, roomId)}?create=1`, label: `Start room ${roomId}` }));
    }
    const spectate = yes(req.query.spectate);
    return page(reply, 200, renderPlay({ game: game.name, title: game.metadata.name, roomId, spectate, dev }), { 'Cache-Control': 'no-store' });
  };
  app.get('/play/:game', play);
  app.get('/play/:game/:roomId', play);

  if (view.devStatus) registerDevRoutes(app, { logger: view.logger, devStatus: view.devStatus, hasGame: (name) => view.game(name) !== undefined });
  registerFleetRooms(app, { logger: view.logger, fleetRooms: () => view.fleetRooms(), hasGame: (name) => view.game(name) !== undefined });

  app.setNotFoundHandler(async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply.code(405).header('Allow', 'GET, HEAD').type(TEXT).send('method not allowed\n');
    return page(reply, 404, renderErrorPage(404, 'Not found', `Nothing at ${safePath(req.url).slice(0, 200)}.`));
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const cause = err.statusCode !== undefined ? FRAMEWORK_STATUS_CAUSES[err.statusCode] : undefined;
    if (cause) return refuse(req, reply, cause, err.validation ? 'the body does not match its schema' : errText(err, 200));
    view.logger.error({ method: req.method, path: safePath(req.url), error: errText(err) }, 'http error');
    if (reply.sent) return reply;
    if (safePath(req.url).startsWith('/parlor/api/')) return refuse(req, reply, 'INTERNAL');
    return reply.code(HTTP_CAUSES.INTERNAL.status).type(TEXT).send('internal server error\n');
  });
  return app;
}

/** An HTML page: `status`, `PAGE_HEADERS` (strict CSP, nosniff…), then `headers`. */
function page(reply: FastifyReply, status: number, body: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers({ ...PAGE_HEADERS, ...headers }).type(HTML).send(body);
}

/** `?limit=` (empty) means the default, as if absent: empty query values are dropped before validation. */
async function dropEmptyParams(req: FastifyRequest): Promise<void> {
  const q = req.query as Record<string, unknown>;
  for (const k of Object.keys(q)) if (q[k] === '') delete q[k];
}
