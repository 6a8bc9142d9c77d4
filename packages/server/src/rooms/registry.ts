/**
 * The room registry: every live session (room) of the server by id, and the one index of
 * reconnect tokens. It creates sessions (within `maxSessions` and the per-address creation rate),
 * finds them (by id, by token, by game), keeps their seat reservations, and forgets them when they
 * end. Which room a joining player gets is decided by the handshake (`realtime/handshake.ts`)
 * from these queries; sessions report back only through {@link SessionListener}.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { ServerConfigError, ServerError, ServerErrorCode } from '../errors.js';
import type { LoadedGame } from '../games/loader.js';
import { KeyedBuckets, addressKey } from '../rate-limit.js';
import { Session, type DisposeReason, type Member, type SessionHost, type SessionInfo, type SessionListener } from './room.js';
import { MAX_SEATS_PER_RESERVATION, MAX_TICKET_TTL_MS, SeatBook } from './seats.js';

/** Session ids accepted in URLs and `join.sessionId`: 1–64 of `A–Z a–z 0–9 _ -`. */
export const SESSION_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Limits of a {@link RoomRegistry}. */
export interface RoomLimits {
  /** Most live sessions. */
  readonly maxSessions: number;
  /** Sessions one source address may create per minute by joining (token bucket of this size, refilled over 60 s). */
  readonly sessionsPerAddressPerMinute: number;
}

/** Why a new session may not be created now (see {@link RoomRegistry.admitCreation}). */
export type CreationRefusal = 'server_busy' | 'room_rate';

/** The server's sessions: see the file's opening comment. */
export class RoomRegistry implements SessionListener {
  private readonly rooms = new Map<string, Session>();
  /** Reconnect token → session. Only this class reads or writes it. */
  private readonly tokens = new Map<string, Session>();
  private readonly seats = new SeatBook();
  /** Session creations by address key (idle buckets are pruned). */
  private readonly created: KeyedBuckets;

  constructor(
    private readonly host: SessionHost,
    readonly limits: RoomLimits,
  ) {
    const n = limits.sessionsPerAddressPerMinute;
    this.created = new KeyedBuckets(n / 60, n, 60_000);
  }

  /** Live sessions. */
  get size(): number {
    return this.rooms.size;
  }

  /** The session with this id, if live. */
  get(id: string): Session | undefined {
    return this.rooms.get(id);
  }

  /** Every live session, oldest first. */
  all(): Session[] {
    return [...this.rooms.values()];
  }

  /** Summaries of the first `limit` sessions (all by default), oldest first. */
  list(limit = Infinity): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const s of this.rooms.values()) {
      if (out.length >= limit) break;
      out.push(s.info());
    }
    return out;
  }

  /** One page of summaries and the total. */
  page(offset: number, limit: number): { sessions: SessionInfo[]; total: number } {
    const all = [...this.rooms.values()];
    return { sessions: all.slice(offset, offset + limit).map((s) => s.info()), total: all.length };
  }

  /**
   * Whether a join from `ip` may create a session now: under `maxSessions` (else `'server_busy'`)
   * and under the address's creation rate (else `'room_rate'`; a refused call takes no token).
   */
  admitCreation(ip: string): CreationRefusal | null {
    if (this.rooms.size >= this.limits.maxSessions) return 'server_busy';
    if (!this.created.take(addressKey(ip))) return 'room_rate';
    return null;
  }

  /**
   * Creates a session of `game` (a fresh random id when `id` is omitted). Checks no limit: see
   * {@link admitCreation} and {@link open}.
   * @throws whatever the runtime throws when it cannot start an engine.
   */
  create(game: LoadedGame, id?: string, options?: Record<string, unknown>): Session {
    const session = new Session(id ?? this.newId(), game, this.host, this, options);
    this.rooms.set(session.id, session);
    return session;
  }

  /**
   * Creates an empty session with a given id, as `GameServer.openSession` does.
   * @throws {ServerError} `SESSION_EXISTS`, `SERVER_BUSY`; whatever the runtime throws.
   */
  open(game: LoadedGame, id: string, options?: Record<string, unknown>): Session {
    if (this.rooms.has(id)) throw new ServerError(ServerErrorCode.SESSION_EXISTS, `session ${id} exists`);
    if (this.rooms.size >= this.limits.maxSessions) throw new ServerError(ServerErrorCode.SERVER_BUSY, `this server already runs ${this.limits.maxSessions} sessions (maxSessions)`);
    return this.create(game, id, options);
  }

  /** Adds a new player or spectator to `session` on `ws` and indexes its reconnect token. */
  enter(session: Session, ws: WebSocket, name: string, spectator: boolean): Member {
    const member = session.join(ws, name, spectator);
    if (!session.isDisposed) this.tokens.set(member.token, session);
    return member;
  }

  /** The live session and member holding a reconnect token, if any. */
  byToken(token: string): { session: Session; member: Member } | undefined {
    const session = this.tokens.get(token);
    const member = session?.memberByToken(token);
    if (!session || !member || session.isDisposed) return undefined;
    return { session, member };
  }

  /**
   * Reserves seats in a live session (see `GameServer.reserveSeats`).
   * @throws {ServerError} `SESSION_NOT_FOUND`; `SERVER_CONFIG` for a count outside 1–64 or a TTL outside 1 ms–1 h.
   */
  reserve(sessionId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number } {
    const session = this.rooms.get(sessionId);
    if (!session || session.isDisposed) throw new ServerError(ServerErrorCode.SESSION_NOT_FOUND, `no session ${String(sessionId).slice(0, 64)}`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_SEATS_PER_RESERVATION) throw new ServerConfigError(`count must be 1–${MAX_SEATS_PER_RESERVATION}`);
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TICKET_TTL_MS) throw new ServerConfigError(`ttlMs must be 1–${MAX_TICKET_TTL_MS}`);
    return this.seats.reserve(sessionId, count, ttlMs);
  }

  /** Whether the session takes players by ticket only. */
  isReserved(sessionId: string): boolean {
    return this.seats.isReserved(sessionId);
  }

  /** Admits a player join by ticket: `true` when the session is not reserved or the ticket is valid (it is consumed). */
  admitTicket(sessionId: string, ticket: string): boolean {
    return this.seats.admit(sessionId, ticket);
  }

  /** Ends one session. @returns `false` when no such session was live. */
  async close(id: string, reason: DisposeReason): Promise<boolean> {
    const session = this.rooms.get(id);
    if (!session) return false;
    await session.dispose(reason);
    return true;
  }

  /** Ends the sessions `which` selects (all by default). */
  async disposeAll(reason: DisposeReason, which: (s: Session) => boolean = () => true): Promise<void> {
    await Promise.all(this.all().filter(which).map((s) => s.dispose(reason)));
  }

  /** Forgets idle per-address creation buckets (the server's 250 ms sweep calls it). */
  prune(now: number = performance.now()): void {
    this.created.prune(now);
  }

  // ---------------------------------------------------------------- SessionListener

  /** @internal */
  memberGone(_session: Session, member: Member): void {
    this.tokens.delete(member.token);
  }

  /** @internal */
  disposed(session: Session): void {
    if (this.rooms.get(session.id) === session) {
      this.rooms.delete(session.id);
      this.seats.clear(session.id);
    }
  }

  private newId(): string {
    for (;;) {
      const id = randomBytes(6).toString('base64url');
      if (!this.rooms.has(id)) return id;
    }
  }
}
