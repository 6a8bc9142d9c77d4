/**
 * The read model: which instances are live, which rooms they hold, and the `FleetView` over them.
 * Every change to it emits the matching orchestrator event (`instance:*`, `room:*`, `sync`).
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'eventemitter3';
import type { AgentSnapshot, HelloFrame, InstanceCapacity, RoomSnapshot } from '@parlor/fleet-agent';
import type { Logger } from '../logger.js';
import type { Candidate } from '../placement/place.js';
import type { FleetStats, FleetView, InstanceInfo, OrchestratorEvents, RoomInfo, RoomQuery } from '../types.js';
import { labelsMatch } from '../validate.js';
import { InstanceRecord, type InstanceLink } from './instance.js';

/** How long an ended room is remembered for a late destroy (ms), and how many at most. */
const ENDED_MEMORY_MS = 10 * 60_000;
const ENDED_MAX = 10_000;

interface RoomEntry<L extends InstanceLink> {
  snap: RoomSnapshot;
  rec: InstanceRecord<L>;
}

/** The instances and rooms of the fleet. `L` is the connection type the records carry. */
export class Registry<L extends InstanceLink> {
  /** The read-only view served as `Orchestrator.fleet` and by the REST API. */
  readonly view: FleetView;
  private readonly instances = new Map<string, InstanceRecord<L>>();
  private readonly byProcessUid = new Map<string, InstanceRecord<L>>();
  private readonly roomIndex = new Map<string, RoomEntry<L>>();
  /** Rooms that left the read model lately (room id → when, ms since the epoch), for `alreadyGone`. */
  private readonly ended = new Map<string, number>();
  /**
   * Told when an instance reports a room id another instance already holds (the read model keeps
   * the first; the hub's reaper ends a later fleet copy).
   */
  onDuplicate: ((second: InstanceRecord<L>, snap: RoomSnapshot, first: InstanceRecord<L>) => void) | null = null;

  constructor(
    private readonly events: EventEmitter<OrchestratorEvents>,
    private readonly logger: Logger,
  ) {
    this.view = this.createView();
  }

  /** Live instances, in joining order. */
  all(): InstanceRecord<L>[] {
    return [...this.instances.values()];
  }

  /** A live instance by id or processUid. */
  find(idOrUid: string): InstanceRecord<L> | undefined {
    if (typeof idOrUid !== 'string') return undefined;
    return this.instances.get(idOrUid) ?? this.byProcessUid.get(idOrUid);
  }

  /** The live instance of a process. */
  byUid(processUid: string): InstanceRecord<L> | undefined {
    return this.byProcessUid.get(processUid);
  }

  /** A room and the instance that holds it. */
  room(roomId: string): { snap: RoomSnapshot; rec: InstanceRecord<L> } | undefined {
    return typeof roomId === 'string' ? this.roomIndex.get(roomId) : undefined;
  }

  /**
   * Adds an instance. Its id is derived from its processUid ({@link instanceIdOf}), so it is the
   * same across reconnects and across orchestrator restarts. The caller has removed any earlier
   * instance of the same process. Announce it with {@link joined}.
   */
  admit(hello: HelloFrame, link: L): InstanceRecord<L> {
    const id = instanceIdOf(hello.processUid);
    const rec = new InstanceRecord(id, hello, link);
    this.instances.set(id, rec);
    this.byProcessUid.set(hello.processUid, rec);
    return rec;
  }

  /** Emits `instance:join`. */
  joined(rec: InstanceRecord<L>): void {
    this.events.emit('instance:join', { instance: this.instanceInfo(rec) });
  }

  /** Removes an instance at once: its rooms vanish (`room:destroy` each), then `instance:leave`. */
  remove(rec: InstanceRecord<L>, reason: string): void {
    if (this.instances.get(rec.id) === rec) this.instances.delete(rec.id);
    if (this.byProcessUid.get(rec.hello.processUid) === rec) this.byProcessUid.delete(rec.hello.processUid);
    for (const r of rec.rooms.values()) this.unindexRoom(rec, r);
    const info = this.instanceInfo(rec);
    rec.rooms.clear();
    this.logger.info({ instance: rec.id, reason }, 'instance left');
    this.events.emit('instance:leave', { instance: info, reason });
  }

  /** Missed polls: no placements until it answers again. */
  markStale(rec: InstanceRecord<L>, missed: number): void {
    if (rec.stale) return;
    rec.stale = true;
    this.logger.warn({ instance: rec.id, missed }, 'instance stale');
    this.events.emit('instance:stale', { instance: this.instanceInfo(rec) });
  }

  /** It answered a poll again. */
  markFresh(rec: InstanceRecord<L>): void {
    if (!rec.stale) return;
    rec.stale = false;
    this.logger.info({ instance: rec.id }, 'instance recovered');
  }

