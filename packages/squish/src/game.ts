import { Group, type Node, type PlayerId } from './nodes.js';
import { SQUISH_VERSION, SUPPORTED_SQUISH_VERSIONS } from './version.js';

/** An asset a game ships: a file in the game folder, served by the host over HTTP with immutable caching. */
export interface AssetSpec {
  /** `'image'` (PNG, JPEG, WebP, SVG…) or `'audio'` (MP3, OGG, WAV…). */
  type: 'image' | 'audio';
  /** Path of the file relative to the game's folder. */
  path: string;
}

/** What a game declares about itself in `static metadata()`. */
export interface GameMetadata {
  /** Display name, shown in the lobby. */
  name: string;
  /** One line for the lobby. */
  description?: string;
  /** Width:height of the 0–100 plane on screen; default `{ x: 16, y: 9 }`. */
  aspectRatio?: { x: number; y: number };
  /** Ticks per second (Hz); default 20, at most 120. */
  tickRate?: number;
  /** Players per session (spectators not counted); default 8. */
  maxPlayers?: number;
  /** Assets by id, referenced from {@link Asset} nodes. Default none. */
  assets?: Record<string, AssetSpec>;
  /** The squish codec version the game is written against; default the current {@link SQUISH_VERSION}. */
  squishVersion?: number;
}

/** {@link GameMetadata} with every default applied. */
export type ResolvedGameMetadata = Required<Omit<GameMetadata, 'description'>> & { description: string };

/**
 * Fills the defaults of {@link GameMetadata}.
 * @throws {TypeError} on values out of range, or a `squishVersion` this build does not support.
 */
export function resolveMetadata(m: GameMetadata): ResolvedGameMetadata {
  if (!m || typeof m.name !== 'string' || m.name.length === 0) throw new TypeError('metadata().name must be a non-empty string');
  const aspectRatio = m.aspectRatio ?? { x: 16, y: 9 };
  if (!(aspectRatio.x > 0) || !(aspectRatio.y > 0)) throw new TypeError('metadata().aspectRatio must have positive x and y');
  const tickRate = m.tickRate ?? 20;
  if (!(tickRate > 0 && tickRate <= 120)) throw new TypeError('metadata().tickRate must be in (0, 120] Hz');
  const maxPlayers = m.maxPlayers ?? 8;
  if (!Number.isInteger(maxPlayers) || maxPlayers < 1) throw new TypeError('metadata().maxPlayers must be a positive integer');
  const squishVersion = m.squishVersion ?? SQUISH_VERSION;
  if (!SUPPORTED_SQUISH_VERSIONS.includes(squishVersion)) {
    throw new TypeError(`metadata().squishVersion ${squishVersion} is not supported (supported: ${SUPPORTED_SQUISH_VERSIONS.join(', ')})`);
  }
  return {
    name: m.name,
    description: m.description ?? '',
    aspectRatio,
    tickRate,
    maxPlayers,
    assets: m.assets ?? {},
    squishVersion,
  };
}

/** A player as the game sees them. */
export interface PlayerInfo {
  /** Session-scoped id, used in `playerIds`. */
  id: PlayerId;
  /** Display name (from the client, or `Player N`). */
  name: string;
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
 * Options given when a session is created (e.g. by a matchmaker) arrive in the constructor.
 */
export abstract class Game {
  /** Create-time options of this session; default `{}`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Players currently in the session (maintained by the engine before each join/leave hook). */
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
}

const EMPTY_SET: ReadonlySet<string> = new Set();

/** A class that builds a {@link Game}: what a game module's default export must be. */
export interface GameClass {
  new (options?: Record<string, unknown>): Game;
  metadata(): GameMetadata;
  readonly name: string;
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
