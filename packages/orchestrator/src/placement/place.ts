/**
 * Placement: which instance takes a new room. A pure function of the request and the candidates
 * (no state, no I/O; `random` is passed in), so it can be reasoned about and tested on its own.
 */
import type { InstanceCapacity } from '@parlor/fleet-agent';
import type { ArtifactRef } from '@parlor/squish';
import { FleetCause, OrchestratorError } from '../errors.js';
import { labelsMatch } from '../validate.js';
import type { Placement } from '../types.js';

/** One live instance as placement sees it (a snapshot of the read model). */
export interface Candidate {
  readonly id: string;
  readonly processUid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly capacity: InstanceCapacity;
  /** Room types (game names) it serves from its own folders. */
  readonly roomTypes: readonly string[];
  /**
   * The squish versions its host encodes, or `undefined` for an agent older than fleet protocol
   * 1.2 (it cannot fetch artifacts, so it takes no catalog room).
   */
  readonly squishVersions?: readonly number[];
  /** Rooms it holds plus creates in flight to it. */
  readonly rooms: number;
  /** Clients in its rooms. */
  readonly clients: number;
  /** Commands in flight to it. */
  readonly inflight: number;
  readonly draining: boolean;
  readonly stale: boolean;
}

/** Limits placement applies besides the candidates' own capacity. */
export interface PlacementLimits {
  /** Commands in flight per instance at which it is busy (not placed on). */
  maxInflightPerInstance: number;
  /** Source of randomness of the `random` policy, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * Picks the instance for a room of `type`, or, with `artifact`, for a room of that catalog version
 * (`type` is then its slug). A pin (`instanceId` or `processUid`) narrows the pool
 * to that instance. Candidates that are stale, draining (unless `force`), without the type,
 * without every wanted label, full (rooms ≥ `maxRooms` or clients ≥ `maxConnections`) or busy are
 * skipped; for a catalog room, room types do not matter (an instance fetches the artifact) but
 * its host must encode the artifact's `squishVersion`. `least-loaded` (default) takes the lowest `max(clients / maxConnections, rooms /
 * maxRooms)`, then fewer rooms, then the smaller id; `most-loaded` the highest load, then more
 * rooms, then the smaller id; `random` any eligible one. One pass, O(candidates).
 * @throws {OrchestratorError} `INSTANCE_NOT_FOUND` or `INSTANCE_DRAINING` (pin), `INSTANCE_BUSY`
 *   (only busy candidates were left), `NO_CANDIDATE`.
 */
export function place<C extends Candidate>(type: string, p: Placement, candidates: readonly C[], limits: PlacementLimits, artifact?: ArtifactRef): C {
  let pool: readonly C[] = candidates;
  if (p.instanceId !== undefined || p.processUid !== undefined) {
    const pinned = p.instanceId !== undefined ? candidates.find((c) => c.id === p.instanceId) : candidates.find((c) => c.processUid === p.processUid);
    if (!pinned) throw new OrchestratorError(FleetCause.INSTANCE_NOT_FOUND, `no instance ${p.instanceId ?? p.processUid}`);
    if (pinned.draining && !p.force) throw new OrchestratorError(FleetCause.INSTANCE_DRAINING, `instance ${pinned.id} is draining (use placement.force)`);
    pool = [pinned];
  }
  const policy = p.policy ?? 'least-loaded';
  const random = limits.random ?? Math.random;
  const sign = policy === 'most-loaded' ? -1 : 1;
  let busy = 0;
  let seen = 0;
  let encodes = 0;
  let best: C | null = null;
  let bestLoad = 0;
  let bestRooms = 0;
  for (const c of pool) {
    if (c.stale || (c.draining && !p.force)) continue;
    if (artifact ? !c.squishVersions?.includes(artifact.squishVersion) : !c.roomTypes.includes(type)) continue;
    encodes++;
    if (p.labels && !labelsMatch(c.labels, p.labels)) continue;
    const rooms = c.rooms;
    const cap = c.capacity;
    if (rooms >= cap.maxRooms || c.clients >= cap.maxConnections) continue;
    if (c.inflight >= limits.maxInflightPerInstance) {
      busy++;
      continue;
    }
    seen++;
    if (policy === 'random') {
      if (random() * seen < 1) best = c; // reservoir sampling
      continue;
    }
    const load = Math.max(c.clients / cap.maxConnections, rooms / cap.maxRooms);
    if (best === null || sign * (load - bestLoad) < 0 || (load === bestLoad && (sign * (rooms - bestRooms) < 0 || (rooms === bestRooms && c.id < best.id)))) {
      best = c;
      bestLoad = load;
      bestRooms = rooms;
    }
  }
  if (!best) {
    if (busy > 0) throw new OrchestratorError(FleetCause.INSTANCE_BUSY, 'every candidate instance has its in-flight command cap reached');
    if (artifact) {
      const what = `${artifact.slug}@${artifact.version} needs squish version ${artifact.squishVersion}`;
      throw new OrchestratorError(
        FleetCause.NO_CANDIDATE,
        encodes === 0 ? `no live instance encodes squish version ${artifact.squishVersion} (${what})` : `no instance can take a ${artifact.slug}@${artifact.version} room (labels, capacity; ${what})`,
      );
    }
    throw new OrchestratorError(FleetCause.NO_CANDIDATE, `no instance can take a ${type} room`);
  }
  return best;
}