  /**
   * Whether its last full snapshot was accepted (emits `instance:update` on a change): a refused
   * one keeps the last good state and marks it `snapshot-refused`, out of placement.
   */
  setSnapshotRefused(rec: InstanceRecord<L>, refused: boolean, problem?: string): void {
    if (rec.snapshotRefused === refused) return;
    rec.snapshotRefused = refused;
    if (refused) this.logger.warn({ instance: rec.id, problem }, 'instance marked snapshot-refused: out of placement');
    else this.logger.info({ instance: rec.id }, 'instance snapshots accepted again');
    this.events.emit('instance:update', { instance: this.instanceInfo(rec) });
  }

  /** Drain status (emits `instance:update` on a change). */
  setDraining(rec: InstanceRecord<L>, draining: boolean): void {
    if (rec.draining === draining) return;
    rec.draining = draining;
    this.events.emit('instance:update', { instance: this.instanceInfo(rec) });
  }

  /** Whether some live instance has not answered its first poll yet (the read model is still filling). */
  pendingFirstPoll(): boolean {
    for (const rec of this.instances.values()) if (!rec.link.closed && rec.snapshots === 0) return true;
    return false;
  }

  /**
   * Replaces what an instance reports with a full (validated) snapshot; emits `sync`. A room
   * whose `clientCount` rose or fell since the last snapshot emits `player:join` / `player:leave`
   * with the difference (agents report counts, not who: the events are derived from consecutive
   * snapshots).
   */
  applySnapshot(rec: InstanceRecord<L>, s: AgentSnapshot): void {
    rec.snapshots++;
    rec.roomTypes = [...s.roomTypes];
    this.setDraining(rec, s.draining);
    const next = new Map<string, RoomSnapshot>();
    for (const r of s.rooms) next.set(r.roomId, r);
    for (const [id, old] of rec.rooms) {
      if (!next.has(id)) {
        rec.rooms.delete(id);
        this.unindexRoom(rec, old);
      }
    }
    let clients = 0;
    for (const [id, r] of next) {
      clients += r.clientCount;
      const had = rec.rooms.has(id);
      rec.rooms.set(id, r);
      if (!had) this.indexRoom(rec, r);
      else {
        const e = this.roomIndex.get(id);
        if (e && e.rec === rec) {
          const before = e.snap.clientCount;
          e.snap = r;
          if (r.clientCount !== before) this.playersChanged(rec, r, r.clientCount - before);
        }
      }
    }
    rec.clientCount = clients;
    this.events.emit('sync', { instanceId: rec.id, rooms: rec.rooms.size });
  }

  /** A room the instance acked creating (no-op when it already reports it). */
  addRoom(rec: InstanceRecord<L>, snap: RoomSnapshot): void {
    if (rec.rooms.has(snap.roomId)) return;
    rec.rooms.set(snap.roomId, snap);
    this.indexRoom(rec, snap);
  }

  /** A room the instance acked destroying. */
  removeRoom(rec: InstanceRecord<L>, roomId: string): void {
    const snap = rec.rooms.get(roomId);
    if (!snap) return;
    rec.rooms.delete(roomId);
    this.unindexRoom(rec, snap);
  }

  /** The live instances as placement sees them (joining order), each with its record. */
  candidates(): Array<Candidate & { rec: InstanceRecord<L> }> {
    const out: Array<Candidate & { rec: InstanceRecord<L> }> = [];
    for (const rec of this.instances.values()) {
      if (rec.link.closed) continue;
      out.push({
        id: rec.id,
        processUid: rec.hello.processUid,
        labels: rec.hello.labels,
        capacity: rec.hello.capacity,
        roomTypes: rec.roomTypes,
        squishVersions: rec.hello.squishVersions,
        rooms: rec.rooms.size + rec.pendingCreates,
        clients: rec.clientCount,
        inflight: rec.link.inflightCount,
        draining: rec.draining,
        stale: rec.stale || rec.snapshotRefused, // refused snapshots: out of placement like a stale instance
        rec,
      });
    }
    return out;
  }

  /** The public form of an instance. */
  instanceInfo(i: InstanceRecord<L>): InstanceInfo {
    return {
      id: i.id,
      processUid: i.hello.processUid,
      name: i.hello.name,
      endpointUrl: i.hello.endpointUrl,
      labels: { ...i.hello.labels },
      capacity: { ...i.hello.capacity },
      status: i.draining ? 'draining' : 'active',
      stale: i.stale,
      health: i.snapshotRefused ? 'snapshot-refused' : 'ok',
      roomTypes: [...i.roomTypes],
      // an agent older than fleet protocol 1.2 does not say: it encodes squish 1
      squishVersions: [...(i.hello.squishVersions ?? [1])],
      roomCount: i.rooms.size,
      clientCount: i.clientCount,
      inflight: i.link.inflightCount,
      connectedAt: i.connectedAt,
    };
  }

