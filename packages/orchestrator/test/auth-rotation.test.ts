/**
 * Auth with real processes and real signals: the built `parlor-orchestrator` with key files, real
 * `parlor serve --fleet-key-file` hosts. Keys rotate add → roll → remove with SIGHUP (which no
 * longer kills either process), nobody holding a valid key is dropped, an agent left on the old key
 * is refused clearly; a wrong-key flood from one address is throttled (with a true Retry-After)
 * while a valid matchmaker and a valid agent on the same address keep working.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { FLEET_KEY_PREFIX, FLEET_SUBPROTOCOL } from '@parlor/fleet-agent';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetClient } from '../src/index.js';
import { waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ORCH_BIN = join(root, 'packages/orchestrator/bin/parlor-orchestrator.js');
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const dir = mkdtempSync(join(tmpdir(), 'parlor-auth-'));
const procs: ChildProcess[] = [];
const clients: FleetClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const key = (tag: string): string => `${tag}-${randomBytes(12).toString('base64url')}`;
const fp = (k: string): string => `fp:${createHash('sha256').update(k, 'utf8').digest('hex').slice(0, 8)}`;

type Log = { msg: string; level: number } & Record<string, unknown>;
interface Proc {
  proc: ChildProcess;
  out: () => string;
  logs: () => Log[];
  alive: () => boolean;
}

/** Spawns a built CLI; its stdout+stderr are kept, JSON log lines parsed. */
function run(bin: string, args: string[], nodeEnv: string): Proc {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NODE_ENV: nodeEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const logs = (): Log[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Log);
  return { proc, out: () => out, logs, alive: () => proc.exitCode === null && proc.signalCode === null };
}

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `# ${name}\n${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

async function startOrchestrator(agentKeyFile: string, adminKeyFile: string, extra: string[] = []): Promise<{ orch: Proc; url: string }> {
  const orch = run(ORCH_BIN, ['--host', '127.0.0.1', '--no-catalog', '--port', '0', '--poll', '200', '--agent-key-file', agentKeyFile, '--admin-key-file', adminKeyFile, ...extra], 'production');
  await waitFor(() => /REST: +http:\/\/127\.0\.0\.1:\d+\/v1/.test(orch.out()) || !orch.alive(), 'orchestrator up', 20_000);
  const url = /REST: +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(orch.out())?.[1];
  expect(url, orch.out()).toBeTruthy();
  return { orch, url: url! };
}

function serve(orchUrl: string, name: string, keyFile: string): Proc {
  const games = join(root, 'examples');
  return run(PARLOR_BIN, ['serve', '--games', games, '--host', '127.0.0.1', '--port', '0', '--fleet-url', orchUrl.replace(/^http/, 'ws'), '--fleet-key-file', keyFile, '--name', name, '--drain-timeout', '0'], 'development');
}

/** One wrong-or-right agent upgrade from this address: the HTTP status the orchestrator answers (101 when accepted) and its Retry-After. */
function agentUpgrade(orchUrl: string, agentKey: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${orchUrl.replace(/^http/, 'ws')}/v1/agent`, [FLEET_SUBPROTOCOL, `${FLEET_KEY_PREFIX}${Buffer.from(agentKey).toString('base64url')}`]);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
      ws.terminate();
    });
    ws.on('open', () => {
      resolve({ status: 101, retryAfter: undefined });
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

describe('auth that punishes only the attacker (real processes, real signals)', () => {
  it('add → roll → remove with SIGHUP and live agents: nobody holding a valid key is dropped; an agent left on the old key is refused clearly', async () => {
    const [agentOld, agentNew, adminOld, adminNew] = [key('agent-old'), key('agent-new'), key('admin-old'), key('admin-new')];
    const agentKeys = file('agent.keys', [agentOld]);
    const adminKeys = file('admin.keys', [adminOld]);
    const { orch, url } = await startOrchestrator(agentKeys, adminKeys);
    // no key on the command line: nothing to see in ps
    expect(orch.proc.spawnargs.join(' ')).not.toContain(agentOld);
    const oldAdmin = new FleetClient({ baseUrl: url, adminKey: adminOld });
    const newAdmin = new FleetClient({ baseUrl: url, adminKey: adminNew });
    clients.push(oldAdmin, newAdmin);

    const keyFiles = [file('box-1.key', [agentOld]), file('box-2.key', [agentOld]), file('box-3.key', [agentOld])];
    const boxes = keyFiles.map((k, i) => serve(url, `box-${i + 1}`, k));
    await waitFor(async () => (await oldAdmin.instances().catch(() => [])).length === 3, 'three instances on the old key', 60_000);

    // 1. add: both keys accepted, for agents and admins
    file('agent.keys', [agentOld, agentNew]);
    file('admin.keys', [adminOld, adminNew]);
    orch.proc.kill('SIGHUP');
    await waitFor(() => orch.logs().some((l) => l.msg === 'keys rotated' && (l.agentKeys as string[]).length === 2), 'keys added', 10_000);
    expect(orch.alive()).toBe(true);
    expect((await newAdmin.instances()).length).toBe(3);
    expect((await oldAdmin.instances()).length).toBe(3);

    // 2. roll: box-1 and box-2 get the new key; SIGHUP makes them reconnect with it (box-3 is forgotten)
    file('box-1.key', [agentNew]);
    file('box-2.key', [agentNew]);
    boxes[0].proc.kill('SIGHUP');
    boxes[1].proc.kill('SIGHUP');
    const onNewKey = (name: string): boolean => orch.logs().some((l) => l.msg === 'instance joined' && l.name === name && l.keyFp === fp(agentNew));
    await waitFor(() => onNewKey('box-1') && onNewKey('box-2'), 'box-1 and box-2 rejoined with the new key', 15_000);
    expect(boxes.every((b) => b.alive())).toBe(true);
    await waitFor(async () => (await newAdmin.instances()).length === 3, 'three instances again', 10_000);
    const before = new Map((await newAdmin.instances()).map((i) => [i.name, i]));

    // 3. remove: box-3's session on the old key is closed and refused; the others are untouched
    file('agent.keys', [agentNew]);
    file('admin.keys', [adminNew]);
    orch.proc.kill('SIGHUP');
    await waitFor(() => orch.logs().some((l) => l.msg === 'keys rotated' && l.revokedSessions === 1), 'old key removed, one session revoked', 10_000);
    await waitFor(() => /orchestrator refused the agent key \(401\)/.test(boxes[2].out()), 'box-3 refused with 401', 15_000);
    expect(boxes[2].logs()).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^orchestrator revoked this agent key/), keyFp: fp(agentOld) }));
    expect(orch.logs()).toContainEqual(expect.objectContaining({ msg: 'auth failed', role: 'agent', keyFp: fp(agentOld) }));
    const after = await newAdmin.instances();
    expect(after.map((i) => i.name).sort()).toEqual(['box-1', 'box-2']);
    for (const i of after) {
      // same session as before the removal: same id, same connectedAt (never dropped)
      expect({ id: i.id, connectedAt: i.connectedAt }).toEqual({ id: before.get(i.name)!.id, connectedAt: before.get(i.name)!.connectedAt });
    }
    await expect(oldAdmin.instances()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(orch.alive() && boxes.every((b) => b.alive())).toBe(true);
    // keys are never logged, only fingerprints
    for (const k of [agentOld, agentNew, adminOld, adminNew]) expect(orch.out() + boxes.map((b) => b.out()).join('')).not.toContain(k);

    // a reload that fails (no key in the file) keeps the keys in force
    file('agent.keys', []);
    orch.proc.kill('SIGHUP');
    await waitFor(() => orch.logs().some((l) => l.msg === 'key reload failed; keys unchanged'), 'failed reload logged', 10_000);
    expect((await newAdmin.instances()).length).toBe(2);
    for (const b of boxes) b.proc.kill('SIGTERM');
    orch.proc.kill('SIGTERM');
    await waitFor(() => !orch.alive() && boxes.every((b) => !b.alive()), 'all exit', 20_000);
    expect(orch.proc.exitCode).toBe(0);
  }, 120_000);

  it('a key file that is missing or holds no key stops the start with one line naming the flag and the file', async () => {
    const missing = join(dir, 'no-such.keys');
    const empty = file('empty.keys', []);
    const admin = file('start-admin.keys', [key('admin')]);
    for (const [agentFile, why] of [
      [missing, 'no such file'],
      [empty, 'no key in the file'],
    ] as const) {
      const orch = run(ORCH_BIN, ['--host', '127.0.0.1', '--no-catalog', '--port', '0', '--agent-key-file', agentFile, '--admin-key-file', admin], 'production');
      await waitFor(() => !orch.alive(), 'orchestrator exits', 20_000);
      expect(orch.proc.exitCode).toBe(1);
      expect(orch.out().trim()).toBe(`parlor-orchestrator: --agent-key-file ${agentFile}: ${why}${why === 'no key in the file' ? ' (one key per line; # starts a comment)' : ''} [ORCHESTRATOR_CONFIG]`);
    }
  }, 60_000);

  it('--metrics-key-file: its key scrapes /metrics and opens nothing else', async () => {
    const metricsKey = key('metrics');
    const { url } = await startOrchestrator(file('m-agent.keys', [key('agent')]), file('m-admin.keys', [key('admin')]), ['--metrics-key-file', file('metrics.keys', [metricsKey])]);
    const get = (path: string, bearer: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    const scrape = await get('/metrics', metricsKey);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^# HELP parlor_/m);
    expect((await get('/v1/instances', metricsKey)).status).toBe(401);
  }, 60_000);

  it('a wrong-key flood from one address is throttled with a true Retry-After, while a valid matchmaker and a valid agent on that address keep working', async () => {
    const agentKey = key('agent');
    const adminKey = key('admin');
    const { orch, url } = await startOrchestrator(file('flood-agent.keys', [agentKey]), file('flood-admin.keys', [adminKey]));
    const box = serve(url, 'flood-box', file('flood-box.key', [agentKey]));
    const matchmaker = new FleetClient({ baseUrl: url, adminKey });
    clients.push(matchmaker);
    await waitFor(async () => (await matchmaker.instances().catch(() => [])).length === 1, 'instance attached', 60_000);

    const wrong = async (k: string): Promise<{ status: number; retryAfter: string | null }> => {
      const res = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${k}` } });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    };
    const floodStart = Date.now();
    // one wrong key, retried: 20 failures, then its own block
    const sameKey: Array<{ status: number; retryAfter: string | null }> = [];
    for (let i = 0; i < 25; i++) sameKey.push(await wrong('admin-wrong-but-long-enough'));
    expect(sameKey.slice(0, 20).every((r) => r.status === 401)).toBe(true);
    expect(sameKey.slice(21).every((r) => r.status === 429)).toBe(true);
    // the valid matchmaker on the same address meanwhile: never refused
    const room = await matchmaker.createRoom({ type: 'pong' });
    expect(room.roomId).toBeTruthy();
    // a flood of different guessed keys: the address ceiling (200) blocks every wrong key from here
    const guessed: number[] = [];
    let ok = 0;
    for (let i = 0; i < 220; i++) {
      guessed.push((await wrong(key('guess'))).status);
      if (i % 20 === 0) ok += (await matchmaker.instances()).length === 1 ? 1 : 0;
    }
    expect(guessed.filter((s) => s === 401).length).toBe(201 - 21); // up to the address's 201st failure (21 were the one key's)
    expect(guessed.slice(-20).every((s) => s === 429)).toBe(true);
    expect(ok).toBe(11);
    // Retry-After is the truth: the seconds until the window that began with the flood ends
    const last = await wrong(key('guess'));
    expect(last.status).toBe(429);
    const elapsedS = (Date.now() - floodStart) / 1000;
    expect(Number(last.retryAfter)).toBeLessThanOrEqual(60);
    expect(Number(last.retryAfter)).toBeGreaterThanOrEqual(Math.floor(60 - elapsedS));
    // agents get the same rule: a wrong agent key is throttled (429 with Retry-After), a valid one is let in
    const refusedAgent = await agentUpgrade(url, key('agent-guess'));
    expect(refusedAgent.status).toBe(429);
    expect(Number(refusedAgent.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await agentUpgrade(url, agentKey)).status).toBe(101);
    // the attached instance never lost its session, and the matchmaker still creates rooms
    expect((await matchmaker.createRoom({ type: 'pong' })).roomId).toBeTruthy();
    expect(orch.logs().filter((l) => l.msg === 'instance left')).toEqual([]);
    expect(orch.logs().filter((l) => /^auth throttled/.test(l.msg)).length).toBe(2); // one line per block, not one per request
    box.proc.kill('SIGTERM');
    orch.proc.kill('SIGTERM');
    await waitFor(() => !orch.alive() && !box.alive(), 'both exit', 20_000);
  }, 120_000);
});
