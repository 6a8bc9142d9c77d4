/**
 * The shapes a room shares with the registry, the server and the HTTP routes: its summary
 * ({@link RoomInfo}), what it needs from the server ({@link RoomHost}), a member, why a room ends,
 * a room brought back from a store, and the engine's `join` of a member.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ErrorMessage, PlayerId, PlayerIdentity, RedirectMessage, RoomEvent, RoomState } from '@parlor/squish';
import type { DevStatus } from '../dev/status.js';
import type { HostToEngineMessage } from '../engine/messages.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomRuntime } from '../runtime/runtime.js';
import type { RoomStateStore, StoredMember, StoredRoom, StoredSnapshot } from '../state/store.js';
import { freshDelivery, type Recipient } from './fanout.js';

/** A live room as listed in the lobby and `/parlor/api/rooms`. */
export interface RoomInfo {
  id: string;
  /** Game route name. */
  game: string;
  /** Game display title. */
  title: string;
  /** Players, including those within their reconnect grace period. */
  players: number;
  /** Players connected right now. */
  connectedPlayers: number;
  spectators: number;
  maxPlayers: number;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** The catalog version the room runs (`1.2.0`); absent for a game served from source. */
  version?: string;
  /** The sha256 of that version's artifact; absent for a game served from source. */
  sha256?: string;
  /** Runtime status: `running`, `generation_in_progress`, `paused` or `finished`. */
  status: RoomState['status'];
  /** The open turn of a turn-based game (1 first); 0 for a real-time game. */
  turn: number;
  /** The next turn's cutoff, ms since the epoch; `null` when none is scheduled. */
  nextTurnAt: number | null;
}

/** What a {@link Room} needs from the server: settings and shared services, no state of the server's. */
export interface RoomHost {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly runtime: RoomRuntime;
  readonly reconnectGraceMs: number;
  readonly backpressureBytes: number;
  readonly maxConsecutiveErrors: number;
  /** `parlor dev`'s status: game errors are reported to it (kind `room`) as well as logged. */
  readonly devStatus?: DevStatus;
  /** Durable room state (rooms, snapshots, members); none: nothing survives the process. */
  readonly stateStore?: RoomStateStore;
  /** How often a real-time room whose game saves is snapshotted, with a store (ms). */
  readonly snapshotIntervalMs: number;
  /** Where the room's events go (the server's `events`). */
  emit(event: RoomEvent): void;
}

/** A player or spectator of a room, connected or within its reconnect grace period. */
export interface Member extends Recipient {
  readonly spectator: boolean;
  readonly name: string;
  /** The signed-in player's user id (verified at join; kept across reconnects); `undefined` when anonymous. */
  readonly userId?: string;
  /** The signed-in player's roles; empty when anonymous. */
  readonly roles: readonly string[];
  /** @internal secret: never logged; `''` for a member restored from a store until it reconnects */
  token: string;
  /** sha256 (hex) of {@link token}: what the registry and the store index. */
  tokenHash: string;
  graceTimer: ReturnType<typeof setTimeout> | null;
}

/** Why a room ends and what its clients are told. */
export interface DisposeReason {
  /** WebSocket close code for connected clients. */
  code: number;
  /** Close reason text (≤ 123 bytes). */
  reason: string;
  /** A message sent to every connected client before closing (`error` or `redirect`). */
  message?: ErrorMessage | RedirectMessage;
  /** Keep the room in the host's store (server shutting down: it comes back at the next start). */
  keep?: boolean;
}

/** A room brought back from a store: its record, last snapshot and members. */
export interface RestoredRoom {
  room: StoredRoom;
  snapshot: StoredSnapshot | undefined;
  members: StoredMember[];
}

/** sha256 (hex) of a reconnect token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The engine's `join` for a member. */
export function joinMessage(m: Member): HostToEngineMessage {
  return { type: 'join', playerId: m.playerId, name: m.name, spectator: m.spectator, ...(m.userId !== undefined ? { userId: m.userId, roles: [...m.roles] } : {}) };
}


/** A fresh reconnect token: 128 random bits, base64url. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

/** A new member (named `Player <id>` / `Spectator <id>` when `name` is empty), not yet on a socket. */
export function newMember(playerId: PlayerId, name: string, spectator: boolean, identity: PlayerIdentity | null, token: string): Member {
  return {
    playerId,
    spectator,
    name: name || (spectator ? `Spectator ${playerId}` : `Player ${playerId}`),
    ...(identity ? { userId: identity.userId } : {}),
    roles: identity ? [...identity.roles] : [],
    token,
    tokenHash: tokenHash(token),
    socket: null,
    graceTimer: null,
    ...freshDelivery(),
  };
}

/** A member as a store recorded it: its token unknown (`''`) until it reconnects, only its hash. */
export function restoredMember(s: StoredMember): Member {
  return {
    playerId: s.playerId,
    spectator: s.spectator,
    name: s.name,
    ...(s.userId !== null ? { userId: s.userId } : {}),
    roles: [...s.roles],
    token: '',
    tokenHash: s.tokenHash,
    socket: null,
    graceTimer: null,
    ...freshDelivery(),
  };
}

/** A member as a store records it (the token's hash, never the token). */
export function storedMember(roomId: string, m: Member): StoredMember {
  return { roomId, playerId: m.playerId, name: m.name, userId: m.userId ?? null, roles: [...m.roles], spectator: m.spectator, tokenHash: m.tokenHash };
}
