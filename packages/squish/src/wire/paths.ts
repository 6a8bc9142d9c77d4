/**
 * The URLs and ids every Parlor package agrees on, written once: the play page path, the
 * WebSocket path, and the rules for room ids, game names and fleet labels. The server routes
 * and validates with these, the client builds its URLs with them, the fleet agent and the
 * orchestrator check ids with them. Plain strings and regular expressions: no Node, no DOM.
 */

/** Path of the game server's WebSocket endpoint (same port as its HTTP pages). */
export const WS_PATH = '/parlor/ws';

/** Prefix of every play page path: `/play/<game>` and `/play/<game>/<roomId>`. */
export const PLAY_PATH_PREFIX = '/play/';

/**
 * A room id: 1–64 characters of `A–Z a–z 0–9 _ -` (safe in a URL path segment and a file name
 * as it is). Server rooms, fleet rooms and play page links share it.
 */
export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A game name (the fleet's room type): 1–64 characters of `A–Z a–z 0–9 . _ -`, starting with
 * a letter or digit (so never `.` or `..`). It is the `<game>` of `/play/<game>`.
 */
export const GAME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A fleet label key: 1–63 characters of `A–Z a–z 0–9 _ . / -`. */
export const LABEL_KEY_RE = /^[A-Za-z0-9_./-]{1,63}$/;

/** Longest fleet label value, in UTF-16 code units. */
export const LABEL_VALUE_MAX = 63;

/** Whether `value` is a string matching {@link ROOM_ID_RE}. */
export function isRoomId(value: unknown): value is string {
  return typeof value === 'string' && ROOM_ID_RE.test(value);
}

/** Whether `value` is a string matching {@link GAME_NAME_RE}. */
export function isGameName(value: unknown): value is string {
  return typeof value === 'string' && GAME_NAME_RE.test(value);
}

/** Whether `key` and `value` form a valid fleet label ({@link LABEL_KEY_RE}, value at most {@link LABEL_VALUE_MAX} long). */
export function isLabel(key: unknown, value: unknown): boolean {
  return typeof key === 'string' && LABEL_KEY_RE.test(key) && typeof value === 'string' && value.length <= LABEL_VALUE_MAX;
}

/**
 * The play page path of a game, or of one room of it: `/play/<game>` or `/play/<game>/<roomId>`
 * (each segment URI-encoded; an empty or absent `roomId` gives the game's page, where the
 * server picks a room). Never throws; it does not check the names (see {@link isGameName},
 * {@link isRoomId}).
 */
export function playPath(game: string, roomId?: string): string {
  const base = `${PLAY_PATH_PREFIX}${encodeURIComponent(game)}`;
  return roomId ? `${base}/${encodeURIComponent(roomId)}` : base;
}

/**
 * Reads a play page path back: `{ game, roomId }` (decoded; `roomId` is `''` for `/play/<game>`
 * and `/play/<game>/`), or `null` when `pathname` is not a play path or a segment is not valid
 * percent-encoding. The names are not checked.
 */
export function parsePlayPath(pathname: string): { game: string; roomId: string } | null {
  if (!pathname.startsWith(PLAY_PATH_PREFIX)) return null;
  const parts = pathname.slice(PLAY_PATH_PREFIX.length).split('/');
  if (parts.length === 2 && parts[1] === '') parts.pop();
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') return null;
  try {
    return { game: decodeURIComponent(parts[0]), roomId: parts.length === 2 ? decodeURIComponent(parts[1]) : '' };
  } catch {
    return null;
  }
}

/**
 * The WebSocket URL of the game server whose pages are served at `protocol` + `host`
 * (a page's `location.protocol` and `location.host`, e.g. `'https:'`, `'example.com:8443'`):
 * `wss://` for `https:`, else `ws://`, then {@link WS_PATH}.
 */
export function socketUrlFor(protocol: string, host: string): string {
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${WS_PATH}`;
}
