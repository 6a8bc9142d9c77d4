import { randomBytes } from 'node:crypto';

/** Longest ticket lifetime accepted (ms): 1 hour. */
export const MAX_TICKET_TTL_MS = 60 * 60 * 1000;
/** Most tickets one reservation may ask for. */
export const MAX_SEATS_PER_RESERVATION = 64;

/**
 * Seat reservations of a server's sessions. Once a session has a reservation, a player join
 * needs a valid ticket: unknown, used or expired tickets are refused. Each ticket is single-use
 * (128 random bits, base64url) and expires after its TTL. Spectators and reconnects need none.
 */
export class SeatBook {
  private readonly reserved = new Map<string, Map<string, number>>();

  /**
   * Issues `count` tickets for `sessionId`, valid for `ttlMs`.
   * @returns the tickets and their expiry (ms since the epoch).
   */
  reserve(sessionId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number } {
    const expiresAt = Date.now() + ttlMs;
    let book = this.reserved.get(sessionId);
    if (!book) {
      book = new Map();
      this.reserved.set(sessionId, book);
    }
    const tickets: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = randomBytes(16).toString('base64url');
      book.set(t, expiresAt);
      tickets.push(t);
    }
    return { tickets, expiresAt };
  }

  /** Whether the session takes players by ticket only. */
  isReserved(sessionId: string): boolean {
    return this.reserved.has(sessionId);
  }

  /**
   * Admits a player join: `true` when the session is not reserved, or when `ticket` is valid
   * (it is consumed). Expired tickets are dropped on the way.
   */
  admit(sessionId: string, ticket: string): boolean {
    const book = this.reserved.get(sessionId);
    if (!book) return true;
    const now = Date.now();
    for (const [t, exp] of book) if (exp <= now) book.delete(t);
    const exp = ticket ? book.get(ticket) : undefined;
    if (exp === undefined) return false;
    book.delete(ticket);
    return true;
  }

  /** Forgets a session's reservation (it ended). */
  clear(sessionId: string): void {
    this.reserved.delete(sessionId);
  }
}
