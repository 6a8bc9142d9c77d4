import { ParlorError, SquishErrorCode } from '../wire/errors.js';
import { Group, type Node, type PlayerId } from '../scene/nodes.js';
import { SQUISH_VERSION, SUPPORTED_SQUISH_VERSIONS } from '../wire/version.js';
import type { GameAccess } from '../wire/catalog.js';
import type { GameResult } from '../wire/lifecycle.js';

/** An asset a game ships: a file in the game folder, served by the host over HTTP with immutable caching. */
export interface AssetSpec {
  /** `'image'` (PNG, JPEG, WebP, SVG…) or `'audio'` (MP3, OGG, WAV…). */
  type: 'image' | 'audio';
  /**
   * Path of the file relative to the game's folder (1–255 characters). The server refuses
   * absolute paths, `..`, symlinks leading out of the folder, non-regular files, files over its
   * size caps and extensions off its MIME allow-list.
   */
  path: string;
}

/** What a game declares about itself in `static metadata()`. */
export interface GameMetadata {
  /** Display name, shown in the lobby: 1–80 characters, no control characters. */
  name: string;
  /** One line for the lobby: at most 500 characters; default `''`. */
  description?: string;
  /** Width:height of the 0–100 plane on screen (each in (0, 10 000], ratio within 1/32–32); default `{ x: 16, y: 9 }`. */
  aspectRatio?: { x: number; y: number };
  /** Ticks per second (Hz): how often `tick(dtMs)` runs; default 20, in (0, 120]. */
  tickRate?: number;
  /**
   * Frames per second (Hz) sent to players: in (0, `tickRate`]; default `tickRate` (one frame per
   * tick). Below the tick rate, the changes of several ticks coalesce into one frame per player,
   * so a game can simulate at 60 Hz and send at 20 Hz (as Colyseus' patch rate apart from its
   * simulation interval). Under overload the server sends frames less often before it ticks less often.
   */
  frameRate?: number;
  /** Players per room (spectators not counted): an integer in 1–10 000 (a crowded room is a fan-out concern, not a metadata one); default 8. */
  maxPlayers?: number;
  /** Assets by id (ids: 1–64 of `A–Z a–z 0–9 _ . : -`; at most 256), referenced from {@link Asset} nodes. Default none. */
  assets?: Record<string, AssetSpec>;
  /** The squish codec version the game is written against; default the current {@link SQUISH_VERSION}. */
  squishVersion?: number;
  /**
   * Who may join the game's rooms, enforced by the host at join (players and spectators alike):
   * `requiresAuth: true` refuses anonymous joins (close code 4402 `AUTH_REQUIRED`); `minRole`
   * (a role of the host's role ladder, 1–64 of `A–Z a–z 0–9 _ . : -`; implies `requiresAuth`)
   * refuses players whose roles rank lower (4407 `ROLE_REQUIRED`). A catalog game's access, set
   * in the catalog, takes precedence. Default: anyone, anonymous included.
   */
  access?: { requiresAuth?: boolean; minRole?: string | null };
  /**
   * Turn schedule of a turn-based game ({@link TurnBasedGame}; a game that declares `turns` must
   * extend it, and a `TurnBasedGame` must declare it): `everyMs` (a cutoff every N ms, ≥ 1000) or
   * `cron` (a 5- or 6-field cron expression, e.g. `'0 * * * *'` hourly, evaluated in `timezone`,
   * default UTC, by the host's scheduler), or neither (`{}`: turns only when forced through the API
   * or when the game calls `endTurnNow()`). Absent for a real-time game.
   */
  turns?: TurnSchedule;
}

/** When a turn-based game's turns are generated (see {@link GameMetadata.turns}). */
export interface TurnSchedule {
  /** A cutoff every this many ms (≥ 1000), counted from the room's start or its last turn. */
  everyMs?: number;
  /** A cron expression (5 or 6 fields, as the `croner` library reads them). Exclusive with `everyMs`. */
  cron?: string;
  /** IANA time zone of `cron`; default `'UTC'`. */
  timezone?: string;
}

