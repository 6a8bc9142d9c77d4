/**
 * Scaling benchmark: the buffer autoscaler growing a fleet through the Docker Swarm provisioner,
 * on the real single-node swarm of this machine (real services of the server image built from
 * this checkout, real agents joining a real in-process orchestrator over WebSocket, rooms created
 * over its REST API).
 *
 * One series: an orchestrator with the autoscaler (buffer B slots, instances of C room slots, min
 * 1, max 4, sync every SYNC ms, a cool-down long enough that nothing scales down) starts its
 * first instance; then one client creates pong rooms back to back (a 409 NO_CANDIDATE is
 * retried after 25 ms) until the 4 instances are full. Measured:
 * - **buffer exhausted → new instance accepting rooms**: from the create after which the joined
 *   instances' free slots are below B (the fleet below max), to the first create that lands on a
 *   new instance; split into the autoscaler's decision, the instance's boot (service created →
 *   its agent joined) and the first room on it. Three samples per series (1→2, 2→3, 3→4).
 * - **rooms/s while scaling 1 → 4 instances**: rooms created / time from the first create to the
 *   last, waits for booting instances included; and, as a baseline, rooms/s of the same creates
 *   on the 4 instances once they run (every room destroyed, then created again).
 * Every service, secret and volume of a series is removed after it. Writes
 * bench/SCALING-RESULTS.md and prints it.
 *
 * Run: `npm run bench:scaling` at the repository root (builds first), or
 * `node --import tsx bench/src/scaling.bench.ts` after a build. Needs dockerd in swarm mode
 * (`docker swarm init --advertise-addr 127.0.0.1`). Knobs (defaults): `SCALING_SERIES` (5),
 * `SCALING_CAPACITY` (4 rooms per instance), `SCALING_BUFFER` (4), `SCALING_SYNC_MS` (250).
 * About 2 minutes on 2 cores.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Orchestrator, SwarmProvisioner, createLogger, type AutoscalerDecision } from '@parlor/orchestrator';
import { ms, p50p99, pct, sampleLoad } from './lifecycle/stats.js';
import { buildImage, gamesFolder, removeDir, removeSwarmObjects, requireSwarm } from './scaling/swarm.js';

const SERIES = Number(process.env.SCALING_SERIES ?? 5);
const CAPACITY = Number(process.env.SCALING_CAPACITY ?? 4);
const BUFFER = Number(process.env.SCALING_BUFFER ?? 4);
const SYNC_MS = Number(process.env.SCALING_SYNC_MS ?? 250);
const MAX = 4;
const IMAGE = 'parlor-server:bench';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');
const AGENT_KEY = `agent-${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;

/** One scale-up: ms from the buffer exhausted to each step. */
interface Sample {
  decision: number;
  joined: number;
  accepting: number;
}

