/**
 * Room lifecycle operations with real processes: the built `parlor-orchestrator` (its catalog and
 * its operation log in temporary folders) publishes the turn-based fixture in 1.0.0 and 1.0.1
 * over REST; the built `parlor serve`, with no games folder, follows the prod manifest and runs
 * the room placed on it. Through REST and FleetClient: a patch to 1.0.1 fetches the version with
 * the host's agent key and swaps the engine with the game's state kept and the player connected;
 * a forced turn applies the orders; both are in the log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WS_PATH } from '@parlor/squish';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetClient } from '../src/index.js';
import { gzipFolder } from './catalog-helpers.js';
import { waitFor } from './helpers.js';
import { Player } from './player.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ORCH_BIN = join(root, 'packages/orchestrator/bin/parlor-orchestrator.js');
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const GAME = fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parlor-lifecycle-serve-'));
const agentKey = `agent-${randomBytes(12).toString('base64url')}`;
const adminKey = `admin-${randomBytes(12).toString('base64url')}`;
const procs: Array<{ proc: ChildProcess; closed: Promise<unknown> }> = [];
const players: Player[] = [];

afterAll(async () => {
  for (const p of players) p.close();
  for (const { proc, closed } of procs) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await closed;
  }
  rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[]): { out: () => string } {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  procs.push({ proc, closed: new Promise((r) => proc.once('close', r)) });
  return { out: () => out };
}

function keyFile(name: string, key: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return path;
}

function versionFolder(version: string): string {
  const folder = join(dir, `adder-${version}`);
  cpSync(GAME, folder, { recursive: true });
  writeFileSync(join(folder, 'label.ts'), `export function label(): string {\n  return ${JSON.stringify(`adder ${version}`)};\n}\n`);
  return folder;
}

async function rest(base: string, method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(raw ? { 'content-type': 'application/gzip' } : body ? { 'content-type': 'application/json' } : {}) },
    body: raw ? new Uint8Array(raw) : body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

describe('room lifecycle on a parlor serve host', () => {
  it('a patch 1.0.0 → 1.0.1 on a real host keeps the game and the player; a forced turn applies the orders; both recorded', async () => {
    const orch = run(ORCH_BIN, ['--host', '127.0.0.1', '--port', '0', '--poll', '200', '--agent-key-file', keyFile('agent.keys', agentKey), '--admin-key-file', keyFile('admin.keys', adminKey), '--catalog-dir', join(dir, 'catalog'), '--data-dir', join(dir, 'orchestrator'), '--gate-runtime', 'process']);
    await waitFor(() => /REST: +http:\/\/127\.0\.0\.1:\d+\/v1/.test(orch.out()) || procs[0].proc.exitCode !== null, 'orchestrator up', 30_000);
    const base = /REST: +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(orch.out())?.[1] ?? '';
    expect(base, orch.out()).not.toBe('');
    for (const version of ['1.0.0', '1.0.1']) {
      const pub = await rest(base, 'POST', `/v1/games/adder/versions/${version}`, undefined, await gzipFolder(versionFolder(version)));
      expect(pub.status, JSON.stringify(pub.body)).toBe(202);
      await waitFor(async () => {
        const r = await rest(base, 'GET', `/v1/publish-requests/${pub.body.data.id}`);
        if (r.body.data.state === 'FAILED') throw new Error(JSON.stringify(r.body.data.error));
        return r.body.data.state === 'PUBLISHED';
      }, `adder@${version} published`, 90_000);
    }
    expect((await rest(base, 'POST', '/v1/manifests/prod/promote', { slug: 'adder', version: '1.0.0' })).status).toBe(200);

    const host = run(PARLOR_BIN, ['serve', '--fleet-url', base.replace(/^http/, 'ws'), '--fleet-key-file', keyFile('host.key', agentKey), '--env', 'prod', '--name', 'lifecycle-host', '--artifact-cache', join(dir, 'artifacts'), '--host', '127.0.0.1', '--port', '0']);
    await waitFor(() => /Open (http:\/\/[^\s/]+)\//.test(host.out()) || procs[1].proc.exitCode !== null, 'serve up', 30_000);
    const url = /Open (http:\/\/[^\s/]+)\//.exec(host.out())?.[1] ?? '';
    expect(url, host.out()).not.toBe('');
    await waitFor(async () => (await rest(base, 'GET', '/v1/instances')).body.data?.some?.((i: { name: string; status: string }) => i.name === 'lifecycle-host' && i.status === 'active'), 'the host in the fleet', 20_000);

    const client = new FleetClient({ baseUrl: base, adminKey, timeoutMs: 60_000 });
    try {
      const room = await client.createRoom({ game: 'adder', env: 'prod' });
      expect(room.version).toBe('1.0.0');
      const ann = await Player.join(`${url.replace('http:', 'ws:')}${WS_PATH}`, 'adder', room.roomId);
      players.push(ann);
      expect((await ann.order({ add: 4 })).accepted).toBe(true);
      const line = (): string => ann.texts().find((t) => t.startsWith('adder')) ?? '';
      await waitFor(() => line() === 'adder 1.0.0 total 0 pending 4 generated  restored 0', 'the order shown');

      const patched = await client.patchRoom(room.roomId, '1.0.1');
      expect(patched.operation).toMatchObject({ op: 'patch', state: 'succeeded', source: 'admin', version: '1.0.1' });
      await waitFor(() => line() === 'adder 1.0.1 total 0 pending 4 generated  restored 1', 'the new version with the state kept');
      expect(ann.closeInfo).toBeNull();

      expect((await client.forceTurn(room.roomId)).state).toMatchObject({ status: 'running', turn: 2 });
      await waitFor(() => line() === 'adder 1.0.1 total 4 pending  generated 1 restored 1', 'the turn applied');
      await waitFor(async () => (await client.room(room.roomId)).version === '1.0.1', 'the read model says 1.0.1', 10_000);
      const { operations } = await client.operations({ roomId: room.roomId });
      expect(operations.map((o) => `${o.op}:${o.state}`)).toEqual(['turn:succeeded', 'patch:succeeded', 'start:succeeded']);
      // the create is recorded as the room's start, with the version it resolved to
      expect(operations[2]).toMatchObject({ source: 'admin', game: 'adder', version: '1.0.0', params: { game: 'adder', env: 'prod' } });
    } finally {
      await client.close();
    }
  }, 240_000);
});
