/**
 * Where `parlor bots` points: a play URL or a bare game name read into the server's origin, the
 * game and the room; the loopback rule; and the one HTTP check before any bot connects (is a
 * Parlor server there, does it serve the game), each failure one line that says what to do.
 */
import { isIP } from 'node:net';
import { GAME_NAME_RE, isGameName, isRoomId, parsePlayPath, playPath, socketUrlFor } from '@parlor/squish';

/** What the bots connect to. */
export interface BotTarget {
  /** The server's origin, e.g. `http://127.0.0.1:8080`. */
  readonly origin: string;
  /** Its WebSocket URL, e.g. `ws://127.0.0.1:8080/parlor/ws`. */
  readonly socketUrl: string;
  /** The game name (`/play/<game>`). */
  readonly game: string;
  /** The room every bot joins, or `''`: each bot joins as the browser does and the server places it. */
  readonly roomId: string;
  /** The play page URL the bots stand for. */
  readonly playUrl: string;
  /** The URL's host name (no brackets). */
  readonly hostname: string;
}

/** A user mistake or an unreachable server: `message` is the one line to print. */
export class BotsUsageError extends Error {
  override readonly name = 'BotsUsageError';
}

/**
 * Reads `<url-or-game>`: `http(s)://host:port/play/<game>[/<roomId>]`, or a bare game name meaning
 * `http://<host>:<port>/play/<game>`.
 * @throws {BotsUsageError} for anything else.
 */
export function parseTarget(arg: string, defaults: { host: string; port: number }): BotTarget {
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    try {
      url = new URL(arg);
    } catch {
      throw new BotsUsageError(`${JSON.stringify(arg)} is not a URL: give a play URL (http://host:port/play/<game>) or a game name`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BotsUsageError(`${arg}: give the game's play page (http:// or https://), not a ${url.protocol} URL; the bots find its WebSocket themselves`);
    }
  } else {
    if (!isGameName(arg)) throw new BotsUsageError(`${JSON.stringify(arg)} is neither a play URL nor a game name (${GAME_NAME_RE.source})`);
    const host = isIP(defaults.host) === 6 ? `[${defaults.host}]` : defaults.host;
    url = new URL(`http://${host}:${defaults.port}${playPath(arg)}`);
  }
  const play = parsePlayPath(url.pathname);
  if (!play) throw new BotsUsageError(`${arg} is not a play URL: expected http://host:port/play/<game> or /play/<game>/<roomId>`);
  if (!isGameName(play.game)) throw new BotsUsageError(`${JSON.stringify(play.game)} is not a valid game name (${GAME_NAME_RE.source})`);
  if (play.roomId !== '' && !isRoomId(play.roomId)) throw new BotsUsageError(`${JSON.stringify(play.roomId)} is not a valid room id (1–64 of A–Z a–z 0–9 _ -)`);
  return {
    origin: url.origin,
    socketUrl: socketUrlFor(url.protocol, url.host),
    game: play.game,
    roomId: play.roomId,
    playUrl: `${url.origin}${playPath(play.game, play.roomId)}`,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
  };
}

/** Whether `hostname` names this machine without a lookup: `localhost`, `127.0.0.0/8`, `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
}

/**
 * Refuses a server on another machine unless `allowRemote`: bots are a flood of connections and
 * input, which pointed at someone else's server is an attack on it.
 * @throws {BotsUsageError} naming `--allow-remote`.
 */
export function checkLoopback(target: BotTarget, count: number, allowRemote: boolean): void {
  if (allowRemote || isLoopbackHost(target.hostname)) return;
  throw new BotsUsageError(
    `${target.origin} is not this machine: bots open ${count} connection${count === 1 ? '' : 's'} and send input like players, ` +
      'which aimed at a server you do not run is an attack on it; pass --allow-remote if you run that server',
  );
}

/**
 * Checks, over HTTP, that a Parlor server answers at the target and serves its game
 * (`GET /play/<game>`: 200, or 404 for an unknown game).
 * @throws {BotsUsageError} "nothing answers at URL" / "no game named X at URL" / an unexpected answer.
 */
export async function checkServer(target: BotTarget, timeoutMs = 5000): Promise<void> {
  const page = `${target.origin}${playPath(target.game)}`;
  let res: Response;
  try {
    res = await fetch(page, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
      throw new BotsUsageError(`nothing answers at ${target.origin} (${code}): start it with npx parlor dev <game> or npx parlor serve --games <dir>, or point the bots at its URL`);
    }
    if ((err as Error)?.name === 'TimeoutError') throw new BotsUsageError(`${page} did not answer within ${timeoutMs} ms: is the server stuck, or is it not a Parlor server?`);
    throw new BotsUsageError(`cannot reach ${page}: ${code ?? (err as Error)?.message ?? String(err)}`);
  }
  await res.body?.cancel();
  if (res.status === 404) {
    const games = await gameNames(target.origin, timeoutMs);
    const list = games === null ? '' : games.length === 0 ? ' (it serves no games)' : ` (it serves: ${games.slice(0, 20).join(', ')})`;
    throw new BotsUsageError(`no game named ${JSON.stringify(target.game)} at ${target.origin}${list}`);
  }
  if (res.status !== 200) throw new BotsUsageError(`${page} answered HTTP ${res.status}, not a play page: is this a Parlor server?`);
}

/** The server's game names from its games API, or `null` when it does not answer them. */
async function gameNames(origin: string, timeoutMs: number): Promise<string[] | null> {
  try {
    const res = await fetch(`${origin}/parlor/api/games`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    const body = (await res.json()) as { games?: Array<{ name?: unknown }> };
    return (body.games ?? []).map((g) => String(g.name));
  } catch {
    return null;
  }
}

function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  const code = cause?.code ?? (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}
