import type { GamepadState } from '../game/game.js';
import type { RoomStatus } from './lifecycle.js';

/**
 * First byte of every protocol message. Server→client below 16, client→server from 16.
 * 18 is retired (protocol 1's `ack`, which nothing used): it decodes as an unknown type.
 */
export const MessageType = {
  INIT: 1,
  ASSETS: 2,
  FRAME: 3,
  REDIRECT: 4,
  ERROR: 5,
  PONG: 6,
  STATE: 7,
  ORDER_RESULT: 8,
  JOIN: 16,
  INPUT: 17,
  PING: 19,
  ORDER: 20,
} as const;

/**
 * Who owns which WebSocket close codes, so no two of Parlor's protocols ever share a number:
 * RFC 6455's own codes (1000–1015), the browser client's (4000–4099: closes it makes itself),
 * the game protocol's ({@link CloseCode}, 4400–4599, mirroring HTTP status numbers where one fits)
 * and the fleet protocol's (`FleetCloseCode` of `@parlor/fleet-agent`, 4900–4949). Inclusive bounds.
 */
export const CLOSE_CODE_RANGES = {
  rfc6455: { min: 1000, max: 1015 },
  client: { min: 4000, max: 4099 },
  game: { min: 4400, max: 4599 },
  fleet: { min: 4900, max: 4949 },
} as const;

/**
 * WebSocket close codes of the game protocol (server host ⇄ browser client). 1000–1011 are
 * RFC 6455's; 4400–4599 are the game protocol's ({@link CLOSE_CODE_RANGES}); 4000 is the client's own.
 * What the client does after each one is in {@link CLOSE_CODES}.
 */
export const CloseCode = {
  /** Normal end (room over, client left). */
  NORMAL: 1000,
  /** Server shutting down. */
  GOING_AWAY: 1001,
  /** A message larger than the server's limit (RFC 6455 "message too big"). */
  MESSAGE_TOO_BIG: 1009,
  /** A message that does not decode, or an unexpected message type. */
  MALFORMED: 4400,
  /** Reconnect token unknown or its grace period passed; join afresh. */
  RECONNECT_REJECTED: 4401,
  /** Join ticket missing, unknown, used or expired for a reserved room. */
  TICKET_REJECTED: 4403,
  /** No such game or room. */
  NOT_FOUND: 4404,
  /** No `join` within the join timeout. */
  JOIN_TIMEOUT: 4408,
  /**
   * Room full: all player seats taken, or (for a spectator) the room's spectator cap
   * (`maxSpectatorsPerRoom`) reached. Client: stop (retrying the same room cannot help).
   */
  ROOM_FULL: 4409,
  /** The protocol or codec version is not supported. */
  VERSION_MISMATCH: 4426,
  /**
   * Rate limit exceeded: the socket's input rate, or rooms created from the client's address
   * (`roomsPerAddressPerMinute`). Client: reconnect with backoff.
   */
  RATE_LIMITED: 4429,
  /**
   * The client did not read what the server sent: more than `maxBufferedBytes` queued for its
   * socket, or over the backpressure watermark for `slowClientTimeoutMs`. The server dropped it
   * rather than buffer for it. Client: reconnect with backoff (with its reconnect token).
   */
  SLOW_CLIENT: 4413,
  /**
   * The server is at capacity: it already runs `maxRooms` rooms, so a join that would create
   * one is refused. Client: reconnect with backoff (another room, or this one later).
   */
  SERVER_BUSY: 4503,
  /** The room ended because the game failed repeatedly, or its runtime died. */
  ROOM_FAILED: 4500,
  /** The same player connected again elsewhere (the older socket is closed). */
  REPLACED: 4411,
  /**
   * The game needs a signed-in player (its access `requiresAuth`, or a `minRole`) and the join
   * carried no identity. Client: stop (show "This game needs you to sign in").
   */
  AUTH_REQUIRED: 4402,
  /**
   * The player is signed in but none of their roles ranks at the game's `minRole` on the host's
   * role ladder. Client: stop (show "This game needs the role X").
   */
  ROLE_REQUIRED: 4407,
  /**
   * The join's identity token did not verify (bad signature, expired, not yet valid, wrong issuer
   * or audience, no `sub`), or the host's `authenticate` hook refused it. Client: stop (sign in again).
   */
  TOKEN_REJECTED: 4498,
  /** Sent by the client itself when it drops a socket (dead link, undecodable frame); it then reconnects. */
  CLIENT_RESET: 4000,
} as const;

/**
 * What a client does after its socket closed with a code: `'reconnect'` (with backoff, rejoining
 * with its reconnect token), `'rejoin'` (forget the token and join the room afresh) or `'stop'`
 * (show the error: retrying cannot help).
 */
export type CloseRetry = 'reconnect' | 'rejoin' | 'stop';

/** One row of {@link CLOSE_CODES}. */
export interface CloseCodeInfo {
  /** The close code. */
  readonly code: number;
  /** Its name: a {@link CloseCode} key, or RFC 6455's name for the codes Parlor does not send itself. */
  readonly name: string;
  /** What the client does after it. */
  readonly retry: CloseRetry;
  /** Short human-readable meaning (the client shows it). */
  readonly meaning: string;
}

