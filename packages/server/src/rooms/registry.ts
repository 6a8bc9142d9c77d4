/**
 * The room registry: every live room of the server by id, and the one index of
 * reconnect tokens. It creates rooms (within `maxRooms` and the per-address creation rate),
 * finds them (by id, by token, by game), keeps their seat reservations, and forgets them when they
 * end. Which room a joining player gets is decided by the handshake (`realtime/handshake.ts`)
 * from these queries; rooms report back only through {@link RoomListener}.
 */
import { randomBytes } from 'node:crypto';
import type { PlayerIdentity, RoomState } from '@parlor/squish';
import type { WebSocket } from 'ws';
import { ServerConfigError, ServerError, ServerErrorCode } from '../errors.js';
import type { LoadedGame } from '../games/loader.js';
import { KeyedBuckets, addressKey } from '../rate-limit.js';
import { Room, tokenHash, type DisposeReason, type Member, type RestoredRoom, type RoomHost, type RoomInfo, type RoomListener } from './room.js';
import { MAX_SEATS_PER_RESERVATION, MAX_TICKET_TTL_MS, SeatBook, type TicketVerdict } from './seats.js';

/** How many finished rooms' final states a registry remembers. */
const FINISHED_KEPT = 1000;

/** Limits of a {@link RoomRegistry}. */
export interface RoomLimits {
  /** Most live rooms. */
  readonly maxRooms: number;
  /** Rooms one source address may create per minute by joining (token bucket of this size, refilled over 60 s). */
  readonly roomsPerAddressPerMinute: number;
}

/** Why a new room may not be created now (see {@link RoomRegistry.admitCreation}). */
export type CreationRefusal = 'server_busy' | 'room_rate' | 'draining';

/** The server's rooms: see the file's opening comment. */
export class RoomRegistry implements RoomListener {
  private readonly rooms = new Map<string, Room>();
  /** Set by `GameServer.drain()`: no new room is created, the live ones play on. */
  draining = false;
  /** sha256 of a reconnect token → room (a room restored from a store knows only the hashes). Only this class reads or writes it. */
  private readonly tokens = new Map<string, Room>();
  /** `<roomId>\n<userId>` → the signed-in player holding a seat there (players only). */
  private readonly users = new Map<string, Member>();
  private readonly seats = new SeatBook();
  /** The final state of rooms that finished (`game.end`), by id: the last {@link FINISHED_KEPT}. */
  private readonly finished = new Map<string, RoomState>();
  /** Room creations by address key (idle buckets are pruned). */
  private readonly created: KeyedBuckets;

  constructor(
    private readonly host: RoomHost,
    readonly limits: RoomLimits,
  ) {
    const n = limits.roomsPerAddressPerMinute;
    this.created = new KeyedBuckets(n / 60, n, 60_000);
  }

  /** Live rooms. */
  get size(): number {
    return this.rooms.size;
  }

  /** The room with this id, if live. */
  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  /** Every live room, oldest first. */
  all(): Room[] {
    return [...this.rooms.values()];
  }

  /** Summaries of the first `limit` rooms (all by default), oldest first. */
  list(limit = Infinity): RoomInfo[] {
    const out: RoomInfo[] = [];
    for (const s of this.rooms.values()) {
      if (out.length >= limit) break;
      out.push(s.info());
    }
    return out;
  }

  /** One page of summaries and the total. */
  page(offset: number, limit: number): { rooms: RoomInfo[]; total: number } {
    const all = [...this.rooms.values()];
    return { rooms: all.slice(offset, offset + limit).map((s) => s.info()), total: all.length };
  }

  /**
   * Whether a join from `ip` may create a room now: not draining (else `'draining'`), under `maxRooms` (else `'server_busy'`)
   * and under the address's creation rate (else `'room_rate'`; a refused call takes no token).
   */
  admitCreation(ip: string): CreationRefusal | null {
    if (this.draining) return 'draining';
    if (this.rooms.size >= this.limits.maxRooms) return 'server_busy';
    if (!this.created.take(addressKey(ip))) return 'room_rate';
    return null;
  }

  /**
   * Creates a room of `game` (a fresh random id when `id` is omitted). Checks no limit: see
   * {@link admitCreation} and {@link open}.
   * @throws whatever the runtime throws when it cannot start an engine.
   */
  create(game: LoadedGame, id?: string, options?: Record<string, unknown>): Room {
    const room = new Room(id ?? this.newId(), game, this.host, this, options);
    if (!room.isDisposed) this.rooms.set(room.id, room);
    return room;
  }

  /**
   * Brings back a room recorded in the host's store, with the same id, from its last snapshot;
   * its members' reconnect tokens (by hash) and signed-in players (by user id) are valid again.
   * @throws {ServerError} `SERVER_ROOM_EXISTS`; whatever the runtime throws.
   */
  restore(game: LoadedGame, restored: RestoredRoom): Room {
    const id = restored.room.roomId;
    if (this.rooms.has(id)) throw new ServerError(ServerErrorCode.ROOM_EXISTS, `room ${id} exists`);
    const room = new Room(id, game, this.host, this, restored.room.options, restored);
    if (room.isDisposed) return room;
    this.rooms.set(id, room);
    for (const m of room.allMembers()) this.index(room, m);
    return room;
  }

