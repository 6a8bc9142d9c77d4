/**
 * The fleet rooms endpoint, the lobby's "New room (fleet)": `POST /parlor/api/fleet/rooms`
 * `{ game }` → `{ joinUrl, roomId?, instanceId? }`, placed through the fleet hook.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { send } from './send.js';

/** Path of the lobby's "New room (fleet)" endpoint (`POST`, JSON `{ game }`; 404 without a fleet). */
export const FLEET_ROOMS_PATH = '/parlor/api/fleet/rooms';
/** Largest body accepted on {@link FLEET_ROOMS_PATH}. */
const FLEET_ROOMS_MAX_BODY = 1024;

/**
 * Places a room of `game` through the fleet and returns where it is (at least a browser `joinUrl`).
 * `parlor serve --fleet-url …` sets it to the agent's `requestRoom`. Errors with a `code` (and a
 * `fleetCause`) map to HTTP statuses: not connected 503, timeout 504, `INSTANCE_BUSY` 429, other refusals 502.
 */
export type FleetRoomsHook = (game: string) => Promise<{ joinUrl: string; roomId?: string; instanceId?: string }>;

/** What {@link handleFleetRoom} reads. */
export interface FleetRoomsView {
  readonly logger: Logger;
  /** The hook, or `null` without a fleet (then 404). */
  fleetRooms(): FleetRoomsHook | null;
  /** Whether a game of this name is served here. */
  hasGame(name: string): boolean;
}

/**
 * Handles {@link FLEET_ROOMS_PATH}: 404 without a fleet hook; `POST` only (405); same-origin only
 * when an `Origin` header is sent (403); JSON (415) bodies of at most 1 KiB (413); only games
 * served here (404); the hook's refusals as 503 / 504 / 429 / 502.
 */
export async function handleFleetRoom(view: FleetRoomsView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const json = 'application/json; charset=utf-8';
  const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (!res.headersSent) send(req, res, status, json, JSON.stringify(body), { 'Cache-Control': 'no-store', ...headers });
  };
  const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
    // Unread request bodies would otherwise keep the socket busy.
    if (!req.complete) res.setHeader('Connection', 'close');
    reply(status, { error: code, message }, headers);
  };
  const hook = view.fleetRooms();
  if (!hook) return refuse(404, 'NOT_FOUND', 'this server has no fleet attached');
  if (req.method !== 'POST') return refuse(405, 'METHOD_NOT_ALLOWED', 'use POST', { Allow: 'POST' });
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let same = false;
    try {
      const o = new URL(origin);
      same = (o.protocol === 'http:' || o.protocol === 'https:') && o.host === req.headers.host;
    } catch {
      same = false;
    }
    if (!same) return refuse(403, 'FORBIDDEN', 'cross-origin requests are refused');
  }
  if (!/^application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? ''))) return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'send JSON: { "game": "<name>" }');
  if (Number(req.headers['content-length'] ?? 0) > FLEET_ROOMS_MAX_BODY) return refuse(413, 'PAYLOAD_TOO_LARGE', `body over ${FLEET_ROOMS_MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (c: Buffer) => {
      if (tooLarge) return;
      size += c.byteLength;
      if (size > FLEET_ROOMS_MAX_BODY) {
        tooLarge = true;
        resolve();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve());
    req.on('error', reject);
  });
  if (tooLarge) return refuse(413, 'PAYLOAD_TOO_LARGE', `body over ${FLEET_ROOMS_MAX_BODY} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return refuse(400, 'VALIDATION', 'body is not JSON');
  }
  const game = (body as { game?: unknown } | null)?.game;
  if (typeof game !== 'string' || !view.hasGame(game)) return refuse(404, 'UNKNOWN_GAME', `no game named ${JSON.stringify(String(game).slice(0, 64))} here`);
  let placed: { joinUrl: string; roomId?: string; instanceId?: string };
  try {
    placed = await hook(game);
  } catch (err) {
    const e = err as { code?: unknown; fleetCause?: unknown; message?: unknown };
    const code = typeof e?.fleetCause === 'string' ? e.fleetCause : typeof e?.code === 'string' ? e.code : 'FLEET_FAILED';
    const status = /NOT_CONNECTED|CLOSED|UNSUPPORTED/.test(code) ? 503 : /TIMEOUT/.test(code) ? 504 : code === 'INSTANCE_BUSY' ? 429 : 502;
    view.logger.warn({ game, code, status }, 'fleet room refused');
    return reply(status, { error: code, message: String(e?.message ?? err).slice(0, 300) });
  }
  let joinUrl: URL | null = null;
  try {
    joinUrl = new URL(String(placed?.joinUrl));
  } catch {
    joinUrl = null;
  }
  if (!joinUrl || (joinUrl.protocol !== 'http:' && joinUrl.protocol !== 'https:')) return reply(502, { error: 'FLEET_FAILED', message: 'the fleet returned no usable join URL' });
  view.logger.info({ game, room: placed.roomId, instance: placed.instanceId }, 'fleet room placed');
  reply(200, { joinUrl: joinUrl.toString(), roomId: placed.roomId, instanceId: placed.instanceId });
}