interface Series {
  samples: Sample[];
  rooms: number;
  scalingMs: number;
  refusals: number;
  staticMs: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A REST answer: `data` on success, `cause` on a refusal. */
interface Answer {
  status: number;
  body: { data?: { roomId: string; instanceId: string }; cause?: string };
}

async function rest(base: string, method: string, p: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** Creates rooms back to back until `total` exist; `onCreated` after each. Returns the NO_CANDIDATE refusals. */
async function createRooms(base: string, total: number, onCreated: (instanceId: string) => void): Promise<{ refusals: number; ids: string[] }> {
  let refusals = 0;
  const ids: string[] = [];
  while (ids.length < total) {
    const r = await rest(base, 'POST', '/v1/rooms', { type: 'pong' });
    if (r.status === 201 && r.body.data) {
      ids.push(r.body.data.roomId);
      onCreated(r.body.data.instanceId);
    } else if (r.status === 409 && r.body.cause === 'NO_CANDIDATE') {
      refusals++;
      await new Promise((res) => setTimeout(res, 25)); // no instance has a slot yet: ask again shortly
    }
    else throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { refusals, ids };
}

async function series(n: number, games: string): Promise<Series> {
  const prefix = `pbench-${n}-${randomBytes(2).toString('hex')}`;
  const port = await freePort();
  const swarm = new SwarmProvisioner({
    template: { image: IMAGE, command: ['serve', '--runtime', 'inline', '--games', '/games'], fleetUrl: `ws://127.0.0.1:${port}`, agentKey: AGENT_KEY, labels: {}, capacity: CAPACITY, env: {} },
    service: prefix,
    mounts: [{ source: games, target: '/games' }],
    stopGracePeriodMs: 5_000,
  });
  const orch = new Orchestrator({
    host: '127.0.0.1',
    port,
    agentKey: AGENT_KEY,
    adminKey: ADMIN_KEY,
    pollMs: 500,
    logger: createLogger({ level: 'silent' }),
    autoscaler: { provisioner: swarm, buffer: BUFFER, minInstances: 1, maxInstances: MAX, coolDownMs: 3_600_000, syncMs: SYNC_MS, drainTimeoutMs: 60_000 },
  });
  const decisions: Array<AutoscalerDecision & { seenAt: number }> = [];
  const joins = new Map<string, number>();
  orch.on('autoscaler', (d) => decisions.push({ ...d, seenAt: Date.now() }));
  orch.on('instance:join', ({ instance }) => joins.set(instance.id, Date.now()));
  try {
    await orch.listen();
    const base = `http://127.0.0.1:${port}`;
    await until(() => orch.fleet.instances.length === 1, 'the first instance');
    const mine = new Map<string, number>(); // rooms per instance
    const samples: Sample[] = [];
    let pending: { t0: number; known: Set<string>; decisions: number } | null = null;
    const free = (): number => orch.fleet.instances.filter((i) => i.status === 'active' && !i.stale).reduce((a, i) => a + i.capacity.maxRooms - (mine.get(i.id) ?? 0), 0);
    const t0 = Date.now();
    const { refusals, ids } = await createRooms(base, MAX * CAPACITY, (instanceId) => {
      const now = Date.now();
      mine.set(instanceId, (mine.get(instanceId) ?? 0) + 1);
      if (pending && !pending.known.has(instanceId)) {
        const d = decisions.slice(pending.decisions).find((x) => x.action === 'scale_up');
        samples.push({ decision: (d?.seenAt ?? NaN) - pending.t0, joined: (joins.get(instanceId) ?? NaN) - pending.t0, accepting: now - pending.t0 });
        pending = null;
      }
      if (!pending && free() < BUFFER && orch.fleet.instances.length < MAX) pending = { t0: now, known: new Set(orch.fleet.instances.map((i) => i.id)), decisions: decisions.length };
    });
    const scalingMs = Date.now() - t0;
    for (const id of ids) await rest(base, 'DELETE', `/v1/rooms/${id}`);
    await until(() => orch.fleet.rooms.length === 0, 'the rooms gone');
    const s0 = Date.now();
    await createRooms(base, MAX * CAPACITY, () => undefined);
    const staticMs = Date.now() - s0;
    return { samples, rooms: ids.length, scalingMs, refusals, staticMs };
  } finally {
    await orch.shutdown().catch(() => undefined);
    await swarm.close();
    await removeSwarmObjects(prefix);
  }
}

requireSwarm();
const started = Date.now();
const load = sampleLoad();
console.error(`building ${IMAGE}…`);
const buildMs = await buildImage(root, IMAGE);
const rebuildMs = await buildImage(root, IMAGE);
const { games, dir } = gamesFolder('pong', path.join(root, 'examples', 'pong'));
const all: Series[] = [];
try {
  for (let i = 0; i < SERIES; i++) {
    console.error(`series ${i + 1}/${SERIES}…`);
    all.push(await series(i, games));
  }
} finally {
  removeDir(dir);
}
const loads = load.stop();
const runS = Math.round((Date.now() - started) / 1000);

const samples = all.flatMap((s) => s.samples);
const col = (k: keyof Sample): number[] => samples.map((s) => s[k]).filter(Number.isFinite);
const boot = samples.map((s) => s.joined - s.decision).filter(Number.isFinite);
const first = samples.map((s) => s.accepting - s.joined).filter(Number.isFinite);
const scalingRate = all.map((s) => (s.rooms / s.scalingMs) * 1000);
const staticRate = all.map((s) => (s.rooms / s.staticMs) * 1000);
const rate = (xs: number[]): string => `${pct(xs, 50).toFixed(1)} (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
const sortedLoad = [...loads].sort((a, b) => a - b);
const cpu = os.cpus();

const md = `# Scaling benchmark (buffer autoscaler + Docker Swarm provisioner)

Generated by \`npm run bench:scaling\` (bench/src/scaling.bench.ts) — do not edit by hand.

Machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, Docker single-node swarm, ${new Date().toISOString().slice(0, 10)}.
Load average (1 min) during the run: median ${pct(sortedLoad, 50).toFixed(1)}, max ${sortedLoad[sortedLoad.length - 1]!.toFixed(1)} on ${cpu.length} cores${pct(sortedLoad, 50) > cpu.length ? ' (a shared, busy machine: times are upper bounds)' : ''}. Run time ${runS} s.

Setup: one in-process orchestrator with the autoscaler (buffer ${BUFFER} free room slots, instances of ${CAPACITY} slots, min 1, max ${MAX}, sync every ${SYNC_MS} ms); each instance a Swarm service of \`parlor-server\` (FROM scratch + node, \`parlor serve --runtime inline\`, host network, state volume, agent key as a Swarm secret) serving examples/pong; one client creating rooms over REST back to back (a \`409 NO_CANDIDATE\` retried after 25 ms). ${SERIES} series, 3 scale-ups each (1→2, 2→3, 3→4 instances): ${samples.length} samples; with this few samples p99 is the worst one.

Server image (build-server-image.sh): ${(buildMs / 1000).toFixed(1)} s for the first call of this run (a build when its inputs changed since the tag was last built), ${(rebuildMs / 1000).toFixed(1)} s for a second call that finds it unchanged by its inputs' hash.

## Buffer exhausted → new instance accepting rooms

From the create that left fewer than ${BUFFER} free slots on the joined instances to the first room created on the new instance.

| step | p50 / p99 (ms) |
|---|---|
| autoscaler decided (scale_up, after the create) | ${p50p99(col('decision'))} |
| instance joined the fleet (after the create) | ${p50p99(col('joined'))} |
| **first room created on it (after the create)** | **${p50p99(col('accepting'))}** |
| of which: boot (decision → joined: service, task, node start, agent) | ${p50p99(boot)} |
| of which: first room (joined → room created) | ${p50p99(first)} |

## Rooms per second while scaling from 1 to ${MAX} instances

| | rooms/s, median of series (min, max) |
|---|---|
| creating ${MAX * CAPACITY} rooms while the fleet grows 1 → ${MAX} (waits for booting instances included) | ${rate(scalingRate)} |
| the same ${MAX * CAPACITY} creates on ${MAX} running instances (baseline) | ${rate(staticRate)} |

NO_CANDIDATE refusals met while scaling (retried): ${all.map((s) => s.refusals).join(', ')} per series: a refusal means the client was faster than an instance's boot, i.e. the buffer (${BUFFER} slots = ${(BUFFER / CAPACITY).toFixed(1)} instance) was too small for this create rate.

## Next to Agones (published figures, not measured here)

| | Agones (published) | Parlor here |
|---|---|---|
| allocation latency | requests are batched: the allocator waits \`batchWaitTime\` = 500 ms (default) to group them [1] | a create is placed at once: ${ms(pct(staticRate.map((r) => 1000 / r), 50))} ms per room on running instances (sequential client, including the room's start on its host) |
| allocations (rooms) per second | 26–76 allocations/s in Agones' own load tests [2] | ${rate(staticRate)} rooms/s, one sequential client, running instances; ${rate(scalingRate)} while growing 1 → ${MAX} |
| new capacity | a FleetAutoscaler buffer of Ready game servers (Pods) | a buffer of free room slots; new instance accepting rooms ${ms(pct(col('accepting'), 50))} ms (p50) after the buffer ran out |

The comparison is loose: Agones allocates a whole game server (Pod) per session on a multi-node
Kubernetes cluster with many concurrent clients; Parlor places rooms (many per instance) from one
client on one 2-core machine where the engine, the instances and the orchestrator share the CPU.

[1] Agones allocator \`batchWaitTime\`, 500 ms by default: https://github.com/googleforgames/agones/issues/2586 (made configurable; \`agones.controller.allocationBatchWaitTime\` in the Helm chart), https://github.com/googleforgames/agones/issues/3635.
[2] Agones, test/load/allocation/README.md (https://github.com/googleforgames/agones/blob/main/test/load/allocation/README.md): 4 000 allocations by 40 clients in 52.6 s (≈ 76/s); the scenario test's 15 clients for 10 min: 15 497 allocations (≈ 26/s).
`;
writeFileSync(path.join(root, 'bench', 'SCALING-RESULTS.md'), md);
console.log(md);
