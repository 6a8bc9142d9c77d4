/**
 * Part 3 of the lifecycle bench: turn generation at `rooms` rooms of 8 players each. The host is a
 * child process (`turn-host.ts`: a real game server, inline runtime, SQLite state folder) so its CPU
 * time is its own; the players are real WebSockets in this process. Each burst: every player sends
 * one order and waits for its `orderResult` (acknowledged = stored), then the host forces the cutoff
 * of every room at once; measured from that call to each room's `turn.ready` and to each player's
 * `state` with the next turn (`running`), and the host's CPU time and time inside its state store from
 * the call until the last player had its state. Clocks: both processes read the same wall clock (`performance.timeOrigin + now()`).
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Player } from './player.js';
import { until, wall } from './stats.js';

export interface TurnsRow {
  rooms: number;
  players: number;
  bursts: number;
  /** Cutoff → the room's `turn.ready`, one per room per burst (ms). */
  ready: number[];
  /** Cutoff → a player's `state` with the next turn, one per player per burst (ms). */
  state: number[];
  /** Cutoff → the last player's state, one per burst (ms). */
  lastState: number[];
  /** Host CPU (user + system) from the cutoff to the last player's state, per burst (ms). */
  cpuMs: number[];
  /** That window's wall time, per burst (ms). */
  wallMs: number[];
  /** Wall time the host spent inside the state store's synchronous calls in that window, per burst (ms). */
  storeMs: number[];
  /** The state store calls in that window, per burst. */
  storeCalls: number[];
  /** Order → its `orderResult` (ms), every player's order before each burst (800 sent at once): acknowledged = stored. */
  orderMs: number[];
}

interface Reply {
  type: string;
  wsUrl?: string;
  t0?: number;
  ready?: number[];
  userMs?: number;
  systemMs?: number;
  wallMs?: number;
  storeMs?: number;
  storeCalls?: number;
  message?: string;
}

function ask(child: ChildProcess, cmd: Serializable, answer: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const on = (msg: unknown): void => {
      const m = msg as Reply;
      if (m.type !== answer && m.type !== 'error') return;
      child.off('message', on);
      if (m.type === 'error') reject(new Error(`turn host: ${m.message}`));
      else resolve(m);
    };
    child.on('message', on);
    child.send(cmd);
  });
}

/** Runs `bursts` turn bursts at `rooms` rooms × `perRoom` players. */
export async function measureTurns(rooms: number, perRoom: number, bursts: number): Promise<TurnsRow> {
  const host = path.join(path.dirname(fileURLToPath(import.meta.url)), 'turn-host.ts');
  const child = fork(host, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const players: Player[] = [];
  const row: TurnsRow = { rooms, players: rooms * perRoom, bursts, ready: [], state: [], lastState: [], cpuMs: [], wallMs: [], storeMs: [], storeCalls: [], orderMs: [] };
  try {
    const { wsUrl } = await ask(child, { type: 'open', rooms }, 'ready');
    for (let r = 0; r < rooms; r++) {
      const joins: Promise<Player>[] = [];
      for (let p = 0; p < perRoom; p++) joins.push(Player.join(wsUrl!, 'muster', `turns-${r}`, `p${r}-${p}`, false));
      players.push(...(await Promise.all(joins)));
    }
    for (let b = 0; b < bursts; b++) {
      const sent = players.map((p) => ({ p, id: p.order({ move: b % 10 }), at: wall() }));
      await until(() => sent.every(({ p, id }) => p.answers.has(id)), 'every order answered', 60_000);
      const refused = sent.find(({ p, id }) => p.answers.get(id) !== 'accepted');
      if (refused) throw new Error(`an order was refused: ${refused.p.answers.get(refused.id)}`);
      const turn = players[0]!.states.at(-1)!.state.turn;
      const marks = players.map((p) => p.states.length);
      const done = await ask(child, { type: 'burst' }, 'burst');
      const t0 = done.t0!;
      const next = (p: Player, i: number) => p.states.slice(marks[i]).find((s) => s.state.turn === turn + 1 && s.state.status === 'running');
      await until(() => players.every((p, i) => next(p, i) !== undefined), `every player's state of turn ${turn + 1}`, 60_000);
      const cpu = await ask(child, { type: 'cpu' }, 'cpu');
      const arrivals = players.map((p, i) => next(p, i)!.at - t0);
      row.ready.push(...done.ready!.map((at) => at - t0));
      row.state.push(...arrivals);
      row.lastState.push(Math.max(...arrivals));
      row.cpuMs.push(cpu.userMs! + cpu.systemMs!);
      row.wallMs.push(Math.max(...arrivals));
      row.storeMs.push(cpu.storeMs!);
      row.storeCalls.push(cpu.storeCalls!);
      row.orderMs.push(...sent.map(({ p, id, at }) => p.answeredAt.get(id)! - at));
    }
    return row;
  } finally {
    for (const p of players) p.close();
    const closed = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('close', () => r())));
    if (child.connected) child.send({ type: 'close' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await closed;
    clearTimeout(timer);
  }
}
