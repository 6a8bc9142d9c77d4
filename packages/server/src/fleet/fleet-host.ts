import { SUPPORTED_SQUISH_VERSIONS, type ArtifactRef, type OperationSource, type RoomEvent, type RoomState, type RoomStatus } from '@parlor/squish';
import type { CatalogVersions } from '../catalog/versions.js';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { GameServer } from '../server.js';

/** One room as a fleet agent sees it (structurally `HostRoom` of `@parlor/fleet-agent`). */
export interface FleetHostRoom {
  /** Room id. */
  roomId: string;
  /** Room type = game name. */
  type: string;
  /** Players + spectators, connected or within their grace period. */
  clientCount: number;
  /** `{ title, players, spectators, maxPlayers }` of the room. */
  metadata: Record<string, unknown>;
  /** `fleet` for rooms created through this adapter, else `local` (a player's first join). */
  provenance: 'fleet' | 'local';
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** The catalog version the room runs; absent for a game served from source. */
  version?: string;
  /** The sha256 of that version's artifact; absent for a game served from source. */
  sha256?: string;
  /** The room's runtime status. */
  status: RoomStatus;
  /** The open turn (0 for a real-time game). */
  turn: number;
}

/** A room lifecycle operation as the fleet agent hands it (structurally `FleetRoomOp` of `@parlor/fleet-agent`). */
export type FleetHostRoomOp = 'pause' | 'resume' | 'restart' | 'patch' | 'turn';

/**
 * The server's lifecycle refusals as the fleet protocol's ack codes (`FleetAckCode` of
 * `@parlor/fleet-agent`), so the orchestrator answers its own causes (404 ROOM_NOT_FOUND, 409 …).
 */
const FLEET_CODES: Readonly<Record<string, string>> = {
  [ServerErrorCode.ROOM_NOT_FOUND]: 'ROOM_NOT_FOUND',
  [ServerErrorCode.ROOM_FINISHED]: 'ROOM_FINISHED',
  [ServerErrorCode.NOT_TURN_BASED]: 'NOT_TURN_BASED',
  [ServerErrorCode.ROOM_PAUSED]: 'ROOM_PAUSED',
  [ServerErrorCode.PATCH_SEMVER_INCOMPATIBLE]: 'PATCH_SEMVER_INCOMPATIBLE',
  [ServerErrorCode.NOT_VERSIONED]: 'NOT_VERSIONED',
};

/**
 * The `FleetHost` interface of `@parlor/fleet-agent`, implemented over a {@link GameServer}
 * (structurally: this package does not import the agent).
 */
export interface ServerFleetHost {
  /** The live rooms. */
  listRooms(): FleetHostRoom[];
  /** The game names. */
  roomTypes(): string[];
  /**
   * {@link GameServer.openRoom}; throws `ServerError` `SERVER_ROOM_EXISTS` / `SERVER_UNKNOWN_GAME` (the agent checks both before calling,
   * so the fleet sees its own `ROOM_EXISTS` / `UNKNOWN_ROOM_TYPE`). With `artifact` (`type` is its slug), the room runs exactly
   * that catalog version: fetched and verified through the host's artifact cache (or already loaded), then created; rejects
   * with `SERVER_ARTIFACT_MISMATCH` (never run), `SERVER_ARTIFACT_FETCH_FAILED`, `SERVER_ARTIFACT_INVALID`, a `SERVER_GAME_*`
   * load error, or `SERVER_UNKNOWN_GAME` when the host has no artifact cache.
   */
  createRoom(type: string, roomId: string, options: Record<string, unknown>, artifact?: ArtifactRef): void | Promise<void>;
  /** The squish (codec) versions this host can run: `SUPPORTED_SQUISH_VERSIONS` with `config.versions`, else `[]` (no artifact cache, no catalog room); placement puts a version only where its squishVersion is listed. */
  squishVersions(): number[];
  /**
   * {@link GameServer.reserveSeats}: single-use join tickets; throws with code `SERVER_ROOM_NOT_FOUND` for a room that is
   * not live, and with code `ROOM_FULL` (the fleet protocol's) when the room has fewer than `count` seats free. With `userIds`
   * (one per ticket), each ticket admits only that signed-in user.
   */
  reserveSeats(roomId: string, count: number, ttlMs: number, userIds?: readonly string[]): { tickets: string[]; expiresAt: number };
  /** {@link GameServer.capacity}: the caps this server enforces, which its agent declares. */
  capacity(): { maxConnections: number; maxRooms: number };
  /** {@link GameServer.closeRoom}; idempotent. */
  destroyRoom(roomId: string): Promise<void>;
  /**
   * A lifecycle operation (fleet protocol 1.3): {@link GameServer.pauseRoom} (with `reason` and
   * `source`), `resumeRoom`, `restartRoom`, `forceTurn`, and for `patch` the version `artifact`
   * names, first fetched, verified and loaded through the artifact cache exactly as a create with
   * an artifact, then {@link GameServer.patchRoom}. Resolves with the room's state and version after
   * it. Rejects with the fleet's codes (`ROOM_NOT_FOUND`, `ROOM_FINISHED`, `NOT_TURN_BASED`,
   * `ROOM_PAUSED`, `PATCH_SEMVER_INCOMPATIBLE`, `NOT_VERSIONED`), else the server's own error.
   */
  roomOp(roomId: string, op: FleetHostRoomOp, params: { reason?: string; artifact?: ArtifactRef; source?: OperationSource }): Promise<{ state: RoomState; version: string | null }>;
  /** {@link GameServer.events}' `'room'` events, for the agent to forward; returns the unsubscribe. */
  onRoomEvent(listener: (event: RoomEvent) => void): () => void;
  /** {@link GameServer.close}. */
  shutdown(): Promise<void>;
}

