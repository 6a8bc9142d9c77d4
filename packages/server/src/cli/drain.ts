/**
 * `parlor serve`'s graceful drain on SIGTERM/SIGINT: the fleet agent reports the instance as
 * draining (the orchestrator places no new room here), the rooms keep playing until nobody is
 * connected to them, up to a timeout; then the agent leaves the fleet and the caller closes the
 * server (the rooms still open end with 1001).
 */
import type { FleetAgent } from '@parlor/fleet-agent';
import type { Logger } from '../logger.js';
import type { GameServer } from '../server.js';

/** Default of `--drain-timeout`, ms. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** How often the rooms are checked while draining, ms. */
const CHECK_MS = 100;

/**
 * Rooms somebody is connected to: connected players, or spectators. Players within their
 * reconnect grace period do not hold a drain (they are not playing; the room ends for them anyway).
 */
export function busyRooms(server: GameServer): number {
  return server.rooms().filter((r) => r.connectedPlayers + r.spectators > 0).length;
}

/**
 * Drains `server`: `server.drain()` (no new room here, `/readyz` 503) and `agent?.drain()` (seen
 * as draining in the orchestrator's API), waits until
 * {@link busyRooms} is 0 or `timeoutMs` passed, then `agent?.disconnect()`. Never rejects.
 * @param timeoutMs longest wait for the rooms to empty, ms (0: none).
 */
export async function drainServer(server: GameServer, logger: Logger, agent: FleetAgent | null, timeoutMs: number): Promise<void> {
  server.drain();
  agent?.drain();
  const busy = busyRooms(server);
  if (busy > 0 && timeoutMs > 0) {
    logger.info({ rooms: busy, timeoutMs }, `draining: ${busy} room(s) still playing; waiting up to ${Math.ceil(timeoutMs / 1000)} s for them to empty (a second signal ends them now)`);
    const deadline = Date.now() + timeoutMs;
    while (busyRooms(server) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(CHECK_MS, Math.max(1, deadline - Date.now()))));
    const left = busyRooms(server);
    if (left > 0) logger.info({ rooms: left, timeoutMs }, 'drain timeout: ending the rooms still playing');
    else logger.info({}, 'drained: every room is empty');
  }
  await agent?.disconnect().catch(() => undefined);
}
