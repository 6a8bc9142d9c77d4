/**
 * Runtime benchmark: room start latency (join request → first frame, over a real WebSocket),
 * memory per room, and 50 concurrent pong rooms (ticks/s, p99 tick time) for the `inline`
 * and `process` runtimes. Writes `bench/RUNTIME-RESULTS.md` and prints it.
 *
 * Run: `npm run bench:runtime -w @parlor/bench` (= `node --expose-gc --import tsx src/runtime.bench.ts`).
 * `@parlor/server` and `@parlor/squish` resolve to the built packages: build them first
 * (`npm run build -w @parlor/squish -w @parlor/server`).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createLogger, type LoadedGame } from '@parlor/server';
import type { EngineToHostMessage, RoomRuntime } from '@parlor/server/runtimes';
import { beforeServerModule } from './before.js';
import { coTenantUnderAttack, type AttackCase, type AttackRow } from './attacks.js';

/**
 * The `@parlor/server` under test: this tree's build, or (in the child run that measures the
 * code before issue 7) another build given by `PARLOR_SERVER_MODULE`.
 */
const SERVER_MODULE = process.env.PARLOR_SERVER_MODULE;
/** Set in the child run: print the figures as JSON instead of writing the results file. */
const PROBE = process.env.PARLOR_BENCH_PROBE === '1';
const {
  DOCKER_LABELS,
  DockerRuntime,
  InlineRuntime,
  ProcessRuntime,
  createGameServer,
  dockerAvailable,
  loadGame,
} = (SERVER_MODULE
  ? await import(SERVER_MODULE) // the build before issue 7 has the runtimes on its main entry
  : { ...(await import('@parlor/server')), ...(await import('@parlor/server/runtimes')) }) as typeof import('@parlor/server') & typeof import('@parlor/server/runtimes');

/**
 * The wire codec of the server under test: the build before issue 7 speaks protocol 1 (its own
 * squish, `PARLOR_SQUISH_MODULE`), this tree protocol 2.
 */
const { PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage } = (process.env.PARLOR_SQUISH_MODULE
  ? await import(process.env.PARLOR_SQUISH_MODULE)
  : await import('@parlor/squish')) as typeof import('@parlor/squish');
/**
 * Names the build before issue 8 used for the same things ("session" for room): passed beside
 * today's names so one bench drives both builds.
 */
const OLD_NAMES = Boolean(SERVER_MODULE);

type Kind = 'inline' | 'process' | 'docker';
/** Runner image for the docker rows (build: packages/server/docker/build-runner-image.sh). */
const IMAGE = process.env.PARLOR_IMAGE ?? 'parlor-runner:local';
/**
 * The main run builds the runner image from this tree's build first (a Docker engine refuses an
 * image built from another runner), when an engine answers; the child run measures what it is given.
 */
if (!PROBE && !process.env.PARLOR_IMAGE && spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0) {
  const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'server', 'dist', 'process-runner.mjs');
  const script = path.join(path.dirname(runner), '..', 'docker', 'build-runner-image.sh');
  const r = spawnSync('bash', [script, IMAGE, runner], { encoding: 'utf8' });
  if (r.status !== 0) console.error(`runner image ${IMAGE} not built (docker rows skipped): ${r.stderr.slice(-300)}`);
}
const HAVE_DOCKER = dockerAvailable(IMAGE);

function makeRuntime(kind: Kind): RoomRuntime {
  if (kind === 'inline') return new InlineRuntime();
  if (kind === 'process') return new ProcessRuntime({ logger: silent });
  // instanceId labels this build's containers; hostId is the same label in the build before issue 7
  return new DockerRuntime({ logger: silent, image: IMAGE, instanceId: 'parlor-bench', hostId: 'parlor-bench', memoryBytes: 256 * 1024 * 1024 });
}

/**
 * The processes of a `process` room's sandbox (bubblewrap and node): every pid in the room's
 * cgroup (`room.pid` is the outer bwrap); just that pid where rooms have no cgroup.
 */
function sandboxPids(pid: number): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(l));
    const dir = line ? `/sys/fs/cgroup/pids${line.slice(line.lastIndexOf(':') + 1)}` : '';
    if (dir.includes('/parlor/')) return readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').map(Number).filter((p) => p > 0);
  } catch {
    // gone, or no cgroup v1
  }
  return [pid];
}

