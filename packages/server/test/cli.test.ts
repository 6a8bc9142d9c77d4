/**
 * The `parlor` CLI from source (`node --import tsx src/cli/cli.ts`): `parlor dev` listens on
 * 127.0.0.1 by default, rebuilds on a file change (chokidar) and redirects live rooms, its logs are
 * pino JSON lines when stdout is not a terminal, a busy port is one line naming `--port`, and flags
 * are validated by commander (a bad value names the flag and exits 1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient, waitFor } from './helpers.js';
import { fixture } from './hostile-bed.js';

const repo = resolve(__dirname, '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the CLI to completion (for flag errors). */
function run(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('parlor CLI', () => {
  it('parlor dev rebuilds when a file of the game changes and redirects the live room; logs are JSON objects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-dev-'));
    dirs.push(dir);
    const game = join(dir, 'ticker');
    cpSync(fixture('sandbox/ticker.ts'), join(game, 'index.ts'));
    // no --host: dev runs the game unsandboxed, so it listens on 127.0.0.1 unless told otherwise
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'dev', game, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /Play: +http:\/\/127\.0\.0\.1:\d+\/play\/ticker/.test(out) || child.exitCode !== null, 'parlor dev listening', 60_000);
    const base = /Play: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    expect(base, out).toBeTruthy();
    const logs = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; level: number } & Record<string, unknown>);
    await waitFor(() => logs().some((l) => l.msg === 'listening' && l.url === base && l.level === 30), 'the listening log object');

    const player = new TestClient(`${base!.replace(/^http/, 'ws')}/parlor/ws`);
    await player.opened;
    await player.joinAndSync('ticker');
    const src = join(game, 'index.ts');
    writeFileSync(src, readFileSync(src, 'utf8').replace("name: 'Ticker'", "name: 'Ticker v2'"));
    await waitFor(() => logs().some((l) => l.msg === 'rebuilt; live rooms redirected to the new build' && l.game === 'ticker'), 'the rebuild', 30_000);
    const closed = await player.closed();
    expect(closed.code).toBe(1000);
    expect(player.messages.find((m) => m.type === 'redirect')).toMatchObject({ type: 'redirect', url: '/play/ticker' });
    const games = (await (await fetch(`${base}/parlor/api/games`)).json()) as { games: Array<{ name: string; title: string }> };
    expect(games.games).toMatchObject([{ name: 'ticker', title: 'Ticker v2' }]);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(logs().some((l) => l.msg === 'signal received' && l.signal === 'SIGTERM')).toBe(true);
  }, 90_000);

  it('Ctrl-C on parlor serve --runtime process (SIGINT to the whole process group, as a terminal sends it) drains, then closes the rooms still playing at --drain-timeout and logs no warning or error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-serve-'));
    dirs.push(dir);
    cpSync(fixture('sandbox/ticker.ts'), join(dir, 'ticker', 'index.ts'));
    // detached: its own process group, like a job in a terminal; Ctrl-C signals every process in it
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--games', dir, '--runtime', 'process', '--host', '127.0.0.1', '--port', '0', '--drain-timeout', '2000'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /Open +http:\/\/127\.0\.0\.1:\d+\//.test(out) || child.exitCode !== null, 'parlor serve listening', 60_000);
    const base = /Open +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    expect(base, out).toBeTruthy();
    const player = new TestClient(`${base!.replace(/^http/, 'ws')}/parlor/ws`);
    await player.opened;
    await player.joinAndSync('ticker');
    await player.moreFrames(3);
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    const logs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logs.some((l) => l.msg === 'signal received')).toBe(true);
    // the player did not leave: the room kept playing (its process survived the group's SIGINT) until the drain timeout
    expect(logs.some((l) => l.msg === 'drain timeout: ending the rooms still playing')).toBe(true);
    expect(logs.filter((l) => l.level >= 40)).toEqual([]);
    expect((await player.closed()).code).toBe(1001);
  }, 90_000);

  it('a busy port is one line that says what to do, not a stack', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', cli, 'dev', fixture('sandbox/ticker.ts'), '--port', String(port)], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
        children.push(child);
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('close', (status) => done({ status, stderr }));
      });
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(`parlor: port ${port} on 127.0.0.1 is already in use: stop what holds it, or choose another port with --port <n> (or PORT=<n>)`);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('a flag with an invalid value names the flag and exits 1', () => {
    const port = run(['dev', 'nowhere', '--port', '70000']);
    expect(port.status).toBe(1);
    expect(port.stderr).toMatch(/--port <port>.*70000.*invalid/);
    const runtime = run(['serve', '--games', 'nowhere', '--runtime', 'kvm']);
    expect(runtime.status).toBe(1);
    expect(runtime.stderr).toMatch(/--runtime <runtime>.*kvm.*Allowed choices are inline, process, docker, auto/);
    const rooms = run(['serve', '--games', 'nowhere', '--max-rooms', '0']);
    expect(rooms.status).toBe(1);
    expect(rooms.stderr).toMatch(/--max-rooms <n>.*0.*a positive integer/);
  }, 60_000);
});
