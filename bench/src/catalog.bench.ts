/**
 * Catalog benchmark: what publishing a game and running it from the catalog costs, next to today's
 * room from a local folder, side by side in one run.
 *
 * One process holds a real orchestrator serving its catalog (SQLite and artifacts in a temp folder,
 * the default publish gate: the same as `parlor validate`) on 127.0.0.1 (port 0), real game servers
 * (inline runtime) attached as fleet instances by real `FleetAgent`s, and real WebSocket players.
 *
 * (a) publish: `CatalogClient.publish(examples/pong, 'pong', <version>)` over REST, `PUBLISH_N`
 *     distinct versions one after another: pack, upload, the pipeline (gate, artifact, record), polled
 *     every 50 ms until PUBLISHED. The catalog's stage events split the gate from the rest, and the
 *     gate's report gives its smoke run (start + duration).
 * (b) room create → first frame, `CREATE_N` rounds, each round one sample of each, interleaved:
 *     - cold: a fresh host per sample (new game server, new empty artifact cache folder, new agent;
 *       connected and active before the clock starts): `POST /v1/rooms {game:'pong@1.0.0'}` →
 *       the orchestrator resolves it, the host fetches the artifact, verifies its sha256, extracts
 *       it, loads it, opens the room → 201 → a player connects, joins, gets its first frame;
 *     - warm: the same on a long-lived host that already runs pong@1.0.0 (cached, loaded);
 *     - local: `POST /v1/rooms {type:'pong'}` on a long-lived host that loaded examples/pong from disk;
 *     - new version on a running host (the other published versions, once each): cold artifact, warm process.
 *     Each room is deleted (DELETE /v1/rooms/:id) after its sample, so no room keeps ticking.
 * Writes bench/CATALOG-RESULTS.md and prints it.
 *
 * Run: `npm run bench:catalog` at the repository root (builds first), or
 * `node --import tsx bench/src/catalog.bench.ts` after a build. `PUBLISH_N` (default 8) and
 * `CREATE_N` (default 100) bound the run (a few minutes on 2 cores).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage } from '@parlor/squish';
import { FleetAgent } from '@parlor/fleet-agent';
import { Orchestrator, type PublishStage } from '@parlor/orchestrator';
import { ArtifactCache, CatalogVersions, createFleetHost, createGameServer, createLogger, type GameServer } from '@parlor/server';
import { CatalogClient } from '@parlor/server/catalog';

const PUBLISH_N = Number(process.env.PUBLISH_N ?? 8);
const CREATE_N = Number(process.env.CREATE_N ?? 100);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const PONG = path.join(repo, 'examples/pong');
const AGENT_KEY = 'bench-agent-key-0123456789abcdef';
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const PUBLISHER_KEY = 'bench-publisher-key-0123456789ab';
const quiet = createLogger({ level: 'silent' });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'parlor-catalog-bench-'));

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
const now = (): number => performance.now();

/** A game server (inline runtime) attached to the orchestrator as a fleet instance; `cache` makes it run catalog versions. */
interface Host {
  server: GameServer;
  agent: FleetAgent;
  cacheDir?: string;
  stop(): Promise<void>;
}

