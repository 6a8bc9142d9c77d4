import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GameServer } from '@parlor/server';
import { DockerRuntime, ProcessRuntime, type RoomRuntime } from '../src/runtimes.js';
import { TestClient, captureLogger, waitFor, type LogRecord } from './helpers.js';
import { HostileBed, buildRunnerImage, dockerUp, endedWith, fixture, requireDockerInCi } from './hostile-bed.js';

const HOSTILE = ['read-passwd', 'write-file', 'network', 'spawn', 'spin', 'oom', 'workers', 'proto', 'huge-frames'] as const;
const WRITE_TARGET = '/tmp/parlor-hostile-write.txt';
const SPAWN_TARGET = '/tmp/parlor-hostile-spawned.txt';
const NET_PORT = 47391;

const IMAGE = 'parlor-runner:test';
requireDockerInCi('the hostile suite');

let bed: HostileBed;
let server: GameServer;
let logs: LogRecord[];
let runtime: RoomRuntime;
let listener: Server;
let connections = 0;

beforeAll(async () => {
  listener = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(NET_PORT, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => listener.close(() => r()));
});

async function setUp(kind: 'process' | 'docker'): Promise<void> {
  rmSync(WRITE_TARGET, { force: true });
  rmSync(SPAWN_TARGET, { force: true });
  connections = 0;
  const logger = captureLogger().logger;
  const limits = { logger, tickTimeoutMs: 500, maxMessageBytes: 4 * 1024 * 1024 };
  if (kind === 'docker') {
    buildRunnerImage(IMAGE);
    runtime = new DockerRuntime({ ...limits, image: IMAGE, instanceId: `parlor-hostile-${process.pid}` });
  } else {
    runtime = new ProcessRuntime(limits);
  }
  const games: Record<string, string> = {};
  for (const h of HOSTILE) games[h] = fixture(`hostile/${h}.ts`);
  bed = await HostileBed.start(games, runtime);
  server = bed.server;
  logs = bed.logs;
}

async function tearDown(): Promise<void> {
  await bed?.close();
  await runtime?.close?.();
}

const attack = (game: string): Promise<TestClient> => bed.attack(game);
const controlKeepsItsFrameRate = (): Promise<void> => bed.coTenantKeepsTicking();

/** Waits for `n` attack reports and checks that none of them succeeded. */
async function reportsBlocked(c: TestClient, n: number): Promise<string[]> {
  const reports = () => c.texts().filter((t) => /: (blocked|SUCCEEDED)/.test(t));
  await waitFor(() => reports().length >= n, `${n} attack reports (have ${JSON.stringify(reports())})`);
  const r = reports();
  expect(r.filter((t) => t.includes('SUCCEEDED'))).toEqual([]);
  return r;
}

const killedCleanly = async (c: TestClient, why: RegExp): Promise<void> => void (await endedWith(c, why));

describe.each([
  { kind: 'process' as const, skip: false },
  { kind: 'docker' as const, skip: !dockerUp },
])('hostile games in the $kind runtime', ({ kind, skip }) => {
  if (skip) {
    it.skip('needs a Docker engine', () => {});
    return;
  }
  beforeAll(() => setUp(kind), 150_000);
  afterAll(() => tearDown());

  it('cannot read /etc/passwd', async () => {
    const c = await attack('read-passwd');
    const r = await reportsBlocked(c, 3);
    expect(r.join('\n')).not.toMatch(/root:/);
    await controlKeepsItsFrameRate();
  });

  it('cannot write a file (at load time or in a tick)', async () => {
    const c = await attack('write-file');
    await reportsBlocked(c, 2);
    expect(existsSync(WRITE_TARGET)).toBe(false);
    await controlKeepsItsFrameRate();
  });

  it('cannot open a socket or fetch', async () => {
    const c = await attack('network');
    await reportsBlocked(c, 3);
    // nothing reached the listener: bounded by the co-tenant's next frames rather than a sleep
    await controlKeepsItsFrameRate();
    expect(connections).toBe(0);
  });

  it('cannot spawn a process or signal the host', async () => {
    const c = await attack('spawn');
    await reportsBlocked(c, 3);
    expect(existsSync(SPAWN_TARGET)).toBe(false);
    await controlKeepsItsFrameRate();
  });

  it('cannot start workers', async () => {
    const c = await attack('workers');
    await reportsBlocked(c, 1);
    await controlKeepsItsFrameRate();
  });

  it('pollutes only its own realm', async () => {
    const c = await attack('proto');
    await waitFor(() => c.texts().includes('polluted: yes'), 'the game polluted its own prototypes');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify({ a: 1 })).toBe('{"a":1}');
    await controlKeepsItsFrameRate();
  });

  it('a tick that never returns is killed by the watchdog; players get 4500', async () => {
    const c = await attack('spin');
    await killedCleanly(c, /blocked its tick loop/);
    expect(logs.some((l) => /killed/.test(l.msg) && l.game === 'spin')).toBe(true);
    await controlKeepsItsFrameRate();
  });

  it('allocating until out of memory ends only that room', async () => {
    const c = await attack('oom');
    // Either V8 hits the heap cap, or the GC thrashing near it stalls the loop past the watchdog.
    await killedCleanly(c, /out of memory|exited unexpectedly|blocked its tick loop/);
    await controlKeepsItsFrameRate();
  });

  it('an enormous frame kills the room instead of reaching players', async () => {
    const c = await attack('huge-frames');
    await killedCleanly(c, /too large/);
    expect(c.frameBytes.every((b) => b.byteLength < 1024 * 1024)).toBe(true);
    await controlKeepsItsFrameRate();
  });

  it('leaves no room process behind', async () => {
    await waitFor(() => server.rooms().every((s) => ['ticker', 'read-passwd', 'write-file', 'network', 'spawn', 'workers', 'proto'].includes(s.game)), 'failed rooms gone');
    expect(existsSync(WRITE_TARGET)).toBe(false);
    expect(existsSync(SPAWN_TARGET)).toBe(false);
  });
});
