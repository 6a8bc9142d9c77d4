/**
 * The room reaper: rooms the orchestrator removes on its own, retried until they are gone.
 * - Unjoined rooms: a room created through the orchestrator (provenance `fleet`) that no snapshot
 *   ever showed with a client, `unjoinedRoomTtlMs` after the orchestrator first saw it, is destroyed.
 * - Destroys that could not be sent or did not finish (`INSTANCE_BUSY` at the in-flight cap,
 *   `COMMAND_TIMEOUT`) are retried at every sweep until the room is gone from the read model (or its
 *   instance left, taking its rooms with it): a refused DELETE never leaks the room.
 * - A room id reported by two instances (a create that landed after its id was given up, e.g. an
 *   instance back after the create ledger gave its id up): the read model keeps the copy it knew first;
 *   the later copy is destroyed when it was created by the fleet, left alone when it is local (a
 *   player's own first join: not ours to end).
 * Sweeps run on the hub's poll timer; time is the orchestrator's own (`Date.now()`), never an agent's.
 */
import type { RoomSnapshot } from '@parlor/fleet-agent';
import { FleetCause, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InstanceRecord } from '../registry/instance.js';
import type { Registry } from '../registry/read-model.js';
import type { CommandRpc } from './commands.js';
import type { AgentConnection } from './connection.js';

type Instance = InstanceRecord<AgentConnection>;

/** Settings of the reaper. */
export interface ReaperOptions {
  /** Destroy fleet rooms nobody joined this long after they appeared (ms); 0 never. */
  unjoinedRoomTtlMs: number;
  /** The in-flight command cap per instance (a retry waits below it). */
  maxInflightPerInstance: number;
}

interface Watched {
  /** When the orchestrator first saw the room (ms since the epoch). */
  seenAt: number;
  joined: boolean;
}

/** Ends unjoined rooms and retries failed destroys. */
export class RoomReaper {
  /** Fleet rooms not joined yet, by instance id then room id. */
  private readonly watched = new Map<string, Map<string, Watched>>();
  /** Destroys to retry: room id → the instance it was on. */
  private readonly retrying = new Map<string, string>();
  private readonly sending = new Set<string>();
  /** Later copies of duplicated fleet rooms still to destroy: `instanceId:roomId` → their instance. */
  private readonly duplicates = new Map<string, Instance>();

  constructor(
    private readonly opts: ReaperOptions,
    private readonly registry: Registry<AgentConnection>,
    private readonly commands: CommandRpc,
    private readonly logger: Logger,
  ) {}

  /** Rooms whose destroy is being retried. */
  get pendingDestroys(): number {
    return this.retrying.size;
  }

  /**
   * Keeps retrying the destroy of `roomId` (on the instance that holds it now) at every sweep
   * until it is gone. No-op for a room not in the read model.
   */
  destroyLater(roomId: string, why: string): void {
    const e = this.registry.room(roomId);
    if (!e || this.retrying.has(roomId)) return;
    this.retrying.set(roomId, e.rec.id);
    this.logger.warn({ room: roomId, instance: e.rec.id, why }, 'destroy will be retried');
  }

  /** A room id the read model already holds on `first` was reported by `second` too. */
  duplicate(second: Instance, snap: RoomSnapshot, first: Instance): void {
    if (snap.provenance !== 'fleet') return;
    this.logger.warn({ room: snap.roomId, kept: first.id, destroyed: second.id }, 'second copy of a fleet room destroyed');
    this.duplicates.set(`${second.id}:${snap.roomId}`, second);
    void this.send(second, snap.roomId, 'duplicate');
  }

  /** An instance's state was applied: watch its new fleet rooms, note the ones with a client. */
  observe(rec: Instance, now = Date.now()): void {
    if (this.opts.unjoinedRoomTtlMs <= 0) return;
    let w = this.watched.get(rec.id);
    if (!w) this.watched.set(rec.id, (w = new Map()));
    for (const [roomId, snap] of rec.rooms) {
      let x = w.get(roomId);
      if (!x) {
        if (snap.provenance !== 'fleet') continue;
        w.set(roomId, (x = { seenAt: now, joined: false }));
      }
      if (snap.clientCount > 0) x.joined = true;
    }
    for (const roomId of w.keys()) if (!rec.rooms.has(roomId)) w.delete(roomId);
  }

  /** One pass: end the unjoined rooms past their TTL, retry failed destroys. */
  sweep(now = Date.now()): void {
    const ttl = this.opts.unjoinedRoomTtlMs;
    const live = new Set<string>();
    for (const rec of this.registry.all()) {
      live.add(rec.id);
      const w = this.watched.get(rec.id);
      if (ttl <= 0 || rec.link.closed || !w) continue;
      for (const [roomId, x] of w) {
        if (!x.joined && now - x.seenAt >= ttl && this.registry.room(roomId)?.rec === rec) {
          x.joined = true; // ended once: do not ask again (a failed destroy is retried below)
          this.logger.info({ room: roomId, instance: rec.id, ttlMs: ttl }, 'unjoined room ended');
          void this.send(rec, roomId, 'unjoined');
        }
      }
    }
    for (const id of this.watched.keys()) if (!live.has(id)) this.watched.delete(id);
    for (const [roomId, instanceId] of this.retrying) {
      const e = this.registry.room(roomId);
      if (!e || e.rec.id !== instanceId) {
        this.retrying.delete(roomId);
        continue;
      }
      void this.send(e.rec, roomId, 'retry');
    }
    for (const [key, rec] of this.duplicates) {
      const roomId = key.slice(rec.id.length + 1);
      if (rec.link.closed || !rec.rooms.has(roomId) || this.registry.room(roomId)?.rec === rec) this.duplicates.delete(key);
      else void this.send(rec, roomId, 'duplicate');
    }
  }

  /** Sends one destroy (below the in-flight cap); a failure queues a retry. */
  private async send(rec: Instance, roomId: string, why: string): Promise<void> {
    const key = `${rec.id}:${roomId}`;
    if (this.sending.has(key) || rec.link.closed) return;
    if (rec.link.inflightCount >= this.opts.maxInflightPerInstance) {
      this.retrying.set(roomId, rec.id);
      return;
    }
    this.sending.add(key);
    try {
      const ack = await this.commands.send(rec, { op: 'destroyRoom', roomId });
      if (!ack.ok) throw new OrchestratorError(FleetCause.COMMAND_FAILED, ack.error?.message ?? 'refused');
      this.retrying.delete(roomId);
      // the later copy of a duplicate is not in the read model: only remove what this instance holds
      if (this.registry.room(roomId)?.rec === rec) this.registry.removeRoom(rec, roomId);
    } catch (err) {
      if (!rec.link.closed && why !== 'duplicate') this.retrying.set(roomId, rec.id);
      this.logger.warn({ room: roomId, instance: rec.id, why, error: (err as Error).message }, 'destroy failed; retrying');
    } finally {
      this.sending.delete(key);
    }
  }
}
