/**
 * The create ledger: every `createRoom` sent to an agent, from the send until its outcome is known,
 * so a roomId is never placed twice and a retry learns what happened to the first attempt.
 *
 * A create's outcome is known from its ack (in time or late), or, when its caller was answered
 * without one (`COMMAND_TIMEOUT`, `INSTANCE_DISCONNECTED`), from the agent's own account:
 * - a state of the same session answering a poll sent after the command: the agent reads frames
 *   in order, so it has run the command (the room is in `rooms`, or still in `creating`) or
 *   refused it (`COMMAND_EXPIRED`, `STALE_SESSION`, a host error: absent from both);
 * - the first state of a later session of the same process: every command of the old session was
 *   refused or started before the old socket closed (the agent opens a new one only after that);
 * - the process not coming back within {@link CREATE_OUTCOME_HOLD_MS}: whatever it held is gone with it.
 * Until then the roomId stays reserved: a create of the same id and type waits for the outcome
 * (and returns the room if it was made); any other create of that id gets `ROOM_EXISTS`.
 */
import type { AckFrame, RoomSnapshot } from '@parlor/fleet-agent';
import { FleetCause, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InstanceRecord } from '../registry/instance.js';
import type { AgentConnection } from './connection.js';

type Instance = InstanceRecord<AgentConnection>;

/** How long a create whose instance left without an answer stays reserved if the process does not return (ms). */
export const CREATE_OUTCOME_HOLD_MS = 60_000;
/** How long the outcome of a create whose caller was not told it is remembered for a retry (ms). */
const RESOLVED_MEMORY_MS = 10 * 60_000;
const RESOLVED_MAX = 10_000;

/** What became of a create. */
export type CreateOutcome = { created: true } | { created: false; why: string };

interface Entry {
  readonly roomId: string;
  readonly type: string;
  readonly uid: string;
  readonly session: string;
  /** When the command was sent (`performance.now()`). */
  readonly sentAt: number;
  /** Its caller was answered without knowing the outcome. */
  answered: boolean;
  hold: ReturnType<typeof setTimeout> | null;
  readonly waiters: Array<(o: CreateOutcome) => void>;
}

/** The creates in flight or with an unknown outcome, by roomId. */
export class CreateLedger {
  private readonly pending = new Map<string, Entry>();
  /** Outcomes of creates whose caller was answered before them (a retry after a 504 gets the room). */
  private readonly resolved = new Map<string, { type: string; created: boolean; at: number }>();

  constructor(
    private readonly room: (roomId: string) => { snap: RoomSnapshot; rec: Instance } | undefined,
    private readonly waitMs: number,
    private readonly logger: Logger,
  ) {}

  /** Whether a create of `roomId` is in flight or has an unknown outcome (the id is reserved). */
  has(roomId: string): boolean {
    return this.pending.has(roomId);
  }

  /**
   * What an earlier create of `roomId` with this `type` came to, for a retry: the room when it was
   * made and is live; `null` when there is none to return (no earlier create whose caller was left
   * without its outcome, a create still in flight for its own caller, another type, or it was not
   * made: the caller then creates as usual, `ROOM_EXISTS` included). Waits up to the command
   * timeout for an outcome still unknown.
   * @throws {OrchestratorError} `COMMAND_TIMEOUT` when the earlier outcome is still unknown (the id stays reserved).
   */
  async earlierOutcome(roomId: string, type: string): Promise<{ snap: RoomSnapshot; rec: Instance } | null> {
    const e = this.pending.get(roomId);
    if (e) {
      if (!e.answered || e.type !== type) return null;
      const o = await this.wait(e);
      if (!o) throw new OrchestratorError(FleetCause.COMMAND_TIMEOUT, `the earlier create of room ${roomId} has no known outcome yet (its instance has not answered); the id stays reserved: retry later`);
      if (!o.created) return null;
    } else {
      const r = this.resolved.get(roomId);
      if (!r || !r.created || r.type !== type || Date.now() - r.at > RESOLVED_MEMORY_MS) return null;
    }
    const live = this.room(roomId);
    return live && live.snap.type === type ? live : null;
  }