async function startHost(orch: Orchestrator, name: string, local: boolean, cacheDir?: string): Promise<Host> {
  const server = await createGameServer({ games: local ? { pong: PONG } : {}, port: 0, host: '127.0.0.1', logger: quiet });
  const versions = cacheDir ? new CatalogVersions(server, new ArtifactCache({ dir: cacheDir, key: AGENT_KEY, logger: quiet }), quiet) : undefined;
  const agent = new FleetAgent(createFleetHost(server, { versions }), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name, logger: quiet });
  await agent.connect({ connectTimeoutMs: 10_000 });
  const deadline = Date.now() + 10_000;
  while (orch.fleet.getInstance(agent.processUid)?.status !== 'active') {
    if (Date.now() > deadline) throw new Error(`host ${name} never became active`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    server,
    agent,
    cacheDir,
    async stop() {
      await agent.disconnect();
      await server.close();
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/** Calls the orchestrator's REST API with the admin key; throws unless `expect`. */
async function rest<T = unknown>(orch: Orchestrator, method: string, url: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(`${orch.url}${url}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = (await res.json()) as { data: T };
  if (res.status !== expect) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

/** A player: connects to `wsUrl`, joins `roomId`, resolves at its first frame. */
function firstFrame(wsUrl: string, game: string, roomId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const timer = setTimeout(() => done(new Error(`no frame from ${roomId} within 15 s`)), 15_000);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.close();
      if (err) reject(err);
      else resolve();
    };
    ws.on('error', (err) => done(err));
    ws.on('open', () => {
      ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game, roomId, spectate: false, reconnectToken: '', ticket: '', name: 'bench', clientInfo: 'bench' }));
    });
    ws.on('message', (data: Buffer) => {
      const msg = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (msg.type === 'frame') done();
      else if (msg.type === 'error') done(new Error(`join ${roomId}: ${JSON.stringify(msg)}`));
    });
  });
}

interface Sample {
  created: number;
  frame: number;
}

/** One create → first frame: `POST /v1/rooms` with `body` placed on `host`, then a player's first frame; the room is deleted after. */
async function createToFrame(orch: Orchestrator, host: Host, body: Record<string, unknown>, game: string): Promise<Sample> {
  const instanceId = host.agent.instanceId!;
  const t0 = now();
  const room = await rest<{ roomId: string }>(orch, 'POST', '/v1/rooms', { ...body, placement: { instanceId } }, 201);
  const created = now() - t0;
  await firstFrame(host.server.wsUrl, game, room.roomId);
  const frame = now() - t0;
  await rest(orch, 'DELETE', `/v1/rooms/${room.roomId}`, undefined, 200);
  return { created, frame };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loads: number[] = [os.loadavg()[0]];
  const loadTimer = setInterval(() => loads.push(os.loadavg()[0]), 5000);
  const stages = new Map<string, Partial<Record<PublishStage, number>>>();
  const orch = new Orchestrator({
    host: '127.0.0.1',
    port: 0,
    agentKey: AGENT_KEY,
    adminKey: ADMIN_KEY,
    publisherKey: PUBLISHER_KEY,
    logger: 'silent',
    catalog: {
      dir: path.join(tmp, 'catalog'),
      publishRate: { perMinute: 600 },
      onStage: (stage, r) => {
        const s = stages.get(r.id) ?? {};
        s[stage] = now();
        stages.set(r.id, s);
      },
    },
  });
  await orch.listen();
  console.log(`orchestrator + catalog at ${orch.url}`);
  const hosts: Host[] = [];
  try {
    // --- (a) publish
    const client = new CatalogClient({ baseUrl: orch.url, key: PUBLISHER_KEY });
    const publish: { total: number; gate: number; smoke: number; rest: number; runtime: string }[] = [];
    const versions: string[] = [];
    let artifactBytes = 0;
    for (let i = 0; i < PUBLISH_N; i++) {
      const version = `1.0.${i}`;
      const t0 = now();
      const request = await client.publish(PONG, 'pong', version, { pollMs: 50 });
      const total = now() - t0;
      if (request.state !== 'PUBLISHED') throw new Error(`pong@${version}: ${JSON.stringify(request.error)}`);
      const st = stages.get(request.id) ?? {};
      const gate = (st.gated ?? NaN) - (st.processing ?? NaN);
      const text = (await client.version('pong', version)).gate.text;
      const m = /smoke run \(([^,]+), started in (\d+) ms, ran (\d+) ms/.exec(text);
      const smoke = m ? Number(m[2]) + Number(m[3]) : NaN;
      publish.push({ total, gate, smoke, rest: total - gate, runtime: m?.[1] ?? '?' });
      artifactBytes = (await client.version('pong', version)).size;
      versions.push(version);
      console.log(`publish pong@${version}: ${ms(total)} ms (gate ${ms(gate)} ms, smoke run ${ms(smoke)} ms in ${m?.[1] ?? '?'})`);
    }

    // --- (b) create → first frame
    const warm = await startHost(orch, 'warm', false, path.join(tmp, 'warm-cache'));
    const local = await startHost(orch, 'local', true);
    hosts.push(warm, local);
    const game = { game: 'pong@1.0.0' };
    await createToFrame(orch, warm, game, 'pong'); // loads 1.0.0 on the warm host (not counted)
    await createToFrame(orch, local, { type: 'pong' }, 'pong'); // warm-up, not counted
    const cold: Sample[] = [];
    const hot: Sample[] = [];
    const disk: Sample[] = [];
    const newVersion: Sample[] = [];
    const nextVersions = versions.slice(1);
    const step = Math.max(1, Math.floor(CREATE_N / Math.max(1, nextVersions.length)));
    for (let i = 0; i < CREATE_N; i++) {
      const fresh = await startHost(orch, `cold-${i}`, false, mkdtempSync(path.join(tmp, 'cold-cache-')));
      try {
        const kinds = [
          async () => cold.push(await createToFrame(orch, fresh, game, 'pong')),
          async () => hot.push(await createToFrame(orch, warm, game, 'pong')),
          async () => disk.push(await createToFrame(orch, local, { type: 'pong' }, 'pong')),
        ];
        // the order rotates each round, so none of the three always follows a host's start
        for (let k = 0; k < kinds.length; k++) await kinds[(i + k) % kinds.length]();
        // the other published versions, spread over the rounds: a cold artifact on the long-lived host
        if (i % step === step - 1 && nextVersions.length) newVersion.push(await createToFrame(orch, warm, { game: `pong@${nextVersions.shift()}` }, 'pong'));
      } finally {
        await fresh.stop();
      }
      if ((i + 1) % 10 === 0) console.log(`create → first frame: ${i + 1}/${CREATE_N} rounds`);
    }
    const resolveMs: number[] = [];
    for (let i = 0; i < CREATE_N; i++) {
      const t0 = now();
      await rest(orch, 'GET', '/v1/resolve?game=pong@1.0.0', undefined, 200);
      resolveMs.push(now() - t0);
    }
    clearInterval(loadTimer);
    loads.push(os.loadavg()[0]);

    // --- report
    const cpu = os.cpus();
    const med = (xs: number[]): number => pct(xs, 50);
    const runtime = [...new Set(publish.map((p) => p.runtime))].join(', ');
    const ratio = (xs: Sample[], k: keyof Sample): string => `${(med(xs.map((x) => x[k])) / med(disk.map((x) => x[k]))).toFixed(2)}×`;
    const row = (what: string, xs: Sample[]): string =>
      `| ${what} | ${xs.length} | ${ms(pct(xs.map((x) => x.created), 50))} / ${ms(pct(xs.map((x) => x.created), 99))} | ${ms(pct(xs.map((x) => x.frame), 50))} / ${ms(pct(xs.map((x) => x.frame), 99))} | ${ratio(xs, 'created')} | ${ratio(xs, 'frame')} |`;
    const diff = (xs: Sample[]): string => {
      const d = med(xs.map((x) => x.frame)) - med(disk.map((x) => x.frame));
      return `${d >= 0 ? '+' : '−'}${ms(Math.abs(d))} ms`;
    };
    const smokeMed = med(publish.map((p) => p.smoke));
    const gateMed = med(publish.map((p) => p.gate));
    const md = `# Catalog benchmark

Generated by \`npm run bench:catalog\` (bench/src/catalog.bench.ts) — do not edit by hand.

- Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, ${os.platform()} ${os.release()}; Node ${process.version}
- Date: ${new Date().toISOString()}; run time ${Math.round((Date.now() - started) / 1000)} s; load average (1 min, sampled every 5 s) during the run:
  min ${Math.min(...loads).toFixed(2)}, median ${pct(loads, 50).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}. ${
  pct(loads, 50) > cpu.length + 1
    ? `**The machine was shared with other work during the run** (a load well above its ${cpu.length} cores): read the medians; the p99s carry that noise.`
    : `This bench's own process and the gate's sandbox make that load: no other work shared the machine.`
}
- One process holds the orchestrator with its catalog (SQLite + artifacts in a temp folder), the game servers
  (inline runtime), their fleet agents and the players; every hop is a real socket on 127.0.0.1 (REST, the
  agent's WebSocket, the artifact fetch over HTTP, the player's WebSocket).
- p99 is the nearest-rank percentile: with ${CREATE_N} samples it is the slowest one or close to it.

## (a) Publish examples/pong through the real gate over REST

\`CatalogClient.publish\` (pack → upload → PENDING → PUBLISHED, polled every 50 ms) against the orchestrator's
catalog with its default gate (\`createPublishGate()\`, as \`parlor validate\`: static scan, type check, sandboxed
load, ${runtime} smoke run of 5 s), ${PUBLISH_N} distinct versions one after another (p99 of ${PUBLISH_N} = the slowest).
The artifact (deterministic tar: bundle with inline source map, metadata) is ${(artifactBytes / 1024).toFixed(1)} KiB.
The publish rate limit was raised to 600/min for the run (the default, 10/min per publisher, would stall it).

| | p50 | p99 |
| --- | --- | --- |
| publish, client's view (pack → PUBLISHED) | ${ms(med(publish.map((p) => p.total)))} ms | ${ms(pct(publish.map((p) => p.total), 99))} ms |
| of which the gate (stage processing → gated) | ${ms(med(publish.map((p) => p.gate)))} ms | ${ms(pct(publish.map((p) => p.gate), 99))} ms |
| of which the gate's smoke run (sandbox start + run, from its report) | ${ms(med(publish.map((p) => p.smoke)))} ms | ${ms(pct(publish.map((p) => p.smoke), 99))} ms |
| the rest (pack, upload, unpack, artifact, record, polling) | ${ms(med(publish.map((p) => p.rest)))} ms | ${ms(pct(publish.map((p) => p.rest), 99))} ms |

Share of a publish (medians): the gate ${((gateMed / med(publish.map((p) => p.total))) * 100).toFixed(0)} %, of which the smoke run ${((smokeMed / med(publish.map((p) => p.total))) * 100).toFixed(0)} %
(its 5 s window is fixed) and the rest of the gate (static scan, type check, sandboxed load, artifact build) ≈ ${ms(gateMed - smokeMed)} ms.

## (b) Room create → first frame (\`POST /v1/rooms\` on the orchestrator, then a real WebSocket player)

${CREATE_N} rounds, one sample of each of the first three rows per round, interleaved in an order that rotates each
round (so load drift hits them alike, and none always follows the start of the round's fresh host);
each sample's clock starts before \`POST /v1/rooms\` and stops at the player's first \`frame\` message (the player
connects and joins right after the 201). Every room is deleted after its sample. Inline runtime.

- **cold**: a fresh host per sample (new game server, new empty artifact cache folder, new fleet agent, active
  before the clock starts): resolve → place → the host fetches the artifact over HTTP, verifies its sha256,
  extracts and loads it, opens the room → 201. The Node process itself is warm (modules loaded, JIT).
- **warm**: a long-lived host already running pong@1.0.0 (artifact cached and loaded).
- **local folder**: today's path, \`{type:'pong'}\` on a long-lived host that loaded examples/pong from disk.
- **new version on a running host**: the other published versions, once each, on the warm host, spread over the
  rounds: a cold artifact (fetch, verify, extract, load) on a warm process.

| create → | samples | POST → 201, p50 / p99 (ms) | POST → first frame, p50 / p99 (ms) | 201 vs local (p50) | first frame vs local (p50) |
| --- | --- | --- | --- | --- | --- |
${row('catalog, cold (fresh host)', cold)}
${row('catalog, warm (cached, loaded)', hot)}
${row('local folder (`type: pong`)', disk)}
${row('catalog, new version on a running host', newVersion)}

First frame against a local-folder create, at the median: cold ${diff(cold)}, warm ${diff(hot)}, new version on a running host ${diff(newVersion)}.
A warm create does a local one's work plus the catalog's resolve (below) and the host's lookup of the loaded version.
The first frame waits for the room's next send tick, the same for every row. For scale: the catalog's
\`GET /v1/resolve?game=pong@1.0.0\` alone (the lookup a create by game adds before placement) takes
${ms(med(resolveMs))} ms at the median (p99 ${ms(pct(resolveMs, 99))} ms, ${CREATE_N} calls).
`;
    writeFileSync(path.join(here, '..', 'CATALOG-RESULTS.md'), md);
    console.log(`\n${md}`);
  } finally {
    clearInterval(loadTimer);
    for (const h of hosts) await h.stop().catch(() => undefined);
    await orch.shutdown();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  },
);
