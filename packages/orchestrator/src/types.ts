import type { InstanceCapacity, RoomProvenance } from '@parlor/fleet-agent';
import type { Operation, RoomEvent, RoomState, RoomStatus } from '@parlor/squish';

/** An instance (one server host with its agent) in the read model. */
export interface InstanceInfo {
  /** Orchestrator-assigned id (`i-` + 12 hex digits derived from the processUid): the same across reconnects and orchestrator restarts. */
  id: string;
  /** The agent's process uid (stable across reconnects of one process). */
  processUid: string;
  name: string;
  /** Public base URL of the server host. */
  endpointUrl: string;
  labels: Record<string, string>;
  capacity: InstanceCapacity;
  /** `active` or `draining` (no new placements unless `force`). */
  status: 'active' | 'draining';
  /** Missed 2 polls: excluded from placement until it answers again. */
  stale: boolean;
  /**
   * `snapshot-refused`: its last full snapshot failed validation (the read model keeps its last
   * good state); excluded from placement until a snapshot is accepted again. Else `ok`.
   */
  health: 'ok' | 'snapshot-refused';
  /**
   * Room types (game names) it serves. Empty from its hello until its first snapshot (the
   * orchestrator polls it as soon as it joins), and until then it gets no room of a type.
   */
  roomTypes: string[];
  /**
   * The squish (codec) versions its host can encode: catalog rooms are placed only where their
   * game's `squishVersion` is listed. `[1]` for an agent older than fleet protocol 1.2 (which is
   * not given catalog rooms).
   */
  squishVersions: number[];
  /** Rooms it reports. */
  roomCount: number;
  /** Clients in its rooms. */
  clientCount: number;
  /** Commands sent and not yet acked. */
  inflight: number;
  /** When its current connection was welcomed, ms since the epoch. */
  connectedAt: number;
}

/** A room in the read model. */
export interface RoomInfo {
  roomId: string;
  /** Room type (= game name). */
  type: string;
  instanceId: string;
  processUid: string;
  /** The instance's public base URL. */
  endpointUrl: string;
  /** A URL a browser can open to join: `<endpointUrl>/play/<type>/<roomId>`. */
  joinUrl: string;
  clientCount: number;
  metadata: Record<string, unknown>;
  provenance: RoomProvenance;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** The catalog version the room runs (`1.2.0`); absent for a room of a host's local game folder. */
  version?: string;
  /** sha256 of the catalog artifact the room runs; absent for a room of a host's local game folder. */
  sha256?: string;
  /** The room's runtime status as its host last reported it (fleet protocol 1.3); absent from older hosts. */
  status?: RoomStatus;
  /** The turn whose orders are open (0 for a real-time game), with `status`. */
  turn?: number;
}

/**
 * A lifecycle operation asked of a room (`POST /v1/rooms/:roomId/{pause,resume,restart,patch,turn}`,
 * `DELETE /v1/rooms/:roomId` = `stop`): `pause` with an optional `reason` (≤ 200 characters, shown to
 * players), `patch` to `version` (a catalog version of the room's game within its major.minor).
 */
export type RoomOperationRequest =
  | { op: 'pause'; reason?: string }
  | { op: 'resume' }
  | { op: 'restart' }
  | { op: 'patch'; version: string }
  | { op: 'turn' }
  | { op: 'stop' };

/** The answer to a lifecycle operation: the operation as the log recorded it (`succeeded`) and the room's state after it (`null` when the room is gone). */
export interface RoomOperationResult {
  operation: Operation;
  state: RoomState | null;
}

/** The answer to a stop (`DELETE /v1/rooms/:roomId`): the destroy's answer and the recorded operation (`state` is `null`: the room is gone). */
export type RoomStopResult = RoomDestroyed & RoomOperationResult;

