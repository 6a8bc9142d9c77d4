/**
 * Part 2 of the lifecycle bench: restart and patch downtime as a player sees it. A real game server
 * in this process (runtime `inline` or `process`, a real SQLite state folder) runs the bench game
 * `muster` from real artifacts (1.0.0 and 1.0.1, fetched over HTTP, verified and loaded with
 * `CatalogVersions.ensure`, as the server's patch tests and a fleet host do); one player on a real
 * WebSocket receives a frame every tick (30 per second: the room option `ticker`). Each run:
 * `restartRoom`, then `patchRoom` to the other 1.0.x version; the downtime is the gap between the
 * player's last frame before the swap and the first frame after it (the full frame the new engine
 * sends), plus the operation's own time (call → resolved) and call → first frame after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactCache, CatalogVersions, createGameServer, createLogger, openRoomStateStore } from '@parlor/server';
import { ArtifactServer } from './artifacts.js';
import { Player } from './player.js';
import { until, wall } from './stats.js';

/** The runtimes measured. */
export type DowntimeRuntime = 'inline' | 'process';

/** Samples of one operation on one runtime, in ms. */
export interface DowntimeSamples {
  /** Last frame before → first frame after, as the player received them. */
  gap: number[];
  /** The operation's call → its promise resolved (save, stop, new engine, restore). */
  op: number[];
  /** The operation's call → the player's first frame after. */
  callToFrame: number[];
}

export interface DowntimeRow {
  runtime: DowntimeRuntime;
  restart: DowntimeSamples;
  patch: DowntimeSamples;
  /** Frames the player missed no state over: the turn it saw after the last run (orders kept). */
  turnAfter: number;
}

const KEY = 'lifecycle-bench-key-0123456789abcdef';
const quiet = createLogger({ level: 'silent' });

/** Times one operation: waits for steady frames first, then for the full frame after it. */
async function timeOp(player: Player, run: () => Promise<unknown>, into: DowntimeSamples): Promise<void> {
  const steady = player.frames.length + 3;
  await until(() => player.frames.length >= steady, 'steady frames before the operation');
  const mark = player.frames.length;
  const t0 = wall();
  await run();
  into.op.push(wall() - t0);
  await until(() => player.frames.slice(mark).some((f) => f.full), 'the full frame after the operation', 60_000);
  const i = player.frames.findIndex((f, j) => j >= mark && f.full);
  into.gap.push(player.frames[i]!.at - player.frames[i - 1]!.at);
  into.callToFrame.push(player.frames[i]!.at - t0);
}

/** Measures `runs` restarts and `runs` patches on `runtime`. */
export async function measureDowntime(runtime: DowntimeRuntime, runs: number): Promise<DowntimeRow> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `parlor-lifecycle-bench-${runtime}-`));
  const artifacts = new ArtifactServer(KEY);
  await artifacts.start();
  const store = openRoomStateStore(path.join(dir, 'state'));
  const server = await createGameServer({ games: {}, port: 0, host: '127.0.0.1', runtime, logger: quiet, stateStore: store });
  const cache = new ArtifactCache({ dir: path.join(dir, 'cache'), key: KEY, logger: quiet });
  let player: Player | null = null;
  try {
    const versions = new CatalogVersions(server, cache, quiet);
    await versions.ensure(artifacts.muster('1.0.0'), { current: true });
    await versions.ensure(artifacts.muster('1.0.1'));
    server.openRoom('muster', 'downtime', { ticker: true }, '1.0.0');
    player = await Player.join(server.wsUrl, 'muster', 'downtime', 'bench');
    const row: DowntimeRow = { runtime, restart: { gap: [], op: [], callToFrame: [] }, patch: { gap: [], op: [], callToFrame: [] }, turnAfter: 0 };
    const p = player;
    for (let i = 0; i < runs; i++) {
      const id = p.order({ move: i % 10 });
      await until(() => p.answers.has(id), `the answer to order ${id}`);
      if (p.answers.get(id) !== 'accepted') throw new Error(`order ${id} refused: ${p.answers.get(id)}`);
      await server.forceTurn('downtime');
      await timeOp(p, () => server.restartRoom('downtime'), row.restart);
      await timeOp(p, () => server.patchRoom('downtime', i % 2 === 0 ? '1.0.1' : '1.0.0'), row.patch);
    }
    const info = server.rooms().find((r) => r.id === 'downtime');
    if (!info || info.status !== 'running' || p.closed) throw new Error(`the room did not last the runs: ${JSON.stringify(info)}, socket closed ${p.closed}`);
    row.turnAfter = info.turn;
    return row;
  } finally {
    player?.close();
    await server.close();
    await cache.close();
    store.close();
    await artifacts.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
