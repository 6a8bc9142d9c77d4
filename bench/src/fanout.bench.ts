/**
 * Fan-out benchmark: one crowded room, Parlor against Colyseus 0.16, side by side in one run.
 *
 * One room holds the bench scene (fanout/scene.ts: 100 entities, 30 entity changes per 20 Hz
 * frame). Both systems simulate at 60 Hz moving 10 entities per step and send at 20 Hz (Colyseus'
 * patch rate, Parlor's `frameRate`). N raw
 * `ws` clients join that one room (fanout/load.ts: they count frames and bytes, neither system's
 * state is decoded). The server is pinned to core 0 and the load generator to core 1 (`taskset`);
 * both systems run back to back for each N. Writes `bench/FANOUT-RESULTS.md` and prints it.
 *
 * Then many small rooms: R rooms of 4 players (10 entities, 3 changes per frame; R = 100, 200,
 * 300, 400, 500, 600, 800, 1 000, to find where each system stops holding its rates), both systems
 * filling rooms by their own placement (Colyseus `joinOrCreate`, Parlor `roomId: ''`).
 *
 * Run: `npm run bench:fanout` at the repository root (builds first), or
 * `npm run bench:fanout -w @parlor/bench` after a build. `FANOUT_N=100,500` picks the client
 * counts of the crowded room, `FANOUT_ROOMS=100,300` the room counts, `FANOUT_WINDOW_MS` the
 * measurement window (default 10 000), `FANOUT_WARMUP_MS` the settling time after the last join
 * (default 3 000), `FANOUT_SYSTEMS=parlor` one system only, `FANOUT_PROFILE=<dir>` writes a CPU
 * profile of each server's window there (fanout/probe.ts; the profiler's own cost makes those
 * runs' figures not comparable).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerFigures } from './fanout/probe.js';
import { COLYSEUS_SIM_HZ, CROWD, FRAME_HZ, ROOMS, changesPerFrame, type Scene } from './fanout/scene.js';

type System = 'colyseus' | 'parlor';

const NS = (process.env.FANOUT_N ?? '100,500,1000,2000,3000').split(',').filter(Boolean).map(Number);
const ROOM_COUNTS = (process.env.FANOUT_ROOMS ?? '100,200,300,400,500,600,800,1000').split(',').filter(Boolean).map(Number);
const WINDOW_MS = Number(process.env.FANOUT_WINDOW_MS ?? 10_000);
const WARMUP_MS = Number(process.env.FANOUT_WARMUP_MS ?? 3_000);
const SYSTEMS = (process.env.FANOUT_SYSTEMS ?? 'colyseus,parlor').split(',').filter(Boolean) as System[];
const SERVER_CORE = '0';
const LOAD_CORE = '1';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const SERVERS: Record<System, string> = {
  parlor: here('./fanout/parlor-server.ts'),
  colyseus: here('../../bench-peers/colyseus/src/server.ts'),
};
const LOAD = here('./fanout/load.ts');

const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && os.availableParallelism() >= 2;

/** Starts a child on one core (when `taskset` and 2 cores exist) with an IPC channel. */
function startChild(file: string, core: string, scene: Scene, name: string): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', file];
  const [cmd, ...args] = canPin ? ['taskset', '-c', core, ...node] : node;
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], cwd: here('../'), env: { ...process.env, FANOUT_SCENE: scene.name, FANOUT_PROFILE_NAME: name } });
}

async function listening(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const m = /^listening (\d+)$/.exec(line);
    if (m) return Number(m[1]);
  }
  throw new Error('the server child exited before listening');
}

