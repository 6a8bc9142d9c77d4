/**
 * The fan-out bench's scene, the same for both systems: `ENTITIES` entities in a 100×100 plane,
 * `MOVES_PER_STEP` of them moved per simulation step in a fixed round-robin order, so each
 * 20 Hz frame carries the same number of entity changes in both systems.
 */

/** Entities in the one room. */
export const ENTITIES = 100;
/** Colyseus: simulation steps per second (its `setSimulationInterval`). */
export const COLYSEUS_SIM_HZ = 60;
/** Patches (Colyseus) and frames (Parlor) per second. */
export const FRAME_HZ = 20;
/** Entities moved per Colyseus simulation step: 10 × 60 Hz = 30 changes per 20 Hz patch. */
export const COLYSEUS_MOVES_PER_STEP = 10;
/** Entity changes per frame, both systems. */
export const CHANGES_PER_FRAME = (COLYSEUS_MOVES_PER_STEP * COLYSEUS_SIM_HZ) / FRAME_HZ;

/** Where entity `i` is after its `k`-th move: deterministic, inside the plane, every move a change. */
export function positionOf(i: number, k: number): { x: number; y: number } {
  return { x: (i * 7.3 + k * 3.1) % 100, y: (i * 3.7 + k * 1.9) % 100 };
}
