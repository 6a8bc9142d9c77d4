/**
 * The README's "Scale out" commands, for scripts/readme-commands.mjs: the Swarm provisioner grown and
 * shrunk by its buffer autoscaler on this machine's engine (a real single-node swarm, as `.ci/run` makes
 * it), the Kubernetes manifests generator, and two orchestrators on one throwaway Postgres server. Each
 * entry runs its command as written and checks what the README promises through the orchestrator's REST
 * API, the engine (`docker service ls`) and real WebSocket joins.
 *
 * `scalingSteps(h)` takes the runner's helpers `h`: { adminApi, answers, expectOut, until, noDocker,
 * joinFirstFrame }.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ORCH_SWARM = 'npx parlor-orchestrator --provisioner swarm --buffer 4 --instance-capacity 4 --max-instances 4 --cool-down 10000 --server-arg --games --server-arg /games';
const CREATE_FIVE = `for i in 1 2 3 4 5; do curl -s -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d '{"type":"pong"}' http://localhost:7070/v1/rooms; echo; done`;
const DELETE_ALL = `for id in $(curl -s -H "Authorization: Bearer $ADMIN_KEY" http://localhost:7070/v1/rooms | grep -o '"roomId":"[^"]*"' | cut -d'"' -f4); do curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $ADMIN_KEY" http://localhost:7070/v1/rooms/$id; done`;
const SERVICES = 'docker service ls --filter label=parlor.provisioner=swarm';
const PG = 'node scripts/throwaway-postgres.mjs --port 5433';
const PG_URL = 'postgres://parlor@127.0.0.1:5433/parlor';
const DEMO_KEYS = '--admin-key demo-admin-key-0123456789abcdef --agent-key demo-agent-key-0123456789abcdef';
const orchPg = (port, name) => `npx parlor-orchestrator --port ${port} --database-url ${PG_URL} --catalog-dir parlor-data/shared-catalog --data-dir parlor-data/orchestrator-${name} --gate-runtime process ${DEMO_KEYS}`;
const ORCH_A = orchPg(7171, 'a');
const ORCH_B = orchPg(7172, 'b');

/** The swarm services the provisioner started (its label), as `docker service ls` lists them. */
function swarmServices() {
  const r = spawnSync('docker', ['service', 'ls', '--filter', 'label=parlor.provisioner=swarm', '--format', '{{.Name}} {{.Replicas}}'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`docker service ls failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
}
const swarmInactive = () => {
  const r = spawnSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8', timeout: 15_000 });
  return r.stdout.trim() !== 'active';
};
/** Where Debian's PostgreSQL binaries are (the throwaway server needs initdb and postgres), or null. */
const postgresBin = () => {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const v = readdirSync(base).find((d) => existsSync(path.join(base, d, 'bin', 'initdb')));
  return v ? path.join(base, v, 'bin') : null;
};
const noPostgres = () => (postgresBin() ? null
  : process.env.CI === 'true' ? null // under CI a missing server is a failure of the step, not a skip
    : "Debian's postgresql binaries are not installed (apt-get install postgresql; .ci/run installs them)");

export function scalingSteps(h) {
  const autoscaler = async (ctx) => (await h.adminApi(ctx, 'GET', '/v1/autoscaler')).data;
  // every Swarm step is skipped, with the reason, where no Docker engine answers (never under CI=true)
  const swarm = (entry) => ({ ...entry, unless: async (ctx) => h.noDocker() ?? (await entry.unless?.(ctx)) ?? null });
  return [
    // ---- Docker Swarm ---------------------------------------------------------------------------
    swarm({
      cmd: 'packages/server/docker/build-server-image.sh parlor-server:local examples', timeoutMs: 300_000,
      check: (out) => h.expectOut(out, /^parlor-server:local$/m, 'the tag "parlor-server:local"'),
    }),
    swarm({
      cmd: 'docker swarm init --advertise-addr 127.0.0.1', timeoutMs: 60_000,
      unless: () => (swarmInactive() ? null : 'this engine is already a swarm (`docker info` says "Swarm: active"), as the README says to skip it then'),
      check: () => {
        if (swarmInactive()) throw new Error('the engine is still not in swarm mode');
        return 'the engine is a single-node swarm';
      },
    }),
    swarm({
      cmd: ORCH_SWARM, background: true, timeoutMs: 180_000, ports: [7070],
      ready: { line: /admin key: (\S+)/, url: 'http://localhost:7070/readyz' },
      check: async (ctx, job) => {
        h.expectOut(job.out, /Scaling: swarm provisioner, buffer 4 free room slots, 1–4 instances of 4 rooms/, 'the "Scaling: swarm provisioner, buffer 4 …" line');
        ctx.env.ADMIN_KEY = /admin key: (\S+)/.exec(job.out)[1]; // as a user copies it into ADMIN_KEY
        const joined = await h.until(async () => (await autoscaler(ctx)).instances.joined >= 1, 120_000);
        if (!joined) throw new Error(`no instance joined within 120 s: ${JSON.stringify(await autoscaler(ctx))}`);
        return `one swarm instance started and joined (${swarmServices().join(', ')}); ADMIN_KEY taken from its banner`;
      },
    }),
    swarm({
      cmd: CREATE_FIVE, during: ORCH_SWARM, timeoutMs: 60_000,
      check: async (out, ctx, stdout) => {
        const answers = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
        if (answers.length !== 5) throw new Error(`${answers.length} answers, not 5`);
        const made = answers.filter((a) => a.status === 'OK');
        const refused = answers.filter((a) => a.status !== 'OK');
        if (made.length < 4) throw new Error(`only ${made.length} of the first creates were placed: ${stdout}`);
        if (refused.some((a) => a.cause !== 'NO_CANDIDATE')) throw new Error(`a create was refused for another reason than NO_CANDIDATE: ${stdout}`);
        await h.joinFirstFrame(ctx, made[0].data.joinUrl.replace(/\/play\/.*$/, ''), 'pong');
        return `${made.length} rooms placed${refused.length ? ', the 5th refused NO_CANDIDATE while the new instance booted' : ''}; a WebSocket join of the first got a frame`;
      },
    }),
    swarm({
      cmd: `curl -s -H "Authorization: Bearer $ADMIN_KEY" http://localhost:7070/v1/autoscaler`, during: ORCH_SWARM, timeoutMs: 30_000,
      // the README shows the fleet grown: wait (as a reader would, a few seconds) for the second instance to join first
      unless: async (ctx) => {
        await h.until(async () => (await autoscaler(ctx)).instances.joined >= 2, 120_000);
        return null; // and the check says what it shows if it did not grow
      },
      check: (out, ctx, stdout) => {
        const a = JSON.parse(stdout).data;
        if (a.provisioner !== 'swarm' || a.buffer.target !== 4) throw new Error(`provisioner ${a.provisioner}, buffer target ${a.buffer?.target}`);
        if (a.instances.provisioned !== 2 || a.instances.joined !== 2) throw new Error(`instances ${JSON.stringify(a.instances)}, not 2 provisioned and joined`);
        if (a.lastDecision?.action !== 'scale_up') throw new Error(`last decision ${JSON.stringify(a.lastDecision)}, not scale_up`);
        return `2 instances provisioned and joined, ${a.buffer.free} free slots, last decision scale_up`;
      },
    }),
    swarm({
      cmd: SERVICES, during: ORCH_SWARM, timeoutMs: 30_000,
      // listed twice in the README: two services after the creates, one after the rooms ended and the cool-down passed
      unless: async (ctx) => {
        ctx.swarmListings = (ctx.swarmListings ?? 0) + 1;
        if (ctx.swarmListings === 2) {
          const shrunk = await h.until(async () => (await autoscaler(ctx)).instances.provisioned === 1 && swarmServices().length === 1, 120_000);
          if (!shrunk) throw new Error(`the fleet did not shrink to one instance within 120 s of the rooms ending: ${JSON.stringify(await autoscaler(ctx))}`);
        }
        return null;
      },
      check: (out, ctx) => {
        const want = ctx.swarmListings === 1 ? 2 : 1;
        const names = out.split('\n').filter((l) => /parlor-server-\S+\s+replicated\s+1\/1/.test(l));
        if (names.length !== want) throw new Error(`${names.length} running parlor-server services listed, not ${want}`);
        return `${want} parlor-server service(s), 1/1`;
      },
    }),
    swarm({
      cmd: DELETE_ALL, during: ORCH_SWARM, timeoutMs: 60_000,
      check: async (out, ctx) => {
        const left = await h.until(async () => (await h.adminApi(ctx, 'GET', '/v1/rooms')).data.length === 0 || null, 30_000);
        if (!left) throw new Error('rooms are still listed after the deletes');
        return 'every room stopped';
      },
    }),
    swarm({
      cmd: `curl -s -H "Authorization: Bearer $ADMIN_KEY" 'http://localhost:7070/v1/operations?source=autoscaler'`, during: ORCH_SWARM, timeoutMs: 30_000,
      // the scale-down comes after the cool-down: wait for it as the README's next command shows it
      unless: async (ctx) => {
        const ops = async () => (await h.adminApi(ctx, 'GET', '/v1/operations?source=autoscaler')).data.operations;
        await h.until(async () => (await ops()).some((o) => o.op === 'scale_down' && o.state === 'succeeded'), 120_000);
        return null;
      },
      check: (out, ctx, stdout) => {
        const ops = JSON.parse(stdout).data.operations;
        for (const op of ['scale_up', 'drain', 'scale_down']) {
          if (!ops.some((o) => o.op === op && o.state === 'succeeded' && o.source === 'autoscaler')) throw new Error(`no succeeded ${op} operation of the autoscaler in ${stdout.slice(0, 400)}`);
        }
        return 'scale_up, drain and scale_down operations, source autoscaler';
      },
    }),
    swarm({
      cmd: 'docker service rm $(docker service ls -q --filter label=parlor.provisioner=swarm)', timeoutMs: 60_000,
      check: async () => {
        if (swarmServices().length) throw new Error('parlor-server services are still listed');
        // Not in the README's first run: the volumes and the key secret (docs/SWARM.md), so this machine is left as found.
        await h.until(() => spawnSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.swarm.service.name'], { encoding: 'utf8' }).stdout.trim() === '', 60_000);
        for (const kind of ['volume', 'secret']) {
          const ids = spawnSync('docker', [kind, 'ls', '-q', '--filter', 'label=parlor.provisioner=swarm'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
          if (ids.length) spawnSync('docker', [kind, 'rm', ...ids], { encoding: 'utf8' });
        }
        return 'the instances removed (and, beyond the README, their volumes and key secret)';
      },
    }),
    // ---- Kubernetes manifests ---------------------------------------------------------------------
    {
      cmd: 'npx parlor-orchestrator kubernetes manifests --namespace games --server-image registry.example/parlor-server:1.0 --capacity 20 > parlor.yaml', timeoutMs: 60_000,
      check: (out, ctx) => {
        const yaml = readFileSync(path.join(ctx.cwd, 'parlor.yaml'), 'utf8');
        for (const [what, re] of [
          ['the servers\' Deployment', /kind: Deployment[\s\S]*image: registry\.example\/parlor-server:1\.0/],
          ['namespace games', /namespace: games/],
          ['a PodDisruptionBudget', /kind: PodDisruptionBudget/],
          ['a preStop hook', /preStop:/],
          ['capacity 20 (--max-rooms)', /--max-rooms[\s\S]{0,40}20/],
        ]) if (!re.test(yaml)) throw new Error(`parlor.yaml has no ${what} (${re})`);
        return 'parlor.yaml: the Deployment of registry.example/parlor-server:1.0 in games, PDB, preStop, capacity 20';
      },
    },
    // ---- Postgres --------------------------------------------------------------------------------
    {
      cmd: PG, background: true, timeoutMs: 120_000, ports: [5433], unless: noPostgres,
      ready: { line: /throwaway-postgres: ready at postgres:\/\/parlor@127\.0\.0\.1:5433\/parlor/ },
      check: () => 'a Postgres server at 127.0.0.1:5433',
    },
    {
      cmd: ORCH_A, during: PG, background: true, timeoutMs: 120_000, ports: [7171], unless: noPostgres,
      ready: { url: 'http://localhost:7171/readyz' },
      check: (ctx, job) => h.expectOut(job.out, /postgres:\/\/parlor@127\.0\.0\.1:5433\/parlor \(Postgres\)/, 'its banner naming the Postgres database'),
    },
    {
      cmd: ORCH_B, during: [PG, ORCH_A], background: true, timeoutMs: 120_000, ports: [7172], unless: noPostgres,
      ready: { url: 'http://localhost:7172/readyz' },
      check: (ctx, job) => h.expectOut(job.out, /postgres:\/\/parlor@127\.0\.0\.1:5433\/parlor \(Postgres\)/, 'its banner naming the Postgres database'),
    },
    {
      cmd: 'PARLOR_ADMIN_KEY=demo-admin-key-0123456789abcdef npx parlor publish examples/pong --version 1.0.0 --catalog-url http://localhost:7171', during: [PG, ORCH_A, ORCH_B], timeoutMs: 180_000, unless: noPostgres,
      check: (out) => h.expectOut(out, /^PUBLISHED pong@1\.0\.0 sha256:[0-9a-f]{64}$/m, 'a "PUBLISHED pong@1.0.0 sha256:…" line'),
    },
    {
      cmd: 'PARLOR_ADMIN_KEY=demo-admin-key-0123456789abcdef npx parlor games --catalog-url http://localhost:7172', during: [PG, ORCH_A, ORCH_B], timeoutMs: 60_000, unless: noPostgres,
      check: (out) => {
        const pong = out.split('\n').map((l) => l.trim().split(/\s{2,}/)).find((r) => r[0] === 'pong');
        if (!pong || !pong.includes('1.0.0')) throw new Error('the other orchestrator lists no pong 1.0.0');
        return 'the orchestrator at :7172 lists pong 1.0.0, published through :7171';
      },
    },
  ];
}
