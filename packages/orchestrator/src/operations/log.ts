/**
 * The operation log: every lifecycle operation on a room (start, stop, pause, resume, restart,
 * patch, turn), recorded `queued` before it runs, then `running`, then `succeeded` or `failed`
 * with a stable error code and message, with its source (api, admin, schedule, agent, reconcile).
 * Durable (SQLite in the data dir, or the shared Postgres database of `--database-url`); queried
 * by room and by time. Follows the Galaxy backend's operation log.
 */
import type { Operation, OperationSource, OperationState, OperationKind } from '@parlor/squish';

/** What is known of an operation when it is queued. */
export interface QueueOperation {
  roomId: string;
  op: OperationKind;
  source: OperationSource;
  /** `{}` if none. */
  params?: Record<string, unknown>;
  /** The room's game, `''` if unknown yet. */
  game?: string;
  version?: string | null;
  instanceId?: string | null;
  /** The caller (key name or fingerprint), `''` if unknown. */
  actor?: string;
}

/** Filters of {@link OperationLog.list}. */
export interface OperationQuery {
  roomId?: string;
  state?: OperationState;
  op?: OperationKind;
  /** Who asked (`autoscaler` for the fleet's scale-ups, scale-downs and drains). */
  source?: OperationSource;
  /** Created at or after, ms since the epoch. */
  since?: number;
  /** Created before, ms since the epoch. */
  until?: number;
  /** Page size, 1–500; default 100. Newest first. */
  limit?: number;
  /** Cursor: only operations whose id sorts before this one (the last id of the previous page). */
  before?: string;
}

/**
 * The operation log's store. Every write is durable when its promise resolves.
 * A transition that is not allowed (`succeeded` → `running`, an unknown id) rejects with an Error.
 */
export interface OperationLog {
  /** Records a new operation `queued`. */
  queue(input: QueueOperation): Promise<Operation>;
  /** `queued` → `running` (with the instance that runs it, if known now). */
  start(id: string, instanceId?: string | null): Promise<Operation>;
  /** → `succeeded`, updating the version / instance the room has after it. */
  succeed(id: string, after?: { version?: string | null; instanceId?: string | null; game?: string }): Promise<Operation>;
  /** → `failed` with a stable code and a one-line message. */
  fail(id: string, code: string, message: string): Promise<Operation>;
  /** One operation. */
  get(id: string): Promise<Operation | undefined>;
  /** Operations matching the query, newest first. */
  list(query?: OperationQuery): Promise<Operation[]>;
  /**
   * Called once at open: operations a previous process left `queued` or `running` (it crashed
   * between recording and finishing them) are marked `failed` with code `INTERRUPTED`, so none is
   * silently dropped; returns them. Operations queued by another process still alive are left to
   * it: on SQLite one on this host sharing the data folder, on Postgres any orchestrator holding
   * its owner lock on the database.
   */
  recoverInterrupted(): Promise<Operation[]>;
  /** Closes the store. Idempotent. */
  close(): Promise<void>;
}
