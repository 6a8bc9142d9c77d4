/**
 * The command RPC to agents: correlation ids, one deadline per command, acks, and what happens to
 * an ack that arrives after its deadline (remembered, so a late `createRoom` can still be
 * reconciled; anything else unknown is a protocol error).
 */
import { FleetAckCode, type AckFrame, type CmdFrame, type CommandOp, type FleetFrame } from '@parlor/fleet-agent';
import { FleetCause, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InstanceLink, InstanceRecord } from '../registry/instance.js';

/** A command sent and not yet acked. */
export interface PendingCommand {
  id: number;
  op: CommandOp;
  roomId?: string;
  resolve: (ack: AckFrame) => void;
  reject: (err: OrchestratorError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** When it was sent (`performance.now()`, ms). */
  sentAt: number;
}

/** How a command ended: acked ok, acked refused, no ack in time, or its instance left first. */
export type CommandOutcome = 'ok' | 'refused' | 'timeout' | 'disconnected';

/** A connection commands can go over; its `inflight` map is written only by {@link CommandRpc}. */
export interface CommandChannel extends InstanceLink {
  readonly inflight: Map<number, PendingCommand>;
  /** The connection's epoch ({@link CmdFrame.session}). */
  readonly session: string;
  send(frame: FleetFrame): void;
}

/** A command whose deadline passed before its ack. */
export interface LateCommand {
  op: CommandOp;
  roomId?: string;
}

/** Outcome of {@link CommandRpc.settle}. */
export type Settled = { kind: 'acked' } | ({ kind: 'late' } & LateCommand) | { kind: 'unknown' };

/** Sends commands and matches acks to them. */
export class CommandRpc {
  private nextId = 1;
  private readonly late = new Map<string, LateCommand>();
  /** Told of every command as it ends, with its round trip (ms): the command latency metric. */
  observer: ((op: CommandOp, outcome: CommandOutcome, ms: number) => void) | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends a command; resolves with its ack (ok or not).
   * @param timeoutMs its deadline (ms); default the orchestrator's `commandTimeoutMs`.
   * @throws {OrchestratorError} `INSTANCE_DISCONNECTED` (closed now or before the ack), `COMMAND_TIMEOUT`.
   */
  send(rec: InstanceRecord<CommandChannel>, cmd: Omit<CmdFrame, 't' | 'id'>, timeoutMs: number = this.timeoutMs): Promise<AckFrame> {
    const ch = rec.link;
    if (ch.closed) return Promise.reject(new OrchestratorError(FleetCause.INSTANCE_DISCONNECTED, `instance ${rec.id} disconnected`));
    const id = this.nextId++;
    return new Promise<AckFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        ch.inflight.delete(id);
        this.observer?.(cmd.op, 'timeout', timeoutMs);
        this.rememberLate(rec, id, { op: cmd.op, roomId: cmd.roomId });
        this.logger.child({ instance: rec.id, room: cmd.roomId, game: cmd.type }).warn({ cmd: id, op: cmd.op, ms: timeoutMs }, 'command timed out');
        reject(new OrchestratorError(FleetCause.COMMAND_TIMEOUT, `no ack from ${rec.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      ch.inflight.set(id, { id, op: cmd.op, roomId: cmd.roomId, resolve, reject, timer, sentAt: performance.now() });
      // The deadline travels with the command: an agent that reads it later (stopped, wedged) refuses it.
      ch.send({ t: 'cmd', id, ...cmd, session: ch.session, now: performance.now(), expiresInMs: timeoutMs });
    });
  }

  /** Matches an ack to its command: resolves it, or reports it late (logged) or unknown. */
  settle(rec: InstanceRecord<CommandChannel>, f: AckFrame): Settled {
    const p = typeof f.id === 'number' ? rec.link.inflight.get(f.id) : undefined;
    if (!p) {
      const key = `${rec.hello.processUid}:${String(f.id)}`;
      const late = this.late.get(key);
      if (!late) return { kind: 'unknown' };
      this.late.delete(key);
      this.logger.child({ instance: rec.id, room: late.roomId }).warn({ cmd: f.id, op: late.op, ok: f.ok }, 'late ack ignored');
      return { kind: 'late', ...late };
    }
    rec.link.inflight.delete(f.id);
    clearTimeout(p.timer);
    this.observer?.(p.op, f.ok === true ? 'ok' : 'refused', performance.now() - p.sentAt);
    p.resolve({ t: 'ack', id: f.id, ok: f.ok === true, error: f.error, room: f.room, tickets: f.tickets, expiresAt: f.expiresAt, alreadyGone: f.alreadyGone === true, state: f.state, version: f.version });
    return { kind: 'acked' };
  }

  /** Rejects every command in flight to an instance that left, with `INSTANCE_DISCONNECTED`. */
  rejectAll(rec: InstanceRecord<CommandChannel>, reason: string): void {
    for (const p of rec.link.inflight.values()) {
      clearTimeout(p.timer);
      this.observer?.(p.op, 'disconnected', performance.now() - p.sentAt);
      p.reject(new OrchestratorError(FleetCause.INSTANCE_DISCONNECTED, `instance ${rec.id} disconnected before acking (${reason})`));
    }
    rec.link.inflight.clear();
  }

  private rememberLate(rec: InstanceRecord<CommandChannel>, id: number, c: LateCommand): void {
    this.late.set(`${rec.hello.processUid}:${id}`, c);
    if (this.late.size > 10_000) this.late.delete(this.late.keys().next().value as string);
  }
}

/**
 * The error of a refused ack: the agent's `ROOM_EXISTS`, `ROOM_FULL` and `INSTANCE_DRAINING` ({@link FleetAckCode})
 * become those causes; any other code is `COMMAND_FAILED` with the code kept as `agentCode`.
 */
export function ackError(ack: AckFrame): OrchestratorError {
  const code = typeof ack.error?.code === 'string' ? ack.error.code.slice(0, 64) : 'UNKNOWN';
  const message = typeof ack.error?.message === 'string' ? ack.error.message.slice(0, 500) : 'command failed';
  if (code === FleetAckCode.ROOM_EXISTS) return new OrchestratorError(FleetCause.ROOM_EXISTS, message);
  if (code === FleetAckCode.ROOM_FULL) return new OrchestratorError(FleetCause.ROOM_FULL, message);
  if (code === FleetAckCode.INSTANCE_DRAINING) return new OrchestratorError(FleetCause.INSTANCE_DRAINING, message);
  return new OrchestratorError(FleetCause.COMMAND_FAILED, `agent: ${message} [${code}]`, { agentCode: code });
}