  /** The public form of a room. */
  roomInfo(i: InstanceRecord<L>, r: RoomSnapshot): RoomInfo {
    return {
      roomId: r.roomId,
      type: r.type,
      instanceId: i.id,
      processUid: i.hello.processUid,
      endpointUrl: i.hello.endpointUrl,
      joinUrl: `${i.hello.endpointUrl}/play/${encodeURIComponent(r.type)}/${encodeURIComponent(r.roomId)}`,
      clientCount: r.clientCount,
      metadata: r.metadata,
      provenance: r.provenance,
      createdAt: r.createdAt,
      ...(r.version !== undefined && { version: r.version }),
      ...(r.sha256 !== undefined && { sha256: r.sha256 }),
      ...(r.status !== undefined && { status: r.status, turn: r.turn ?? 0 }),
    };
  }

  private playersChanged(rec: InstanceRecord<L>, r: RoomSnapshot, delta: number): void {
    const e = { roomId: r.roomId, type: r.type, instanceId: rec.id, count: Math.abs(delta), clientCount: r.clientCount };
    if (delta > 0) this.events.emit('player:join', e);
    else this.events.emit('player:leave', e);
  }

  private indexRoom(rec: InstanceRecord<L>, r: RoomSnapshot): void {
    const existing = this.roomIndex.get(r.roomId);
    if (existing && existing.rec !== rec) {
      this.logger.warn({ room: r.roomId, game: r.type, first: existing.rec.id, second: rec.id }, 'room id on two instances, keeping the first');
      this.onDuplicate?.(rec, r, existing.rec);
      return;
    }
    this.roomIndex.set(r.roomId, { snap: r, rec });
    if (!existing) this.events.emit('room:create', { room: this.roomInfo(rec, r) });
  }

  private unindexRoom(rec: InstanceRecord<L>, r: RoomSnapshot): void {
    const e = this.roomIndex.get(r.roomId);
    if (!e || e.rec !== rec) return;
    this.roomIndex.delete(r.roomId);
    this.ended.delete(r.roomId);
    this.ended.set(r.roomId, Date.now());
    if (this.ended.size > ENDED_MAX) this.ended.delete(this.ended.keys().next().value as string);
    this.events.emit('room:destroy', { room: this.roomInfo(rec, r) });
  }

  /** Whether `roomId` left the read model within the last {@link ENDED_MEMORY_MS} and is not live again (a destroy of it is `alreadyGone`). */
  endedRecently(roomId: string): boolean {
    const at = this.ended.get(roomId);
    return at !== undefined && Date.now() - at <= ENDED_MEMORY_MS && !this.roomIndex.has(roomId);
  }

  private createView(): FleetView {
    const self = this;
    const live = (): InstanceRecord<L>[] => [...self.instances.values()];
    return {
      get stats(): FleetStats {
        const all = live();
        const cap: InstanceCapacity = { maxConnections: 0, maxRooms: 0 };
        let rooms = 0;
        let clients = 0;
        let inflight = 0;
        for (const i of all) {
          rooms += i.rooms.size;
          clients += i.clientCount;
          inflight += i.link.inflightCount;
          if (!i.stale) {
            cap.maxConnections += i.hello.capacity.maxConnections;
            cap.maxRooms += i.hello.capacity.maxRooms;
          }
        }
        return {
          instances: all.length,
          activeInstances: all.filter((i) => !i.draining && !i.stale).length,
          drainingInstances: all.filter((i) => i.draining).length,
          staleInstances: all.filter((i) => i.stale).length,
          rooms,
          clients,
          capacity: cap,
          inflight,
        };
      },
      get instances(): InstanceInfo[] {
        return live()
          .map((i) => self.instanceInfo(i))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
      },
      get rooms(): RoomInfo[] {
        return this.findRooms();
      },
      getInstance(id: string): InstanceInfo | undefined {
        const i = self.find(id);
        return i ? self.instanceInfo(i) : undefined;
      },
      getRoom(roomId: string): RoomInfo | undefined {
        const e = self.roomIndex.get(roomId);
        return e ? self.roomInfo(e.rec, e.snap) : undefined;
      },
      findRooms(q: RoomQuery = {}): RoomInfo[] {
        const out: RoomInfo[] = [];
        for (const e of self.roomIndex.values()) {
          if (q.type !== undefined && e.snap.type !== q.type) continue;
          if (q.instanceId !== undefined && e.rec.id !== q.instanceId && e.rec.hello.processUid !== q.instanceId) continue;
          if (q.labels && !labelsMatch(e.rec.hello.labels, q.labels)) continue;
          out.push(self.roomInfo(e.rec, e.snap));
        }
        return out.sort((a, b) => (a.roomId < b.roomId ? -1 : 1));
      },
    };
  }
}

/**
 * The instance id of a process: `i-` + the first 12 hex digits of the SHA-256 of its processUid
 * (48 bits: a clash among a fleet's live processes is vanishingly unlikely). Stable across
 * reconnects and orchestrator restarts, and reveals nothing of the processUid.
 */
export function instanceIdOf(processUid: string): string {
  return `i-${createHash('sha256').update(processUid, 'utf8').digest('hex').slice(0, 12)}`;
}