/**
 * The answer to a room destroy (`DELETE /v1/rooms/:roomId`, `Orchestrator.destroyRoom`): the room
 * is gone either way; a destroy racing the room's natural end (or its instance's exit) is not an error.
 */
export interface RoomDestroyed {
  roomId: string;
  /** Always `true`: the room is gone. */
  ok: true;
  /** This call ended it. */
  destroyed: boolean;
  /** It had already ended by itself (its game ended it, its instance left) before this call reached it. */
  alreadyGone: boolean;
}

/** Result of a seat reservation. */
export interface SeatReservation {
  roomId: string;
  /** Single-use join tickets. */
  tickets: string[];
  /** When the tickets expire, ms since the epoch. */
  expiresAt: number;
  /** One browser URL per ticket: `<joinUrl>?ticket=<ticket>`. */
  joinUrls: string[];
}

/** Fleet-wide totals. */
export interface FleetStats {
  instances: number;
  activeInstances: number;
  drainingInstances: number;
  staleInstances: number;
  rooms: number;
  clients: number;
  /** Sum of the capacities of non-stale instances. */
  capacity: InstanceCapacity;
  /** Commands in flight across the fleet. */
  inflight: number;
}

/** Placement policy of a create. */
export type PlacementPolicy = 'least-loaded' | 'most-loaded' | 'random';

/** Where a room may go. */
export interface Placement {
  /** Default `least-loaded`: the lowest of `max(clients / maxConnections, rooms / maxRooms)`. */
  policy?: PlacementPolicy;
  /** Every label must match. */
  labels?: Record<string, string>;
  /** Pin to the instance with this processUid (not together with `instanceId`). */
  processUid?: string;
  /** Pin to this instance id (not together with `processUid`). */
  instanceId?: string;
  /** Allow a draining instance. */
  force?: boolean;
}

/**
 * Arguments of `createRoom`: exactly one of `type` (a game the hosts serve from their own folders)
 * or `game` (a catalog version, resolved by the orchestrator's catalog before placement).
 */
export interface CreateRoomRequest {
  /** Room type (= game name) of a host's local game. Not together with `game`. */
  type?: string;
  /**
   * A catalog game: `pong` (the version `env`'s manifest pins; `dev` follows the latest) or
   * `pong@1.2.0` (that exact version, whatever the manifests say). Not together with `type`.
   */
  game?: string;
  /** With `game` (without a version): the environment to resolve in. Default: the orchestrator's environment. */
  env?: string;
  /** Client-supplied id (safe retries); default: random. 1–64 of `A–Z a–z 0–9 _ -`. */
  roomId?: string;
  /** Reaches the game's constructor. JSON-compatible. */
  options?: Record<string, unknown>;
  placement?: Placement;
}

/** Filter of `findRooms`. */
export interface RoomQuery {
  type?: string;
  instanceId?: string;
  /** Labels of the room's instance; all must match. */
  labels?: Record<string, string>;
}

/** The orchestrator's read model. */
export interface FleetView {
  readonly stats: FleetStats;
  readonly instances: InstanceInfo[];
  readonly rooms: RoomInfo[];
  /** By instance id or processUid. */
  getInstance(idOrProcessUid: string): InstanceInfo | undefined;
  getRoom(roomId: string): RoomInfo | undefined;
  findRooms(query?: RoomQuery): RoomInfo[];
}

/** The data of `player:join` / `player:leave`. */
export interface PlayersChange {
  roomId: string;
  /** Room type. */
  type: string;
  instanceId: string;
  /** How many joined or left (≥ 1). */
  count: number;
  /** Players + spectators now. */
  clientCount: number;
}

