/**
 * Rooms that last: the shared contract of room lifecycle operations, the operation log, turn-based
 * runtime status, room events and notifications. Types and constants only; the server host, the
 * fleet protocol, the orchestrator's REST API and webhooks all carry these shapes.
 *
 * Follows the Galaxy backend's lifecycle (start, stop, pause, resume, restart, patch,
 * force-next-turn; `running → generation_in_progress → running` around a turn; `409
 * turn_already_closed` / `409 game_paused`; a failed turn generation pauses the game; an operation
 * log with `queued → running → succeeded | failed`; notifications `game.turn.ready` with
 * idempotency key `turn-ready:<game>:<turn>` and `game.paused`).
 */

/**
 * A room's runtime status, as players (the `state` message), the host API and the orchestrator
 * see it:
 * - `running`: ticks run, input and orders are taken;
 * - `generation_in_progress`: a turn-based game is generating its next turn (orders refused with
 *   {@link RefusalCode.TURN_ALREADY_CLOSED});
 * - `paused`: ticks and turns stop, players stay connected and see the last frame, input refused
 *   with {@link RefusalCode.GAME_PAUSED};
 * - `finished`: the game ended itself with a result ({@link GameResult}); nothing runs.
 */
export type RoomStatus = 'running' | 'generation_in_progress' | 'paused' | 'finished';

/** Every {@link RoomStatus}, in a stable order (for schemas and encoders). */
export const ROOM_STATUSES: readonly RoomStatus[] = Object.freeze(['running', 'generation_in_progress', 'paused', 'finished'] as const);

/** A room's runtime state: what the `state` message carries and the API shows. */
export interface RoomState {
  status: RoomStatus;
  /**
   * The turn whose orders are open (turn-based games; the first is 1), or the last generated turn
   * while `generation_in_progress`; 0 for a real-time game.
   */
  turn: number;
  /** When the next turn's cutoff is due, ms since the epoch; `null` when none is scheduled (paused, real-time, finished). */
  nextTurnAt: number | null;
  /** Why the room is paused or finished (`'paused by admin'`, `'turn 4 generation failed: …'`); `''` otherwise. */
  reason: string;
}

/**
 * Why an input or order was refused without closing the socket (the `orderResult` message's
 * `code`, and the host API's typed errors). Stable strings.
 */
export const RefusalCode = {
  /** The turn is generating: its orders are closed (Galaxy's `409 turn_already_closed`). */
  TURN_ALREADY_CLOSED: 'TURN_ALREADY_CLOSED',
  /** The room is paused or not running (Galaxy's `409 game_paused`). */
  GAME_PAUSED: 'GAME_PAUSED',
  /** The game refused the order (its `onOrder` threw an {@link OrderRejectedError}-like error); the message is the game's. */
  ORDER_REJECTED: 'ORDER_REJECTED',
  /** The order is not JSON, or over the size cap ({@link ORDER_LIMITS}). */
  ORDER_INVALID: 'ORDER_INVALID',
  /** The room's game is not turn-based: it takes no orders. */
  NOT_TURN_BASED: 'NOT_TURN_BASED',
  /** The room has finished. */
  GAME_FINISHED: 'GAME_FINISHED',
  /** Spectators cannot order. */
  SPECTATOR: 'SPECTATOR',
  /** The order was accepted by the game but could not be stored durably; it was not applied. */
  NOT_STORED: 'NOT_STORED',
} as const;

/** One of {@link RefusalCode}'s values. */
export type RefusalCodeValue = (typeof RefusalCode)[keyof typeof RefusalCode];

/** Bounds on orders. */
export const ORDER_LIMITS = {
  /** UTF-8 bytes of one order's JSON text. */
  bytes: 4096,
} as const;

/**
 * A lifecycle operation on a room: `start` (create), `stop` (end; REST `DELETE`), `pause`,
 * `resume`, `restart` (the same version again, state restored), `patch` (another version of the
 * same game within the same major.minor, state restored), `turn` (force the next turn now).
 */
export type RoomOp = 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'patch' | 'turn';

/** Every {@link RoomOp}. */
export const ROOM_OPS: readonly RoomOp[] = Object.freeze(['start', 'stop', 'pause', 'resume', 'restart', 'patch', 'turn'] as const);

/**
 * An operation on the fleet rather than on one room, recorded in the same operation log (its
 * `roomId` is `''`): `scale_up` (a provisioner started instances; `params.count`, `params.reason`,
 * `params.buffer`), `scale_down` (an instance that drained and emptied was stopped; its
 * `instanceId`), `drain` (an instance was drained ahead of a stop). The autoscaler records them
 * with source `autoscaler`; an operator's drain with `admin`.
 */
export type FleetOp = 'scale_up' | 'scale_down' | 'drain';

/** Every {@link FleetOp}. */
export const FLEET_OPS: readonly FleetOp[] = Object.freeze(['scale_up', 'scale_down', 'drain'] as const);

/** What an operation of the log acts on: a {@link RoomOp} or a {@link FleetOp}. */
export type OperationKind = RoomOp | FleetOp;

/** Every {@link OperationKind}. */
export const OPERATION_KINDS: readonly OperationKind[] = Object.freeze([...ROOM_OPS, ...FLEET_OPS]);

/**
 * Who asked for an operation: `api` (a matchmaker's REST call), `admin` (an operator: admin key,
 * CLI), `lobby` (a player's join created the room), `schedule` (a turn's cutoff), `agent` (the host
 * did it by itself: auto-pause on a failed turn, restore after a restart), `reconcile` (the host or
 * orchestrator reconciling what runs with what is recorded), `autoscaler`.
 */
