/**
 * Fleet benchmark: one orchestrator (child process) and 1 000 simulated agents (real FleetAgent
 * objects on real WebSocket connections, in this process), at 1 s polls.
 *
 * Measures: orchestrator CPU (% of one core) and memory at steady state with 1 000 idle agents;
 * p50/p99 latency of `POST /v1/rooms` → 201 (sequential, keep-alive); sustained creates/s
 * (concurrent clients). Writes bench/FLEET-RESULTS.md.
 *
 * Run: `npm run bench:fleet -w @parlor/bench` (needs `npm run build` first for the packages' dist).
 */
import { pino } from 'pino';
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetAgent, type FleetHost, type HostRoom } from '@parlor/fleet-agent';
import { Agent, request } from 'undici';

const AGENTS = Number(process.env.FLEET_AGENTS ?? 1000);
const IDLE_MS = Number(process.env.FLEET_IDLE_MS ?? 10_000);
const SEQ_CREATES = Number(process.env.FLEET_SEQ_CREATES ?? 2000);
const THROUGHPUT_MS = Number(process.env.FLEET_THROUGHPUT_MS ?? 5000);
const CONCURRENCY = Number(process.env.FLEET_CONCURRENCY ?? 32);
const here = path.dirname(fileURLToPath(import.meta.url));

class SimHost implements FleetHost {
  readonly rooms = new Map<string, HostRoom>();
  listRooms(): HostRoom[] {
    return [...this.rooms.values()];
  }
  roomTypes(): string[] {
    return ['pong'];
  }
  createRoom(type: string, roomId: string): void {
    this.rooms.set(roomId, { roomId, type, clientCount: 0, createdAt: Date.now() });
  }
  destroyRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }
}

