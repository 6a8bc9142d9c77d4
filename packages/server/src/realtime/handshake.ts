/**
 * The handshake: what happens to a socket's first message, `join`. Protocol version, game, then
 * either a reconnect (by token: same member, same seat) or a fresh join, where this file decides
 * WHICH ROOM A PLAYER JOINS (see {@link Handshake.join}), checks tickets of reserved rooms, the
 * player and spectator caps, the room-creation limits, and cleans the display name. A fresh
 * join's identity (its token, or the `authenticate` hook: `identity/verify.ts`) is checked first,
 * then the game's access (`identity/access.ts`). One place for every way into a room; rooms and
 * tokens themselves are kept by `rooms/registry.ts`.
 */
import { CloseCode, PROTOCOL_VERSION, isRoomId, type JoinMessage, type PlayerIdentity } from '@parlor/squish';
import type { LoadedGame } from '../games/loader.js';
import { accessOf, checkAccess } from '../identity/access.js';
import type { Authenticator } from '../identity/verify.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Room } from '../rooms/room.js';
import type { ClientConnection, ConnectionHost } from './connection.js';

/** What the {@link Handshake} needs: settings, the games served, and the room registry. */
export interface HandshakeOptions {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly joinTimeoutMs: number;
  readonly inputRateLimit: number;
  readonly inputBurst: number;
  readonly maxSpectatorsPerRoom: number;
  readonly rooms: RoomRegistry;
  /** Who joining players are (`GameServerOptions.identity`). */
  readonly identity: Authenticator;
  /** The current build of a game served here. */
  game(name: string): LoadedGame | undefined;
  /** Whether the server is shutting down. */
  closing(): boolean;
}

/** Handles `join` for every {@link ClientConnection}: see the file's opening comment. */
export class Handshake implements ConnectionHost {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly joinTimeoutMs: number;
  readonly inputRateLimit: number;
  readonly inputBurst: number;

  constructor(private readonly o: HandshakeOptions) {
    this.logger = o.logger;
    this.metrics = o.metrics;
    this.joinTimeoutMs = o.joinTimeoutMs;
    this.inputRateLimit = o.inputRateLimit;
    this.inputBurst = o.inputBurst;
  }

  /**
   * A `join`: the connection ends up {@link ClientConnection.joined} to a room, or rejected with
   * a close code. Which room:
   * - with a reconnect token: the room and member holding it (4401 if none, or another game/room);
   * - with a `roomId`: that room, or a new room with that id (so `/play/:game/:id` links
   *   survive a restart); 4404 if it is another game's or an older build's, 4409 if full;
   * - with `roomId === ''`: a player gets the first open room of the game that takes players
   *   without tickets, a spectator the busiest room with spectator places; else a new room.
   * Reserved rooms need a ticket (4403; one bound to a user admits only that user); new rooms
   * are refused at `maxRooms` (4503) and over the per-address creation rate (4429).
   *
   * A reconnect keeps the member's identity (no token is checked again). A fresh join's token is
   * verified first (4498 when it does not verify), then the game's access (4402 anonymous, 4407
   * role too low; spectators alike). A signed-in player joining a room where a player with the
   * same `userId` still holds a seat (connected or within its grace) gets that seat back.
   */
  join(conn: ClientConnection, msg: JoinMessage): void {
    const { rooms } = this.o;
    if (!this.preflight(conn, msg)) return;
    if (msg.reconnectToken) {
      const found = rooms.byToken(msg.reconnectToken);
      if (!found || found.room.game.name !== msg.game || (msg.roomId !== '' && msg.roomId !== found.room.id)) {
        conn.reject(CloseCode.RECONNECT_REJECTED, 'reconnect_rejected', 'reconnect token unknown or expired; join afresh');
        return;
      }
      conn.joined(found.room, found.member);
      found.room.reattach(found.member, conn.ws, msg.reconnectToken);
      return;
    }
    const { identity } = this.o;
    if (!identity.enabled) {
      this.enter(conn, msg, null);
      return;
    }
    const request = { token: msg.token || undefined, roomId: msg.roomId, game: msg.game, spectate: msg.spectate, headers: conn.headers, remoteAddress: conn.ip };
    void identity.identify(request).then((outcome) => {
      if (conn.isClosed) return;
      if (!outcome.ok) {
        conn.reject(CloseCode.TOKEN_REJECTED, 'token_rejected', outcome.detail);
        return;
      }
      // the game may have been replaced, or the server started closing, meanwhile
      if (!this.preflight(conn, msg)) return;
      try {
        this.enter(conn, msg, outcome.identity);
      } catch (err) {
        this.logger.error({ ...conn.logFields(), error: (err as Error)?.message ?? String(err) }, 'join failed');
        conn.reject(CloseCode.ROOM_FAILED, 'room_failed', 'the server could not start the room');
      }
    });
  }

  /** Protocol version, game and server state; rejects the connection and returns `false` when one fails. */
  private preflight(conn: ClientConnection, msg: JoinMessage): boolean {
    if (msg.protocolVersion !== PROTOCOL_VERSION) {
      conn.reject(CloseCode.VERSION_MISMATCH, 'version', `protocol version ${msg.protocolVersion} not supported (server speaks ${PROTOCOL_VERSION})`);
      return false;
    }
    if (!this.o.game(msg.game)) {
      conn.reject(CloseCode.NOT_FOUND, 'not_found', `no game named ${JSON.stringify(msg.game.slice(0, 64))}`);
      return false;
    }
    if (this.o.closing()) {
      conn.reject(CloseCode.GOING_AWAY, 'not_found', 'server shutting down');
      return false;
    }
    return true;
  }