/**
 * {@link GameMetadata} with every default applied. `access` is present only when the game
 * declared one (then with both fields filled: `minRole` `null` for none).
 */
export type ResolvedGameMetadata = Required<Omit<GameMetadata, 'description' | 'access' | 'turns'>> & {
  description: string;
  access?: GameAccess;
  /** Present only for a turn-based game (then validated: `everyMs` an integer ≥ 1000, or a `cron` string, or neither). */
  turns?: TurnSchedule;
};

/**
 * Bounds {@link resolveMetadata} enforces on {@link GameMetadata}. Lengths are in UTF-16 code
 * units (`string.length`).
 */
export const METADATA_LIMITS = {
  /** `name`: 1–80 characters, no control characters. */
  nameMaxLength: 80,
  /** `description`: at most 500 characters, no control characters except tab and newline. */
  descriptionMaxLength: 500,
  /** `tickRate`: a finite number in (0, 120] Hz. */
  tickRateMax: 120,
  /** `maxPlayers`: an integer in 1–10 000. */
  maxPlayersMax: 10_000,
  /** `aspectRatio.x` and `.y`: finite, in (0, 10 000]; x/y between 1/32 and 32. */
  aspectComponentMax: 10_000,
  /** Largest (and 1 / smallest) accepted `aspectRatio.x / aspectRatio.y`. */
  aspectRatioMax: 32,
  /** `assets`: at most 256 entries. */
  assetsMaxCount: 256,
  /** Asset ids: 1–64 of `A–Z a–z 0–9 _ . : -`. */
  assetIdPattern: /^[A-Za-z0-9_.:-]{1,64}$/,
  /** Asset paths: 1–255 characters. */
  assetPathMaxLength: 255,
  /** `access.minRole`: 1–64 of `A–Z a–z 0–9 _ . : -`. */
  rolePattern: /^[A-Za-z0-9_.:-]{1,64}$/,
} as const;

/**
 * Thrown by {@link resolveMetadata} when a game's metadata breaks the schema: a {@link ParlorError}
 * with code `SQUISH_METADATA` and the offending field's path, e.g. `'description'`, `'assets.hero.path'`.
 */
export class GameMetadataError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.GameMetadataError');
  /** Path of the offending field inside `metadata()`, e.g. `'aspectRatio.x'`; `''` for the whole object. */
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(SquishErrorCode.METADATA, `metadata()${field ? `.${field}` : ''} ${message}`, options);
    this.field = field;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS_BUT_TAB_NL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** A short, side-effect-free description of an untrusted value for error messages (never calls its methods). */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  if (t === 'string') return `a string of ${(v as string).length} characters`;
  if (t === 'number') return `${v as number}`;
  if (t === 'object') return 'an object';
  return t;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Reads one own data property without running getters (accessors count as absent-with-error). */
function field(obj: Record<string, unknown>, key: string, path: string): unknown {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (!d) return undefined;
  if (!('value' in d)) throw new GameMetadataError(path, 'must be a plain value, not a getter');
  return d.value;
}

function finite(v: unknown, path: string, lo: number, hi: number, loInclusive: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (loInclusive ? v < lo : v <= lo) || v > hi) {
    throw new GameMetadataError(path, `must be a finite number in ${loInclusive ? '[' : '('}${lo}, ${hi}] (got ${kindOf(v)})`);
  }
  return v;
}

/**
 * Validates a game's metadata against the schema (types, ranges, lengths; see
 * {@link METADATA_LIMITS}) and fills the defaults. The result is a fresh object holding copies
 * of the accepted values only (unknown keys are dropped; getters are refused, never called), so
 * it is safe to hand untrusted input (e.g. metadata reported by a sandbox) to it.
 * @throws {GameMetadataError} (`SQUISH_METADATA`) naming the offending field, or on a `squishVersion`
 *   this build does not support.
 */