async function ask<T>(child: ChildProcess, msg: object, reply: string): Promise<T> {
  const got = new Promise<T>((resolve, reject) => {
    const onMessage = (m: { type: string }): void => {
      if (m.type !== reply) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) while waiting for ${reply}`)));
  });
  child.send(msg);
  return got;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.send({ type: 'exit' });
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** One system at one N. */
interface Row {
  system: System;
  scene: Scene;
  n: number;
  joined: number;
  failed: number;
  firstError?: string;
  server: ServerFigures;
  idleRssBytes: number;
  framesPerClient: number[];
  totalFrames: number;
  totalBytes: number;
  closed: number;
  /** The load generator's own CPU time (µs), wall time (ms) and event-loop delay p99 (ms) over the window. */
  load: { cpuUs: number; wallMs: number; eldP99Ms: number };
  /** The machine's 1-minute load average at the end of the window (2 cores: above ~2, other work shared them). */
  machineLoad: number;
}

interface LoadCounts {
  frames: number[];
  bytes: number[];
  closed: number;
  cpuUs: number;
  wallMs: number;
  eldP99Ms: number;
}

async function run(system: System, scene: Scene, n: number): Promise<Row> {
  const server = startChild(SERVERS[system], SERVER_CORE, scene, `${system}-${scene.name}-${n}`);
  const load = startChild(LOAD, LOAD_CORE, scene, `load-${system}-${scene.name}-${n}`);
  try {
    const port = await listening(server);
    await ask(server, { type: 'start' }, 'started');
    const idle = (await ask<{ figures: ServerFigures }>(server, { type: 'stop' }, 'figures')).figures;
    await once(load, 'message'); // ready
    // One client first: it creates the room, so concurrent joins cannot race into two rooms.
    const first = await ask<{ joined: number; failed: number; firstError?: string }>(load, { type: 'connect', system, port, n: 1 }, 'connected');
    const rest = n > 1 ? await ask<{ joined: number; failed: number; firstError?: string }>(load, { type: 'connect', system, port, n: n - 1 }, 'connected') : { joined: 1, failed: 0 };
    await sleep(WARMUP_MS);
    await Promise.all([ask(server, { type: 'start' }, 'started'), ask(load, { type: 'start' }, 'started')]);
    await sleep(WINDOW_MS);
    const [figures, counts] = await Promise.all([
      ask<{ figures: ServerFigures }>(server, { type: 'stop' }, 'figures'),
      ask<LoadCounts>(load, { type: 'stop' }, 'counts'),
    ]);
    const windowS = figures.figures.wallMs / 1000;
    return {
      system,
      scene,
      n,
      joined: rest.joined,
      failed: first.failed + rest.failed,
      firstError: first.firstError ?? rest.firstError,
      server: figures.figures,
      idleRssBytes: idle.rssBytes,
      framesPerClient: counts.frames.map((f) => f / windowS),
      totalFrames: counts.frames.reduce((a, b) => a + b, 0),
      totalBytes: counts.bytes.reduce((a, b) => a + b, 0),
      closed: counts.closed,
      load: { cpuUs: counts.cpuUs, wallMs: counts.wallMs, eldP99Ms: counts.eldP99Ms },
      machineLoad: os.loadavg()[0],
    };
  } finally {
    await Promise.all([stop(load), stop(server)]);
  }
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))];
}

const f1 = (v: number): string => v.toFixed(1);
const f0 = (v: number): string => v.toFixed(0);
const mib = (b: number): string => (b / 1024 / 1024).toFixed(0);

/** Frames the server wrote per client per second: Parlor counts them; a Colyseus patch goes to every client of its room. */
function writtenPerClient(r: Row): number {
  const windowS = r.server.wallMs / 1000;
  if (r.server.sent !== undefined) return r.server.sent / Math.max(1, r.joined) / windowS;
  return r.server.frames / Math.max(1, r.server.rooms) / windowS;
}

/** Whether a run held its rates: median frames/s per client ≥ 19.5 and the simulation ≥ 57 Hz per room (95% of 60). */
function held(r: Row): boolean {
  const windowS = r.server.wallMs / 1000;
  return quantile(r.framesPerClient, 0.5) >= 19.5 && r.server.steps / windowS / Math.max(1, r.server.rooms) >= 0.95 * COLYSEUS_SIM_HZ;
}

function describe(r: Row): Record<string, string> {
  const windowS = r.server.wallMs / 1000;
  const cpuPct = (r.server.cpuUs / (r.server.wallMs * 1000)) * 100;
  return {
    cpu: `${f1(cpuPct)}%`,
    sys: `${f1((r.server.sysUs / (r.server.wallMs * 1000)) * 100)}%`,
    loadCpu: `${f1((r.load.cpuUs / (r.load.wallMs * 1000)) * 100)}%`,
    loadEld: f1(r.load.eldP99Ms),
    usPerFrame: r.totalFrames ? f1(r.server.cpuUs / r.totalFrames) : '–',
    userUsPerFrame: r.totalFrames ? f1((r.server.cpuUs - r.server.sysUs) / r.totalFrames) : '–',
    sysUsPerFrame: r.totalFrames ? f1(r.server.sysUs / r.totalFrames) : '–',
    fps: `${f1(quantile(r.framesPerClient, 0.5))} / ${f1(quantile(r.framesPerClient, 0.05))}`,
    sim: f1(r.server.steps / windowS / Math.max(1, r.server.rooms)),
    rooms: String(r.server.rooms),
    bytes: r.totalFrames ? f0(r.totalBytes / r.totalFrames) : '–',
    eld: f1(r.server.eldP99Ms),
    rss: `${mib(r.server.rssBytes)}`,
    rssPerClient: f1((r.server.rssBytes - r.idleRssBytes) / 1024 / Math.max(1, r.joined)),
    written: f1(writtenPerClient(r)),
    held: held(r) ? 'yes' : 'no',
    machine: r.machineLoad.toFixed(1),
    joined: `${r.joined}${r.failed ? ` (${r.failed} failed${r.firstError ? `: ${r.firstError}` : ''})` : ''}${r.closed ? `, ${r.closed} closed` : ''}`,
  };
}

const rows: Row[] = [];
const plan: Array<[Scene, number]> = [...NS.map((n): [Scene, number] => [CROWD, n]), ...ROOM_COUNTS.map((r): [Scene, number] => [ROOMS, r * ROOMS.maxPlayers])];
for (const [scene, n] of plan) {
  for (const system of SYSTEMS) {
    process.stderr.write(`fan-out (${scene.name}): ${system} with ${n} clients… `);
    const row = await run(system, scene, n);
    rows.push(row);
    const d = describe(row);
    process.stderr.write(
      `cpu ${d.cpu} (${d.sys} system), ${d.usPerFrame} µs/client-frame (user ${d.userUsPerFrame}, system ${d.sysUsPerFrame}), frames/s ${d.fps}, sim ${d.sim} Hz per room, ${d.rooms} rooms, joined ${d.joined}; ` +
        `server wrote ${row.server.sent ?? '?'} frames, skipped ${row.server.skipped ?? '?'}; load generator cpu ${d.loadCpu}, ELD p99 ${d.loadEld} ms\n`,
    );
  }
}

const version = (pkg: string, from: string): string => {
  try {
    return (JSON.parse(readFileSync(here(`${from}/node_modules/${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
};
const lines: string[] = [];
lines.push('# Fan-out: one crowded room, Parlor against Colyseus', '');
lines.push(
  `Written by \`npm run bench:fanout\` (bench/src/fanout.bench.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
    `${os.availableParallelism()} cores, Node ${process.version}; Colyseus ${version('@colyseus/core', '../../bench-peers/colyseus')} ` +
    `(@colyseus/schema ${version('@colyseus/schema', '../../bench-peers/colyseus')}, ws-transport ${version('@colyseus/ws-transport', '../../bench-peers/colyseus')}). ` +
    `Machine load (1-minute average, 2 cores) at the end of the windows: ${Math.min(...rows.map((r) => r.machineLoad)).toFixed(1)} to ${Math.max(...rows.map((r) => r.machineLoad)).toFixed(1)}` +
    `${Math.max(...rows.map((r) => r.machineLoad)) > 2.5 ? ' — the machine was shared with other work, which takes CPU from the pinned server and load generator: frame and simulation rates then fall for reasons outside both systems (CPU per client-frame is the steadier figure)' : ''}.`,
  '',
  `## One crowded room\n\nOne room, ${CROWD.entities} entities, ${changesPerFrame(CROWD)} entity changes per ${FRAME_HZ} Hz frame. Both systems simulate at ${COLYSEUS_SIM_HZ} Hz and send at ${FRAME_HZ} Hz ` +
    `(Colyseus' patch rate, Parlor's \`frameRate\`). N raw \`ws\` clients join the room and count what arrives (no state decoding on either side). ` +
    `${canPin ? `Server pinned to core ${SERVER_CORE}, load generator to core ${LOAD_CORE}` : 'Not pinned (no taskset or one core): figures are not comparable to pinned runs'}; ` +
    `both systems back to back for each N; ${WARMUP_MS / 1000} s settling after the last join, then a ${WINDOW_MS / 1000} s window.`,
  '',
  '- **CPU**: the server process (user + system) over the window, % of one core. **µs/client-frame**: that CPU time divided by the frames all clients received, and its **user / system** parts (system: the kernel, mostly the TCP send of each socket write over loopback, which on loopback also runs the receiving side\'s TCP input).',
  '- **frames/s per client**: median / 5th percentile received. **written/s**: frames the server wrote per client per second (Parlor\'s `parlor_frames_sent_total`; a Colyseus patch goes to every client of its room): when it matches frames/s, the load generator kept up. **sim Hz**: simulation steps per second achieved (target 60 for both).',
  '- **B/frame**: bytes per state message received (WebSocket payload). **ELD p99**: event-loop delay p99 of the server, ms. **RSS/client**: (RSS − RSS before any client) / clients, KiB.',
  '- **load gen**: the load generator\'s CPU (% of its core) and its event-loop delay p99 (ms). **machine load**: 1-minute load average at the end of the window (2 cores; other work on the machine above ~2).',
  '',
  '| N | system | CPU | µs/client-frame (user / system) | frames/s per client | written/s | sim Hz | B/frame | ELD p99 ms | RSS MiB | RSS/client KiB | load gen | machine load | joined |',
  '| --: | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |',
);
for (const r of rows.filter((x) => x.scene === CROWD)) {
  const d = describe(r);
  lines.push(
    `| ${r.n} | ${r.system} | ${d.cpu} | ${d.usPerFrame} (${d.userUsPerFrame} / ${d.sysUsPerFrame}) | ${d.fps} | ${d.written} | ${d.sim} | ${d.bytes} | ${d.eld} | ${d.rss} | ${d.rssPerClient} | ${d.loadCpu}, ${d.loadEld} ms | ${d.machine} | ${d.joined} |`,
  );
}
lines.push(
  '',
  '## Ratios (Parlor / Colyseus, same N, same run)',
  '',
  '| N | CPU per client-frame | user CPU per client-frame | bytes per frame | RSS per client | frames/s per client (median) |',
  '| --: | --: | --: | --: | --: | --: |',
);
for (const n of NS) {
  const c = rows.find((r) => r.scene === CROWD && r.n === n && r.system === 'colyseus');
  const p = rows.find((r) => r.scene === CROWD && r.n === n && r.system === 'parlor');
  if (!c || !p || !c.totalFrames || !p.totalFrames) continue;
  const per = (r: Row): number => r.server.cpuUs / r.totalFrames;
  const user = (r: Row): number => (r.server.cpuUs - r.server.sysUs) / r.totalFrames;
  const bpf = (r: Row): number => r.totalBytes / r.totalFrames;
  const rpc = (r: Row): number => (r.server.rssBytes - r.idleRssBytes) / Math.max(1, r.joined);
  lines.push(`| ${n} | ${(per(p) / per(c)).toFixed(2)}× | ${(user(p) / user(c)).toFixed(2)}× | ${(bpf(p) / bpf(c)).toFixed(2)}× | ${(rpc(p) / rpc(c)).toFixed(2)}× | ${(quantile(p.framesPerClient, 0.5) / quantile(c.framesPerClient, 0.5)).toFixed(2)}× |`);
}
if (ROOM_COUNTS.length) {
  lines.push(
    '',
    `## Many rooms: R rooms of ${ROOMS.maxPlayers} players on one core`,
    '',
    `Each room ${ROOMS.entities} entities, ${changesPerFrame(ROOMS)} changes per ${FRAME_HZ} Hz frame (${ROOMS.colyseusMovesPerStep} moved per ${COLYSEUS_SIM_HZ} Hz step, both systems). ` +
      'Clients join by each system\'s own placement, which fills a room before opening the next. **sim Hz per room**: simulation steps per second per room (target 60 for both). ' +
      '**held**: median frames/s per client ≥ 19.5 and sim ≥ 57 Hz per room.',
    '',
    '| rooms | clients | system | CPU | µs/client-frame (user / system) | frames/s per client | written/s | sim Hz per room | held | ELD p99 ms | RSS MiB | rooms open | load gen | machine load | joined |',
    '| --: | --: | --- | --: | --: | --: | --: | --: | --- | --: | --: | --: | --: | --: | --- |',
  );
  const roomRows = rows.filter((x) => x.scene === ROOMS);
  for (const r of roomRows) {
    const d = describe(r);
    lines.push(
      `| ${r.n / ROOMS.maxPlayers} | ${r.n} | ${r.system} | ${d.cpu} | ${d.usPerFrame} (${d.userUsPerFrame} / ${d.sysUsPerFrame}) | ${d.fps} | ${d.written} | ${d.sim} | ${d.held} | ${d.eld} | ${d.rss} | ${d.rooms} | ${d.loadCpu}, ${d.loadEld} ms | ${d.machine} | ${d.joined} |`,
    );
  }
  // Rooms per core: the most rooms each system held, and the fewest at which it no longer did.
  const limits = (system: System): { held: number; lost: number } => {
    const mine = roomRows.filter((r) => r.system === system);
    const lost = Math.min(...mine.filter((r) => !held(r)).map((r) => r.n / ROOMS.maxPlayers));
    return { held: Math.max(0, ...mine.filter((r) => held(r) && r.n / ROOMS.maxPlayers < lost).map((r) => r.n / ROOMS.maxPlayers)), lost };
  };
  const c = limits('colyseus');
  const p = limits('parlor');
  const say = (name: string, l: { held: number; lost: number }): string =>
    `${name} ${l.held ? `held ${l.held} rooms` : 'held no count measured'}${Number.isFinite(l.lost) ? ` and no longer held ${l.lost}` : ' (every count measured)'}`;
  lines.push(
    '',
    `**Rooms per core at ${FRAME_HZ} Hz**: ${say('Colyseus', c)}; ${say('Parlor', p)}. ` +
      (c.held && Number.isFinite(c.lost)
        ? `So Parlor holds at least ${(p.held / c.lost).toFixed(2)}× (its held count over the count Colyseus lost) and at most ${Number.isFinite(p.lost) ? (p.lost / c.held).toFixed(2) : '∞'}× Colyseus' rooms per core.`
        : 'The ratio is not bounded by this run.'),
  );
}
lines.push('', 'Targets (issue 13): CPU per client-frame ≤ 0.5× Colyseus at 1 000 and 2 000 clients; 3 000 clients at ≥ 19.5 frames/s per client with the simulation rate held; bytes per frame ≤ 1×; RSS per client ≤ 1×; rooms per core at 20 Hz ≥ 2× Colyseus.', '');
// The hand-written profile section (from `FANOUT_PROFILE` runs and fanout/profile-summary.ts) is kept across runs.
const RESULTS = here('../FANOUT-RESULTS.md');
let kept = '';
try {
  const before = readFileSync(RESULTS, 'utf8');
  const at = before.indexOf('\n## Profile');
  if (at >= 0) kept = before.slice(at + 1);
} catch {
  // no results yet
}
if (kept) lines.push(kept.trimEnd(), '');
const out = lines.join('\n');
// A partial run (one system, or profiled: the profiler's cost skews the figures) prints only.
if (!process.env.FANOUT_SYSTEMS && !process.env.FANOUT_PROFILE) writeFileSync(RESULTS, out);
process.stdout.write(`${out}\n`);
