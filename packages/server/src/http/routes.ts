/**
 * The HTTP routes (node:http): lobby, play pages, static page assets, the client bundle, game
 * assets, health, readiness, metrics, the JSON API and the fleet rooms endpoint. They read the
 * server through {@link HttpView} only. Every HTML page carries `PAGE_HEADERS` (strict CSP,
 * nosniff, Referrer-Policy, framing); every response carries `nosniff` (see `send.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRoomId } from '@parlor/squish';
import { ASSETS_PATH, type LoadedAsset } from '../games/assets.js';
import type { GameInfo } from '../games/catalog.js';
import type { LoadedGame } from '../games/loader.js';
import { errText, type Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomInfo } from '../rooms/room.js';
import type { ClientBundle } from './client-bundle.js';
import { FLEET_ROOMS_PATH, handleFleetRoom, type FleetRoomsHook } from './fleet-rooms.js';
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
import { send } from './send.js';
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
}

/** The `request` handler of the HTTP server: routes, and answers 500 (logged) when a route throws. */
export function createRequestHandler(view: HttpView): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(view, req, res).catch((err: unknown) => {
      view.logger.error({ method: req.method, path: safePath(req.url), error: errText(err) }, 'http error');
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal server error\n');
      else res.destroy();
    });
  };
}

async function route(view: HttpView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === FLEET_ROOMS_PATH) return handleFleetRoom({ logger: view.logger, fleetRooms: () => view.fleetRooms(), hasGame: (name) => view.game(name) !== undefined }, req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  const html = 'text/html; charset=utf-8';
  const json = 'application/json; charset=utf-8';
  // Every HTML page carries PAGE_HEADERS (strict CSP, nosniff, Referrer-Policy, framing).
  const page = (status: number, body: string, headers: Record<string, string> = {}): void => send(req, res, status, html, body, { ...PAGE_HEADERS, ...headers });
  const staticFile = (type: string, body: string): void =>
    send(req, res, 200, type, body, { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin' });
  switch (path) {
    case '/': {
      let body: string;
      try {
        body = renderLobby(view.games(), view.rooms.list(view.listLimit), { fleet: view.fleetRooms() !== null });
      } catch (err) {
        // Never a 500 for every visitor because of one game's data: log, and serve the lobby without rows.
        view.logger.error({ error: errText(err) }, 'lobby render failed');
        body = renderLobby([], [], { fleet: false });
      }
      page(200, body, { 'Cache-Control': 'no-store' });
      return;
    }
    case STYLE_PATH:
      staticFile('text/css; charset=utf-8', PAGE_STYLE);
      return;
    case LOBBY_SCRIPT_PATH:
      staticFile('text/javascript; charset=utf-8', LOBBY_SCRIPT);
      return;
    case PLAY_SCRIPT_PATH:
      staticFile('text/javascript; charset=utf-8', PLAY_SCRIPT);
      return;
    case '/healthz':
      send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n', { 'Cache-Control': 'no-store' });
      return;
    case '/readyz': {
      const ready = view.ready();
      send(req, res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n', { 'Cache-Control': 'no-store' });
      return;
    }
    case '/metrics':
      send(req, res, 200, view.metrics.registry.contentType, await view.metrics.text(), { 'Cache-Control': 'no-store' });
      return;
    case '/parlor/api/rooms': {
      // Paginated: ?offset=&limit= (limit 1–listLimit, default listLimit); `total` counts every room.
      const rows = roomsPage(view, url.searchParams);
      if (!rows) send(req, res, 400, json, JSON.stringify({ error: 'VALIDATION', message: `offset must be an integer ≥ 0 and limit 1–${view.listLimit}` }), { 'Cache-Control': 'no-store' });
      else send(req, res, 200, json, JSON.stringify(rows), { 'Cache-Control': 'no-store' });
      return;
    }
    case '/parlor/api/games':
      send(req, res, 200, json, JSON.stringify({ games: view.games() }), { 'Cache-Control': 'no-store' });
      return;
    case '/parlor/client.js': {
      const data = view.clientBundle.read();
      if (!data) {
        send(
          req,
          res,
          503,
          'text/javascript; charset=utf-8',
          `/* Parlor client bundle not built (${view.clientBundle.path ?? '@parlor/client not found'}). Run \`npm run build\`. */\n` +
            `document.body.insertAdjacentHTML('afterbegin','<p style="color:#fff;font:16px sans-serif;padding:16px">The Parlor client is not built: run <code>npm run build</code>.</p>');\n`,
          { 'Cache-Control': 'no-store' },
        );
        return;
      }
      send(req, res, 200, 'text/javascript; charset=utf-8', data, { 'Cache-Control': 'no-cache' });
      return;
    }
  }
  if (path.startsWith(ASSETS_PATH)) {
    const asset = view.asset(path);
    if (!asset) {
      send(req, res, 404, 'text/plain; charset=utf-8', 'asset not found\n');
      return;
    }
    send(req, res, 200, asset.contentType, asset.data, {
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${asset.hash}"`,
      ...assetHeaders(asset.contentType, safeDecode(path.slice(path.lastIndexOf('/') + 1))),
    });
    return;
  }
  if (path.startsWith('/play/')) {
    const parts = path.slice('/play/'.length).split('/');
    if (parts.length === 2 && parts[1] === '') parts.pop();
    const game = parts.length <= 2 ? view.game(safeDecode(parts[0])) : undefined;
    const roomId = parts.length === 2 ? safeDecode(parts[1]) : '';
    if (!game) {
      page(404, renderErrorPage(404, 'Game not found', `There is no game called "${safeDecode(parts[0] ?? '').slice(0, 64)}" here.`));
      return;
    }
    if (roomId !== '' && !isRoomId(roomId)) {
      page(404, renderErrorPage(404, 'Room not found', 'That room id is not valid.'));
      return;
    }
    const other = roomId ? view.rooms.get(roomId) : undefined;
    if (other && other.game.name !== game.name) {
      page(404, renderErrorPage(404, 'Room not found', `Room ${roomId} is not a ${game.metadata.name} room.`));
      return;
    }
    const spectate = ['1', 'true', 'yes'].includes(url.searchParams.get('spectate') ?? '');
    page(200, renderPlay({ game: game.name, title: game.metadata.name, roomId, spectate }), { 'Cache-Control': 'no-store' });
    return;
  }
  page(404, renderErrorPage(404, 'Not found', `Nothing at ${path.slice(0, 200)}.`));
}

/** `GET /parlor/api/rooms?offset=&limit=`: one page (limit ≤ listLimit) and the total; `null` for invalid parameters. */
function roomsPage(view: HttpView, params: URLSearchParams): { rooms: RoomInfo[]; total: number; offset: number; limit: number } | null {
  const int = (name: string, def: number): number | null => {
    const v = params.get(name);
    if (v === null || v === '') return def;
    return /^\d{1,9}$/.test(v) ? Number(v) : null;
  };
  const offset = int('offset', 0);
  const limit = int('limit', view.listLimit);
  if (offset === null || limit === null || limit < 1 || limit > view.listLimit) return null;
  const { rooms, total } = view.rooms.page(offset, limit);
  return { rooms, total, offset, limit };
}
