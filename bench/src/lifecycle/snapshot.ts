/**
 * Part 1 of the lifecycle bench: snapshot save and restore of examples/galaxy (the one example whose
 * game saves) at a few sizes, on the real room engine (`RoomEngine` of `@parlor/server/testing`, the
 * code every runtime runs, on its manual clock so no tick runs between samples):
 * - save: the host's `save` message → the engine's `saved` answer (game.save() + JSON text + its checks);
 * - store: `RoomStateStore.putSnapshot` of that text into a real SQLite state folder (durable on return);
 * - restore: a new engine from `RoomSpec.restore` (Galaxy.restore) with its players joining again → its
 *   first frames (`step(0)`), as a restart, a patch or a host coming back does it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom, type GameClass, type TurnBasedGame } from '@parlor/squish';
import { loadGame, openRoomStateStore } from '@parlor/server';
import { RoomEngine, type EngineToHostMessage } from '@parlor/server/testing';

/** examples/galaxy, loaded (bundled) by the server's own loader, as `parlor serve` loads it. */
const GALAXY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/galaxy');

/** What the bench reads of a Galaxy game (its `state`, the plain JSON `save()` returns). */
interface Galaxy extends TurnBasedGame {
  state: { planets: Array<{ owner: number; ships: number }>; empires: unknown[]; fleets: unknown[] };
}

/** One galaxy size: players, turns played (each player sending orders every turn). */
export interface SnapshotCase {
  players: number;
  turns: number;
}

/** Measured figures of one case. */
export interface SnapshotRow extends SnapshotCase {
  bytes: number;
  fleets: number;
  saveMs: number[];
  storeMs: number[];
  restoreMs: number[];
}


function engineOf(gameClass: GameClass, options: Record<string, unknown>, restore?: { snapshot: string; turn: number; paused: boolean }): { engine: RoomEngine<Galaxy>; posted: EngineToHostMessage[] } {
  const posted: EngineToHostMessage[] = [];
  const engine = new RoomEngine<Galaxy>({ gameClass: gameClass as GameClass & (new (options?: Record<string, unknown>) => Galaxy), options, ...(restore ? { restore } : {}) }, { clock: 'manual', post: (m) => void posted.push(m) });
  engine.start();
  return { engine, posted };
}

/** Plays `c` on a fresh engine: players join, each turn every empire sends half the ships of one of its planets somewhere. */
function play(gameClass: GameClass, c: SnapshotCase): { engine: RoomEngine<Galaxy>; posted: EngineToHostMessage[]; options: Record<string, unknown> } {
  const options = { seed: 7, maxTurns: 10_000 };
  const { engine, posted } = engineOf(gameClass, options);
  for (let p = 1; p <= c.players; p++) engine.handle({ type: 'join', playerId: p, name: `P${p}`, spectator: false });
  const rand = seededRandom(42);
  let id = 1;
  for (let t = 0; t < c.turns; t++) {
    const game = engine.game!;
    const { planets, empires } = game.state;
    empires.forEach((_, empire) => {
      const mine = planets.map((pl, i) => ({ pl, i })).filter(({ pl }) => pl.owner === empire && pl.ships >= 2);
      const from = mine[Math.floor(rand() * mine.length)];
      if (!from) return;
      const to = (from.i + 1 + Math.floor(rand() * (planets.length - 1))) % planets.length;
      engine.handle({ type: 'order', playerId: empire + 1, id: id++, order: { from: from.i, to, ships: Math.floor(from.pl.ships / 2) } });
    });
    engine.handle({ type: 'turn', turn: game.turn });
    engine.step(0);
  }
  return { engine, posted, options };
}

/** Measures save, store and restore of each case, `samples` times each. */
export async function measureSnapshots(cases: readonly SnapshotCase[], samples: number): Promise<SnapshotRow[]> {
  const { gameClass } = await loadGame('galaxy', GALAXY_DIR);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parlor-lifecycle-bench-snap-'));
  const store = openRoomStateStore(dir);
  const rows: SnapshotRow[] = [];
  try {
    for (const c of cases) {
      const { engine, posted, options } = play(gameClass, c);
      const roomId = `galaxy-${c.players}-${c.turns}`;
      store.putRoom({ roomId, game: 'galaxy', version: null, sha256: null, options, status: 'running', turn: engine.game!.turn, reason: '', createdAt: Date.now(), updatedAt: Date.now() });
      const row: SnapshotRow = { ...c, bytes: 0, fleets: engine.game!.state.fleets.length, saveMs: [], storeMs: [], restoreMs: [] };
      for (let i = 0; i < samples; i++) {
        const t0 = performance.now();
        engine.handle({ type: 'save', id: i + 1 });
        const t1 = performance.now();
        const saved = posted.at(-1);
        if (saved?.type !== 'saved' || saved.snapshot === null) throw new Error(`galaxy save ${JSON.stringify(saved)}`);
        row.saveMs.push(t1 - t0);
        row.bytes = Buffer.byteLength(saved.snapshot);
        const t2 = performance.now();
        store.putSnapshot({ roomId, turn: engine.game!.turn, snapshot: saved.snapshot, cause: 'restart', version: null, savedAt: Date.now() });
        row.storeMs.push(performance.now() - t2);
        const t3 = performance.now();
        const next = engineOf(gameClass, options, { snapshot: saved.snapshot, turn: engine.game!.turn, paused: false });
        for (let p = 1; p <= c.players; p++) next.engine.handle({ type: 'join', playerId: p, name: `P${p}`, spectator: false });
        const frames = next.engine.step(0);
        row.restoreMs.push(performance.now() - t3);
        if (!frames || next.posted.some((m) => m.type === 'error')) throw new Error(`galaxy restore of ${roomId} made no frame: ${JSON.stringify(next.posted.slice(0, 2))}`);
        next.engine.stop();
        posted.length = 0;
      }
      engine.stop();
      rows.push(row);
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
