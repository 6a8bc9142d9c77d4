/**
 * Which facts become webhook notifications, with their payloads (snake_case, as the Galaxy seed)
 * and idempotency keys (equal for the same fact, so a replayed event or a retried operation
 * notifies once per URL):
 * - room event `turn.ready` → `game.turn.ready` `{ game_id, turn }`, key `turn-ready:<room>:<turn>`;
 * - room event `room.paused` → `game.paused` `{ game_id, turn, reason }`, key
 *   `paused:<room>:<turn>:<first 16 hex of sha256(reason)>`;
 * - room event `room.ended` with a result → `game.finished` `{ game_id, result }`, key `finished:<room>`;
 * - a failed `start` operation (the log's `operation:finished`, or a host's `operation.finished`
 *   room event) → `runtime.config_invalid` when its code is `VALIDATION` or `BAD_OPTIONS`, else
 *   `runtime.start_failed`, `{ game_id, game, error, code, operation_id }`, key
 *   `<start-failed|config-invalid>:<room>:<operation id>`.
 */
import { createHash } from 'node:crypto';
import type { NotificationKind, Operation, RoomEvent } from '@parlor/squish';

/** A notification before it has an id and a time (the outbox gives them). */
export interface NotificationFact {
  kind: NotificationKind;
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/** Error codes of a start whose configuration is invalid (`runtime.config_invalid`); any other failed start is `runtime.start_failed`. */
export const CONFIG_INVALID_CODES: readonly string[] = ['VALIDATION', 'BAD_OPTIONS'];

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** The notification a room event makes, or `null` for the events webhooks do not carry. */
export function notificationOfRoomEvent(event: RoomEvent): NotificationFact | null {
  switch (event.kind) {
    case 'turn.ready':
      return { kind: 'game.turn.ready', idempotencyKey: `turn-ready:${event.roomId}:${event.turn}`, payload: { game_id: event.roomId, turn: event.turn } };
    case 'room.paused':
      return {
        kind: 'game.paused',
        idempotencyKey: `paused:${event.roomId}:${event.turn}:${shortHash(event.reason)}`,
        payload: { game_id: event.roomId, turn: event.turn, reason: event.reason },
      };
    case 'room.ended':
      return event.result ? { kind: 'game.finished', idempotencyKey: `finished:${event.roomId}`, payload: { game_id: event.roomId, result: event.result } } : null;
    case 'operation.finished':
      return notificationOfOperation(event.operation);
    default:
      return null;
  }
}

/** The notification a finished operation makes (a failed `start`), or `null`. */
export function notificationOfOperation(operation: Operation): NotificationFact | null {
  if (operation.op !== 'start' || operation.state !== 'failed') return null;
  const code = operation.errorCode ?? '';
  const invalid = CONFIG_INVALID_CODES.includes(code);
  return {
    kind: invalid ? 'runtime.config_invalid' : 'runtime.start_failed',
    idempotencyKey: `${invalid ? 'config-invalid' : 'start-failed'}:${operation.roomId}:${operation.id}`,
    payload: { game_id: operation.roomId, game: operation.game, error: operation.errorMessage ?? code, code, operation_id: operation.id },
  };
}
