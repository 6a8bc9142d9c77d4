/**
 * `parlor bots`, the built CLI (`node packages/server/bin/parlor.js bots …`, after
 * `npm run build -w @parlor/server`) against a real server on 127.0.0.1: bots join pong's rooms as
 * the server places them and the JSON report says so; a server that closes mid-run gives exit 1
 * with every bot counted as dropped (close code 1001); Ctrl-C stops early and still reports; a
 * remote host is refused without --allow-remote, as are an unknown game and a port nobody listens
 * on, each in one line; a
 * --script bot presses keys and clicks the button it sees (the game receives them), and a script
 * that throws is reported at its own line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { GameServer } from '@parlor/server';
import { CounterGame, gameEvents } from './games.js';
import { startServer, waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const parlor = join(repo, 'packages/server/bin/parlor.js');
const children: ChildProcess[] = [];
const servers: GameServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'parlor-bots-test-'));

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

/** Starts `parlor bots …` (asynchronously: the server under test runs in this process). */
function bots(args: string[]): Run {
  const child = spawn(process.execPath, [parlor, 'bots', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const run: Run = { child, stdout: '', stderr: '', exit: new Promise((r) => child.once('close', (code) => r(code))) };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

async function finished(run: Run): Promise<{ code: number | null; report: Record<string, any> }> {
  const code = await run.exit;
  let report: Record<string, any> = {};
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`no JSON report (exit ${code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { code, report };
}

async function serve(games: Parameters<typeof startServer>[0]['games']): Promise<GameServer> {
  const { server } = await startServer({ games });
  servers.push(server);
  return server;
}

describe('parlor bots', () => {
  it('20 bots join pong rooms as the server places them, receive frames and report latency; exit 0', async () => {
    const server = await serve({ pong: join(repo, 'examples/pong') });
    const run = bots(['pong', '--port', String(server.port), '--count', '20', '--duration', '2s', '--json']);
    const { code, report } = await finished(run);
    expect(code, run.stderr).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.clients).toMatchObject({ joined: 20, dropped: 0, refused: 0, neverJoined: 0 });
    expect(report.rooms).toBe(10); // two players a room, placed by the server
    expect(report.framesPerSecond.median).toBeGreaterThan(0);
    expect(report.framesPerSecond.p5).toBeGreaterThan(0);
    expect(report.bytesPerSecond.total).toBeGreaterThan(0);
    expect(report.joinMs.samples).toBe(20);
    expect(report.joinMs.p50).toBeGreaterThan(0);
    expect(report.joinMs.p99).toBeGreaterThanOrEqual(report.joinMs.p50);
    expect(report.inputsSent).toBeGreaterThan(0);
    expect(report.inputToFrameMs.samples).toBeGreaterThan(0);
    expect(report.inputToFrameMs.p50).toBeGreaterThanOrEqual(0);
    expect(report.inputToFrameMs.p99).toBeGreaterThanOrEqual(report.inputToFrameMs.p50);
    expect(run.stderr).toMatch(/joined \d+\/20/); // a progress line
  }, 60_000);

  it('a URL naming a room puts every bot in it: the seats fill and the rest are refused with 4409', async () => {
    const server = await serve({ pong: join(repo, 'examples/pong') });
    const run = bots([`${server.url}/play/pong/load-room`, '--count', '3', '--duration', '1s', '--json']);
    const { code, report } = await finished(run);
    expect(code).toBe(1);
    expect(report.clients).toMatchObject({ joined: 2, refused: 1 });
    expect(report.rooms).toBe(1);
    expect(report.closes).toEqual([expect.objectContaining({ phase: 'refused', code: 4409, name: 'ROOM_FULL', count: 1 })]);
  }, 60_000);

  it('a server that closes mid-run: every bot counted as dropped with its close code, exit 1', async () => {
    const server = await serve({ pong: join(repo, 'examples/pong') });
    const run = bots(['pong', '--port', String(server.port), '--count', '6', '--duration', '60s', '--json']);
    await waitFor(() => /joined 6\/6 \(6 live\)/.test(run.stderr) || run.child.exitCode !== null, 'all six bots joined', 30_000);
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    const { code, report } = await finished(run);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.clients).toMatchObject({ joined: 6, dropped: 6 });
    expect(report.closes).toEqual([expect.objectContaining({ phase: 'dropped', code: 1001, name: 'GOING_AWAY', count: 6 })]);
    expect(report.durationMs).toBeLessThan(60_000); // ended once every bot was gone
  }, 60_000);

  it('Ctrl-C (SIGINT) stops the bots early and still prints the report, marked interrupted', async () => {
    const server = await serve({ pong: join(repo, 'examples/pong') });
    const run = bots(['pong', '--port', String(server.port), '--count', '4', '--duration', '60s', '--json']);
    await waitFor(() => /joined 4\/4 \(4 live\)/.test(run.stderr) || run.child.exitCode !== null, 'all four bots joined', 30_000);
    run.child.kill('SIGINT');
    const { code, report } = await finished(run);
    expect(code, run.stderr).toBe(0);
    expect(report).toMatchObject({ interrupted: true, ok: true, clients: { joined: 4, dropped: 0 } });
    expect(run.stderr).toMatch(/interrupted; stopping the bots/);
  }, 60_000);

  it('refuses, in one line each: a remote host without --allow-remote, an unknown game, a port nobody answers on, a bad --count', async () => {
    const server = await serve({ pong: join(repo, 'examples/pong') });
    const cases: Array<[string[], RegExp]> = [
      [['http://192.0.2.1:8080/play/pong'], /^parlor: http:\/\/192\.0\.2\.1:8080 is not this machine: .*pass --allow-remote/],
      [['nope', '--port', String(server.port)], new RegExp(`^parlor: no game named "nope" at http://127\\.0\\.0\\.1:${server.port} \\(it serves: pong\\)`)],
      [['pong', '--count', '0'], /--count/],
      [['pong', '--duration', '2h'], /--duration/],
    ];
    const closed = await serve({ pong: join(repo, 'examples/pong') });
    const freePort = closed.port;
    servers.splice(servers.indexOf(closed), 1);
    await closed.close();
    cases.push([['pong', '--port', String(freePort)], new RegExp(`^parlor: nothing answers at http://127\\.0\\.0\\.1:${freePort} .*npx parlor dev`)]);
    for (const [args, line] of cases) {
      const run = bots([...args, '--duration', args.includes('--duration') ? args[args.indexOf('--duration') + 1] : '2s']);
      expect(await run.exit, run.stderr).toBe(1);
      expect(run.stderr.trim().split('\n')[0]).toMatch(line);
      expect(run.stdout).toBe('');
    }
  }, 60_000);

  it('a --script bot presses keys and clicks the clickable node it sees; the game receives both', async () => {
    const server = await serve({ counter: { gameClass: CounterGame } });
    const script = join(dir, 'clicker.ts');
    writeFileSync(script, [
      "type Ctx = { every(ms: number, fn: () => void): void; press(key: string, holdMs: number): void; clickables(): object[]; click(node: object): void };",
      'export default function bot(ctx: Ctx): void {',
      '  ctx.every(100, () => {',
      "    ctx.press('ArrowRight', 30);",
      '    const [button] = ctx.clickables();',
      '    if (button) ctx.click(button);',
      '  });',
      '}',
      '',
    ].join('\n'));
    const keys: unknown[] = [];
    const clicks: unknown[] = [];
    const onKey = (e: unknown) => keys.push(e);
    const onClick = (e: unknown) => clicks.push(e);
    gameEvents.on('keydown', onKey);
    gameEvents.on('click', onClick);
    try {
      const run = bots(['counter', '--port', String(server.port), '--count', '2', '--duration', '2s', '--script', script, '--json']);
      const { code, report } = await finished(run);
      expect(code, run.stderr).toBe(0);
      expect(report.clients.joined).toBe(2);
      expect(keys).toContainEqual(expect.objectContaining({ key: 'ArrowRight' }));
      // the button is a 10×10 square at (80, 80): clicked at its centre
      expect(clicks).toContainEqual(expect.objectContaining({ x: 85, y: 85 }));
    } finally {
      gameEvents.off('keydown', onKey);
      gameEvents.off('click', onClick);
    }
  }, 60_000);

  it('a script that throws is reported at its own file:line, and exits 1; one that exports no function is refused before any bot runs', async () => {
    const server = await serve({ counter: { gameClass: CounterGame } });
    const thrower = join(dir, 'thrower.ts');
    writeFileSync(thrower, ['type Ctx = { after(ms: number, fn: () => void): void };', 'export default function bot(ctx: Ctx): void {', '  ctx.after(10, () => {', "    throw new Error('no plan');", '  });', '}', ''].join('\n'));
    const run = bots(['counter', '--port', String(server.port), '--count', '2', '--duration', '1500ms', '--script', thrower, '--json']);
    const { code, report } = await finished(run);
    expect(code).toBe(1);
    expect(report.clients.joined).toBe(2);
    expect(report.scriptErrors).toEqual([{ where: expect.stringMatching(/thrower\.ts:4:11$/), message: 'no plan', bots: 2 }]);

    const empty = join(dir, 'empty.ts');
    writeFileSync(empty, 'export const bot = 1;\n');
    const refused = bots(['counter', '--port', String(server.port), '--script', empty]);
    expect(await refused.exit).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^parlor: --script .*empty\.ts: its default export must be a function/);
  }, 60_000);
});