/**
 * Adapts a {@link GameServer} to the fleet agent's host interface: the server's game names are the fleet's
 * room types; room ids are the same in both. Rooms created through it report provenance `fleet`.
 * With `config.versions` (the host's catalog versions and artifact cache), `createRoom` runs catalog
 * versions it is handed as an `ArtifactRef`; rooms report their `version` and `sha256`.
 *
 * @example
 * const server = await createGameServer({ games, port: 8080 });
 * const agent = new FleetAgent(createFleetHost(server), { url, key, endpointUrl: server.url });
 */
export function createFleetHost(server: GameServer, config: { versions?: CatalogVersions } = {}): ServerFleetHost {
  const fromFleet = new Set<string>();
  return {
    listRooms() {
      const rooms: FleetHostRoom[] = [];
      const live = new Set<string>();
      for (const s of server.rooms()) {
        live.add(s.id);
        rooms.push({
          roomId: s.id,
          type: s.game,
          clientCount: s.players + s.spectators,
          metadata: { title: s.title, players: s.players, spectators: s.spectators, maxPlayers: s.maxPlayers, ...(s.version !== undefined ? { version: s.version } : {}) },
          provenance: fromFleet.has(s.id) ? 'fleet' : 'local',
          createdAt: s.createdAt,
          ...(s.version !== undefined ? { version: s.version, sha256: s.sha256 } : {}),
          status: s.status,
          turn: s.turn,
        });
      }
      for (const id of fromFleet) if (!live.has(id)) fromFleet.delete(id);
      return rooms;
    },
    roomTypes() {
      return server.games().map((g) => g.name);
    },
    createRoom(type, roomId, options, artifact) {
      if (!artifact) {
        server.openRoom(type, roomId, options);
        fromFleet.add(roomId);
        return;
      }
      const { versions } = config;
      if (!versions) return Promise.reject(new ServerError(ServerErrorCode.UNKNOWN_GAME, `this host runs no catalog versions (no artifact cache): cannot run ${artifact.slug}@${artifact.version}`));
      if (artifact.slug !== type) return Promise.reject(new ServerError(ServerErrorCode.UNKNOWN_GAME, `room type ${JSON.stringify(type.slice(0, 64))} is not the artifact's game ${artifact.slug}`));
      return versions.ensure(artifact).then(() => {
        server.openRoom(artifact.slug, roomId, options, artifact.version);
        fromFleet.add(roomId);
      });
    },
    squishVersions() {
      // without an artifact cache this host cannot fetch a catalog version: it declares none, so none is placed here
      return config.versions ? [...SUPPORTED_SQUISH_VERSIONS] : [];
    },
    reserveSeats(roomId, count, ttlMs, userIds) {
      try {
        return server.reserveSeats(roomId, count, ttlMs, userIds);
      } catch (err) {
        // the fleet protocol's own code (FleetAckCode.ROOM_FULL), so the orchestrator answers 409 ROOM_FULL
        if ((err as { code?: unknown })?.code === ServerErrorCode.ROOM_FULL) throw Object.assign(new Error((err as Error).message), { code: 'ROOM_FULL' });
        throw err;
      }
    },
    capacity() {
      return { maxConnections: server.capacity.maxConnections, maxRooms: server.capacity.maxRooms };
    },
    async destroyRoom(roomId) {
      fromFleet.delete(roomId);
      await server.closeRoom(roomId, 'room destroyed by the fleet');
    },
    async roomOp(roomId, op, params) {
      try {
        let state: RoomState;
        if (op === 'pause') state = await server.pauseRoom(roomId, { ...(params.reason !== undefined && { reason: params.reason }), source: params.source ?? 'admin' });
        else if (op === 'resume') state = await server.resumeRoom(roomId);
        else if (op === 'restart') state = await server.restartRoom(roomId);
        else if (op === 'turn') state = await server.forceTurn(roomId);
        else {
          const { artifact } = params;
          if (!artifact) throw new ServerError(ServerErrorCode.NOT_VERSIONED, 'a patch names the version to run (an artifact)');
          if (!config.versions) throw new ServerError(ServerErrorCode.NOT_VERSIONED, `this host runs no catalog versions (no artifact cache): cannot patch to ${artifact.slug}@${artifact.version}`);
          const room = server.rooms().find((r) => r.id === roomId);
          if (!room) throw new ServerError(ServerErrorCode.ROOM_NOT_FOUND, `no room ${roomId}`);
          if (artifact.slug !== room.game) throw new ServerError(ServerErrorCode.NOT_VERSIONED, `room ${roomId} runs ${room.game}, not ${artifact.slug}`);
          await config.versions.ensure(artifact);
          state = await server.patchRoom(roomId, artifact.version);
        }
        return { state, version: server.rooms().find((r) => r.id === roomId)?.version ?? null };
      } catch (err) {
        const code = (err as { code?: unknown })?.code;
        // the fleet protocol's own codes (FleetAckCode), so the orchestrator answers its typed causes
        if (typeof code === 'string' && Object.hasOwn(FLEET_CODES, code)) throw Object.assign(new Error((err as Error).message), { code: FLEET_CODES[code] });
        throw err;
      }
    },
    onRoomEvent(listener) {
      server.events.on('room', listener);
      return () => void server.events.off('room', listener);
    },
    shutdown() {
      return server.close();
    },
  };
}
