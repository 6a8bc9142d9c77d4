/**
 * What the SQLite and the Postgres operation logs share: the row shape of the `operations` table
 * (same columns in both), its mapping to an {@link Operation}, the time-sortable ids, and the
 * constants of the log's contract.
 */
import { randomBytes } from 'node:crypto';
import type { Operation, OperationKind, OperationSource, OperationState } from '@parlor/squish';

/** The code and message a crashed process's unfinished operations are failed with. */
export const INTERRUPTED = {
  code: 'INTERRUPTED',
  message: "the orchestrator stopped before this operation finished; check the room's state",
} as const;

/** Default and largest page of {@link OperationLog.list}. */
export const OPERATION_PAGE = { default: 100, max: 500 } as const;

/** One row of the `operations` table. */
export interface OperationRow {
  id: string;
  room_id: string;
  op: OperationKind;
  source: OperationSource;
  state: OperationState;
  params: string;
  game: string;
  version: string | null;
  instance_id: string | null;
  actor: string;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
}

/** A row as the {@link Operation} the API answers with. */
export const toOperation = (r: OperationRow): Operation => ({
  id: r.id,
  roomId: r.room_id,
  op: r.op,
  source: r.source,
  state: r.state,
  params: JSON.parse(r.params) as Record<string, unknown>,
  game: r.game,
  version: r.version,
  instanceId: r.instance_id,
  actor: r.actor,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The columns of {@link OperationRow}, in its order, for SELECTs. */
export const OPERATION_COLS = 'id, room_id, op, source, state, params, game, version, instance_id, actor, error_code, error_message, created_at, updated_at';

/**
 * Time-sortable operation ids, `op_<13-digit ms>_<4-digit sequence>_<8 hex>`: each sorts after every
 * id this generator made before (the clock never goes back here), and the random tail keeps ids
 * of several processes on one log apart.
 */
export class OperationIds {
  private lastMs = 0;
  private seq = 0;

  /** A new id for an operation created at `at` (ms since the epoch). */
  next(at: number): string {
    const ms = Math.max(at, this.lastMs);
    this.seq = ms === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = ms;
    return `op_${String(ms).padStart(13, '0')}_${String(this.seq % 10_000).padStart(4, '0')}_${randomBytes(4).toString('hex')}`;
  }
}
