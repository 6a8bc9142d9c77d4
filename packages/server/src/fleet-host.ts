import type { GameServer } from './server.js';

/** One room as a fleet agent sees it (structurally `HostRoom` of `@parlor/fleet-agent`). */
export interface FleetHostRoom {
  /** Room id = session id. */
  roomId: string;
  /** Room type = game name. */
  type: string;
  /** Players + spectators, connected or within their grace period. */
  clientCount: number;
  /** `{ title, players, spectators, maxPlayers }` of the session. */
  metadata: Record<string, unknown>;
  /** `fleet` for sessions created through this adapter, else `local` (a player's first join). */
  provenance: 'fleet' | 'local';
  /** Creation time, ms since the epoch. */
  createdAt: number;
}

/**
 * The `FleetHost` interface of `@parlor/fleet-agent`, implemented over a {@link GameServer}
 * (structurally: this package does not import the agent).
 */
export interface ServerFleetHost {
  /** The live sessions as rooms. */
  listRooms(): FleetHostRoom[];
  /** The game names. */
  roomTypes(): string[];
  /** {@link GameServer.openSession}; throws with code `ROOM_EXISTS` / `UNKNOWN_ROOM_TYPE` in fleet terms. */
  createRoom(type: string, roomId: string, options: Record<string, unknown>): void;
  /** {@link GameServer.reserveSeats}: single-use join tickets; throws with code `ROOM_NOT_FOUND` for a room that is not live. */
  reserveSeats(roomId: string, count: number, ttlMs: number): { tickets: string[]; expiresAt: number };
  /** {@link GameServer.closeSession}; idempotent. */
  destroyRoom(roomId: string): Promise<void>;
  /** {@link GameServer.close}. */
  shutdown(): Promise<void>;
}

/**
 * Adapts a {@link GameServer} to the fleet agent's host interface: sessions are rooms and game
 * names are room types. Rooms created through it report provenance `fleet`.
 *
 * @example
 * const server = await createGameServer({ games, port: 8080 });
 * const agent = new FleetAgent(createFleetHost(server), { url, key, endpointUrl: server.url });
 */
export function createFleetHost(server: GameServer): ServerFleetHost {
  const fromFleet = new Set<string>();
  return {
    listRooms() {
      const rooms: FleetHostRoom[] = [];
      const live = new Set<string>();
      for (const s of server.sessions()) {
        live.add(s.id);
        rooms.push({
          roomId: s.id,
          type: s.game,
          clientCount: s.players + s.spectators,
          metadata: { title: s.title, players: s.players, spectators: s.spectators, maxPlayers: s.maxPlayers },
          provenance: fromFleet.has(s.id) ? 'fleet' : 'local',
          createdAt: s.createdAt,
        });
      }
      for (const id of fromFleet) if (!live.has(id)) fromFleet.delete(id);
      return rooms;
    },
    roomTypes() {
      return server.games().map((g) => g.name);
    },
    createRoom(type, roomId, options) {
      try {
        server.openSession(type, roomId, options);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'SESSION_EXISTS') Object.assign(err as object, { code: 'ROOM_EXISTS' });
        if (code === 'UNKNOWN_GAME') Object.assign(err as object, { code: 'UNKNOWN_ROOM_TYPE' });
        throw err;
      }
      fromFleet.add(roomId);
    },
    reserveSeats(roomId, count, ttlMs) {
      try {
        return server.reserveSeats(roomId, count, ttlMs);
      } catch (err) {
        if ((err as { code?: string }).code === 'SESSION_NOT_FOUND') Object.assign(err as object, { code: 'ROOM_NOT_FOUND' });
        throw err;
      }
    },
    async destroyRoom(roomId) {
      fromFleet.delete(roomId);
      await server.closeSession(roomId, 'room destroyed by the fleet');
    },
    shutdown() {
      return server.close();
    },
  };
}
