import type { GameClass, ResolvedGameMetadata } from '@parlor/squish';
import type { Logger } from '../logger.js';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';

/** What a runtime needs to start one room's engine. */
export interface RoomSpec {
  /** Room id (for the runtime's logs and labels). */
  roomId: string;
  /** Game name (route name). */
  game: string;
  /** The game class, for in-process runtimes. */
  gameClass: GameClass;
  /**
   * The bundled game module (CommonJS, `@parlor/squish` external) and the file it came from, for
   * runtimes that evaluate the game elsewhere (child process, container). Absent for games given
   * as a class.
   */
  bundle?: { code: string; filename: string };
  /** Create-time options passed to the game's constructor; default `{}`. */
  options?: Record<string, unknown>;
  /** See {@link EngineSpec.maxConsecutiveErrors}; default 10. */
  maxConsecutiveErrors?: number;
  /**
   * The game's folder. The `docker` runtime mounts it read-only at `/game`; the `process` runtime
   * reads nothing from disk but its runner (the game's code arrives over the channel). Default: the
   * bundle's folder.
   */
  baseDir?: string;
  /**
   * The game's tick rate (`metadata().tickRate`, Hz), so a sandbox's watchdog knows how often
   * frames are due. Optional; sandboxed runtimes assume 1 Hz without it.
   */
  tickRate?: number;
  /** The room's logger (a child carrying `game` and `room`), for the runtime's lines about this room. Default: the runtime's own, with those fields. */
  logger?: Logger;
  /**
   * Start from a stored snapshot instead of the constructor: the engine calls the game class's
   * static `restore(JSON.parse(snapshot), options)`, sets the open turn to `turn` and starts
   * `paused` when asked. A game whose `restore` is missing or throws is a fatal start error.
   */
  restore?: { snapshot: string; turn: number; paused: boolean };
}

/** One running room engine as the host sees it: a message channel. */
export interface RoomChannel {
  /** Sends a message to the engine. Messages arrive in order; after `terminate` they are dropped. */
  send(msg: HostToEngineMessage): void;
  /** Sets the handler of the engine's messages (one handler; a later call replaces it). */
  onMessage(handler: (msg: EngineToHostMessage) => void): void;
  /** Stops the engine at once (no `stopped` message is guaranteed) and frees its resources. */
  terminate(): Promise<void>;
}

/**
 * Where room engines run. The host only ever talks to an engine through {@link RoomChannel}'s
 * message channel, so `inline` (in-process), `process` (child process) and `docker` (container)
 * runtimes are interchangeable.
 */
export interface RoomRuntime {
  /** Runtime name for logs, e.g. `'inline'`. */
  readonly name: string;
  /** Starts an engine for a room. Throws if the runtime cannot start it. */
  start(spec: RoomSpec): RoomChannel;
  /**
   * Called once by the server before it loads games: checks that the runtime can run rooms
   * (e.g. Docker reachable, image present) and cleans up what a previous run left (reconcile).
   * Throws to refuse to start (fail closed). Optional.
   */
  prepare?(): Promise<void>;
  /** Frees runtime-wide resources (called by the server's `close()`); optional. */
  close?(): Promise<void>;
  /**
   * Sandboxed runtimes: evaluates a game bundle inside the sandbox and returns its resolved
   * metadata, so the host never evaluates untrusted code itself (the server's loader uses it).
   * Rejects when the game fails to load.
   */
  inspect?(bundle: { code: string; filename: string }, baseDir?: string): Promise<{ metadata: ResolvedGameMetadata; className: string }>;
}
