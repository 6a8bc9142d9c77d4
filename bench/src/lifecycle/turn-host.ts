/**
 * The host of the lifecycle bench's 100-room part, in its own process so its CPU time is the host's
 * alone (the 800 players live in the parent): a real game server (inline runtime, a real SQLite state
 * folder) running the bench game `muster` from source, driven over IPC by the parent:
 * - `{type:'open', rooms}` → opens rooms `turns-0…`, answers `{type:'ready', wsUrl}`;
 * - `{type:'burst'}` → the cutoff of every room at once (`forceTurn`, all in one event-loop turn),
 *   answers `{type:'burst', t0, ready}`: the wall-clock start and each room's `turn.ready` (wall ms);
 * - `{type:'cpu'}` → `{type:'cpu', userMs, systemMs, wallMs, storeMs, storeCalls}` since the last burst's
 *   start: CPU time, wall time, and the wall time spent in the state store's (synchronous) calls;
 * - `{type:'close'}` → closes the server and its state folder, then exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGameServer, createLogger, openRoomStateStore, type GameServer, type RoomStateStore } from '@parlor/server';
import { MUSTER_GAME } from './artifacts.js';
import { wall } from './stats.js';

type Command = { type: 'open'; rooms: number } | { type: 'burst' } | { type: 'cpu' } | { type: 'close' };

const dir = mkdtempSync(path.join(os.tmpdir(), 'parlor-lifecycle-bench-turns-'));
let server: GameServer | null = null;
let store: RoomStateStore | null = null;
let rooms: string[] = [];
let burst = { t0: 0, cpu: process.cpuUsage() };
const ready = new Map<string, number>();
let storeMs = 0;
let storeCalls = 0;

/**
 * The real SQLite store, with the wall time of its calls added up: they are synchronous (the event
 * loop waits on them, fsync included), so this is the part of a burst the host spends storing.
 */
function timed(real: RoomStateStore): RoomStateStore {
  return new Proxy(real, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const t = performance.now();
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          storeMs += performance.now() - t;
          storeCalls++;
        }
      };
    },
  });
}

const send = (m: unknown): void => void process.send!(m);

async function handle(cmd: Command): Promise<void> {
  if (cmd.type === 'open') {
    store = openRoomStateStore(dir);
    server = await createGameServer({
      games: { muster: MUSTER_GAME },
      port: 0,
      host: '127.0.0.1',
      runtime: 'inline',
      logger: createLogger({ level: 'silent' }),
      stateStore: timed(store),
      maxConnectionsPerAddress: 10 * cmd.rooms * 8,
    });
    server.events.on('room', (e) => {
      if (e.kind === 'turn.ready') ready.set(e.roomId, wall());
    });
    rooms = Array.from({ length: cmd.rooms }, (_, i) => `turns-${i}`);
    for (const id of rooms) server.openRoom('muster', id, {});
    send({ type: 'ready', wsUrl: server.wsUrl });
  } else if (cmd.type === 'burst') {
    const s = server!;
    ready.clear();
    storeMs = 0;
    storeCalls = 0;
    burst = { t0: wall(), cpu: process.cpuUsage() };
    await Promise.all(rooms.map((id) => s.forceTurn(id)));
    send({ type: 'burst', t0: burst.t0, ready: rooms.map((id) => ready.get(id) ?? NaN) });
  } else if (cmd.type === 'cpu') {
    const used = process.cpuUsage(burst.cpu);
    send({ type: 'cpu', userMs: used.user / 1000, systemMs: used.system / 1000, wallMs: wall() - burst.t0, storeMs, storeCalls });
  } else {
    await server?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
    process.disconnect();
  }
}

process.on('message', (cmd: Command) => {
  handle(cmd).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
});
