/**
 * `parlor serve` drains on SIGTERM, with real processes and real signals: the built
 * `parlor-orchestrator`, the built `parlor serve --fleet-url --fleet-key-file`, and a real player in
 * a room of a game that sends a frame every tick. SIGTERM → the orchestrator's REST shows the instance draining and places no new room
 * there, the player keeps receiving frames, and when the player leaves the process exits 0; a
 * second SIGTERM exits at once; SIGHUP re-reads the key file and ends nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient, waitFor } from './helpers.js';
import { fixture } from './hostile-bed.js';

const repo = resolve(__dirname, '../../..');
const ORCH_BIN = join(repo, 'packages/orchestrator/bin/parlor-orchestrator.js');
const PARLOR_BIN = join(repo, 'packages/server/bin/parlor.js');
const dir = mkdtempSync(join(tmpdir(), 'parlor-drain-'));
const games = join(dir, 'games');
cpSync(fixture('sandbox/ticker.ts'), join(games, 'ticker', 'index.ts'));
const procs: ChildProcess[] = [];
const players: TestClient[] = [];
const agentKey = `agent-${randomBytes(12).toString('base64url')}`;
const adminKey = `admin-${randomBytes(12).toString('base64url')}`;

afterAll(() => {
  for (const p of players) p.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

type Log = { msg: string; level: number } & Record<string, unknown>;
interface Proc {
  proc: ChildProcess;
  out: () => string;
  logs: () => Log[];
  exited: Promise<number | null>;
}

function run(bin: string, args: string[]): Proc {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': it comes after stdout is fully read, so logs() is complete when `exited` settles
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  const logs = (): Log[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Log);
  return { proc, out: () => out, logs, exited };
}

function keyFile(name: string, key: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return path;
}

async function rest(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

let orchUrl = '';

async function orchestrator(): Promise<void> {
  const orch = run(ORCH_BIN, ['--host', '127.0.0.1', '--no-catalog', '--port', '0', '--poll', '200', '--agent-key-file', keyFile('agent.keys', agentKey), '--admin-key-file', keyFile('admin.keys', adminKey)]);
  await waitFor(() => /REST: +http:\/\/127\.0\.0\.1:\d+\/v1/.test(orch.out()) || orch.proc.exitCode !== null, 'orchestrator up', 20_000);
  orchUrl = /REST: +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(orch.out())?.[1] ?? '';
  expect(orchUrl, orch.out()).not.toBe('');
}

/** A fleet host with one ticker player in a room; resolves once the orchestrator lists it with the player. */
async function hostWithPlayer(name: string, drainTimeoutMs: number): Promise<{ srv: Proc; player: TestClient; instanceId: string }> {
  const srv = run(PARLOR_BIN, [
    'serve', '--games', games, '--host', '127.0.0.1', '--port', '0',
    '--fleet-url', orchUrl.replace(/^http/, 'ws'), '--fleet-key-file', keyFile(`${name}.key`, agentKey), '--name', name,
    '--drain-timeout', String(drainTimeoutMs),
  ]);
  await waitFor(() => /Open +http:\/\/127\.0\.0\.1:\d+\//.test(srv.out()) || srv.proc.exitCode !== null, 'parlor serve listening', 60_000);
  const base = /Open +(http:\/\/127\.0\.0\.1:\d+)\//.exec(srv.out())?.[1];
  expect(base, srv.out()).toBeTruthy();
  const player = new TestClient(`${base!.replace(/^http/, 'ws')}/parlor/ws`);
  players.push(player);
  await player.opened;
  await player.joinAndSync('ticker');
  let instanceId = '';
  await waitFor(async () => {
    const inst = ((await rest(orchUrl, 'GET', '/v1/instances')).body.data as any[]).find((i) => i.name === name);
    instanceId = inst?.id ?? '';
    return inst?.clientCount === 1;
  }, 'the instance with its player in the orchestrator', 30_000);
  return { srv, player, instanceId };
}

describe('parlor serve drains on SIGTERM (real orchestrator, real host, real player)', () => {
  it('SIGTERM: the instance is draining in the REST API and gets no new room, the player keeps playing, and when the player leaves the host exits 0', async () => {
    await orchestrator();
    const { srv, player, instanceId } = await hostWithPlayer('drain-1', 60_000);

    // SIGHUP re-reads the key file (unchanged here) and ends nothing
    srv.proc.kill('SIGHUP');
    await waitFor(() => srv.logs().some((l) => l.msg === 'fleet key file re-read: key unchanged'), 'SIGHUP handled', 10_000);
    const framesBefore = player.framesApplied;
    await player.moreFrames(3);
    expect(player.framesApplied).toBeGreaterThan(framesBefore);

    srv.proc.kill('SIGTERM');
    await waitFor(async () => (await rest(orchUrl, 'GET', `/v1/instances/${instanceId}`)).body.data?.status === 'draining', 'draining in the orchestrator', 10_000);
    // the host logs its drain; the orchestrator may see the status before the log line reaches our pipe
    await waitFor(() => srv.logs().some((l) => /^draining: 1 room\(s\) still playing/.test(l.msg) && l.rooms === 1), 'the drain logged', 10_000);
    // no new room is placed on a draining instance (it is the only one)
    const placed = await rest(orchUrl, 'POST', '/v1/rooms', { type: 'ticker' });
    expect({ status: placed.status, cause: placed.body.cause }).toEqual({ status: 409, cause: 'NO_CANDIDATE' });
    // the player keeps receiving frames while the host drains
    const during = player.framesApplied;
    await player.moreFrames(10);
    expect(player.framesApplied).toBeGreaterThanOrEqual(during + 10);
    expect(player.closeInfo).toBeNull();
    expect(srv.proc.exitCode).toBeNull();

    // the player leaves: the room is empty, the host leaves the fleet and exits 0
    player.close();
    expect(await srv.exited).toBe(0);
    expect(srv.logs().some((l) => l.msg === 'drained: every room is empty')).toBe(true);
    expect(srv.logs().filter((l) => l.level >= 40)).toEqual([]);
    await waitFor(async () => (await rest(orchUrl, 'GET', '/v1/instances')).body.data.every((i: any) => i.name !== 'drain-1'), 'instance gone', 10_000);
  }, 120_000);

  it('a second SIGTERM while draining exits at once', async () => {
    const { srv, player, instanceId } = await hostWithPlayer('drain-2', 600_000);
    srv.proc.kill('SIGTERM');
    await waitFor(async () => (await rest(orchUrl, 'GET', `/v1/instances/${instanceId}`)).body.data?.status === 'draining', 'draining in the orchestrator', 10_000);
    expect(player.closeInfo).toBeNull();
    srv.proc.kill('SIGTERM');
    // at once: long before the 600 s drain timeout, with the player still in its room
    expect(await srv.exited).toBe(1);
    expect(srv.logs().some((l) => l.msg === 'second signal: exiting now')).toBe(true);
    await player.closed(10_000);
  }, 120_000);
});
