import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeError, loadGame } from '@parlor/server';
import { ProcessRuntime, createRuntime } from '../src/runtimes.js';
import { TestClient, captureLogger, waitFor, type LogRecord } from './helpers.js';
import { HostileBed, dockerUp, endedWith, fixture, requireDockerInCi } from './hostile-bed.js';

/**
 * Issue 7 items 1, 6 and 7 for the `process` runtime: the OS sandbox (bubblewrap as uid 65534, own
 * namespaces, read-only minimal root), kernel limits (a cgroup per room), fail-closed policy, and a
 * runner that never hands the game a socket. Every attack must fail while a co-tenant room keeps
 * its frame rate.
 */

const HOST_SOCKET = '/tmp/parlor-hostile-host.sock';
const DOCKER_SOCKET = '/var/run/docker.sock';
const ABSTRACT_SOCKET = `\0parlor-sandbox-os-${process.pid}`;
requireDockerInCi('the docker.sock escape of the sandbox-os suite');

let logs: LogRecord[];
let runtime: ProcessRuntime;
let bed: HostileBed;
const listeners: Server[] = [];
let hostConnections = 0;
let tcpPort = 0;

function listen(target: string | number): Promise<Server> {
  const s = createServer((sock) => {
    hostConnections++;
    sock.destroy();
  });
  listeners.push(s);
  return new Promise((resolve) => {
    if (typeof target === 'number') s.listen(target, '127.0.0.1', () => resolve(s));
    else s.listen(target, () => resolve(s));
  });
}

