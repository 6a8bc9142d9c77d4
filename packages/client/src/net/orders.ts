/**
 * Orders of a turn-based game, the client's side: turning an order into the wire's JSON text,
 * numbering orders, and settling each caller's promise with the server's `orderResult` (or a
 * typed error when the socket goes before the answer). Owned by a {@link Connection}; no socket
 * state of its own.
 */
import { ORDER_LIMITS, type OrderResultMessage } from '@parlor/squish';
import { ClientError, ClientErrorCode } from '../errors.js';

/**
 * The server's answer to an order: an `orderResult` message without its `type`.
 * - `accepted: true`: the order is applied AND stored durably (it survives a host crash); `code`
 *   and `message` are `''`, `turn` is the turn it counts for.
 * - `accepted: false`: refused without closing the socket; `code` is a `RefusalCode` value of
 *   `@parlor/squish` (`GAME_PAUSED`, `TURN_ALREADY_CLOSED`, `ORDER_REJECTED` with the game's own
 *   `message`, `ORDER_INVALID`, `NOT_TURN_BASED`, `GAME_FINISHED`, `SPECTATOR`, `NOT_STORED`),
 *   `turn` the room's open turn.
 * - `id`: the order's id on its connection (1…2^32-1), or 0 for a refused input or an order the
 *   game made from a click.
 */
export type OrderResult = Omit<OrderResultMessage, 'type'>;

/** Largest order id on the wire (2^32-1); ids wrap to 1 after it. */
const MAX_ORDER_ID = 0xffffffff;

/**
 * An order as the wire carries it: `JSON.stringify(order)`, at most {@link ORDER_LIMITS}.bytes
 * UTF-8 bytes.
 * @throws {ClientError} `CLIENT_ORDER_INVALID` when the order has no JSON text (`undefined`, a
 *   function, a cycle, a BigInt) or its text is over the cap
 */
export function orderText(order: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(order);
  } catch (err) {
    throw new ClientError(ClientErrorCode.ORDER_INVALID, `sendOrder: the order cannot be turned into JSON (${(err as Error)?.message ?? String(err)}); send plain objects, arrays, strings, numbers, booleans or null`, { cause: err });
  }
  if (typeof text !== 'string') throw new ClientError(ClientErrorCode.ORDER_INVALID, `sendOrder: the order (${typeof order}) has no JSON form; send plain objects, arrays, strings, numbers, booleans or null`);
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > ORDER_LIMITS.bytes) throw new ClientError(ClientErrorCode.ORDER_INVALID, `sendOrder: the order is ${bytes} bytes of JSON, over the ${ORDER_LIMITS.bytes}-byte cap (ORDER_LIMITS.bytes); send a smaller order`);
  return text;
}

interface Pending {
  resolve: (result: OrderResult) => void;
  reject: (error: ClientError) => void;
}

/**
 * The orders in flight on one connection: numbers them (1, 2, … wrapping after 2^32-1) and
 * settles each with its `orderResult`.
 */
export class OrderBook {
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  /** Orders sent and not answered yet. */
  get size(): number {
    return this.pending.size;
  }

  /** Takes the next id and a promise settled by {@link settle} or {@link failAll} for it. */
  open(): { id: number; result: Promise<OrderResult> } {
    let id = this.next;
    while (this.pending.has(id)) id = id >= MAX_ORDER_ID ? 1 : id + 1;
    this.next = id >= MAX_ORDER_ID ? 1 : id + 1;
    const result = new Promise<OrderResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    return { id, result };
  }

  /** Resolves the order `result.id` answers; `false` when none waits for it (id 0, or a stale id). */
  settle(result: OrderResult): boolean {
    const p = result.id === 0 ? undefined : this.pending.get(result.id);
    if (!p) return false;
    this.pending.delete(result.id);
    p.resolve(result);
    return true;
  }

  /** Rejects one order (it could not be sent). */
  fail(id: number, error: ClientError): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(error);
  }

  /**
   * Rejects every order in flight with `CLIENT_DISCONNECTED` (the socket went before their
   * answers: each may or may not have been applied).
   */
  failAll(why: string): void {
    const all = [...this.pending];
    this.pending.clear();
    for (const [id, p] of all) {
      p.reject(new ClientError(ClientErrorCode.DISCONNECTED, `sendOrder: the connection was lost (${why}) before the server answered order ${id}; it may or may not have been applied: look at the game after reconnecting before sending it again`));
    }
  }
}