/** Typed events of the orchestrator (one payload object each; the SSE stream carries the same, but for `sync`). */
export interface OrchestratorEvents {
  'instance:join': (e: { instance: InstanceInfo }) => void;
  'instance:leave': (e: { instance: InstanceInfo; reason: string }) => void;
  'instance:stale': (e: { instance: InstanceInfo }) => void;
  /** Drain status changed. */
  'instance:update': (e: { instance: InstanceInfo }) => void;
  'room:create': (e: { room: RoomInfo }) => void;
  'room:destroy': (e: { room: RoomInfo }) => void;
  /**
   * Players (or spectators) joined a room: its `clientCount` rose by `count` between two snapshots
   * of its instance (agents report counts, so several joins within a poll are one event).
   */
  'player:join': (e: PlayersChange) => void;
  /** Players (or spectators) left a room: its `clientCount` fell by `count` between two snapshots (not emitted when the room itself ends). */
  'player:leave': (e: PlayersChange) => void;
  /** A full snapshot of an instance was applied. */
  sync: (e: { instanceId: string; rooms: number }) => void;
  /** A host reported a typed room event (its agent's `roomEvent` frame): turn ready, room paused, ended with a result… */
  'room:event': (e: { instanceId: string; event: RoomEvent }) => void;
  /** A lifecycle operation of the operation log reached `succeeded` or `failed`. */
  'operation:finished': (e: { operation: Operation }) => void;
  /** The buffer autoscaler did something (a scale-up, a drain, a scale-down), succeeded or not. */
  autoscaler: (e: AutoscalerDecision) => void;
}

/**
 * One thing the buffer autoscaler did (SSE event `autoscaler`, `lastDecision` of
 * `GET /v1/autoscaler`); each is also an operation of the log (source `autoscaler`, roomId `''`).
 */
export interface AutoscalerDecision {
  /** `scale_up`: instances asked of the provisioner; `drain`: an empty instance drained to be stopped; `scale_down`: a drained instance stopped. */
  action: 'scale_up' | 'drain' | 'scale_down';
  /**
   * `buffer`: free slots below the target (scale-up) or enough without this instance (drain);
   * `min_instances`: fewer instances than `minInstances`; `drained_empty`: the drained instance
   * emptied; `drain_timeout`: its rooms were stopped after `drainTimeoutMs`.
   */
  reason: 'buffer' | 'min_instances' | 'drained_empty' | 'drain_timeout';
  /** Instances concerned (asked for, drained or stopped). */
  count: number;
  /** The fleet instance (drain, scale-down), else `null`. */
  instanceId: string | null;
  /** The provisioner's ids of the instances concerned (the new ones of a scale-up). */
  provisionedIds: string[];
  /** The provisioner's name. */
  provisioner: string;
  /** Free room slots and the target when it decided. */
  buffer: { free: number; target: number };
  /** Whether it succeeded; `error` says why not. */
  ok: boolean;
  /** `CODE: message` of the failure, else `null`. */
  error: string | null;
  /** The operation of the log recording it (`null` when the log could not record it). */
  operationId: string | null;
  /** ms since the epoch. */
  at: number;
}

/** The buffer autoscaler's state as of its last sync (`GET /v1/autoscaler`). */
export interface AutoscalerStatus {
  /** The provisioner's name (`process`, `swarm`, `kubernetes`). */
  provisioner: string;
  /** Free room slots of the live, undrained instances plus those of provisioned instances still booting; the target (`buffer`, or its percentage of all slots). */
  buffer: { target: number; free: number };
  /**
   * `provisioned`: instances the provisioner runs (booting, joined or being stopped); `joined`:
   * those whose agent joined the fleet; `draining`: joined ones draining; `min`/`max`: the bounds.
   */
  instances: { provisioned: number; joined: number; draining: number; min: number; max: number };
  /** The last decision that did something, or `null`. */
  lastDecision: AutoscalerDecision | null;
  /**
   * Why the change decided at the last sync waits for the engine (its provisioner's
   * `notYet`, e.g. Kubernetes: "not stopping parlor-server-…-x yet: the ReplicaSet would remove …
   * first"), or `null`. It is asked again at every sync and recorded as an operation once it runs.
   */
  waiting: string | null;
}