function ask<T>(child: ChildProcess, msg: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { t: string }) => {
      if (m.t === reply) {
        child.off('message', on);
        resolve(m as T);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg()[0];
  const child = fork(path.join(here, 'fleet-orchestrator-child.ts'), [], { execArgv: ['--import', 'tsx', ...(process.env.FLEET_CHILD_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.FLEET_CHILD_PROF] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ url: string; agentUrl: string }>((r) => child.once('message', (m) => r(m as never)));
  console.log(`orchestrator at ${ready.url}; connecting ${AGENTS} agents…`);

  const agents: FleetAgent[] = [];
  const t0 = Date.now();
  for (let i = 0; i < AGENTS; i++) {
    const a = new FleetAgent(new SimHost(), {
      url: ready.agentUrl,
      key: 'bench-agent-key-0123456789',
      endpointUrl: `http://10.0.${Math.floor(i / 250)}.${i % 250}:8080`,
      name: `sim-${i}`,
      labels: { zone: `z${i % 4}` },
      capacity: { maxConnections: 1000, maxRooms: 1000 },
      logger: pino({ level: 'silent' }),
    });
    agents.push(a);
  }
  for (let i = 0; i < AGENTS; i += 100) await Promise.all(agents.slice(i, i + 100).map((a) => a.connect({ connectTimeoutMs: 60_000 })));
  const connectMs = Date.now() - t0;
  console.log(`${AGENTS} agents connected in ${connectMs} ms; settling…`);
  await sleep(3000);

  // --- steady state, idle
  await ask(child, { t: 'mark' }, 'marked');
  await sleep(IDLE_MS);
  const idle = await ask<{ cpuUs: number; wallUs: number; rss: number; heapUsed: number; stats: { instances: number } }>(child, { t: 'measure' }, 'measured');
  const idleCpu = (idle.cpuUs / idle.wallUs) * 100;
  console.log(`idle: ${idleCpu.toFixed(2)}% of one core, rss ${(idle.rss / 2 ** 20).toFixed(1)} MiB, ${idle.stats.instances} instances`);

  // --- sequential create latency
  const dispatcher = new Agent({ connections: CONCURRENCY + 4, keepAliveTimeout: 30_000 });
  const auth = { authorization: 'Bearer bench-admin-key-0123456789', 'content-type': 'application/json' };
  let n = 0;
  const create = async (): Promise<number> => {
    const body = JSON.stringify({ type: 'pong', roomId: `b${n++}` });
    const s = process.hrtime.bigint();
    const res = await request(`${ready.url}/v1/rooms`, { method: 'POST', headers: auth, body, dispatcher });
    await res.body.text();
    if (res.statusCode !== 201) throw new Error(`create → ${res.statusCode}`);
    return Number(process.hrtime.bigint() - s) / 1e6;
  };
  for (let i = 0; i < 200; i++) await create(); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < SEQ_CREATES; i++) lat.push(await create());
  lat.sort((a, b) => a - b);
  const p50 = pct(lat, 50);
  const p99 = pct(lat, 99);
  console.log(`sequential POST /v1/rooms → 201: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${SEQ_CREATES} creates)`);

  // --- sustained throughput
  await ask(child, { t: 'mark' }, 'marked');
  let done = 0;
  const concLat: number[] = [];
  const end = Date.now() + THROUGHPUT_MS;
  const tStart = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        concLat.push(await create());
        done++;
      }
    }),
  );
  const tookS = (Date.now() - tStart) / 1000;
  const busy = await ask<{ cpuUs: number; wallUs: number; rss: number; stats: { rooms: number } }>(child, { t: 'measure' }, 'measured');
  const perS = done / tookS;
  concLat.sort((a, b) => a - b);
  console.log(`sustained: ${perS.toFixed(0)} creates/s with ${CONCURRENCY} concurrent clients (p50 ${pct(concLat, 50).toFixed(2)} ms, p99 ${pct(concLat, 99).toFixed(2)} ms); orchestrator ${((busy.cpuUs / busy.wallUs) * 100).toFixed(0)}% of a core; rooms ${busy.stats.rooms}`);

  await dispatcher.close();
  await Promise.all(agents.map((a) => a.disconnect()));
  const exited = new Promise((r) => child.once('exit', r));
  child.send({ t: 'stop' });
  await exited;
  const load1 = os.loadavg()[0];

  const cpu = os.cpus();
  const pass = (ok: boolean) => (ok ? 'pass' : 'FAIL');
  const md = `# Fleet benchmark

Generated by \`npm run bench:fleet -w @parlor/bench\` (bench/src/fleet.bench.ts) — do not edit by hand.

- Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, ${os.platform()} ${os.release()}; Node ${process.version}
- Date: ${new Date().toISOString()}; run time ${Math.round((Date.now() - started) / 1000)} s; load average (1 min) ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end
- The orchestrator runs alone in a child process (CPU and memory are its own, from \`process.cpuUsage\` / \`memoryUsage\`);
  the ${AGENTS} simulated agents are real \`FleetAgent\` objects with real WebSocket connections in the parent process
  (sharing the same ${cpu.length} cores), each with an in-memory host, default sampling (100 ms) and 1 s polls.
- Latency: ${SEQ_CREATES} sequential \`POST /v1/rooms\` → 201 over one keep-alive undici pool after 200 warm-up creates;
  each create is placed (least-loaded over ${AGENTS} instances), sent to the agent, acked, and answered.
  Throughput: ${CONCURRENCY} concurrent clients for ${THROUGHPUT_MS / 1000} s. The load generator, the ${AGENTS} agents and the
  orchestrator share ${cpu.length} cores (and whatever else runs on the machine), so the sustained rate is bounded by the
  whole pipeline; the CPU per create below is the orchestrator's own cost.

| what | measured | target | |
| --- | --- | --- | --- |
| agents connected | ${idle.stats.instances} in ${connectMs} ms | 1 000 | ${pass(idle.stats.instances === AGENTS)} |
| orchestrator CPU, ${AGENTS} idle agents, 1 s polls | ${idleCpu.toFixed(2)}% of one core | < 10% | ${pass(idleCpu < 10)} |
| orchestrator memory (RSS / heap used), idle | ${(idle.rss / 2 ** 20).toFixed(1)} MiB / ${(idle.heapUsed / 2 ** 20).toFixed(1)} MiB | — | |
| \`POST /v1/rooms\` → 201, p50 | ${p50.toFixed(2)} ms | < 5 ms | ${pass(p50 < 5)} |
| \`POST /v1/rooms\` → 201, p99 | ${p99.toFixed(2)} ms | < 50 ms | ${pass(p99 < 50)} |
| sustained creates/s (${CONCURRENCY} concurrent) | ${perS.toFixed(0)} /s (p50 ${pct(concLat, 50).toFixed(2)} ms, p99 ${pct(concLat, 99).toFixed(2)} ms) | ≥ 1 000 /s | ${pass(perS >= 1000)} |
| orchestrator CPU during the create burst | ${((busy.cpuUs / busy.wallUs) * 100).toFixed(0)}% of one core; ${(busy.cpuUs / done).toFixed(0)} µs of CPU per create (⇒ ≈ ${Math.round(1e6 / (busy.cpuUs / done))} creates/s per fully used core) | — | |
| orchestrator RSS after ${busy.stats.rooms} rooms | ${(busy.rss / 2 ** 20).toFixed(1)} MiB | — | |

Peer figure (DESIGN.md): Agones allocation ≈ 500 ms batch, 26–76 allocations/s.
`;
  writeFileSync(path.join(here, '..', 'FLEET-RESULTS.md'), md);
  console.log('wrote bench/FLEET-RESULTS.md');
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