beforeAll(async () => {
  rmSync(HOST_SOCKET, { force: true });
  await listen(HOST_SOCKET);
  await listen(ABSTRACT_SOCKET);
  const tcp = await listen(0);
  tcpPort = (tcp.address() as { port: number }).port;
  const logger = captureLogger();
  runtime = new ProcessRuntime({ logger: logger.logger, tickTimeoutMs: 1000 });
  bed = await HostileBed.start(
    {
      'stdio-escape': fixture('hostile/stdio-escape.ts'),
      'buffer-hog': fixture('hostile/buffer-hog.ts'),
      'wasm-hog': fixture('hostile/wasm-hog.ts'),
    },
    runtime,
  );
  ({ logs } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
  await runtime?.close();
  for (const l of listeners) await new Promise<void>((r) => l.close(() => r()));
  rmSync(HOST_SOCKET, { force: true });
});

const attack = (game: string): Promise<TestClient> => bed.attack(game);
const controlKeepsItsFrameRate = (): Promise<void> => bed.coTenantKeepsTicking();
const killedCleanly = (c: TestClient, why: RegExp): Promise<string> => endedWith(c, why, 20_000);

/**
 * Runs `script` with plain `node` (no permission model, every built-in available: what a game
 * would have after a full escape from Node's sandbox) inside exactly the OS sandbox a room gets,
 * and returns what it printed as JSON.
 */
async function insideTheSandbox(script: string): Promise<Record<string, unknown>> {
  const { command, args } = runtime.commandLine();
  const at = args.lastIndexOf(process.execPath);
  expect(at).toBeGreaterThan(0);
  const fd = openSync('/dev/null', 'r');
  try {
    const child = spawn(command, [...args.slice(0, at + 1), '-e', script], { stdio: ['ignore', 'pipe', 'pipe', fd], env: {} });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    expect(err).toBe('');
    expect(code).toBe(0);
    return JSON.parse(out) as Record<string, unknown>;
  } finally {
    closeSync(fd);
  }
}

describe('process runtime: the game never gets a socket', () => {
  it('stdio constructors and handles, Pipe, bindings, report and active handles all fail; no host socket is reached', async () => {
    if (process.env.CI === 'true') expect(existsSync(DOCKER_SOCKET)).toBe(true);
    const before = hostConnections;
    const c = await attack('stdio-escape');
    const reports = () => c.texts().filter((t) => /: (blocked|SUCCEEDED)/.test(t));
    await waitFor(() => reports().length >= 24, `24 attack reports (have ${JSON.stringify(reports())})`, 10_000);
    expect(reports().filter((t) => t.includes('SUCCEEDED'))).toEqual([]);
    for (const label of ['import(node:net)', 'stderr.constructor->docker', 'stdout._handle->docker', 'binding(pipe_wrap)->docker', 'activeHandles->docker', 'report.writeReport']) {
      expect(reports().some((t) => t.startsWith(`${label}: blocked`))).toBe(true);
    }
    expect(hostConnections).toBe(before);
    expect(existsSync('/tmp/parlor-hostile-report.json')).toBe(false);
    await controlKeepsItsFrameRate();
  });
});

describe('process runtime: the kernel layer holds even without Node\'s permission model', () => {
  it('runs as uid 65534 with loopback only, no host socket (docker.sock, unix, abstract, TCP), nothing writable', async () => {
    if (process.env.CI === 'true') expect(existsSync(DOCKER_SOCKET)).toBe(true);
    // From the host, every one of these listeners answers.
    for (const target of [{ path: HOST_SOCKET }, { path: ABSTRACT_SOCKET }, { host: '127.0.0.1', port: tcpPort }]) {
      await new Promise<void>((resolve, reject) => connect(target).once('connect', resolve).once('error', reject));
    }
    await waitFor(() => hostConnections >= 3, 'the host reaches its own listeners');
    const before = hostConnections;
    const r = await insideTheSandbox(`
      const fs = require('fs'), net = require('net'), os = require('os');
      const out = { uid: process.getuid(), gid: process.getgid(), env: Object.keys(process.env), nics: Object.keys(os.networkInterfaces()), root: fs.readdirSync('/').sort() };
      const tryIt = (f) => { try { f(); return 'SUCCEEDED'; } catch (e) { return e.code || e.message; } };
      out.writeRoot = tryIt(() => fs.writeFileSync('/x', '1'));
      out.writeDev = tryIt(() => fs.writeFileSync('/dev/shm/x', '1'));
      out.mkdirTmp = tryIt(() => fs.mkdirSync('/tmp'));
      out.writeRunner = tryIt(() => fs.appendFileSync('/parlor/process-runner.mjs', 'x'));
      out.corePattern = tryIt(() => fs.writeFileSync('/proc/sys/kernel/core_pattern', '|/bin/true'));
      out.sysrq = tryIt(() => fs.writeFileSync('/proc/sysrq-trigger', 'h'));
      out.dockerSock = fs.existsSync(${JSON.stringify(DOCKER_SOCKET)});
      out.varRun = fs.existsSync('/var/run') || fs.existsSync('/run');
      const connect = (o) => new Promise((res) => { const s = net.connect(o); s.on('connect', () => { s.destroy(); res('SUCCEEDED'); }); s.on('error', (e) => res(e.code)); });
      const listenUnix = () => new Promise((res) => { const s = net.createServer(); s.on('error', (e) => res(e.code)); s.listen('/parlor/evil.sock', () => res('SUCCEEDED')); });
      (async () => {
        out.connectDocker = await connect({ path: ${JSON.stringify(DOCKER_SOCKET)} });
        out.connectHostUnix = await connect({ path: ${JSON.stringify(HOST_SOCKET)} });
        out.connectAbstract = await connect({ path: ${JSON.stringify(ABSTRACT_SOCKET)} });
        out.connectTcp = await connect({ host: '127.0.0.1', port: ${tcpPort} });
        out.connectOut = await connect({ host: '1.1.1.1', port: 53 });
        out.listenUnix = await listenUnix();
        out.listenTcp = await new Promise((res) => { const s = net.createServer(); s.on('error', (e) => res(e.code)); s.listen(0, '127.0.0.1', () => { s.close(); res('inside its own namespace'); }); });
        process.stdout.write(JSON.stringify(out));
      })();
    `);
    expect(r).toMatchObject({ uid: 65534, gid: 65534, nics: ['lo'], dockerSock: false, varRun: false });
    // no nested user namespaces: bwrap itself refuses to start the sandbox unless that holds
    expect(runtime.commandLine().args).toEqual(expect.arrayContaining(['--disable-userns', '--assert-userns-disabled']));
    expect((r.env as string[]).filter((k) => k !== 'PWD')).toEqual([]); // bwrap --chdir sets PWD only
    // Only the node binary, its libraries, the runner, a private /proc and a minimal /dev.
    expect((r.root as string[]).filter((d) => !['dev', 'lib', 'lib64', 'parlor', 'proc', 'usr'].includes(d))).toEqual([]);
    for (const k of ['writeRoot', 'writeDev', 'mkdirTmp', 'writeRunner', 'listenUnix']) expect([k, r[k]]).toEqual([k, expect.stringMatching(/^(EROFS|EACCES)$/)]);
    expect(r.corePattern).toMatch(/^(EACCES|EROFS|EPERM)$/);
    expect(r.sysrq).toMatch(/^(EACCES|EROFS|EPERM|ENOENT)$/);
    expect(r.connectDocker).toBe('ENOENT');
    expect(r.connectHostUnix).toBe('ENOENT');
    expect(r.connectAbstract).toBe('ECONNREFUSED'); // its own network namespace: the host's abstract socket does not exist there
    expect(r.connectTcp).toBe('ECONNREFUSED');
    expect(r.connectOut).toMatch(/^(ENETUNREACH|EHOSTUNREACH)$/);
    expect(hostConnections).toBe(before);
    await controlKeepsItsFrameRate();
  });
});

describe('process runtime: kernel resource bounds', () => {
  it('3 GB of Buffers under a 64 MiB heap cap: killed by the room\'s memory cgroup, players told why', async () => {
    const c = await attack('buffer-hog');
    await killedCleanly(c, /exceeded its memory limit \(128 MiB\)/);
    expect(c.texts().some((t) => t.includes('SUCCEEDED'))).toBe(false);
    await controlKeepsItsFrameRate();
  });

  it('2 GB of WebAssembly memory: killed by the room\'s memory cgroup, players told why', async () => {
    const c = await attack('wasm-hog');
    await killedCleanly(c, /exceeded its memory limit \(128 MiB\)/);
    expect(c.texts().some((t) => t.includes('SUCCEEDED'))).toBe(false);
    await controlKeepsItsFrameRate();
  });

  it('each room has its own cgroup (memory, pids, CPU quota) that is removed when the room ends', async () => {
    const rt = new ProcessRuntime({ logger: captureLogger().logger, poolSize: 0, memoryLimitMb: 96, pidsMax: 24, cpuCores: 0.5 });
    try {
      const game = await loadGame('ticker', fixture('sandbox/ticker.ts'));
      const room = rt.start({ roomId: 'cg', game: 'ticker', gameClass: game.gameClass, bundle: game.bundle!, options: {}, tickRate: 30 });
      let frames = 0;
      room.onMessage((m) => void (m.type === 'frames' && frames++));
      await waitFor(() => frames > 2, 'frames from the room');
      const cg = Object.fromEntries(
        readFileSync(`/proc/${room.pid}/cgroup`, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(':'))
          .flatMap(([, ctl, path]) => ctl.split(',').map((c) => [c, path])),
      ) as Record<string, string>;
      const file = (ctl: string, f: string) => readFileSync(`/sys/fs/cgroup/${ctl}${cg[ctl]}/${f}`, 'utf8').trim();
      for (const ctl of ['memory', 'pids', 'cpu', 'cpuacct']) expect(cg[ctl]).toMatch(/\/parlor\/\d+-[a-z0-9]+\/room-\d+$/);
      expect(file('memory', 'memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024));
      expect(file('pids', 'pids.max')).toBe('24');
      expect(file('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(Number(file('cpuacct', 'cpuacct.usage'))).toBeGreaterThan(0);
      // every process of the sandbox (sh → setpriv → bwrap, its init, node) is inside
      expect(file('pids', 'pids.current')).not.toBe('0');
      const dir = `/sys/fs/cgroup/pids${cg.pids}`;
      await room.terminate();
      await waitFor(() => !existsSync(dir), 'the room cgroup removed');
    } finally {
      await rt.close();
    }
  });
});

describe('process runtime: fail closed', () => {
  it('without bubblewrap it refuses to start, naming what is missing and how to get it', () => {
    try {
      new ProcessRuntime({ logger: captureLogger().logger, bwrapPath: '/nonexistent/bwrap' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err).toMatchObject({ code: 'SERVER_RUNTIME_UNAVAILABLE', runtime: 'process' });
      expect((err as Error).message).toMatch(/bubblewrap.*apt-get install bubblewrap/);
      expect((err as Error).message).toMatch(/unsafeWeakSandbox|--unsafe-weak-sandbox/);
    }
  });

  it('unsafeWeakSandbox starts anyway and says loudly, at creation and at every room start, what is not isolated', async () => {
    const { logger, logs: log } = captureLogger();
    const weak = new ProcessRuntime({ logger, bwrapPath: '/nonexistent/bwrap', unsafeWeakSandbox: true, poolSize: 0 });
    try {
      expect(weak.networkIsolated).toBe(false);
      expect(weak.weaknesses.join(' ')).toMatch(/bubblewrap/);
      expect(log.some((l) => l.level === 'warn' && /^UNSAFE/.test(l.msg) && /no namespaces.*docker\.sock/.test(String(l.weaknesses)))).toBe(true);
      const game = await loadGame('ticker', fixture('sandbox/ticker.ts'));
      const room = weak.start({ roomId: 'weak', game: 'ticker', gameClass: game.gameClass, bundle: game.bundle!, options: {}, tickRate: 30 });
      expect(log.filter((l) => l.level === 'warn' && l.msg === 'UNSAFE: room started without full OS isolation').length).toBe(1);
      let frames = 0;
      room.onMessage((m) => void (m.type === 'frames' && frames++));
      await waitFor(() => frames > 2, 'frames from the weakly sandboxed room');
      await room.terminate();
    } finally {
      await weak.close();
    }
  });

  it('auto never picks process when a Docker engine answers: a missing runner image is an error with the build command', () => {
    if (!dockerUp) return; // (CI=true without Docker already failed at load)
    try {
      createRuntime('auto', { logger: captureLogger().logger, docker: { image: 'parlor-no-such-image:0' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'SERVER_RUNTIME_UNAVAILABLE', runtime: 'auto' });
      expect((err as Error).message).toMatch(/bash \S*packages\/server\/docker\/build-runner-image\.sh parlor-no-such-image:0/);
    }
  });
});

describe('process runtime: a failed spawn is an error for that start only', () => {
  it('out of file descriptors: start() throws RuntimeError (no TypeError), and the pool refills once fds are back', async () => {
    const rt = new ProcessRuntime({ logger: captureLogger().logger, poolSize: 1 });
    const game = await loadGame('ticker', fixture('sandbox/ticker.ts'));
    const spec = { roomId: 'fd', game: 'ticker', gameClass: game.gameClass, bundle: game.bundle!, options: {}, tickRate: 30 };
    const limit = (n: string) => expect(spawnSync('prlimit', [`--pid=${process.pid}`, `--nofile=${n}`]).status).toBe(0);
    const original = spawnSync('prlimit', [`--pid=${process.pid}`, '--nofile', '--raw', '--noheadings', '--output=SOFT,HARD'], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
    const hog: number[] = [];
    try {
      // Squeeze this process to its current fds plus a few, then use those up.
      limit(`${Number(spawnSync('ls', [`/proc/${process.pid}/fd`], { encoding: 'utf8' }).stdout.split('\n').length) + 16}:${original[1]}`);
      for (;;) {
        try {
          hog.push(openSync('/dev/null', 'r'));
        } catch {
          break;
        }
      }
      // One fd left: enough for the cgroup's files and the runner, not for the child's pipes.
      closeSync(hog.pop()!);
      let thrown: unknown;
      try {
        const s = rt.start(spec);
        await s.terminate();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RuntimeError);
      expect(thrown).toMatchObject({ code: 'SERVER_RUNTIME_START_FAILED', runtime: 'process' });
      expect((thrown as Error).message).toMatch(/could not start a sandbox process/);
    } finally {
      for (const fd of hog) closeSync(fd);
      limit(`${original[0]}:${original[1]}`);
    }
    try {
      // The pool's retry (1 s) refills it; the next room starts.
      await waitFor(() => (rt as unknown as { pool: unknown[] }).pool.length === 1, 'pool refilled', 10_000);
      const s = rt.start(spec);
      let frames = 0;
      s.onMessage((m) => void (m.type === 'frames' && frames++));
      await waitFor(() => frames > 1, 'a room after the fds came back');
      await s.terminate();
    } finally {
      await rt.close();
    }
    expect(logs.some((l) => /TypeError/.test(JSON.stringify(l)))).toBe(false);
  });
});