  /** Whether `identity` may join rooms of `game`; rejects the connection (4402 / 4407) when not. */
  private admitted(conn: ClientConnection, game: LoadedGame, identity: PlayerIdentity | null): boolean {
    const refused = checkAccess(accessOf(game), identity, this.o.identity.roleLadder);
    if (refused) conn.reject(refused.code, refused.reason, refused.detail);
    return !refused;
  }

  /** A fresh join, its identity known: access, then which room (see {@link join}). */
  private enter(conn: ClientConnection, msg: JoinMessage, identity: PlayerIdentity | null): void {
    const { rooms, maxSpectatorsPerRoom } = this.o;
    const game = this.o.game(msg.game)!;
    if (!this.admitted(conn, game, identity)) return;
    let room: Room | undefined;
    if (msg.roomId !== '') {
      if (!isRoomId(msg.roomId)) {
        conn.reject(CloseCode.NOT_FOUND, 'not_found', 'invalid room id');
        return;
      }
      room = rooms.get(msg.roomId);
      if (room && room.game.name !== game.name) {
        conn.reject(CloseCode.NOT_FOUND, 'not_found', `room ${msg.roomId} is not a ${game.name} room`);
        return;
      }
      if (room && room.game !== game && room.game.version === undefined) {
        // A room of an older build of this game (dev reload): send the client to the new one.
        // (A catalog version's room is joined as it is: a promotion never changes running rooms.)
        conn.reject(CloseCode.NOT_FOUND, 'not_found', `room ${msg.roomId} belongs to an older build`);
        return;
      }
      // a room running another version of the game: its own access applies too
      if (room && room.game !== game && !this.admitted(conn, room.game, identity)) return;
      const held = room && identity && !msg.spectate ? rooms.byUser(room, identity.userId) : undefined;
      if (room && held) {
        // the same signed-in player again: their seat back, as a reconnect
        conn.joined(room, held);
        room.reattach(held, conn.ws);
        return;
      }
      if (room && !msg.spectate && !room.isOpen) {
        conn.reject(CloseCode.ROOM_FULL, 'room_full', `room ${msg.roomId} is full (${game.metadata.maxPlayers} players)`);
        return;
      }
      if (room && msg.spectate && room.spectatorCount >= maxSpectatorsPerRoom) {
        conn.reject(CloseCode.ROOM_FULL, 'spectators_full', `room ${msg.roomId} has ${maxSpectatorsPerRoom} spectators (maxSpectatorsPerRoom)`);
        return;
      }
      const verdict = room && !msg.spectate ? rooms.admitTicket(room.id, msg.ticket, identity?.userId) : 'ok';
      if (verdict === 'invalid') {
        conn.reject(CloseCode.TICKET_REJECTED, 'ticket_rejected', `room ${msg.roomId} is reserved: join ticket missing, unknown, used or expired`);
        return;
      }
      if (verdict === 'other_user') {
        const who = identity ? 'another signed-in player' : 'a signed-in player; sign in as that player';
        conn.reject(CloseCode.TICKET_REJECTED, 'ticket_rejected', `room ${msg.roomId} is reserved: this join ticket is for ${who}`);
        return;
      }
      if (!room && !this.admitCreation(conn)) return;
      room ??= rooms.create(game, msg.roomId);
    } else {
      const candidates = rooms.all().filter((s) => s.game === game && !s.isDisposed && (msg.spectate || !rooms.isReserved(s.id)));
      if (msg.spectate) {
        const open = candidates.filter((s) => s.spectatorCount < maxSpectatorsPerRoom);
        if (candidates.length > 0 && open.length === 0) {
          conn.reject(CloseCode.ROOM_FULL, 'spectators_full', `every ${game.name} room has ${maxSpectatorsPerRoom} spectators (maxSpectatorsPerRoom)`);
          return;
        }
        room = open.sort((a, b) => b.playerCount - a.playerCount)[0];
      } else {
        room = candidates.find((s) => s.isOpen);
      }
      if (!room && !this.admitCreation(conn)) return;
      room ??= rooms.create(game);
    }
    const member = rooms.enter(room, conn.ws, cleanName(msg.name), msg.spectate, identity);
    conn.joined(room, member);
  }

  /** Whether `conn` may create a room now; rejects it (4503 / 4429) when not. */
  private admitCreation(conn: ClientConnection): boolean {
    const { maxRooms, roomsPerAddressPerMinute } = this.o.rooms.limits;
    switch (this.o.rooms.admitCreation(conn.ip)) {
      case null:
        return true;
      case 'server_busy':
        conn.reject(CloseCode.SERVER_BUSY, 'server_busy', `this server already runs ${maxRooms} rooms; try again later`);
        return false;
      case 'draining':
        conn.reject(CloseCode.SERVER_BUSY, 'draining', 'this server is draining (shutting down) and opens no new room; join another');
        return false;
      case 'room_rate':
        conn.reject(CloseCode.RATE_LIMITED, 'room_rate', `more than ${roomsPerAddressPerMinute} rooms created per minute from this address; try again later`);
        return false;
    }
  }
}

/** A display name as shown to others: no control characters, trimmed, at most 32 characters. */
function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 32);
}
