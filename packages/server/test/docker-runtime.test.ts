import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@parlor/squish';
import { RuntimeError, type GameServer } from '@parlor/server';
import { DockerRuntime, DOCKER_LABELS, RUNNER_SHA256_LABEL, createRuntime, processRunnerPath } from '../src/runtimes.js';
import { DOCKER_ROOM_START_MS, TestClient, captureLogger, logged, startServer, waitFor } from './helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const script = fileURLToPath(new URL('../docker/build-runner-image.sh', import.meta.url));
const IMAGE = 'parlor-runner:test';
/** Instance ids of this test run (each test server or runtime labels its containers with one). */
const INSTANCE = `parlor-test-${process.pid}`;
const INSTANCE_A = `${INSTANCE}-a`;
const INSTANCE_B = `${INSTANCE}-b`;

/** Real dockerd required (CI starts one); skipped, loudly, where there is none. */
const dockerUp = spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0;
// In CI (.ci/run starts dockerd) a missing engine is a failure, never a silent skip.
if (!dockerUp && process.env.CI === 'true') throw new Error('CI=true but no Docker engine answers `docker info`: the docker runtime tests must run in CI');
if (!dockerUp) console.warn('docker-runtime tests skipped: no Docker engine (docker info failed)');

let server: GameServer | null = null;
let clients: TestClient[] = [];

beforeAll(() => {
  if (!dockerUp) return;
  // The runner image, built locally from this host's node binary (no registry).
  const r = spawnSync('bash', [script, IMAGE, processRunnerPath()], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
}, 150_000);

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
  server = null;
});

afterAll(async () => {
  if (!dockerUp) return;
  for (const id of [INSTANCE, INSTANCE_A, INSTANCE_B]) {
    const rt = new DockerRuntime({ image: IMAGE, instanceId: id, logger: captureLogger().logger });
    await rt.reconcile();
    await rt.close();
  }
});

/** Containers (running or not) carrying `label=value`. */
async function containers(label: string, value: string): Promise<string[]> {
  const rt = new DockerRuntime({ image: IMAGE, logger: captureLogger().logger });
  return (await rt.docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } })).map((c) => c.Id);
}

async function client(): Promise<TestClient> {
  const c = await TestClient.connect(server!);
  clients.push(c);
  return c;
}