export function resolveMetadata(m: GameMetadata): ResolvedGameMetadata {
  const L = METADATA_LIMITS;
  if (!isPlainObject(m)) throw new GameMetadataError('', `must return a plain object (got ${kindOf(m)})`);
  const raw = m as unknown as Record<string, unknown>;

  const name = field(raw, 'name', 'name');
  if (typeof name !== 'string' || name.length === 0 || name.length > L.nameMaxLength) {
    throw new GameMetadataError('name', `must be a non-empty string of at most ${L.nameMaxLength} characters (got ${kindOf(name)})`);
  }
  if (CONTROL_CHARS.test(name)) throw new GameMetadataError('name', 'must not contain control characters');

  const description = field(raw, 'description', 'description') ?? '';
  if (typeof description !== 'string' || description.length > L.descriptionMaxLength) {
    throw new GameMetadataError('description', `must be a string of at most ${L.descriptionMaxLength} characters (got ${kindOf(description)})`);
  }
  if (CONTROL_CHARS_BUT_TAB_NL.test(description)) throw new GameMetadataError('description', 'must not contain control characters');

  const ar = field(raw, 'aspectRatio', 'aspectRatio') ?? { x: 16, y: 9 };
  if (!isPlainObject(ar)) throw new GameMetadataError('aspectRatio', `must be { x, y } (got ${kindOf(ar)})`);
  const x = finite(field(ar, 'x', 'aspectRatio.x'), 'aspectRatio.x', 0, L.aspectComponentMax, false);
  const y = finite(field(ar, 'y', 'aspectRatio.y'), 'aspectRatio.y', 0, L.aspectComponentMax, false);
  if (x / y > L.aspectRatioMax || y / x > L.aspectRatioMax) {
    throw new GameMetadataError('aspectRatio', `x / y must be between 1/${L.aspectRatioMax} and ${L.aspectRatioMax}`);
  }

  const tickRate = finite(field(raw, 'tickRate', 'tickRate') ?? 20, 'tickRate', 0, L.tickRateMax, false);
  const rawFrameRate = field(raw, 'frameRate', 'frameRate') ?? tickRate;
  if (typeof rawFrameRate === 'number' && rawFrameRate > tickRate) {
    throw new GameMetadataError('frameRate', `must be at most tickRate (${tickRate} Hz): a room cannot send more frames than it ticks (got ${rawFrameRate})`);
  }
  const frameRate = finite(rawFrameRate, 'frameRate', 0, tickRate, false);

  const maxPlayers = field(raw, 'maxPlayers', 'maxPlayers') ?? 8;
  if (typeof maxPlayers !== 'number' || !Number.isInteger(maxPlayers) || maxPlayers < 1 || maxPlayers > L.maxPlayersMax) {
    throw new GameMetadataError('maxPlayers', `must be an integer in 1–${L.maxPlayersMax} (got ${kindOf(maxPlayers)})`);
  }

  const rawAssets = field(raw, 'assets', 'assets') ?? {};
  if (!isPlainObject(rawAssets)) throw new GameMetadataError('assets', `must be an object of { type, path } by id (got ${kindOf(rawAssets)})`);
  const ids = Object.keys(rawAssets);
  if (ids.length > L.assetsMaxCount) throw new GameMetadataError('assets', `has ${ids.length} entries; at most ${L.assetsMaxCount} are allowed`);
  const assets: Record<string, AssetSpec> = {};
  for (const id of ids) {
    if (!L.assetIdPattern.test(id)) throw new GameMetadataError('assets', `ids must be 1–64 of A–Z a–z 0–9 _ . : - (got ${kindOf(id)})`);
    const at = `assets.${id}`;
    const spec = field(rawAssets, id, at);
    if (!isPlainObject(spec)) throw new GameMetadataError(at, `must be { type: 'image' | 'audio', path: string } (got ${kindOf(spec)})`);
    const type = field(spec, 'type', `${at}.type`);
    if (type !== 'image' && type !== 'audio') throw new GameMetadataError(`${at}.type`, `must be 'image' or 'audio' (got ${kindOf(type)})`);
    const path = field(spec, 'path', `${at}.path`);
    if (typeof path !== 'string' || path.length === 0 || path.length > L.assetPathMaxLength) {
      throw new GameMetadataError(`${at}.path`, `must be a non-empty string of at most ${L.assetPathMaxLength} characters (got ${kindOf(path)})`);
    }
    if (CONTROL_CHARS.test(path)) throw new GameMetadataError(`${at}.path`, 'must not contain control characters');
    assets[id] = { type, path };
  }

  const squishVersion = field(raw, 'squishVersion', 'squishVersion') ?? SQUISH_VERSION;
  if (typeof squishVersion !== 'number' || !SUPPORTED_SQUISH_VERSIONS.includes(squishVersion)) {
    throw new GameMetadataError(
      'squishVersion',
      `${typeof squishVersion === 'number' ? squishVersion : `(${kindOf(squishVersion)})`} is not supported (supported: ${SUPPORTED_SQUISH_VERSIONS.join(', ')})`,
    );
  }
  const access = resolveAccess(field(raw, 'access', 'access'));
  const turns = resolveTurns(field(raw, 'turns', 'turns'));
  return {
    name,
    description,
    aspectRatio: { x, y },
    tickRate,
    frameRate,
    maxPlayers,
    assets,
    squishVersion,
    ...(access ? { access } : {}),
    ...(turns ? { turns } : {}),
  };
}

