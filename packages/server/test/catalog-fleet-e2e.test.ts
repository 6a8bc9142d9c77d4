/**
 * Catalog rooms end to end with real processes: the built `parlor-orchestrator` with its
 * in-process catalog (SQLite, the real publish gate) publishes a game in two versions over REST;
 * the built `parlor serve --fleet-url … --env prod`, with no games folder, follows the prod manifest
 * at its orchestrator (its lobby lists the game) and runs the rooms the orchestrator places by game:
 * it fetches the artifact with its agent key, verifies it, runs it, and a real player gets frames.
 * A promotion makes new rooms run the new version while the running room keeps its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { create } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient, waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const ORCH_BIN = join(repo, 'packages/orchestrator/bin/parlor-orchestrator.js');
const PARLOR_BIN = join(repo, 'packages/server/bin/parlor.js');
const dir = mkdtempSync(join(tmpdir(), 'parlor-catalog-e2e-'));
const agentKey = `agent-${randomBytes(12).toString('base64url')}`;
const adminKey = `admin-${randomBytes(12).toString('base64url')}`;
const procs: ChildProcess[] = [];
const clients: TestClient[] = [];

afterAll(() => {
  for (const c of clients) c.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, out: () => out };
}

function keyFile(name: string, key: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return path;
}

/** A game folder whose scene shows `label`. */
function gameFolder(label: string): string {
  const game = join(dir, `src-${label.replace(/\W/g, '-')}`);
  mkdirSync(game, { recursive: true });
  writeFileSync(
    join(game, 'index.ts'),
    `import { Colors, Game, Group, Text, type GameMetadata, type Node } from '@parlor/squish';
export default class Arena extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Arena', tickRate: 20, maxPlayers: 4 };
  }
  private ticks = 0;
  private readonly counter = new Text({ text: 'tick 0', x: 5, y: 15, size: 4, color: Colors.WHITE });
  readonly root = new Group({ children: [new Text({ text: ${JSON.stringify(label)}, x: 5, y: 5, size: 4, color: Colors.WHITE }), this.counter] });
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.ticks++;
    this.counter.text = 'tick ' + this.ticks;
  }
}
`,
  );
  return game;
}

async function gzipFolder(folder: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of create({ cwd: folder, gzip: true, portable: true }, readdirSync(folder)) as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function rest(base: string, method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(raw ? { 'content-type': 'application/gzip' } : body ? { 'content-type': 'application/json' } : {}) },
    body: raw ? new Uint8Array(raw) : body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

describe('catalog rooms on a parlor serve host', () => {
  it('publish, promote, a room by game placed on a serve host with no games folder, a promotion reaching new rooms only', async () => {
    const orch = run(ORCH_BIN, ['--host', '127.0.0.1', '--port', '0', '--poll', '200', '--agent-key-file', keyFile('agent.keys', agentKey), '--admin-key-file', keyFile('admin.keys', adminKey), '--catalog-dir', join(dir, 'catalog'), '--gate-runtime', 'process']);
    await waitFor(() => /REST: +http:\/\/127\.0\.0\.1:\d+\/v1/.test(orch.out()) || orch.proc.exitCode !== null, 'orchestrator up', 30_000);
    const base = /REST: +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(orch.out())?.[1] ?? '';
    expect(base, orch.out()).not.toBe('');

    for (const version of ['1.0.0', '1.1.0']) {
      const pub = await rest(base, 'POST', `/v1/games/arena/versions/${version}`, undefined, await gzipFolder(gameFolder(`arena ${version}`)));
      expect(pub.status, JSON.stringify(pub.body)).toBe(202);
      let state = '';
      await waitFor(async () => {
        const r = await rest(base, 'GET', `/v1/publish-requests/${pub.body.data.id}`);
        state = r.body.data.state;
        if (state === 'FAILED') throw new Error(JSON.stringify(r.body.data.error));
        return state === 'PUBLISHED';
      }, `arena@${version} published`, 90_000);
    }
    expect((await rest(base, 'POST', '/v1/manifests/prod/promote', { slug: 'arena', version: '1.0.0' })).status).toBe(200);

    const host = run(PARLOR_BIN, ['serve', '--fleet-url', base.replace(/^http/, 'ws'), '--fleet-key-file', keyFile('host.key', agentKey), '--env', 'prod', '--name', 'catalog-host', '--artifact-cache', join(dir, 'artifacts'), '--manifest-refresh', '200', '--host', '127.0.0.1', '--port', '0']);
    await waitFor(() => /Open (http:\/\/[^\s/]+)\//.test(host.out()) || host.proc.exitCode !== null, 'serve up', 30_000);
    const url = /Open (http:\/\/[^\s/]+)\//.exec(host.out())?.[1] ?? '';
    expect(url, host.out()).not.toBe('');
    // the lobby lists prod's game at its pinned version (the manifest of its orchestrator's catalog)
    const games = (await (await fetch(`${url}/parlor/api/games`)).json()) as { games: { name: string; version?: string }[] };
    expect(games.games).toEqual([expect.objectContaining({ name: 'arena', version: '1.0.0' })]);
    await waitFor(async () => (await rest(base, 'GET', '/v1/instances')).body.data?.some?.((i: { name: string; status: string }) => i.name === 'catalog-host' && i.status === 'active'), 'the host is ready in the fleet', 20_000);

    // a room by game: resolved by the catalog, placed here, the artifact fetched, verified and run
    const first = await rest(base, 'POST', '/v1/rooms', { game: 'arena', env: 'prod' });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.data).toMatchObject({ type: 'arena', version: '1.0.0' });
    const wsUrl = `${url.replace('http:', 'ws:')}/parlor/ws`;
    const a = new TestClient(wsUrl);
    clients.push(a);
    await a.opened;
    await a.joinAndSync('arena', { roomId: first.body.data.roomId });
    expect(a.texts()).toContain('arena 1.0.0');

    // promote 1.1.0: a new room runs it; the running room keeps 1.0.0 and keeps playing
    expect((await rest(base, 'POST', '/v1/manifests/prod/promote', { slug: 'arena', version: '1.1.0' })).status).toBe(200);
    const second = await rest(base, 'POST', '/v1/rooms', { game: 'arena', env: 'prod' });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.data).toMatchObject({ version: '1.1.0' });
    const b = new TestClient(wsUrl);
    clients.push(b);
    await b.opened;
    await b.joinAndSync('arena', { roomId: second.body.data.roomId });
    expect(b.texts()).toContain('arena 1.1.0');
    const before = a.framesApplied;
    await waitFor(() => a.framesApplied > before + 3, 'the 1.0.0 room keeps playing');
    expect(a.texts()).toContain('arena 1.0.0');
    const rooms = (await (await fetch(`${url}/parlor/api/rooms`)).json()) as { rooms: { id: string; version?: string }[] };
    expect(rooms.rooms.find((r) => r.id === first.body.data.roomId)?.version).toBe('1.0.0');
    expect(rooms.rooms.find((r) => r.id === second.body.data.roomId)?.version).toBe('1.1.0');
    // the host's lobby follows the promotion
    await waitFor(async () => {
      const g = (await (await fetch(`${url}/parlor/api/games`)).json()) as { games: { name: string; version?: string }[] };
      return g.games.some((x) => x.name === 'arena' && x.version === '1.1.0');
    }, 'the lobby shows 1.1.0', 15_000);
  }, 240_000);
});
