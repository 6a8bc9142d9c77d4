import { randomBytes } from 'node:crypto';
import { ServerError, ServerErrorCode } from '../errors.js';

/** Longest ticket lifetime accepted (ms): 1 hour. */
export const MAX_TICKET_TTL_MS = 60 * 60 * 1000;
/** Most tickets one reservation may ask for. */
export const MAX_SEATS_PER_RESERVATION = 64;

/** What a room holds when seats are reserved in it: its players now and its player cap. */
export interface SeatCapacity {
  /** Players in the room (connected or within their reconnect grace). */
  players: number;
  /** The game's `maxPlayers`. */
  maxPlayers: number;
}

/** What {@link SeatBook.admit} decided. */
export type TicketVerdict = 'ok' | 'invalid' | 'other_user';

/**
 * Seat reservations of a server's rooms. Once a room has a reservation, a player join
 * needs a valid ticket: unknown, used or expired tickets are refused. Each ticket is single-use
 * (128 random bits, base64url) and expires after its TTL. Spectators and reconnects need none.
 *
 * Seats never oversell: a live (unused, unexpired) ticket holds a seat, so players + live tickets
 * never exceed `maxPlayers`; an expired ticket frees its seat. Since a reserved room admits players
 * by ticket only, every ticket holder finds the seat it was promised.
 */
export class SeatBook {
  /** Room id → ticket → its expiry (ms since the epoch) and the user it is bound to (`null`: anyone). */
  private readonly reserved = new Map<string, Map<string, { expiresAt: number; userId: string | null }>>();

  /**
   * Issues `count` tickets for `roomId`, valid for `ttlMs`, when the room has that many seats free
   * (`maxPlayers - players - live tickets`). With `userIds` (one per ticket, in order), ticket i
   * admits only the signed-in player whose `userId` is `userIds[i]`.
   * @returns the tickets and their expiry (ms since the epoch).
   * @throws {ServerError} `SERVER_ROOM_FULL` when fewer than `count` seats are free (nothing is issued).
   */
  reserve(roomId: string, count: number, ttlMs: number, room: SeatCapacity, userIds?: readonly string[]): { tickets: string[]; expiresAt: number } {
    const now = Date.now();
    const held = this.live(roomId, now);
    const free = Math.max(0, room.maxPlayers - room.players - held);
    if (count > free) {
      throw new ServerError(
        ServerErrorCode.ROOM_FULL,
        `room ${roomId} has ${free} of ${room.maxPlayers} seats free (${room.players} players, ${held} live tickets); asked for ${count}`,
      );
    }
    const expiresAt = now + ttlMs;
    let book = this.reserved.get(roomId);
    if (!book) {
      book = new Map();
      this.reserved.set(roomId, book);
    }
    const tickets: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = randomBytes(16).toString('base64url');
      book.set(t, { expiresAt, userId: userIds?.[i] ?? null });
      tickets.push(t);
    }
    return { tickets, expiresAt };
  }

  /** Tickets of the room not used and not expired (expired ones are dropped on the way). */
  live(roomId: string, now: number = Date.now()): number {
    const book = this.reserved.get(roomId);
    if (!book) return 0;
    for (const [t, seat] of book) if (seat.expiresAt <= now) book.delete(t);
    return book.size;
  }

  /** Whether the room takes players by ticket only. */
  isReserved(roomId: string): boolean {
    return this.reserved.has(roomId);
  }

  /**
   * Admits a player join: `'ok'` when the room is not reserved, or when `ticket` is valid and, if
   * bound to a user, `userId` is that user (the ticket is consumed); `'invalid'` for a missing,
   * unknown, used or expired ticket; `'other_user'` for a ticket bound to another user (or a
   * bound ticket used anonymously; it stays valid for its user). Expired tickets are dropped on the way.
   */
  admit(roomId: string, ticket: string, userId?: string): TicketVerdict {
    const book = this.reserved.get(roomId);
    if (!book) return 'ok';
    this.live(roomId);
    const seat = ticket ? book.get(ticket) : undefined;
    if (seat === undefined) return 'invalid';
    if (seat.userId !== null && seat.userId !== userId) return 'other_user';
    book.delete(ticket);
    return 'ok';
  }

  /** Forgets a room's reservation (it ended). */
  clear(roomId: string): void {
    this.reserved.delete(roomId);
  }
}
