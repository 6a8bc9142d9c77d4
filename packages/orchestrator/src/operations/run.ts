/**
 * Running a lifecycle operation through the {@link OperationLog}: recorded `queued` (durable)
 * before anything is done, `running` while it runs, then `succeeded` or `failed` with the thrown
 * error's stable code, so the log shows every operation asked for, whatever became of it.
 */
import { ParlorError, type Operation, type RoomState } from '@parlor/squish';
import type { OperationLog, QueueOperation } from './log.js';

/** What an operation's work reports when it succeeds: the room after it (every field optional). */
export interface OperationOutcome {
  /** The version the room runs after the operation (`null`: served from source). */
  version?: string | null;
  /** The instance that ran it. */
  instanceId?: string | null;
  /** The room's game (slug), when it was not known at queue time. */
  game?: string;
  /** The room's state after the operation (`null`: the room is gone, after a stop). */
  state?: RoomState | null;
}

/** The answer of {@link runOperation}: the finished (`succeeded`) operation and what the work returned. */
export interface OperationRun<R> {
  operation: Operation;
  result: R;
}

/** Called once with each operation that reached `succeeded` or `failed` (the orchestrator emits `'operation:finished'`). */
export type OperationFinished = (operation: Operation) => void;

/** Code recorded for a failure whose error has no stable code. */
export const INTERNAL_OPERATION_CODE = 'INTERNAL';

/** Longest error message recorded, characters (longer ones are cut with `…`). */
export const MAX_OPERATION_MESSAGE = 500;

const failedOps = new WeakMap<object, Operation>();

/**
 * Runs `fn` as an operation: queues `input` (durable when this returns to the event loop), marks
 * it `running` (with `input.instanceId`), calls `fn(operation)`, then marks it `succeeded` with
 * the version / instance / game `fn` reported, or `failed` with the error's code and one-line
 * message (see {@link operationErrorCode}); `onFinished` gets the finished operation either way
 * (its own exceptions are ignored).
 * @returns the succeeded operation and `fn`'s result.
 * @throws whatever `fn` threw, unchanged, after the failure is recorded ({@link failedOperation}
 *   gives the recorded operation from that error); an error of the log itself (the store cannot
 *   write): if `queue` failed nothing ran; if a later write failed, the operation is left
 *   `queued`/`running` and the next open's `recoverInterrupted()` marks it `INTERRUPTED`.
 */
export async function runOperation<R extends OperationOutcome>(
  log: OperationLog,
  input: QueueOperation,
  fn: (operation: Operation) => Promise<R>,
  onFinished?: OperationFinished,
): Promise<OperationRun<R>> {
  const queued = await log.queue(input);
  let result: R;
  let running: Operation;
  try {
    running = await log.start(queued.id, input.instanceId ?? null);
    result = await fn(running);
  } catch (err) {
    await recordFailure(log, queued.id, err, onFinished);
    throw err;
  }
  const after: { version?: string | null; instanceId?: string | null; game?: string } = {};
  if (result && result.version !== undefined) after.version = result.version;
  if (result && result.instanceId !== undefined) after.instanceId = result.instanceId;
  if (result && result.game !== undefined) after.game = result.game;
  const operation = await log.succeed(queued.id, after);
  notify(onFinished, operation);
  return { operation, result };
}

/**
 * Records an operation that finished at once (the host did it by itself, a refusal decided before
 * anything ran…): queued, running and then `succeeded` (with `outcome`) or `failed` (with `error`:
 * a thrown error, or a stable code and message), each transition written. `onFinished` gets it.
 * @returns the finished operation.
 * @throws an error of the log itself (the store cannot write).
 */
export async function recordOperation(
  log: OperationLog,
  input: QueueOperation,
  end: { outcome?: OperationOutcome; error?: unknown } | { code: string; message: string },
  onFinished?: OperationFinished,
): Promise<Operation> {
  const queued = await log.queue(input);
  await log.start(queued.id, input.instanceId ?? null);
  let operation: Operation;
  if ('code' in end) operation = await log.fail(queued.id, end.code, oneLine(end.message));
  else if (end.error !== undefined) operation = await log.fail(queued.id, operationErrorCode(end.error), operationErrorMessage(end.error));
  else {
    const o = end.outcome ?? {};
    operation = await log.succeed(queued.id, {
      ...(o.version !== undefined ? { version: o.version } : {}),
      ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}),
      ...(o.game !== undefined ? { game: o.game } : {}),
    });
  }
  notify(onFinished, operation);
  return operation;
}

/** The failed operation {@link runOperation} recorded for an error it rethrew; `undefined` for any other error. */
export function failedOperation(err: unknown): Operation | undefined {
  return typeof err === 'object' && err !== null ? failedOps.get(err) : undefined;
}

/**
 * The stable code recorded for a failure: a `ParlorError`'s `code` (`ROOM_NOT_FOUND`,
 * `PATCH_SEMVER_INCOMPATIBLE`, `COMMAND_TIMEOUT`, `SERVER_ROOM_NOT_FOUND`, …), else
 * {@link INTERNAL_OPERATION_CODE}.
 */
export function operationErrorCode(err: unknown): string {
  return err instanceof ParlorError && typeof err.code === 'string' && err.code !== '' ? err.code : INTERNAL_OPERATION_CODE;
}

/** The one-line message recorded for a failure (whitespace runs folded, at most {@link MAX_OPERATION_MESSAGE} characters). */
export function operationErrorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);
  return oneLine(m || (err instanceof Error ? err.name : 'unknown error'));
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > MAX_OPERATION_MESSAGE ? `${line.slice(0, MAX_OPERATION_MESSAGE - 1)}…` : line;
}

async function recordFailure(log: OperationLog, id: string, err: unknown, onFinished: OperationFinished | undefined): Promise<void> {
  let failed: Operation;
  try {
    failed = await log.fail(id, operationErrorCode(err), operationErrorMessage(err));
  } catch {
    // The store cannot write: the caller gets the operation's own error; the row stays
    // queued/running and the next open's recoverInterrupted() marks it INTERRUPTED.
    return;
  }
  if (typeof err === 'object' && err !== null) failedOps.set(err, failed);
  notify(onFinished, failed);
}

function notify(onFinished: OperationFinished | undefined, operation: Operation): void {
  if (!onFinished) return;
  try {
    onFinished(operation);
  } catch {
    // a listener's failure is not the operation's
  }
}