  /**
   * Records a create sent by `send` (which must send at once) and settles it from its ack; a
   * `COMMAND_TIMEOUT` or `INSTANCE_DISCONNECTED` after the send leaves it undecided (reserved)
   * until the agent's account settles it. Rethrows what `send` throws.
   */
  async track(rec: Instance, roomId: string, type: string, send: () => Promise<AckFrame>): Promise<AckFrame> {
    const conn = rec.link;
    const sent = !conn.closed;
    const e: Entry = { roomId, type, uid: rec.hello.processUid, session: conn.session, sentAt: performance.now(), answered: false, hold: null, waiters: [] };
    this.pending.set(roomId, e);
    let ack: AckFrame;
    try {
      ack = await send();
    } catch (err) {
      const code = (err as OrchestratorError)?.code;
      if (sent && this.pending.get(roomId) === e && (code === FleetCause.COMMAND_TIMEOUT || code === FleetCause.INSTANCE_DISCONNECTED)) {
        e.answered = true;
        this.logger.warn({ room: roomId, instance: rec.id, cause: code }, 'create outcome unknown: room id reserved until the agent tells');
        if (conn.closed && !e.hold) this.startHold(e);
      } else this.settle(e, { created: false, why: String(code) });
      throw err;
    }
    this.settle(e, ack.ok ? { created: true } : { created: false, why: ack.error?.code ?? 'refused' });
    return ack;
  }

  /** A late ack of a create: its outcome. */
  lateAck(rec: Instance, roomId: string, ack: AckFrame): void {
    const e = this.pending.get(roomId);
    if (!e || e.uid !== rec.hello.processUid) return;
    this.settle(e, ack.ok === true ? { created: true } : { created: false, why: ack.error?.code ?? 'refused' });
  }

  /**
   * The instance answered a poll sent at `pollSentAt` (`performance.now()`) and its state is now
   * `rec.rooms` (+ `creating`): settles every undecided create to it that this state proves.
   */
  observe(rec: Instance, pollSentAt: number, creating: ReadonlySet<string>): void {
    if (this.pending.size === 0) return;
    const conn = rec.link;
    for (const e of [...this.pending.values()]) {
      if (!e.answered || e.uid !== rec.hello.processUid) continue;
      if (rec.rooms.has(e.roomId)) {
        this.settle(e, { created: true });
        continue;
      }
      if (e.session === conn.session && pollSentAt <= e.sentAt) continue; // this state may predate the command
      if (creating.has(e.roomId) || !conn.reportsCreating) continue;
      this.settle(e, { created: false, why: 'absent from the agent state' });
    }
  }

  /** The instance left: its undecided creates are held until it returns or {@link CREATE_OUTCOME_HOLD_MS} passes. */
  instanceGone(rec: Instance): void {
    for (const e of this.pending.values()) if (e.uid === rec.hello.processUid && e.answered && !e.hold) this.startHold(e);
  }

  private startHold(e: Entry): void {
    e.hold = setTimeout(() => this.settle(e, { created: false, why: `its instance did not return within ${CREATE_OUTCOME_HOLD_MS} ms` }), CREATE_OUTCOME_HOLD_MS);
    e.hold.unref?.();
  }

  private settle(e: Entry, o: CreateOutcome): void {
    if (this.pending.get(e.roomId) !== e) return;
    this.pending.delete(e.roomId);
    if (e.hold) clearTimeout(e.hold);
    if (e.answered) {
      this.logger.info({ room: e.roomId, created: o.created, why: o.created ? undefined : o.why }, 'create outcome known');
      this.resolved.delete(e.roomId);
      this.resolved.set(e.roomId, { type: e.type, created: o.created, at: Date.now() });
      if (this.resolved.size > RESOLVED_MAX) this.resolved.delete(this.resolved.keys().next().value as string);
    }
    for (const w of e.waiters.splice(0)) w(o);
  }

  private wait(e: Entry): Promise<CreateOutcome | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = e.waiters.indexOf(done);
        if (i >= 0) e.waiters.splice(i, 1);
        resolve(null);
      }, this.waitMs);
      const done = (o: CreateOutcome): void => {
        clearTimeout(t);
        resolve(o);
      };
      e.waiters.push(done);
    });
  }
}
