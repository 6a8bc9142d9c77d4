/**
 * Runtime benchmark: session start latency (join request → first frame, over a real WebSocket),
 * memory per session, and 50 concurrent pong sessions (ticks/s, p99 tick time) for the `inline`
 * and `process` runtimes. Writes `bench/RUNTIME-RESULTS.md` and prints it.
 *
 * Run: `npm run bench:runtime -w @parlor/bench` (= `node --expose-gc --import tsx src/runtime.bench.ts`).
 * `@parlor/server` and `@parlor/squish` resolve to the built packages: build them first
 * (`npm run build -w @parlor/squish -w @parlor/server`).
 */
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage } from '@parlor/squish';
import {
  DOCKER_LABELS,
  DockerRuntime,
  InlineRuntime,
  ProcessRuntime,
  createGameServer,
  dockerAvailable,
  loadGame,
  type EngineToHostMessage,
  type LoadedGame,
  type SessionRuntime,
} from '@parlor/server';

type Kind = 'inline' | 'process' | 'docker';
/** Runner image for the docker rows (build: packages/server/docker/build-runner-image.sh). */
const IMAGE = process.env.PARLOR_IMAGE ?? 'parlor-runner:local';
const HAVE_DOCKER = dockerAvailable(IMAGE);

function makeRuntime(kind: Kind): SessionRuntime {
  if (kind === 'inline') return new InlineRuntime();
  if (kind === 'process') return new ProcessRuntime({ logger: silent });
  return new DockerRuntime({ logger: silent, image: IMAGE, hostId: 'parlor-bench', memoryBytes: 256 * 1024 * 1024 });
}

/**
 * The processes of a `process` session's sandbox (bubblewrap and node): every pid in the room's
 * cgroup (`session.pid` is the outer bwrap); just that pid where rooms have no cgroup.
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

/** The host pid of a session's runner: the child's pid, or the container's init process. */
async function runnerPid(kind: Kind, runtime: SessionRuntime, session: { pid?: number }, sessionId: string): Promise<number | undefined> {
  if (kind === 'process') return session.pid;
  if (kind !== 'docker') return undefined;
  const docker = (runtime as DockerRuntime).docker;
  const [c] = await docker.listContainers({ filters: { label: [`${DOCKER_LABELS.session}=${sessionId}`] } });
  if (!c) return undefined;
  return (await docker.getContainer(c.Id).inspect()).State.Pid;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const OUT = path.join(repo, 'bench', 'RUNTIME-RESULTS.md');
const START_SAMPLES = Number(process.env.START_SAMPLES ?? 20);
const MEM_SESSIONS = Number(process.env.MEM_SESSIONS ?? 20);
const CONCURRENT = Number(process.env.CONCURRENT ?? 50);
const RUN_MS = Number(process.env.RUN_MS ?? 5000);

const silent = { debug() {}, info() {}, warn() {}, error() {} };
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

/** Joins a new session (unique id) and resolves with ms from sending `join` to the first frame. */
function joinFirstFrame(wsUrl: string, game: string, sessionId: string): Promise<{ ms: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    let t0 = 0;
    ws.on('open', () => {
      t0 = performance.now();
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game, sessionId, spectate: false, reconnectToken: '', ticket: '', name: 'bench', clientInfo: 'bench' }));
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
    dockerRuntime: { image: IMAGE, hostId: 'parlor-bench' },
    reconnectGraceMs: 0,
    sessionsPerAddressPerMinute: 1_000_000, // every sample joins a new session from 127.0.0.1 (default cap: 10/min)
  });
  const samples: number[] = [];
  try {
    // one warm-up session
    (await joinFirstFrame(server.wsUrl, 'pong', `warm-${runtime}`)).ws.close();
    for (let i = 0; i < START_SAMPLES; i++) {
      const { ms, ws } = await joinFirstFrame(server.wsUrl, 'pong', `s${i}-${runtime}`);
      samples.push(ms);
      ws.close();
      await sleep(300); // sessions arriving at most ~3/s: the process runtime's warm pool refills in between
    }
  } finally {
    await server.close();
  }
  return { p50: pct(samples, 0.5), p90: pct(samples, 0.9), max: Math.max(...samples) };
}

