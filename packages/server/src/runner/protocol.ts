import type { ResolvedGameMetadata } from '@parlor/squish';

/**
 * The first message a sandboxed runner receives: what to run. `mode: 'inspect'` only evaluates
 * the bundle and answers `inspected` (or `error`); `mode: 'run'` starts a room engine.
 */
export interface RunnerBootMessage {
  type: 'boot';
  mode: 'run' | 'inspect';
  /** The CommonJS game bundle (`@parlor/squish` external). */
  code: string;
  /** File name the bundle came from (for stack traces). */
  filename: string;
  /** Create-time options for the game constructor. */
  options: Record<string, unknown>;
  /** See `EngineSpec.maxConsecutiveErrors`. */
  maxConsecutiveErrors: number;
  /** Heartbeat period of the runner, in ms (the host's CPU watchdog listens for it). */
  heartbeatMs: number;
  /** `mode: 'run'`: start from this snapshot (see `RoomSpec.restore`); absent for a new room. */
  restore?: { snapshot: string; turn: number; paused: boolean };
}

/** Runner → host messages that are not engine messages. */
export type RunnerControlMessage =
  /** The event loop is alive (sent every `heartbeatMs`). */
  | { type: 'hb' }
  /** `inspect` mode: the game's resolved metadata. */
  | { type: 'inspected'; metadata: ResolvedGameMetadata; className: string };