/**
 * Every close code a game client may see, with the client's retry policy next to it: the one table
 * `@parlor/client` reads (a code not listed is treated as `'reconnect'`). docs/ERRORS.md documents each.
 */
export const CLOSE_CODES: readonly CloseCodeInfo[] = Object.freeze(([
  { code: CloseCode.NORMAL, name: 'NORMAL', retry: 'stop', meaning: 'the room ended' },
  { code: CloseCode.GOING_AWAY, name: 'GOING_AWAY', retry: 'reconnect', meaning: 'the server is going away' },
  { code: 1005, name: 'NO_STATUS', retry: 'reconnect', meaning: 'connection closed' },
  { code: 1006, name: 'ABNORMAL', retry: 'reconnect', meaning: 'connection lost' },
  { code: CloseCode.MESSAGE_TOO_BIG, name: 'MESSAGE_TOO_BIG', retry: 'stop', meaning: 'message too big' },
  { code: 1011, name: 'INTERNAL_ERROR', retry: 'reconnect', meaning: 'server error' },
  { code: CloseCode.CLIENT_RESET, name: 'CLIENT_RESET', retry: 'reconnect', meaning: 'the client dropped the connection' },
  { code: CloseCode.MALFORMED, name: 'MALFORMED', retry: 'stop', meaning: 'malformed message' },
  { code: CloseCode.RECONNECT_REJECTED, name: 'RECONNECT_REJECTED', retry: 'rejoin', meaning: 'reconnect token rejected' },
  { code: CloseCode.TICKET_REJECTED, name: 'TICKET_REJECTED', retry: 'stop', meaning: 'join ticket rejected' },
  { code: CloseCode.NOT_FOUND, name: 'NOT_FOUND', retry: 'stop', meaning: 'no such game or room' },
  { code: CloseCode.JOIN_TIMEOUT, name: 'JOIN_TIMEOUT', retry: 'reconnect', meaning: 'join timed out' },
  { code: CloseCode.ROOM_FULL, name: 'ROOM_FULL', retry: 'stop', meaning: 'room full' },
  { code: CloseCode.REPLACED, name: 'REPLACED', retry: 'stop', meaning: 'connected again elsewhere' },
  { code: CloseCode.AUTH_REQUIRED, name: 'AUTH_REQUIRED', retry: 'stop', meaning: 'this game needs you to sign in' },
  { code: CloseCode.ROLE_REQUIRED, name: 'ROLE_REQUIRED', retry: 'stop', meaning: 'this game needs a role you do not have' },
  { code: CloseCode.TOKEN_REJECTED, name: 'TOKEN_REJECTED', retry: 'stop', meaning: 'your sign-in was not accepted (invalid or expired); sign in again' },
  { code: CloseCode.SLOW_CLIENT, name: 'SLOW_CLIENT', retry: 'reconnect', meaning: 'the connection could not keep up' },
  { code: CloseCode.VERSION_MISMATCH, name: 'VERSION_MISMATCH', retry: 'stop', meaning: 'client and server versions do not match' },
  { code: CloseCode.RATE_LIMITED, name: 'RATE_LIMITED', retry: 'reconnect', meaning: 'rate limited (too much input, or too many new rooms)' },
  { code: CloseCode.ROOM_FAILED, name: 'ROOM_FAILED', retry: 'stop', meaning: 'the game failed' },
  { code: CloseCode.SERVER_BUSY, name: 'SERVER_BUSY', retry: 'reconnect', meaning: 'the server is full; try again later' },
] satisfies CloseCodeInfo[]).map((r): CloseCodeInfo => Object.freeze(r)));

/** The {@link CLOSE_CODES} row of `code`, or `undefined` for a code Parlor does not define. */
export function closeCodeInfo(code: number): CloseCodeInfo | undefined {
  return CLOSE_CODES.find((r) => r.code === code);
}

/** `init`: the first message a client receives after a successful `join`. */
export interface InitMessage {
  type: 'init';
  protocolVersion: number;
  /** Squish codec version of the frames that follow. */
  squishVersion: number;
  /** The player's id in this room (spectators get an id too; games never see it). */
  playerId: number;
  spectator: boolean;
  /** Screen aspect ratio of the game, width:height. */
  aspectRatio: { x: number; y: number };
  /** Ticks per second. */
  tickRate: number;
  /** Opaque token to rejoin as the same player within the grace period. */
  reconnectToken: string;
  roomId: string;
  /** Game name (the route's `:game`). */
  game: string;
  /** Display title of the game. */
  title: string;
}

/** An asset the client should fetch over HTTP (immutable: the URL changes when the content does). */
export interface AssetRef {
  id: string;
  type: 'image' | 'audio';
  /** Content hash (hex). */
  hash: string;
  /** URL relative to the server's origin. */
  url: string;
}

/** `assets`: the assets of the game (sent after `init`, before the first frame). */
export interface AssetsMessage {
  type: 'assets';
  assets: AssetRef[];
}

