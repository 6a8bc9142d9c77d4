import { ParlorError } from '@parlor/squish';

/**
 * Stable error codes of `@parlor/server`, all `SERVER_*` (the key is the code without its prefix,
 * except `SERVER_CLOSING` and `SERVER_BUSY`, whose keys are the whole code). Callers switch on `error.code`, never on messages.
 */
export const ServerErrorCode = {
  /** A game file or folder does not exist, or a folder has no entry file. */
  GAME_NOT_FOUND: 'SERVER_GAME_NOT_FOUND',
  /** esbuild could not bundle the game (syntax error, missing import…). */
  GAME_BUILD_FAILED: 'SERVER_GAME_BUILD_FAILED',
  /** The bundled game threw while its module was evaluated. */
  GAME_EVAL_FAILED: 'SERVER_GAME_EVAL_FAILED',
  /** The module's default export (or `module.exports`) is not a Game class. */
  GAME_NO_CLASS: 'SERVER_GAME_NO_CLASS',
  /** `static metadata()` is missing, throws, or returns values out of range. */
  GAME_BAD_METADATA: 'SERVER_GAME_BAD_METADATA',
  /** An asset listed in `metadata().assets` cannot be read. */
  GAME_ASSET_MISSING: 'SERVER_GAME_ASSET_MISSING',
  /**
   * An asset listed in `metadata().assets` is refused: its path is absolute, has `..`, or resolves
   * (through symlinks) outside the game folder; it is not a regular file; it is over a size cap;
   * or its extension is not on the MIME allow-list (or does not match its `type`).
   */
  GAME_ASSET_REFUSED: 'SERVER_GAME_ASSET_REFUSED',
  /** `openRoom` for a game this server does not serve. */
  UNKNOWN_GAME: 'SERVER_UNKNOWN_GAME',
  /** `openRoom` with a room id that is already live. */
  ROOM_EXISTS: 'SERVER_ROOM_EXISTS',
  /** `reserveSeats` or a lifecycle operation (`pauseRoom`, `restartRoom`…) for a room that is not live. */
  ROOM_NOT_FOUND: 'SERVER_ROOM_NOT_FOUND',
  /** `reserveSeats` for more seats than the room has free (players + live tickets + count would exceed `maxPlayers`). */
  ROOM_FULL: 'SERVER_ROOM_FULL',
  /** `openRoom` while the server is shutting down. */
  SERVER_CLOSING: 'SERVER_CLOSING',
  /** `openRoom` while the server already runs `maxRooms` rooms (its room cap). */
  SERVER_BUSY: 'SERVER_BUSY',
  /** Invalid server options (bad game name, unknown runtime, duplicate game…). */
  CONFIG: 'SERVER_CONFIG',
  /** The configured runtime is not available on this machine (Docker unreachable, no permission model…). */
  RUNTIME_UNAVAILABLE: 'SERVER_RUNTIME_UNAVAILABLE',
  /** The runtime is refused by policy (e.g. `inline` when `NODE_ENV=production`). */
  RUNTIME_REFUSED: 'SERVER_RUNTIME_REFUSED',
  /** A runtime could not start a room (e.g. a game given as a class for an out-of-process runtime). */
  RUNTIME_START_FAILED: 'SERVER_RUNTIME_START_FAILED',
  /**
   * A sandboxed room's channel broke its framing (a message over the size limit, or bytes that
   * do not decode). Internal to the runtimes: the supervisor ends that room with 4500.
   */
  CHANNEL: 'SERVER_CHANNEL',
  /**
   * A catalog artifact's bytes do not hash to the sha256 it was asked for (fetched or cached): nothing of
   * it is kept, extracted or run.
   */
  ARTIFACT_MISMATCH: 'SERVER_ARTIFACT_MISMATCH',
  /** A catalog artifact could not be fetched: HTTP error, timeout, over the size cap, unreachable catalog. */
  ARTIFACT_FETCH_FAILED: 'SERVER_ARTIFACT_FETCH_FAILED',
  /**
   * A verified catalog artifact is not a well-formed artifact: not a tar, an entry escaping its folder,
   * a link, or a missing or invalid `parlor-artifact.json`.
   */
  ARTIFACT_INVALID: 'SERVER_ARTIFACT_INVALID',
  /**
   * The test kit (`@parlor/server/testing`) was asked for something no real room or client would
   * do: input from a member who left, a click on a node the player was not shown or that nothing
   * clickable covers, a key released that is not held, a point outside the plane, a join into a
   * full room, a view read before its first frame.
   */
  TESTING_MISUSE: 'SERVER_TESTING_MISUSE',
  /** A test kit query that wants exactly one node (`view.one(…)`) found none, or several. */
  TESTING_QUERY: 'SERVER_TESTING_QUERY',
  /** The game under test threw (in a hook, in `tick`, while encoding) during a test kit call. */
  TESTING_GAME_FAILED: 'SERVER_TESTING_GAME_FAILED',
  /** The test kit's privacy check found a member whose bytes carried another player's private node. */
  TESTING_LEAK: 'SERVER_TESTING_LEAK',
  /**
   * The catalog client (`@parlor/server/catalog`) cannot pack a game folder for upload: the folder
   * is missing, holds a symbolic link or a non-regular file, or is over the upload's file or byte cap.
   */
  CATALOG_PACK: 'SERVER_CATALOG_PACK',
  /** The catalog client got no answer from the catalog (connection refused or reset, a name that does not resolve, a timeout). */
  CATALOG_NETWORK: 'SERVER_CATALOG_NETWORK',
  /** The catalog client got an answer that is not the `/v1` envelope (a wrong `--catalog-url`, a proxy in the way). */
  CATALOG_BAD_RESPONSE: 'SERVER_CATALOG_BAD_RESPONSE',
  /** A publish request did not end (`PUBLISHED` or `FAILED`) within the client's wait. */
  CATALOG_TIMEOUT: 'SERVER_CATALOG_TIMEOUT',
  /**
   * The host's durable room state (`--state-dir`, `openRoomStateStore`) refused: the folder is in
   * use by another process, was written by a newer parlor, cannot be opened, or a snapshot is over
   * its cap (the previous one is kept) or names a room that is not recorded.
   */
  STATE: 'SERVER_STATE',
  /** A lifecycle operation (`pauseRoom`, `forceTurn`, `patchRoom`…) on a room that has finished (`game.end`). */
  ROOM_FINISHED: 'SERVER_ROOM_FINISHED',
  /** `forceTurn` on a room whose game is not turn-based. */
  NOT_TURN_BASED: 'SERVER_NOT_TURN_BASED',
  /** `forceTurn` on a paused room (resume it first). */
  ROOM_PAUSED: 'SERVER_ROOM_PAUSED',
  /** `patchRoom` to a version whose major.minor differs from the room's (only patch versions may replace a running game). */
  PATCH_SEMVER_INCOMPATIBLE: 'SERVER_PATCH_SEMVER_INCOMPATIBLE',
  /** `patchRoom` on a room of a game served from source (not a catalog version), or to a version that is not loaded (`loadVersion`). */
  NOT_VERSIONED: 'SERVER_NOT_VERSIONED',
} as const;