/** The host pid of a room's runner: the child's pid, or the container's init process. */
async function runnerPid(kind: Kind, runtime: RoomRuntime, room: { pid?: number }, roomId: string): Promise<number | undefined> {
  if (kind === 'process') return room.pid;
  if (kind !== 'docker') return undefined;
  const docker = (runtime as InstanceType<typeof DockerRuntime>).docker;
  const label = (DOCKER_LABELS as Record<string, string>).room ?? (DOCKER_LABELS as Record<string, string>).session;
  const [c] = await docker.listContainers({ filters: { label: [`${label}=${roomId}`] } });
  if (!c) return undefined;
  return (await docker.getContainer(c.Id).inspect()).State.Pid;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const OUT = path.join(repo, 'bench', 'RUNTIME-RESULTS.md');
const START_SAMPLES = Number(process.env.START_SAMPLES ?? 20);
const MEM_ROOMS = Number(process.env.MEM_ROOMS ?? 20);
const CONCURRENT = Number(process.env.CONCURRENT ?? 50);
const RUN_MS = Number(process.env.RUN_MS ?? 5000);

const silent = createLogger({ level: 'silent' });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
}
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** VmRSS and Pss (proportional: shared pages divided among sharers) of a pid, in bytes. */
function procMem(pid: number): { rss: number; pss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  let pss = 0;
  try {
    pss = Number(/Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    // no smaps_rollup
  }
  return { rss, pss };
}

/** Joins a new room (unique id) and resolves with ms from sending `join` to the first frame. */
function joinFirstFrame(wsUrl: string, game: string, roomId: string): Promise<{ ms: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    let t0 = 0;
    ws.on('open', () => {
      t0 = performance.now();
      const join = { type: 'join' as const, protocolVersion: PROTOCOL_VERSION, game, roomId, spectate: false, reconnectToken: '', ticket: '', name: 'bench', clientInfo: 'bench' };
      ws.send(encodeClientMessage((OLD_NAMES ? { ...join, sessionId: roomId } : join) as typeof join));
    });
    ws.on('message', (d: Buffer) => {
      const m = decodeServerMessage(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      if (m.type === 'frame') {
        ws.removeAllListeners('message');
        resolve({ ms: performance.now() - t0, ws });
      }
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no first frame within 10 s')), 10_000).unref();
  });
}

interface StartResult {
  p50: number;
  p90: number;
  max: number;
}

async function startLatency(kind: Kind | 'process-cold', pong: LoadedGame): Promise<StartResult> {
  const runtime = kind === 'process-cold' ? 'process' : kind;
  const server = await createGameServer({
    games: { pong },
    port: 0,
    host: '127.0.0.1',
    logger: silent,
    runtime,
    processRuntime: { poolSize: kind === 'process-cold' ? 0 : 2 },
    dockerRuntime: { image: IMAGE, instanceId: 'parlor-bench', hostId: 'parlor-bench' },
    reconnectGraceMs: 0,
    roomsPerAddressPerMinute: 1_000_000, // every sample joins a new room from 127.0.0.1 (default cap: 10/min)
    ...(OLD_NAMES ? { sessionsPerAddressPerMinute: 1_000_000 } : {}),
  });
  const samples: number[] = [];
  try {
    // one warm-up room
    (await joinFirstFrame(server.wsUrl, 'pong', `warm-${runtime}`)).ws.close();
    for (let i = 0; i < START_SAMPLES; i++) {
      const { ms, ws } = await joinFirstFrame(server.wsUrl, 'pong', `s${i}-${runtime}`);
      samples.push(ms);
      ws.close();
      await sleep(300); // rooms arriving at most ~3/s: the process runtime's warm pool refills in between
    }
  } finally {
    await server.close();
  }
  return { p50: pct(samples, 0.5), p90: pct(samples, 0.9), max: Math.max(...samples) };
}

interface MemResult {
  /** Per room, bytes. */
  rss: number;
  pss: number;
  hostDelta: number;
}

async function memoryPerRoom(kind: Kind, pong: LoadedGame): Promise<MemResult> {
  const runtime = makeRuntime(kind);
  gc();
  await sleep(200);
  gc();
  const hostBefore = process.memoryUsage().heapUsed;
  const rooms = [];
  for (let i = 0; i < MEM_ROOMS; i++) {
    const s = runtime.start({ roomId: `m${i}`, ...(OLD_NAMES ? { sessionId: `m${i}` } : {}), game: 'pong', gameClass: pong.gameClass, bundle: pong.bundle ?? undefined, baseDir: pong.baseDir, logger: silent });
    s.onMessage(() => {});
    s.send({ type: 'join', playerId: 1, name: 'a', spectator: false });
    s.send({ type: 'join', playerId: 2, name: 'b', spectator: false });
    rooms.push(s);
  }
  await sleep(kind === 'docker' ? 6000 : 1500); // let every room start and play
  gc();
  await sleep(200);
  const hostDelta = Math.max(0, process.memoryUsage().heapUsed - hostBefore) / MEM_ROOMS;
  let rss = 0;
  let pss = 0;
  if (kind !== 'inline') {
    for (let i = 0; i < rooms.length; i++) {
      const pid = await runnerPid(kind, runtime, rooms[i] as { pid?: number }, `m${i}`);
      for (const p of pid ? (kind === 'process' ? sandboxPids(pid) : [pid]) : []) {
        const m = procMem(p);
        rss += m.rss;
        pss += m.pss;
      }
    }
    rss /= MEM_ROOMS;
    pss /= MEM_ROOMS;
  }
  for (const s of rooms) await s.terminate();
  await runtime.close?.();
  return { rss: kind === 'inline' ? hostDelta : rss, pss: kind === 'inline' ? hostDelta : pss, hostDelta };
}

interface LoadResult {
  ticksPerSecond: number;
  p99TickMs: number;
  p99IntervalMs: number;
  hostCpuPct: number;
}

async function concurrent(kind: Kind, pong: LoadedGame): Promise<LoadResult> {
  const runtime = makeRuntime(kind);
  const ticking = new Set<number>();
  const tickMs: number[] = [];
  const intervals: number[] = [];
  let ticks = 0;
  let measuring = false;
  const rooms = [];
  for (let i = 0; i < CONCURRENT; i++) {
    const s = runtime.start({ roomId: `c${i}`, ...(OLD_NAMES ? { sessionId: `c${i}` } : {}), game: 'pong', gameClass: pong.gameClass, bundle: pong.bundle ?? undefined, baseDir: pong.baseDir, logger: silent });
    let last = 0;
    s.onMessage((m: EngineToHostMessage) => {
      if (m.type === 'frames') ticking.add(i);
      if (m.type !== 'frames' || !measuring) return;
      const now = performance.now();
      ticks++;
      tickMs.push(m.tickMs);
      if (last) intervals.push(now - last);
      last = now;
    });
    s.send({ type: 'join', playerId: 1, name: 'a', spectator: false });
    s.send({ type: 'join', playerId: 2, name: 'b', spectator: false });
    rooms.push(s);
  }
  const t = performance.now();
  while (ticking.size < CONCURRENT && performance.now() - t < 60_000) await sleep(100);
  await sleep(2000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep(RUN_MS);
  measuring = false;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  for (const s of rooms) await s.terminate();
  await runtime.close?.();
  return {
    ticksPerSecond: ticks / CONCURRENT / (elapsed / 1000),
    p99TickMs: pct(tickMs, 0.99),
    p99IntervalMs: pct(intervals, 0.99),
    hostCpuPct: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
  };
}

/** The attacks of the hostile suite measured next to a co-tenant room (fixtures in packages/server/test/fixtures). */
const ATTACKS: AttackCase[] = [
  { label: 'stdio / socket handle escape (docker.sock, host unix socket)', fixture: 'hostile/stdio-escape.ts' },
  { label: 'read host files', fixture: 'hostile/read-passwd.ts' },
  { label: 'write files', fixture: 'hostile/write-file.ts' },
  { label: 'network', fixture: 'hostile/network.ts' },
  { label: 'spawn / signal', fixture: 'hostile/spawn.ts' },
  { label: 'tick that never returns', fixture: 'hostile/spin.ts', ends: true },
  { label: '800 ms of CPU per tick, yielding', fixture: 'hostile/channel-burner.ts', ends: true },
  { label: 'heartbeats but no ticks', fixture: 'hostile/channel-heartbeats-only.ts', ends: true },
  { label: 'channel flood', fixture: 'hostile/channel-flood.ts', ends: true },
  { label: 'one part listed 200 000 times', fixture: 'hostile/channel-fanout.ts', ends: true },
  { label: 'redirect forged as a frame', fixture: 'hostile/channel-redirect.ts', ends: true },
  { label: 'Error with an object message', fixture: 'hostile/channel-error-object.ts', ends: true },
  { label: '4 MB strings', fixture: 'hostile/channel-big-string.ts', ends: true },
  { label: 'heap out of memory', fixture: 'hostile/oom.ts', ends: true },
  { label: '3 GB of Buffers (outside the heap)', fixture: 'hostile/buffer-hog.ts', ends: true },
  { label: '2 GB of WebAssembly memory', fixture: 'hostile/wasm-hog.ts', ends: true },
  { label: 'enormous frames', fixture: 'hostile/huge-frames.ts', ends: true },
];

/** What one build measures: start latency and memory per room of its sandboxed runtimes. */
interface Probe {
  start: Record<string, StartResult>;
  mem: Record<string, MemResult>;
  load: Record<string, LoadResult>;
}

async function probe(kinds: Kind[], pong: LoadedGame): Promise<Probe> {
  const start: Record<string, StartResult> = {};
  const mem: Record<string, MemResult> = {};
  for (const k of [...kinds, 'process-cold'] as const) {
    console.error(`start latency: ${k}`);
    start[k] = await startLatency(k, pong);
  }
  for (const k of kinds) {
    console.error(`memory: ${k}`);
    mem[k] = await memoryPerRoom(k, pong);
  }
  const load: Record<string, LoadResult> = {};
  for (const k of kinds) {
    console.error(`${CONCURRENT} concurrent rooms: ${k}`);
    load[k] = await concurrent(k, pong);
  }
  return { start, mem, load };
}

/** Runs this same script against the build before issue 7 in a child process; its figures as JSON. */
function measureBefore(): { rev: string; probe: Probe; docker: boolean } | null {
  if (process.env.SKIP_BEFORE === '1') return null;
  console.error(`building the revision before issue 7 (${process.env.BEFORE_REV ?? 'default'}) for the side-by-side rows`);
  const before = beforeServerModule(repo);
  const image = 'parlor-runner:before';
  let docker = false;
  if (HAVE_DOCKER) {
    const r = spawnSync('bash', [path.join(before.dir, 'packages/server/docker/build-runner-image.sh'), image, before.runner], { encoding: 'utf8' });
    docker = r.status === 0;
    if (!docker) console.error(`before: runner image not built, docker row skipped: ${r.stderr.slice(-300)}`);
  }
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: path.join(repo, 'bench'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PARLOR_BENCH_PROBE: '1', PARLOR_SERVER_MODULE: before.module, PARLOR_SQUISH_MODULE: before.squish, PARLOR_IMAGE: image, PARLOR_PROBE_DOCKER: docker ? '1' : '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`the before run failed (exit ${r.status})`);
  return { rev: before.dir.split('-').pop() ?? '?', probe: JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe, docker };
}

async function main(): Promise<void> {
  const pong = await loadGame('pong', path.join(repo, 'examples', 'pong'));
  if (PROBE) {
    const kinds: Kind[] = process.env.PARLOR_PROBE_DOCKER === '1' && HAVE_DOCKER ? ['process', 'docker'] : ['process'];
    console.log(JSON.stringify(await probe(kinds, pong)));
    return;
  }
  const started = Date.now();
  const load0 = os.loadavg()[0];
  const before = measureBefore();
  const kinds: Kind[] = HAVE_DOCKER ? ['inline', 'process', 'docker'] : ['inline', 'process'];
  const { start, mem, load } = await probe(kinds, pong);
  const fixtures = path.join(repo, 'packages', 'server', 'test', 'fixtures');
  const attacks: Record<string, { baselineFps: number; rows: AttackRow[] }> = {};
  for (const k of kinds.filter((x) => x !== 'inline')) {
    console.error(`co-tenant under attack: ${k}`);
    attacks[k] = await coTenantUnderAttack(makeRuntime(k), fixtures, ATTACKS);
  }
  const cpu = os.cpus();
  const b = before?.probe;
  const cell = (x: number | undefined) => (x === undefined ? '—' : f1(x));
  const startRow = (label: string, k: string) =>
    `| ${label} | ${cell(b?.start[k]?.p50)} | ${f1(start[k].p50)} | ${cell(b?.start[k]?.p90)} | ${f1(start[k].p90)} | ${cell(b?.start[k]?.max)} | ${f1(start[k].max)} |`;
  const memCell = (x: number | undefined) => (x === undefined ? '—' : mib(x));
  const attackKinds = Object.keys(attacks);
  const lines = [
    '# Runtime benchmark',
    '',
    'Generated by `npm run bench:runtime -w @parlor/bench` (bench/src/runtime.bench.ts) — do not edit by hand.',
    '',
    `- Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, ${os.platform()} ${os.release()}`,
    `- Node ${process.version}; @parlor/server from packages/server/dist; game: examples/pong (60 Hz, 2 players)`,
    `- Date: ${new Date().toISOString()}; run time ${Math.round((Date.now() - started) / 1000)} s; load average (1 min) ${load0.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`,
    HAVE_DOCKER
      ? `- docker: dockerd ${'(Debian docker.io)'}, image ${IMAGE} built by packages/server/docker/build-runner-image.sh (FROM scratch + this host's node binary); one container per room`
      : `- docker: not measured — no Docker engine or no ${IMAGE} image on this machine`,
    before
      ? `- **before**: the same measurements, in the same run, of the build before issue 7 (revision ${before.rev}: \`process\` = Node's permission model + an empty network namespace, no bubblewrap, no cgroups), built from \`git archive\` by bench/src/before.ts${before.docker ? ', with its own runner image' : ''}`
      : '- before: not measured (SKIP_BEFORE=1)',
    '',
    '## Method',
    '',
    `- Start latency: a real server on 127.0.0.1 and a \`ws\` client; each sample joins a new room id (so a room, and for \`process\` a sandbox, is created) and times \`join\` sent → first frame received. ${START_SAMPLES} samples after one warm-up, 300 ms apart (the \`process\` runtime's warm pool of 2 idle sandboxes refills in between; a burst larger than the pool pays the sandbox's own start-up, see the cold row).`,
    `- Memory: ${MEM_ROOMS} pong rooms with 2 players each, started through the runtime directly, after 1.5 s of play (6 s for docker). \`process\` / \`docker\`: VmRSS and Pss (shared pages split among the processes sharing them) of each room, averaged: for \`process\` every process of the sandbox (node, and after issue 7 its two bubblewrap processes: every pid in the room's cgroup); for docker the container's node process seen from the host (dockerd/containerd-shim overhead not included; the idle warm-pool processes are not counted). \`inline\`: growth of the host's JS heap per room (after GC).`,
    `- Load: ${CONCURRENT} concurrent pong rooms with 2 players each (ball moving, a frame every tick), measured for ${RUN_MS / 1000} s after 2 s of warm-up: ticks per second per room (target 60), p99 of the engine's tick time (game tick + encoding) and p99 of the interval between two frames of one room as the host receives them; host CPU % of one core.`,
    '- Co-tenant under attack: one server per runtime with default limits; a well-behaved room (`ticker`, 30 Hz) keeps a player connected while each hostile game of the test suite runs next to it, one at a time, for 3 s, or until the runtime ends it (at most 15 s) for the attacks a runtime must end: the co-tenant\'s frames/s over that time and in its worst 500 ms, whether `/healthz` still answers and the co-tenant is still connected, and how the attack went: the close code and what its players read when its room was ended, or, for attacks the room survives, how many of its attempts (each reported by the game as a text) were blocked. The build before issue 7 is not run against these attacks: several of them escape it or take its whole host down (issue 7 lists what it did).',
    '',
    '## Results',
    '',
    'Start latency (join → first frame), before issue 7 and now:',
    '',
    '| runtime | p50 ms before | p50 ms now | p90 ms before | p90 ms now | max ms before | max ms now |',
    '| :-- | --: | --: | --: | --: | --: | --: |',
    ...([...kinds, 'process-cold'] as const).map((k) =>
      startRow(k === 'process' ? 'process (warm pool of 2)' : k === 'process-cold' ? 'process (cold: poolSize 0)' : k, k),
    ),
    '',
    'Memory per room, before issue 7 and now:',
    '',
    '| runtime | RSS MiB before | RSS MiB now | Pss MiB before | Pss MiB now |',
    '| :-- | --: | --: | --: | --: |',
    ...kinds.map((k) => `| ${k} | ${memCell(b?.mem[k]?.rss)} | ${mib(mem[k].rss)} | ${memCell(b?.mem[k]?.pss)} | ${mib(mem[k].pss)} |`),
    '',
    `${CONCURRENT} concurrent pong rooms, before issue 7 / now:`,
    '',
    '| runtime | ticks/s per room | p99 tick ms | p99 frame interval ms | host CPU % |',
    '| :-- | --: | --: | --: | --: |',
    ...kinds.map((k) => {
      const o = b?.load[k];
      const pair = (x: number | undefined, y: number, d = 1) => `${x === undefined ? '—' : x.toFixed(d)} / ${y.toFixed(d)}`;
      return `| ${k} | ${pair(o?.ticksPerSecond, load[k].ticksPerSecond)} | ${pair(o?.p99TickMs, load[k].p99TickMs, 2)} | ${pair(o?.p99IntervalMs, load[k].p99IntervalMs)} | ${pair(o?.hostCpuPct, load[k].hostCpuPct)} |`;
    }),
    '',
    `Co-tenant room (30 Hz) while each attack runs next to it (baseline: ${attackKinds.map((k) => `${k} ${f1(attacks[k].baselineFps)} fps`).join(', ')}):`,
    '',
    `| attack | ${attackKinds.map((k) => `${k}: fps mean / worst 500 ms | ${k}: host and co-tenant | ${k}: attacking room ended`).join(' | ')} |`,
    `| :-- | ${attackKinds.map(() => '--: | :-: | :--').join(' | ')} |`,
    ...ATTACKS.filter((a) => attackKinds.some((k) => attacks[k].rows.some((r) => r.label === a.label))).map((a) => {
      const cells = attackKinds.map((k) => {
        const r = attacks[k].rows.find((x) => x.label === a.label);
        return r ? `${f1(r.meanFps)} / ${f1(r.minFps)} | ${r.hostAlive ? 'alive' : '**DOWN**'} | ${r.outcome.replace(/\|/g, '/')}` : '— | — | —';
      });
      return `| ${a.label} | ${cells.join(' | ')} |`;
    }),
    '',
    '## Targets (issues 4 and 7)',
    '',
    `- \`process\` start < 150 ms: p50 ${f1(start.process.p50)} ms → ${start.process.p50 < 150 ? 'PASS' : 'FAIL'}`,
    ...(HAVE_DOCKER ? [`- \`docker\` start < 1 s: p50 ${f1(start.docker.p50)} ms, p90 ${f1(start.docker.p90)} ms → ${start.docker.p90 < 1000 ? 'PASS' : 'FAIL'}`] : []),
    `- < 40 MiB per \`process\` room: RSS ${mib(mem.process.rss)} MiB, Pss ${mib(mem.process.pss)} MiB → ${mem.process.pss < 40 * 1024 * 1024 ? 'PASS (Pss)' : 'FAIL'}${mem.process.rss < 40 * 1024 * 1024 ? ', PASS (RSS)' : ', RSS over'}`,
    `- every attack: host alive and co-tenant connected → ${attackKinds.every((k) => attacks[k].rows.every((r) => r.hostAlive)) ? 'PASS' : 'FAIL'}; co-tenant worst 500 ms ≥ 20 fps (of 30) → ${attackKinds.every((k) => attacks[k].rows.every((r) => r.minFps >= 20)) ? 'PASS' : 'FAIL'}`,
    '',
  ];
  const text = lines.join('\n');
  writeFileSync(OUT, text);
  console.log(text);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
