import type { ArtifactRef, OperationSource, RoomEvent, RoomState, RoomStatus } from '@parlor/squish';
import type { FleetRoomOp, InstanceCapacity, RoomProvenance } from './protocol.js';

/** One room as the host reports it. */
export interface HostRoom {
  /** Room id (the game server's room id). */
  roomId: string;
  /** Room type (= game name). */
  type: string;
  /** Players + spectators, connected or within their reconnect grace period. */
  clientCount: number;
  /** Free-form JSON-compatible metadata (kept ≤ 4 KiB encoded, or the snapshot is refused). */
  metadata?: Record<string, unknown>;
  /** Where it came from; when absent the agent decides (rooms it created are `fleet`). */
  provenance?: RoomProvenance;
  /** Creation time, ms since the epoch; default: when the agent first saw it. */
  createdAt?: number;
  /** The catalog version the room runs (`1.2.0`); absent for a room of a local game folder. */
  version?: string;
  /** sha256 of the catalog artifact the room runs; absent for a room of a local game folder. */
  sha256?: string;
  /** The room's runtime status (fleet protocol 1.3); absent when the host does not say. */
  status?: RoomStatus;
  /** The turn whose orders are open (0 for a real-time game); reported with `status`. */
  turn?: number;
}

/** The parameters of a {@link FleetHost.roomOp}. */
export interface HostRoomOpParams {
  /** `pause`: why (shown to players); absent: the host's default reason. */
  reason?: string;
  /** `patch`: the catalog version to move the room to (fetch, verify and load it as `createRoom` with an artifact does, then patch). */
  artifact?: ArtifactRef;
  /** Who asked (the operation log's source); default `admin`. */
  source?: OperationSource;
}

/** What a {@link FleetHost.roomOp} resolves to: the room after the operation. */
export interface HostRoomOpResult {
  state: RoomState;
  /** The version the room runs after it; `null` (or absent) for a game served from source. */
  version?: string | null;
}

/**
 * What a {@link FleetAgent} needs from the server host it embeds in. `@parlor/server` implements it
 * with `createFleetHost(server)`: room types are game names.
 * The agent imports nothing else from the host.
 */
export interface FleetHost {
  /** The live rooms. Called often (every 100 ms for change detection), so keep it cheap. */
  listRooms(): HostRoom[];
  /** Room types this host can create from its own game folders (game names). */
  roomTypes(): string[];
  /**
   * Creates a room with this id; `options` reach the game's constructor.
   * With `artifact` (a catalog room, fleet protocol 1.2), the room runs that published version:
   * `type` is its slug (not necessarily one of {@link FleetHost.roomTypes}); the host fetches the
   * artifact from `artifact.url` (or its cache), verifies its sha256 before running anything, and
   * reports the room's `version` and `sha256` in {@link FleetHost.listRooms}.
   * Throws (or rejects) when it cannot; an error with a `code` property keeps that code in the ack.
   */
  createRoom(type: string, roomId: string, options: Record<string, unknown>, artifact?: ArtifactRef): void | Promise<void>;
  /**
   * The squish (codec) versions this host can encode, declared in the agent's `hello`: catalog
   * rooms are placed only where their game's `squishVersion` is listed; `[]` for a host that runs
   * no catalog versions (no artifact cache), which then gets no catalog room. Optional; the agent's
   * `squishVersions` option wins; default `@parlor/squish`'s `SUPPORTED_SQUISH_VERSIONS`.
   */
  squishVersions?(): readonly number[];
  /** Destroys a room; a room that is already gone is not an error (idempotent). */
  destroyRoom(roomId: string): void | Promise<void>;
  /**
   * Reserves seats in a live room: single-use join tickets valid for `ttlMs`, which the host must
   * then require of joining players. Optional (without it, `reserveSeats` commands fail with
   * `UNSUPPORTED`). Throws when it cannot; the agent itself answers `ROOM_NOT_FOUND` for a room
   * that is not (or no longer) in `listRooms()`. Seats must never oversell: a host throws an error
   * with `code` `'ROOM_FULL'` (`FleetAckCode.ROOM_FULL`) when players + live tickets + `count`
   * would exceed the room's player cap. With `userIds` (fleet protocol 1.2: one per ticket, in order), ticket i must admit only
   * the signed-in player whose user id is `userIds[i]`; a host without player identity may ignore it.
   */
  reserveSeats?(roomId: string, count: number, ttlMs: number, userIds?: readonly string[]): { tickets: string[]; expiresAt: number } | Promise<{ tickets: string[]; expiresAt: number }>;
  /**
   * The caps the host enforces (its open-connection and room limits); the agent declares them to
   * the orchestrator, and never more. Optional: without it the agent declares its options' capacity.
   */
  capacity?(): Partial<InstanceCapacity>;
  /**
   * Runs a lifecycle operation on a live room (fleet protocol 1.3, the `roomOp` command): `pause`,
   * `resume`, `restart` (same version, state restored), `patch` (to `params.artifact`, same
   * major.minor only, state restored), `turn` (generate the next turn now; resolves once it is
   * generated). Resolves with the room's state after it. Optional: without it `roomOp` commands fail
   * with `UNSUPPORTED`. Rejects with an error whose `code` is a `FleetAckCode` the orchestrator
   * understands: `ROOM_NOT_FOUND`, `PATCH_SEMVER_INCOMPATIBLE`, `NOT_TURN_BASED`, `NOT_VERSIONED`,
   * `ROOM_FINISHED`, `ROOM_PAUSED` (any other code is kept and reported as a failed command).
   */
  roomOp?(roomId: string, op: FleetRoomOp, params: HostRoomOpParams): Promise<HostRoomOpResult>;
  /**
   * Subscribes to the host's typed room events (fleet protocol 1.3): the agent forwards each to the
   * orchestrator as a `roomEvent` frame, in order. Returns the function that unsubscribes. Optional.
   */
  onRoomEvent?(listener: (event: RoomEvent) => void): () => void;
  /** Called by `enableGracefulShutdown()` last; optional. */
  shutdown?(): Promise<void>;
}