// every room is a container started on demand: the tests' own timeout covers several such starts
describe.skipIf(!dockerUp)('docker runtime (real dockerd)', { timeout: 90_000 }, () => {
  it('refuses, at start, an image built from another runner, saying how to rebuild it', async () => {
    const stale = 'parlor-runner:stale-test';
    const build = spawnSync('docker', ['build', '-q', '-t', stale, '-'], { input: `FROM ${IMAGE}\nLABEL ${RUNNER_SHA256_LABEL}="0000000000000000000000000000000000000000000000000000000000000000"\n`, encoding: 'utf8', timeout: 60_000 });
    expect(build.status, build.stderr).toBe(0);
    try {
      const err = await startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: 'docker', dockerRuntime: { image: stale, instanceId: INSTANCE } }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe('SERVER_RUNTIME_UNAVAILABLE');
      expect((err as Error).message).toMatch(/built from another runner .*build-runner-image\.sh/);
      // The image the tests built from this host's runner passes the same check.
      await expect(new DockerRuntime({ image: IMAGE, instanceId: INSTANCE, logger: captureLogger().logger }).check()).resolves.toBeUndefined();
    } finally {
      spawnSync('docker', ['rmi', '-f', stale]);
    }
  });

  it('runs a room in a hardened, labelled container', async () => {
    const started = await startServer({
      games: { ticker: fixture('sandbox/ticker.ts') },
      runtime: 'docker',
      dockerRuntime: { image: IMAGE, instanceId: INSTANCE },
    });
    server = started.server;
    const a = await client();
    const init = await a.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
    await a.moreFrames(3);
    expect(a.texts().some((t) => /^tick \d+$/.test(t))).toBe(true);
    const rt = new DockerRuntime({ image: IMAGE, instanceId: INSTANCE, logger: captureLogger().logger });
    const list = await rt.docker.listContainers({ filters: { label: [`${DOCKER_LABELS.room}=${init.roomId}`] } });
    expect(list).toHaveLength(1);
    const info = await rt.docker.getContainer(list[0].Id).inspect();
    expect(info.Config.Labels).toMatchObject({ [DOCKER_LABELS.room]: init.roomId, [DOCKER_LABELS.instance]: INSTANCE, [DOCKER_LABELS.game]: 'ticker' });
    expect(info.Config.User).toBe('65534:65534');
    expect(info.HostConfig).toMatchObject({ NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] });
    expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(info.HostConfig.Memory).toBeGreaterThan(0);
    expect(info.HostConfig.NanoCpus).toBeGreaterThan(0);
    expect(info.HostConfig.Tmpfs?.['/tmp']).toMatch(/noexec/);
    expect(info.HostConfig.Binds?.[0]).toMatch(/:\/game:ro$/);
    a.send({ type: 'input', event: { kind: 'keydown', key: 'x' } });
    await waitFor(() => a.texts().includes('keys: x'), 'input through the container');
    // The game's console reaches the host log, tagged with the room.
    await waitFor(() => logged(started.logs, 'game output', { room: init.roomId }), 'container output logged');
    // The runtime removes the container once the room is over (it inspects the exit first).
    await server.closeRoom(init.roomId);
    await waitFor(async () => (await containers(DOCKER_LABELS.room, init.roomId)).length === 0, 'container removed', 10_000);
  });

  it('stops attacks: no file write, no network; a spinning tick is killed (4500) while another room keeps ticking', async () => {
    rmSync('/tmp/parlor-hostile-write.txt', { force: true });
    const started = await startServer({
      games: { ticker: fixture('sandbox/ticker.ts'), 'write-file': fixture('hostile/write-file.ts'), network: fixture('hostile/network.ts'), spin: fixture('hostile/spin.ts') },
      runtime: 'docker',
      dockerRuntime: { image: IMAGE, instanceId: INSTANCE, tickTimeoutMs: 500 },
    });
    server = started.server;
    const control = await client();
    await control.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
    for (const g of ['write-file', 'network']) {
      const c = await client();
      await c.joinAndSync(g, {}, DOCKER_ROOM_START_MS);
      await waitFor(() => c.texts().filter((t) => /: (blocked|SUCCEEDED)/.test(t)).length >= 2, `${g} reports`);
      expect(c.texts().filter((t) => t.includes('SUCCEEDED'))).toEqual([]);
    }
    expect(existsSync('/tmp/parlor-hostile-write.txt')).toBe(false);
    const s = await client();
    await s.joinAndSync('spin', {}, DOCKER_ROOM_START_MS);
    const closed = await s.closed(10_000);
    expect(closed.code).toBe(CloseCode.ROOM_FAILED);
    // the co-tenant keeps ticking after the spin was ended (it waits for frames; it does not time them)
    await control.moreFrames(8);
    expect(control.closeInfo).toBeNull();
  });

  it('reconcile removes containers of its own instance that it does not know', async () => {
    const rt = new DockerRuntime({ image: IMAGE, instanceId: INSTANCE, logger: captureLogger().logger });
    try {
      const stray = await rt.docker.createContainer(rt.containerOptions('stray', 'ticker', fixture('sandbox')));
      const removed = await rt.reconcile();
      expect(removed).toContain(stray.id);
      await expect(stray.inspect()).rejects.toThrow();
    } finally {
      await rt.close();
    }
  });

  it('two servers on one engine: each reconciles only its own instance, so neither kills the other\'s rooms', async () => {
    const quiet = captureLogger().logger;
    const a = await startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: 'docker', dockerRuntime: { image: IMAGE }, instanceId: INSTANCE_A });
    server = a.server;
    const pa = await client();
    const initA = await pa.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
    // Left-overs of both instances (created, never started).
    const optsA = new DockerRuntime({ image: IMAGE, instanceId: INSTANCE_A, logger: quiet });
    const rtB = new DockerRuntime({ image: IMAGE, instanceId: INSTANCE_B, logger: quiet });
    const strayA = await rtB.docker.createContainer(optsA.containerOptions('stray-a', 'ticker', fixture('sandbox')));
    const strayB = await rtB.docker.createContainer(rtB.containerOptions('stray-b', 'ticker', fixture('sandbox')));
    let b: GameServer | null = null;
    try {
      // Server B starts on the same engine: its reconcile pass runs now.
      b = (await startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: rtB })).server;
      await expect(strayB.inspect()).rejects.toThrow();
      expect((await strayA.inspect()).Config.Labels?.[DOCKER_LABELS.instance]).toBe(INSTANCE_A);
      expect(await containers(DOCKER_LABELS.room, initA.roomId)).toHaveLength(1);
      await pa.moreFrames(10);
      const pb = await TestClient.connect(b);
      clients.push(pb);
      await pb.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
      // B reconciling again (while A's room and A's left-over exist) still leaves them alone.
      await rtB.reconcile();
      await pa.moreFrames(10);
      expect(pa.closeInfo).toBeNull();
      expect(await containers(DOCKER_LABELS.instance, INSTANCE_A)).toContain(strayA.id);
      // A second runtime cannot take an instance id that a live one holds.
      const twin = new DockerRuntime({ image: IMAGE, instanceId: INSTANCE_B, logger: quiet });
      const err = await twin.reconcile().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe('SERVER_RUNTIME_UNAVAILABLE');
      expect((err as Error).message).toMatch(/held by another Parlor server.*--instance-id/);
    } finally {
      await b?.close();
      await strayA.remove({ force: true }).catch(() => {});
    }
    await pa.moreFrames(5);
    expect(pa.closeInfo).toBeNull();
  });

  it('a kernel out-of-memory kill reaches players as "the game exceeded its memory limit"; a co-tenant keeps its frames', async () => {
    const started = await startServer({
      games: { ticker: fixture('sandbox/ticker.ts'), hog: fixture('capacity/buffer-hog.ts') },
      runtime: 'docker',
      dockerRuntime: { image: IMAGE, instanceId: INSTANCE, memoryBytes: 96 * 1024 * 1024 },
    });
    server = started.server;
    const control = await client();
    await control.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
    const victim = await client();
    const init = await victim.joinAndSync('hog', {}, DOCKER_ROOM_START_MS);
    const closed = await victim.closed(20_000);
    expect(closed.code).toBe(CloseCode.ROOM_FAILED);
    const err = victim.messages.find((m) => m.type === 'error');
    expect(err && err.type === 'error' ? err.message : '').toMatch(/the game exceeded its memory limit \(96 MiB\)/);
    expect(logged(started.logs, 'room container killed by the kernel for memory')).toBe(true);
    await control.moreFrames(10);
    expect(control.closeInfo).toBeNull();
    await waitFor(async () => (await containers(DOCKER_LABELS.room, init.roomId)).length === 0, 'OOM-killed container removed', 10_000);
  });

  it('the room\'s CPU clock is its container\'s cgroup: a game burning a core is ended by the CPU budget', async () => {
    const started = await startServer({
      games: { ticker: fixture('sandbox/ticker.ts'), burner: fixture('hostile/channel-burner.ts') },
      runtime: 'docker',
      dockerRuntime: { image: IMAGE, instanceId: INSTANCE, cpuBudget: 0.5, cpuWindowMs: 2000 },
    });
    server = started.server;
    const control = await client();
    await control.joinAndSync('ticker', {}, DOCKER_ROOM_START_MS);
    const burner = await client();
    await burner.joinAndSync('burner', {}, DOCKER_ROOM_START_MS);
    const closed = await burner.closed(20_000);
    expect(closed.code).toBe(CloseCode.ROOM_FAILED);
    const err = burner.messages.find((m) => m.type === 'error');
    expect(err && err.type === 'error' ? err.message : '').toMatch(/used more than 50% of a core/);
    await control.moreFrames(10);
    expect(control.closeInfo).toBeNull();
  });

  it('auto picks docker when the engine and image are there', () => {
    const { logger, logs } = captureLogger();
    const rt = createRuntime('auto', { logger, docker: { image: IMAGE, instanceId: INSTANCE } });
    expect(rt.name).toBe('docker');
    expect(logs.some((l) => l.runtime === 'docker')).toBe(true);
  });
});