/** `metadata().turns` validated: `undefined` when absent (a real-time game). */
function resolveTurns(raw: unknown): TurnSchedule | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) throw new GameMetadataError('turns', `must be { everyMs?: number, cron?: string, timezone?: string } (got ${kindOf(raw)})`);
  const everyMs = field(raw, 'everyMs', 'turns.everyMs');
  const cron = field(raw, 'cron', 'turns.cron');
  const timezone = field(raw, 'timezone', 'turns.timezone');
  if (everyMs !== undefined && cron !== undefined) throw new GameMetadataError('turns', 'declare everyMs or cron, not both');
  if (everyMs !== undefined && (typeof everyMs !== 'number' || !Number.isInteger(everyMs) || everyMs < 1000 || everyMs > 366 * 86_400_000)) {
    throw new GameMetadataError('turns.everyMs', `must be an integer number of ms from 1000 to a year (got ${kindOf(everyMs)})`);
  }
  if (cron !== undefined && (typeof cron !== 'string' || cron.trim().split(/\s+/).length < 5 || cron.length > 200)) {
    throw new GameMetadataError('turns.cron', `must be a cron expression of 5 or 6 fields (got ${kindOf(cron)})`);
  }
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone.length === 0 || timezone.length > 64)) {
    throw new GameMetadataError('turns.timezone', `must be an IANA time zone name such as 'Europe/Paris' (got ${kindOf(timezone)})`);
  }
  return {
    ...(everyMs !== undefined ? { everyMs: everyMs as number } : {}),
    ...(cron !== undefined ? { cron: (cron as string).trim() } : {}),
    ...(timezone !== undefined ? { timezone: timezone as string } : {}),
  };
}

