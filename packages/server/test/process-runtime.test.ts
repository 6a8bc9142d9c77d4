import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '@parlor/squish';
import { RuntimeError, loadGame, type GameServer } from '@parlor/server';
import { InlineRuntime, ProcessRuntime, createRuntime } from '../src/runtimes.js';
import { CounterGame } from './games.js';
import { TestClient, captureLogger, logged, startServer, waitFor } from './helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

let server: GameServer | null = null;
let clients: TestClient[] = [];
const runtimes: ProcessRuntime[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
  server = null;
});
afterAll(async () => {
  for (const r of runtimes) await r.close();
});

async function client(): Promise<TestClient> {
  const c = await TestClient.connect(server!);
  clients.push(c);
  return c;
}

describe('process runtime', () => {
  it('runs a game in a permission-restricted child process and streams its frames', async () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    const started = await startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime });
    server = started.server;
    const logs = started.logs;
    const a = await client();
    const init = await a.joinAndSync('ticker', { name: 'Ada' });
    expect(init).toMatchObject({ game: 'ticker', title: 'Ticker', tickRate: 30 });
    await a.moreFrames(5);
    expect(a.texts().some((t) => /^tick \d+$/.test(t))).toBe(true);
    a.send({ type: 'input', event: { kind: 'keydown', key: 'ArrowUp' } });
    await waitFor(() => a.texts().includes('keys: ArrowUp'), 'key routed through the child process');
    expect(a.errors).toEqual([]);
    // The game's console goes to the host log, tagged with the room id.
    const roomId = init.roomId;
    await waitFor(() => logs.some((l) => l.msg === 'game output' && l.room === roomId && String(l.line).includes('ticker: player 1 joined')), 'game console in the host log');
  });

  it('grants read access only: no writes, child processes, workers, addons or eval', () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    const { args } = runtime.commandLine();
    expect(args).toContain('--experimental-permission');
    expect(args).toContain('--disallow-code-generation-from-strings');
    // The only grant: reading the runner file (the game's code arrives over the channel).
    expect(args.filter((a) => a.startsWith('--allow-'))).toEqual([`--allow-fs-read=${args[args.length - 1]}`]);
    expect(args.some((a) => /--allow-(fs-write|child-process|worker|addons)/.test(a))).toBe(false);
    expect(args).toContain('--max-old-space-size=64');
  });

  it('inspects a bundle in a child process', async () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    const game = await loadGame('ticker', fixture('sandbox/ticker.ts'));
    const { metadata, className } = await runtime.inspect(game.bundle!);
    expect(className).toBe('Ticker');
    expect(metadata).toMatchObject({ name: 'Ticker', tickRate: 30, maxPlayers: 4 });
  });

  it('kills a room whose process dies and tells its players (4500)', async () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    const started = await startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime });
    server = started.server;
    const a = await client();
    await a.joinAndSync('ticker');
    const room = started.server.rooms()[0];
    expect(room).toBeDefined();
    // Kill the room's process (not the idle pool's): it is the one that has sent frames.
    const live = [...(runtime as unknown as { live: Set<{ pid: number }>; pool: Array<{ pid: number }> }).live];
    const pool = (runtime as unknown as { pool: Array<{ pid: number }> }).pool;
    const busy = live.filter((c) => !pool.includes(c));
    expect(busy.length).toBe(1);
    process.kill(busy[0].pid, 'SIGKILL');
    const closed = await a.closed();
    expect(closed.code).toBe(CloseCode.ROOM_FAILED);
    expect(a.messages.some((m) => m.type === 'error' && /exited unexpectedly/.test(m.message))).toBe(true);
  });
});

describe('runtime policy (fail closed)', () => {
  it('refuses inline in production, with a typed error', async () => {
    expect(() => createRuntime('inline', { production: true })).toThrowError(RuntimeError);
    try {
      createRuntime(new InlineRuntime(), { production: true });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'SERVER_RUNTIME_REFUSED', runtime: 'inline' });
    }
    const old = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: 'inline' })).rejects.toMatchObject({ code: 'SERVER_RUNTIME_REFUSED' });
    } finally {
      process.env.NODE_ENV = old;
    }
  });

  it('refuses to start when a sandboxed runtime would have to run an in-process class', async () => {
    await expect(startServer({ games: { counter: { gameClass: CounterGame } }, runtime: 'process' })).rejects.toMatchObject({ code: 'SERVER_RUNTIME_START_FAILED', runtime: 'process' });
  });

  it('never falls back from docker: an unreachable engine or a missing image refuses to start', async () => {
    await expect(
      startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: 'docker', dockerRuntime: { docker: { socketPath: '/nonexistent/docker.sock' } } }),
    ).rejects.toMatchObject({ code: 'SERVER_RUNTIME_UNAVAILABLE', runtime: 'docker', message: expect.stringMatching(/Docker is unreachable/) });
    await expect(
      startServer({ games: { ticker: fixture('sandbox/ticker.ts') }, runtime: 'docker', dockerRuntime: { image: 'parlor-no-such-image:0' } }),
    ).rejects.toMatchObject({ code: 'SERVER_RUNTIME_UNAVAILABLE', runtime: 'docker' });
  });

  it('auto picks the strongest available runtime and logs it', () => {
    const { logger, logs } = captureLogger();
    // No Docker engine answers: process (its OS sandbox works here) is the strongest. (With an
    // engine but no image, auto refuses: see sandbox-os.test.ts.)
    const rt = createRuntime('auto', { logger, docker: { docker: { socketPath: '/nonexistent/docker.sock' } } });
    runtimes.push(rt as ProcessRuntime);
    expect(rt.name).toBe('process');
    expect(logged(logs, 'runtime auto-selected', { runtime: 'process' })).toBe(true);
  });

  it('routes per-game overrides and evaluates sandboxed games outside the host', async () => {
    const g = globalThis as { __parlorEvaluated?: string[] };
    delete g.__parlorEvaluated;
    const started = await startServer({
      games: { sandboxed: fixture('sandbox/marker.ts'), trusted: fixture('sandbox/ticker.ts') },
      runtime: 'process',
      gameRuntimes: { trusted: 'inline' },
    });
    server = started.server;
    // The process-runtime game's module top level never ran in this process.
    expect(g.__parlorEvaluated ?? []).toEqual([]);
    const a = await client();
    await a.joinAndSync('sandboxed');
    await waitFor(() => a.texts().includes('marker'), 'marker text');
    const b = await client();
    await b.joinAndSync('trusted');
    await b.moreFrames(2);
    expect(g.__parlorEvaluated ?? []).toEqual([]);
    expect(logged(started.logs, 'room created', { game: 'sandboxed' })).toBe(true);
  });
});