/** One of {@link ServerErrorCode}'s values. */
export type ServerErrorCodeValue = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** Base class of the errors `@parlor/server` throws (a {@link ParlorError} with a {@link ServerErrorCode}). */
export class ServerError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.ServerError');
  constructor(code: ServerErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Thrown by the game loader ({@link loadGame}, {@link loadGamesFromDir}) when a game cannot be
 * built, evaluated or validated. `code` is one of the `SERVER_GAME_*` codes of {@link ServerErrorCode};
 * `path` is the file or folder that was being loaded.
 */
export class GameLoadError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.GameLoadError');
  /** The game file or folder. */
  readonly path: string;
  /**
   * For `SERVER_GAME_BAD_METADATA` (when known): the offending field inside `metadata()`, e.g.
   * `'description'` or `'assets.hero.path'`; for `SERVER_GAME_ASSET_REFUSED`/`SERVER_GAME_ASSET_MISSING`, `'assets.<id>'`.
   */
  readonly field?: string;
  constructor(code: ServerErrorCodeValue, path: string, message: string, options?: { cause?: unknown; field?: string }) {
    super(code, message, options);
    this.path = path;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** Thrown by {@link createGameServer} on invalid options. Code `SERVER_CONFIG`. */
export class ServerConfigError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.ServerConfigError');
  constructor(message: string, options?: { cause?: unknown }) {
    super(ServerErrorCode.CONFIG, message, options);
  }
}

/**
 * Thrown when a room runtime cannot be used: `SERVER_RUNTIME_UNAVAILABLE` (not available here, e.g.
 * Docker unreachable), `SERVER_RUNTIME_REFUSED` (refused by policy, e.g. `inline` under
 * `NODE_ENV=production`) or `SERVER_RUNTIME_START_FAILED` (a room could not be started).
 */
export class RuntimeError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.RuntimeError');
  /** The runtime concerned, e.g. `'process'`. */
  readonly runtime: string;
  constructor(code: ServerErrorCodeValue, runtime: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.runtime = runtime;
  }
}

/**
 * Thrown by the artifact cache when a catalog artifact cannot be used: `SERVER_ARTIFACT_MISMATCH`,
 * `SERVER_ARTIFACT_FETCH_FAILED` or `SERVER_ARTIFACT_INVALID`. `sha256` is the artifact asked for.
 */
export class ArtifactError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.ArtifactError');
  /** The sha256 the artifact was asked for. */
  readonly sha256: string;
  constructor(code: ServerErrorCodeValue, sha256: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.sha256 = sha256;
  }
}