/** `metadata().access` validated: `undefined` when absent; `minRole` implies `requiresAuth`. */
function resolveAccess(raw: unknown): GameAccess | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) throw new GameMetadataError('access', `must be { requiresAuth?: boolean, minRole?: string } (got ${kindOf(raw)})`);
  const requiresAuth = field(raw, 'requiresAuth', 'access.requiresAuth') ?? false;
  if (typeof requiresAuth !== 'boolean') throw new GameMetadataError('access.requiresAuth', `must be true or false (got ${kindOf(requiresAuth)})`);
  const minRole = field(raw, 'minRole', 'access.minRole') ?? null;
  if (minRole !== null && (typeof minRole !== 'string' || !METADATA_LIMITS.rolePattern.test(minRole))) {
    throw new GameMetadataError('access.minRole', `must be a role name of 1–64 of A–Z a–z 0–9 _ . : - (got ${kindOf(minRole)})`);
  }
  return { requiresAuth: requiresAuth || minRole !== null, minRole };
}

/** A player as the game sees them. */
export interface PlayerInfo {
  /** Room-scoped id, used in `playerIds`. */
  id: PlayerId;
  /** Display name (from the client, or `Player N`). */
  name: string;
  /**
   * The signed-in player's stable user id (the identity token's `sub`, or what the host's
   * `authenticate` hook returned); `undefined` for an anonymous player.
   */
  userId?: string;
  /** The signed-in player's roles (the token's `roles` claim); empty for an anonymous player. */
  roles: readonly string[];
}

/** A gamepad's state, normalised: buttons 0–1, axes −1–1 (standard mapping where the browser gives one). */
export interface GamepadState {
  /** Gamepad slot on the client (0–3). */
  index: number;
  buttons: number[];
  axes: number[];
}

/**
 * Base class of every Parlor game. Extend it, declare `static metadata()`, build nodes in the
 * constructor, return the layer roots from {@link Game.getLayers}, and react in the hooks.
 * Everything runs on the server; the engine calls hooks one at a time (never concurrently),
 * then flushes one frame per player at the end of each tick.
 *
 * Options given when a room is created (e.g. by a matchmaker) arrive in the constructor.
 */
export abstract class Game {
  /** Create-time options of this room; default `{}`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Players currently in the room (maintained by the engine before each join/leave hook). */
  readonly players: Map<PlayerId, PlayerInfo> = new Map();
  /** @internal keys held per player, maintained by the engine */
  readonly _keys: Map<PlayerId, Set<string>> = new Map();

  constructor(options: Record<string, unknown> = {}) {
    this.options = options;
  }

  /** The game's metadata. Every subclass must define its own static `metadata()`. */
  static metadata(): GameMetadata {
    throw new TypeError(`${this.name} must define static metadata()`);
  }

  /** Root nodes of the layers, bottom first. Called once per tick; return the same nodes each time. */
  abstract getLayers(): Node[];

  /** Keys (DOM `KeyboardEvent.key` values, e.g. `'ArrowUp'`, `'w'`) the player is holding now. */
  keysDown(playerId: PlayerId): ReadonlySet<string> {
    return this._keys.get(playerId) ?? EMPTY_SET;
  }

  /** A player joined (after `players` was updated). */
  onPlayerJoin(_player: PlayerInfo): void {}
  /** A player left for good (after the reconnect grace period), after `players` was updated. */
  onPlayerLeave(_playerId: PlayerId): void {}
  /** A key went down (DOM `KeyboardEvent.key`). Auto-repeat is filtered out. */
  onKeyDown(_playerId: PlayerId, _key: string): void {}
  /** A key went up. */
  onKeyUp(_playerId: PlayerId, _key: string): void {}
  /** Pointer (mouse, pen, touch) pressed at (x, y) in plane units. */
  onPointerDown(_playerId: PlayerId, _x: number, _y: number): void {}
  /** Pointer moved (at most once per animation frame per client). */
  onPointerMove(_playerId: PlayerId, _x: number, _y: number): void {}
  /** Pointer released. */
  onPointerUp(_playerId: PlayerId, _x: number, _y: number): void {}
  /** A gamepad's buttons or axes changed. */
  onGamepad(_playerId: PlayerId, _state: GamepadState): void {}
  /** The player submitted text (chat, a name…). */
  onText(_playerId: PlayerId, _text: string): void {}
  /** Called every tick with the real time since the previous tick, in ms. */
  tick(_dtMs: number): void {}