/** `frame`: a full or delta frame; `body` is the squish frame (see {@link SceneMirror}). */
export interface FrameMessage {
  type: 'frame';
  full: boolean;
  seq: number;
  /** The whole message bytes (type byte included), for {@link SceneMirror.apply}. */
  bytes: Uint8Array;
}

/** `redirect`: go to another room or endpoint (URL relative or absolute), with an optional join ticket. */
export interface RedirectMessage {
  type: 'redirect';
  url: string;
  ticket: string;
  reason: string;
}

/** `error`: a reason the server is about to close the socket or end the room. */
export interface ErrorMessage {
  type: 'error';
  /** A {@link CloseCode} value. */
  code: number;
  message: string;
}

/** `pong`: answer to `ping`, echoing the client's time and adding the server's (ms). */
export interface PongMessage {
  type: 'pong';
  clientTime: number;
  serverTime: number;
}

/**
 * `state`: the room's runtime state (see `RoomState` of the lifecycle contract). Sent after `init`
 * (before the first frame) and whenever it changes: pause, resume, a turn generating and ready, the
 * game finishing. A client shows it (paused banner with the reason, "turn N generating", the
 * countdown to `nextTurnAt`).
 */
export interface StateMessage {
  type: 'state';
  status: RoomStatus;
  /** The open turn (turn-based), 0 for a real-time game. */
  turn: number;
  /** Next cutoff, ms since the epoch (the server's clock); `null` when none is scheduled. */
  nextTurnAt: number | null;
  /** Why paused or finished; `''` otherwise. */
  reason: string;
}

/**
 * `orderResult`: the answer to an `order` (same `id`), or (with `id` 0) to an input refused
 * without closing the socket (paused room, turn generating) or an order a game made from a click
 * (`TurnBasedGame.submitOrder`). `accepted: true` means the order is applied AND stored durably:
 * it survives a host crash. Refusals carry a `RefusalCode` value in `code`.
 */
export interface OrderResultMessage {
  type: 'orderResult';
  /** The order's id (1…2^32-1), or 0 for an input or a click's order. */
  id: number;
  accepted: boolean;
  /** `''` when accepted; otherwise a `RefusalCode` value (`TURN_ALREADY_CLOSED`, `GAME_PAUSED`, `ORDER_REJECTED`, …). */
  code: string;
  /** The refusal's reason for the player (the game's own message for `ORDER_REJECTED`); `''` when accepted. */
  message: string;
  /** The turn the order counts for (accepted), or the room's open turn (refused). */
  turn: number;
}

/** Every server→client message. */
export type ServerMessage = InitMessage | AssetsMessage | FrameMessage | RedirectMessage | ErrorMessage | PongMessage | StateMessage | OrderResultMessage;

/** `join`: the first message a client sends on a new socket. */
export interface JoinMessage {
  type: 'join';
  protocolVersion: number;
  /** Game name (route `:game`). */
  game: string;
  /** Room to join; `''` = any open room of the game (or a new one). */
  roomId: string;
  spectate: boolean;
  /** Token from a previous `init`, to rejoin as the same player; `''` if none. */
  reconnectToken: string;
  /** Join ticket for a reserved room; `''` if none. */
  ticket: string;
  /** Display name; `''` = let the server choose. */
  name: string;
  /** Free-form client description (user agent, screen), for logs. */
  clientInfo: string;
  /**
   * Signed identity token (a JWT the host verifies, or whatever its `authenticate` hook reads);
   * absent or `''` = anonymous. On the wire it is a trailing field written only when non-empty,
   * so joins without one encode exactly as before and older joins still decode.
   */
  token?: string;
}

/** One input event, in plane units where it has coordinates. */
export type InputEvent =
  | { kind: 'keydown'; key: string }
  | { kind: 'keyup'; key: string }
  | { kind: 'pointerdown'; x: number; y: number }
  | { kind: 'pointermove'; x: number; y: number }
  | { kind: 'pointerup'; x: number; y: number }
  | { kind: 'click'; nodeId: number; x: number; y: number }
  | ({ kind: 'gamepad' } & GamepadState)
  | { kind: 'text'; text: string };

/** `input`: one input event. */
export interface InputMessage {
  type: 'input';
  event: InputEvent;
}

/** `ping`: the client's clock in ms, echoed back in `pong`. */
export interface PingMessage {
  type: 'ping';
  clientTime: number;
}

/**
 * `order`: a turn-based game's order (e.g. `{"from":"p1","to":"p4","ships":10}`), answered by
 * `orderResult` with the same `id`. The game validates it per player (`TurnBasedGame.onOrder`).
 */
export interface OrderMessage {
  type: 'order';
  /** The client's id for the order, 1…2^32-1 (echoed in `orderResult`). */
  id: number;
  /** The order as JSON text, at most `ORDER_LIMITS.bytes` UTF-8 bytes. */
  order: string;
}

/** Every client→server message. */
export type ClientMessage = JoinMessage | InputMessage | PingMessage | OrderMessage;
