import { randomBytes } from 'node:crypto';

/** Longest ticket lifetime accepted (ms): 1 hour. */
export const MAX_TICKET_TTL_MS = 60 * 60 * 1000;
/** Most tickets one reservation may ask for. */
export const MAX_SEATS_PER_RESERVATION = 64;

/**
 * Seat reservations of a server's rooms. Once a room has a reservation, a player join
 * needs a valid ticket: unknown, used or expired tickets are refused. Each ticket is single-use
 * (128 random bits, base64url) and expires after its TTL. Spectators and reconnects need none.
 */
export class SeatBook {
  private readonly reserved = new Map<string, Map<string, number>>();

  /**
   * Issues `count` tickets for `roomId`, valid for `ttlMs`.
   * @returns the tickets and their expiry (ms since the epoch).
   */
  reserve(roomId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number } {
    const expiresAt = Date.now() + ttlMs;
    let book = this.reserved.get(roomId);
    if (!book) {
      book = new Map();
      this.reserved.set(roomId, book);
    }
    const tickets: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = randomBytes(16).toString('base64url');
      book.set(t, expiresAt);
      tickets.push(t);
    }
    return { tickets, expiresAt };
  }

  /** Whether the room takes players by ticket only. */
  isReserved(roomId: string): boolean {
    return this.reserved.has(roomId);
  }

  /**
   * Admits a player join: `true` when the room is not reserved, or when `ticket` is valid
   * (it is consumed). Expired tickets are dropped on the way.
   */
  admit(roomId: string, ticket: string): boolean {
    const book = this.reserved.get(roomId);
    if (!book) return true;
    const now = Date.now();
    for (const [t, exp] of book) if (exp <= now) book.delete(t);
    const exp = ticket ? book.get(ticket) : undefined;
    if (exp === undefined) return false;
    book.delete(ticket);
    return true;
  }

  /** Forgets a room's reservation (it ended). */
  clear(roomId: string): void {
    this.reserved.delete(roomId);
  }
}