  /**
   * Durable state (optional): return a JSON-serialisable snapshot of everything needed to rebuild
   * the game (plain objects, arrays, strings, finite numbers, booleans, `null`; no nodes, no class
   * instances). The host stores it outside the sandbox (the game never touches disk), at most
   * 1 MiB of JSON: on pause, stop, restart, patch, drain and periodically for a real-time game;
   * after every accepted order and every turn for a turn-based game. The game class's static
   * `restore(snapshot, options)` ({@link GameClass.restore}) rebuilds the game from it (after a
   * restart, a patch to a newer version of the game, or a host restarted after a crash).
   * A game without `save` restarts from its constructor.
   */
  save?(): unknown;

  /** @internal the result the game ended with (set by {@link Game.end}); the engine reads it after each hook and tick. */
  _result: GameResult | null = null;

  /**
   * Ends the game with a result (winners, scores, a summary): after the current hook or tick the
   * room's status turns `finished`, the result reaches the room events, the API and webhooks
   * (`game.finished`), players see the final frame and the room closes. Later calls are ignored.
   * @param result winners (user ids of signed-in players, or names), scores by the same keys, a summary line
   */
  end(result: Partial<GameResult> = {}): void {
    if (this._result) return;
    this._result = { winners: [...(result.winners ?? [])], scores: { ...(result.scores ?? {}) }, summary: result.summary ?? '' };
  }
}

const EMPTY_SET: ReadonlySet<string> = new Set();

/** A class that builds a {@link Game}: what a game module's default export must be. */
export interface GameClass {
  new (options?: Record<string, unknown>): Game;
  metadata(): GameMetadata;
  readonly name: string;
  /**
   * Rebuilds a game from a snapshot its `save()` returned (optional; required with `save`). Called
   * instead of the constructor after a restart, a patch or a crash; `options` are the room's
   * create-time options. The snapshot may come from an older patch version of the game (a patch
   * keeps the major.minor), so read it tolerantly. May throw: the room then stays paused with the
   * reason, its snapshot kept.
   */
  restore?(snapshot: unknown, options: Record<string, unknown>): Game;
}

/**
 * A camera: the top-left corner of what the player sees, in world units, and a zoom factor.
 * At `zoom: 1` the screen shows 100 × 100 world units; at 2, 50 × 50 (closer); at 0.5, 200 × 200.
 */
export interface View {
  x: number;
  y: number;
  /** Default 1. */
  zoom?: number;
}

/**
 * A game whose world is larger than one screen: put world nodes under {@link ViewableGame.world}
 * (coordinates in world units, 0…worldWidth × 0…worldHeight) and return each player's camera
 * from {@link ViewableGame.getView}. Each player receives only the world nodes near their view,
 * and their camera as a transform of the world group (so the client can pan and zoom smoothly).
 * Put fixed screen-space UI (scores, HUD) in further layers after the world.
 */
export abstract class ViewableGame extends Game {
  /** Root of the world; its transform is set per player from {@link ViewableGame.getView}. */
  readonly world: Group = new Group();

  /**
   * @param worldWidth world width in world units (the screen is 100 at zoom 1)
   * @param worldHeight world height in world units
   */
  constructor(readonly worldWidth: number, readonly worldHeight: number, options: Record<string, unknown> = {}) {
    super(options);
  }

  /** The camera of a player. */
  abstract getView(playerId: PlayerId): View;

  /** The camera of spectators; default: the whole world, fitted. */
  getSpectatorView(): View {
    return { x: 0, y: 0, zoom: 100 / Math.max(this.worldWidth, this.worldHeight) };
  }

  /** Default layers: just the world. Override to add HUD layers after `this.world`. */
  getLayers(): Node[] {
    return [this.world];
  }
}
