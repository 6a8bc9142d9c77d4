/**
 * The fan-out bench's scenes, the same for both systems. `crowd`: one room of
 * {@link CROWD.entities} entities that N clients share. `rooms`: many small rooms of
 * {@link ROOMS.maxPlayers} players each. In both, a fixed number of entities is moved per
 * simulation step in a round-robin order, so each 20 Hz frame carries the same entity changes in
 * both systems. The scene is chosen by `FANOUT_SCENE` (`crowd` by default) in every process.
 */

/** A scene: entities per room, players per room, entities moved per Colyseus step. */
export interface Scene {
  name: 'crowd' | 'rooms';
  /** Entities in each room. */
  entities: number;
  /** Players per room (the rooms fill up to it, then a new one opens). */
  maxPlayers: number;
  /** Entities moved per Colyseus simulation step (60 Hz). */
  colyseusMovesPerStep: number;
}

/** One crowded room: 100 entities, 10 moved per 60 Hz step = 30 changes per 20 Hz frame. */
export const CROWD: Scene = { name: 'crowd', entities: 100, maxPlayers: 10_000, colyseusMovesPerStep: 10 };
/** Many small rooms of 4 players: 10 entities, 1 moved per 60 Hz step = 3 changes per 20 Hz frame. */
export const ROOMS: Scene = { name: 'rooms', entities: 10, maxPlayers: 4, colyseusMovesPerStep: 1 };

/** The scene of this process (`FANOUT_SCENE`). */
export function currentScene(): Scene {
  return process.env.FANOUT_SCENE === 'rooms' ? ROOMS : CROWD;
}

/** Colyseus: simulation steps per second (its `setSimulationInterval`). */
export const COLYSEUS_SIM_HZ = 60;
/** Patches (Colyseus) and frames (Parlor) per second. */
export const FRAME_HZ = 20;

/** Entity changes per frame in a scene, both systems. */
export function changesPerFrame(s: Scene): number {
  return (s.colyseusMovesPerStep * COLYSEUS_SIM_HZ) / FRAME_HZ;
}

/** Where entity `i` is after its `k`-th move: deterministic, inside the plane, every move a change. */
export function positionOf(i: number, k: number): { x: number; y: number } {
  return { x: (i * 7.3 + k * 3.1) % 100, y: (i * 3.7 + k * 1.9) % 100 };
}