interface MemResult {
  /** Per session, bytes. */
  rss: number;
  pss: number;
  hostDelta: number;
}

async function memoryPerSession(kind: Kind, pong: LoadedGame): Promise<MemResult> {
  const runtime = makeRuntime(kind);
  gc();
  await sleep(200);
  gc();
  const hostBefore = process.memoryUsage().heapUsed;
  const sessions = [];
  for (let i = 0; i < MEM_SESSIONS; i++) {
    const s = runtime.start({ sessionId: `m${i}`, game: 'pong', gameClass: pong.gameClass, bundle: pong.bundle ?? undefined, baseDir: pong.baseDir, logger: silent });
    s.onMessage(() => {});
    s.send({ type: 'join', playerId: 1, name: 'a', spectator: false });
    s.send({ type: 'join', playerId: 2, name: 'b', spectator: false });
    sessions.push(s);
  }
  await sleep(kind === 'docker' ? 6000 : 1500); // let every session start and play
  gc();
  await sleep(200);
  const hostDelta = Math.max(0, process.memoryUsage().heapUsed - hostBefore) / MEM_SESSIONS;
  let rss = 0;
  let pss = 0;
  if (kind !== 'inline') {
    for (let i = 0; i < sessions.length; i++) {
      const pid = await runnerPid(kind, runtime, sessions[i] as { pid?: number }, `m${i}`);
      for (const p of pid ? (kind === 'process' ? sandboxPids(pid) : [pid]) : []) {
        const m = procMem(p);
        rss += m.rss;
        pss += m.pss;
      }
    }
    rss /= MEM_SESSIONS;
    pss /= MEM_SESSIONS;
  }
  for (const s of sessions) await s.terminate();
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
  const sessions = [];
  for (let i = 0; i < CONCURRENT; i++) {
    const s = runtime.start({ sessionId: `c${i}`, game: 'pong', gameClass: pong.gameClass, bundle: pong.bundle ?? undefined, baseDir: pong.baseDir, logger: silent });
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
    sessions.push(s);
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
  for (const s of sessions) await s.terminate();
  await runtime.close?.();
  return {
    ticksPerSecond: ticks / CONCURRENT / (elapsed / 1000),
    p99TickMs: pct(tickMs, 0.99),
    p99IntervalMs: pct(intervals, 0.99),
    hostCpuPct: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg()[0];
  const pong = await loadGame('pong', path.join(repo, 'examples', 'pong'));
  const kinds: Kind[] = HAVE_DOCKER ? ['inline', 'process', 'docker'] : ['inline', 'process'];
  const start: Record<string, StartResult> = {};
  const mem: Record<string, MemResult> = {};
  const load: Record<string, LoadResult> = {};
  for (const k of [...kinds, 'process-cold'] as const) {
    console.error(`start latency: ${k}`);
    start[k] = await startLatency(k, pong);
  }
  for (const k of kinds) {
    console.error(`memory: ${k}`);
    mem[k] = await memoryPerSession(k, pong);
  }
  for (const k of kinds) {
    console.error(`${CONCURRENT} concurrent sessions: ${k}`);
    load[k] = await concurrent(k, pong);
  }
  const cpu = os.cpus();
  const lines = [
    '# Runtime benchmark',
    '',
    'Generated by `npm run bench:runtime -w @parlor/bench` (bench/src/runtime.bench.ts) — do not edit by hand.',
    '',
    `- Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, ${os.platform()} ${os.release()}`,
    `- Node ${process.version}; @parlor/server from packages/server/dist; game: examples/pong (60 Hz, 2 players)`,
    `- Date: ${new Date().toISOString()}; run time ${Math.round((Date.now() - started) / 1000)} s; load average (1 min) ${load0.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`,
    HAVE_DOCKER
      ? `- docker: dockerd ${'(Debian docker.io)'}, image ${IMAGE} built by packages/server/docker/build-runner-image.sh (FROM scratch + this host's node binary); one container per session`
      : `- docker: not measured — no Docker engine or no ${IMAGE} image on this machine`,
    '',
    '## Method',
    '',
    `- Start latency: a real server on 127.0.0.1 and a \`ws\` client; each sample joins a new session id (so a session, and for \`process\` a child process, is created) and times \`join\` sent → first frame received. ${START_SAMPLES} samples after one warm-up, 300 ms apart (the \`process\` runtime's warm pool of 2 idle processes refills in between; a burst larger than the pool pays Node's own start-up, see the cold row).`,
    `- Memory: ${MEM_SESSIONS} pong sessions with 2 players each, started through the runtime directly, after 1.5 s of play (6 s for docker). \`process\` / \`docker\`: VmRSS and Pss (shared pages split among the processes sharing them) of each runner process (for \`process\`: the whole sandbox, node and its two bubblewrap processes, i.e. every pid in the room's cgroup; for docker: the container's node process, seen from the host), averaged (the idle warm-pool processes are not counted; dockerd/containerd-shim overhead is not included). \`inline\`: growth of the host's JS heap per session (after GC).`,
    `- Load: ${CONCURRENT} concurrent pong sessions with 2 players each (ball moving, a frame every tick), measured for ${RUN_MS / 1000} s after 2 s of warm-up: ticks per second per session (target 60), p99 of the engine's tick time (game tick + encoding) and p99 of the interval between two frames of one session as the host receives them; host CPU % of one core.`,
    '',
    '## Results',
    '',
    'Start latency (join → first frame):',
    '',
    '| runtime | p50 ms | p90 ms | max ms |',
    '| :-- | --: | --: | --: |',
    ...([...kinds, 'process-cold'] as const).map(
      (k) => `| ${k === 'process' ? 'process (warm pool of 2)' : k === 'process-cold' ? 'process (cold: poolSize 0)' : k} | ${f1(start[k].p50)} | ${f1(start[k].p90)} | ${f1(start[k].max)} |`,
    ),
    '',
    `Memory and ${CONCURRENT} concurrent pong sessions:`,
    '',
    '| runtime | RSS / session MiB | Pss / session MiB | ticks/s per session | p99 tick ms | p99 frame interval ms | host CPU % |',
    '| :-- | --: | --: | --: | --: | --: | --: |',
    ...kinds.map(
      (k) =>
        `| ${k} | ${mib(mem[k].rss)} | ${mib(mem[k].pss)} | ${f1(load[k].ticksPerSecond)} | ${load[k].p99TickMs.toFixed(2)} | ${f1(load[k].p99IntervalMs)} | ${f1(load[k].hostCpuPct)} |`,
    ),
    '',
    '## Targets (issue 4)',
    '',
    `- \`process\` start < 150 ms: p50 ${f1(start.process.p50)} ms → ${start.process.p50 < 150 ? 'PASS' : 'FAIL'}`,
    ...(HAVE_DOCKER ? [`- \`docker\` start < 1 s: p50 ${f1(start.docker.p50)} ms, p90 ${f1(start.docker.p90)} ms → ${start.docker.p90 < 1000 ? 'PASS' : 'FAIL'}`] : []),
    `- < 40 MiB per \`process\` session: RSS ${mib(mem.process.rss)} MiB, Pss ${mib(mem.process.pss)} MiB → ${mem.process.pss < 40 * 1024 * 1024 ? 'PASS (Pss)' : 'FAIL'}${mem.process.rss < 40 * 1024 * 1024 ? ', PASS (RSS)' : ', RSS over'}`,
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