  /**
   * Creates an empty room with a given id, as `GameServer.openRoom` does.
   * @throws {ServerError} `SERVER_ROOM_EXISTS`, `SERVER_BUSY` (also while draining); whatever the runtime throws.
   */
  open(game: LoadedGame, id: string, options?: Record<string, unknown>): Room {
    if (this.rooms.has(id)) throw new ServerError(ServerErrorCode.ROOM_EXISTS, `room ${id} exists`);
    if (this.draining) throw new ServerError(ServerErrorCode.SERVER_BUSY, 'this server is draining: it creates no new room');
    if (this.rooms.size >= this.limits.maxRooms) throw new ServerError(ServerErrorCode.SERVER_BUSY, `this server already runs ${this.limits.maxRooms} rooms (maxRooms)`);
    return this.create(game, id, options);
  }

  /** Adds a new player or spectator (with its verified identity, if signed in) to `room` on `ws` and indexes its reconnect token (and its user). */
  enter(room: Room, ws: WebSocket, name: string, spectator: boolean, identity: PlayerIdentity | null = null): Member {
    const member = room.join(ws, name, spectator, identity);
    if (!room.isDisposed) this.index(room, member);
    return member;
  }

  private index(room: Room, member: Member): void {
    this.tokens.set(member.tokenHash, room);
    if (member.userId !== undefined && !member.spectator) this.users.set(`${room.id}\n${member.userId}`, member);
  }

  /** The player of a live room signed in as `userId` (connected, or within its reconnect grace), if any. */
  byUser(room: Room, userId: string): Member | undefined {
    const member = this.users.get(`${room.id}\n${userId}`);
    return member && !room.isDisposed && room.memberByTokenHash(member.tokenHash) === member ? member : undefined;
  }

  /** The live room and member holding a reconnect token, if any. */
  byToken(token: string): { room: Room; member: Member } | undefined {
    const hash = tokenHash(token);
    const room = this.tokens.get(hash);
    const member = room?.memberByTokenHash(hash);
    if (!room || !member || room.isDisposed) return undefined;
    return { room, member };
  }

  /**
   * Reserves seats in a live room (see `GameServer.reserveSeats`); with `userIds`, ticket i admits only that user.
   * @throws {ServerError} `SERVER_ROOM_NOT_FOUND`; `SERVER_ROOM_FULL` when players + live tickets + `count` would exceed
   *   `maxPlayers`; `SERVER_CONFIG` for a count outside 1–64, a TTL outside 1 ms–1 h, or `userIds` not `count` strings of 1–256 characters.
   */
  reserve(roomId: string, count: number, ttlMs: number, userIds?: readonly string[]): { tickets: string[]; expiresAt: number } {
    const room = this.rooms.get(roomId);
    if (!room || room.isDisposed) throw new ServerError(ServerErrorCode.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_SEATS_PER_RESERVATION) throw new ServerConfigError(`count must be 1–${MAX_SEATS_PER_RESERVATION}`);
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TICKET_TTL_MS) throw new ServerConfigError(`ttlMs must be 1–${MAX_TICKET_TTL_MS}`);
    if (userIds !== undefined && !(Array.isArray(userIds) && userIds.length === count && userIds.every((u) => typeof u === 'string' && u.length > 0 && u.length <= 256))) {
      throw new ServerConfigError(`userIds must be ${count} user ids (one per seat), each 1–256 characters`);
    }
    return this.seats.reserve(roomId, count, ttlMs, { players: room.playerCount, maxPlayers: room.game.metadata.maxPlayers }, userIds);
  }

  /** Whether the room takes players by ticket only. */
  isReserved(roomId: string): boolean {
    return this.seats.isReserved(roomId);
  }

  /** Admits a player join by ticket (see `SeatBook.admit`): `'ok'` when the room is not reserved or the ticket is valid for `userId` (it is consumed). */
  admitTicket(roomId: string, ticket: string, userId?: string): TicketVerdict {
    return this.seats.admit(roomId, ticket, userId);
  }

  /** Stops one room (after a snapshot, with a store: see `Room.end`). @returns `false` when no such room was live. */
  async close(id: string, reason: DisposeReason): Promise<boolean> {
    const room = this.rooms.get(id);
    if (!room) return false;
    await room.end(reason, 'stop');
    return true;
  }

  /** Ends the rooms `which` selects (all by default). With `reason.keep` (server closing), each is snapshotted first and kept in the store. */
  async disposeAll(reason: DisposeReason, which: (s: Room) => boolean = () => true): Promise<void> {
    await Promise.all(this.all().filter(which).map((s) => (reason.keep ? s.end(reason, 'drain') : s.dispose(reason))));
  }

  /** Forgets idle per-address creation buckets (the server's 250 ms sweep calls it). */
  prune(now: number = performance.now()): void {
    this.created.prune(now);
  }

  // ---------------------------------------------------------------- RoomListener

  /** @internal */
  memberGone(room: Room, member: Member): void {
    this.tokens.delete(member.tokenHash);
    const key = `${room.id}\n${member.userId}`;
    if (member.userId !== undefined && this.users.get(key) === member) this.users.delete(key);
  }

  /** @internal */
  tokenChanged(room: Room, member: Member, oldHash: string): void {
    if (this.tokens.get(oldHash) === room) this.tokens.delete(oldHash);
    this.tokens.set(member.tokenHash, room);
  }

  /** The final state of a room that finished itself and was then closed (the last 1000 are kept). */
  finishedState(id: string): RoomState | undefined {
    return this.finished.get(id);
  }

  /** @internal */
  disposed(room: Room): void {
    if (room.lifecycle.isFinished) {
      this.finished.set(room.id, room.lifecycle.state());
      if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.keys().next().value!);
    }
    if (this.rooms.get(room.id) === room) {
      this.rooms.delete(room.id);
      this.seats.clear(room.id);
    }
  }

  private newId(): string {
    for (;;) {
      const id = randomBytes(6).toString('base64url');
      if (!this.rooms.has(id)) return id;
    }
  }
}