export type OperationSource = 'api' | 'admin' | 'lobby' | 'schedule' | 'agent' | 'reconcile' | 'autoscaler';

/** Every {@link OperationSource}. */
export const OPERATION_SOURCES: readonly OperationSource[] = Object.freeze(['api', 'admin', 'lobby', 'schedule', 'agent', 'reconcile', 'autoscaler'] as const);

/** An operation's state: recorded `queued` before it runs, then `running`, then `succeeded` or `failed`. */
export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed';

/** One row of the operation log (Galaxy's operation log shape, with Parlor's names). */
export interface Operation {
  /** Unique, sortable by creation (time-ordered). */
  id: string;
  /** The room; `''` for a {@link FleetOp}. */
  roomId: string;
  op: OperationKind;
  source: OperationSource;
  state: OperationState;
  /** The operation's parameters (`{ version }` for a patch, `{ reason }` for a pause, …); `{}` if none. */
  params: Record<string, unknown>;
  /** The game (slug) of the room; `''` when unknown (an operation refused before its room was found). */
  game: string;
  /** The version the room runs after the operation (`1.0.1` after a patch); `null` for a game served from source or unknown. */
  version: string | null;
  /** The instance that ran it (Galaxy's "container"); `null` before placement or when none ran it. */
  instanceId: string | null;
  /** Who asked: the key's name or fingerprint (`fp:1a2b3c4d`), `schedule`, `agent`; `''` if unknown. */
  actor: string;
  /** A stable error code when `failed` (`PATCH_SEMVER_INCOMPATIBLE`, `ROOM_NOT_FOUND`, `INTERRUPTED`, …); `null` otherwise. */
  errorCode: string | null;
  /** The error's one-line message when `failed`; `null` otherwise. */
  errorMessage: string | null;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch of the last state change. */
  updatedAt: number;
}

/** A game's end, as the game reports it (`Game.end(result)`); reaches room events, the API and webhooks. */
export interface GameResult {
  /** Winners: user ids of signed-in players, or player names of anonymous ones; `[]` for none (a draw). */
  winners: string[];
  /** Scores by user id (or name of an anonymous player). Default `{}`. */
  scores: Record<string, number>;
  /** One line for humans (`'Ann conquered the galaxy in 12 turns'`); default `''`. */
  summary: string;
}

/**
 * Typed events a `GameServer` emits (`server.events`), the fleet carries to the orchestrator and
 * the orchestrator's SSE stream forwards (as `event: room`). `at` is ms since the epoch.
 */
export type RoomEvent =
  | { kind: 'room.created'; roomId: string; game: string; version: string | null; at: number }
  | { kind: 'room.ended'; roomId: string; game: string; reason: string; result: GameResult | null; at: number }
  | { kind: 'player.joined'; roomId: string; game: string; playerId: number; userId: string | null; spectator: boolean; at: number }
  | { kind: 'player.left'; roomId: string; game: string; playerId: number; userId: string | null; spectator: boolean; at: number }
  | { kind: 'turn.ready'; roomId: string; game: string; turn: number; at: number }
  | { kind: 'room.paused'; roomId: string; game: string; turn: number; reason: string; at: number }
  | { kind: 'room.resumed'; roomId: string; game: string; turn: number; at: number }
  | { kind: 'room.restored'; roomId: string; game: string; turn: number; version: string | null; at: number }
  | { kind: 'operation.finished'; roomId: string; game: string; operation: Operation; at: number };

/** One of {@link RoomEvent}'s kinds. */
export type RoomEventKind = RoomEvent['kind'];

/**
 * Webhook notification kinds: `game.turn.ready` (`{ game_id, turn }`, idempotency key
 * `turn-ready:<game_id>:<turn>`), `game.paused` (`{ game_id, turn, reason }`, key
 * `paused:<game_id>:<turn>:<operation or reason>`), `game.finished` (`{ game_id, result }`), and the admin kinds for
 * runtime failures: `runtime.start_failed` (a room's engine could not start: `{ game_id, error }`)
 * and `runtime.config_invalid` (a start's configuration is invalid: `{ game_id, error }`).
 * `game_id` is the room id (Galaxy's "game" is Parlor's room).
 */
export type NotificationKind = 'game.turn.ready' | 'game.paused' | 'game.finished' | 'runtime.start_failed' | 'runtime.config_invalid';

/** Every {@link NotificationKind}. */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = Object.freeze([
  'game.turn.ready', 'game.paused', 'game.finished', 'runtime.start_failed', 'runtime.config_invalid',
] as const);

/**
 * One notification as a webhook receives it (the JSON body of the POST). Headers:
 * `X-Parlor-Event: <kind>`, `X-Parlor-Delivery: <id>`, `Idempotency-Key: <idempotencyKey>`,
 * `X-Parlor-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>`,
 * `X-Parlor-Timestamp: <ms>` (signed too: the HMAC is over `<timestamp>.<body>`).
 */
export interface Notification {
  /** Unique per notification (the same across retries). */
  id: string;
  kind: NotificationKind;
  /** Equal for the same fact: a receiver drops a key it has seen. */
  idempotencyKey: string;
  /** Kind-specific payload, snake_case as the Galaxy seed: `{ game_id, turn }`, `{ game_id, turn, reason }`, … */
  payload: Record<string, unknown>;
  /** ms since the epoch. */
  createdAt: number;
}
