/**
 * `parlor serve --catalog-url … --env prod` with no games folder, as a real process (the built CLI)
 * against a real HTTP catalog stand-in: its lobby lists the games the manifest pins (fetched with
 * the key file's key, verified, cached on disk), a WebSocket player gets frames of the pinned
 * version, and a promotion picked up by the manifest refresh makes new rooms run the new version
 * while the running room keeps its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactHost, buildArtifact, gameBundle } from './catalog-bed.js';
import { TestClient, waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const PARLOR_BIN = join(repo, 'packages/server/bin/parlor.js');
const dir = mkdtempSync(join(tmpdir(), 'parlor-serve-catalog-'));
const KEY = 'catalog-key-for-serve-tests';
const host = new ArtifactHost(KEY);
const procs: ChildProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  await host.start();
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

function serve(args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, [PARLOR_BIN, 'serve', ...args], { cwd: dir, env: { ...process.env, NODE_ENV: 'development' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, out: () => out };
}

/** A player on a real socket: joins `game` (room `roomId`, or any) and mirrors the scene. */
async function player(wsUrl: string, game: string, roomId = ''): Promise<TestClient> {
  const c = new TestClient(wsUrl);
  clients.push(c);
  await c.opened;
  c.join(game, { roomId });
  return c;
}

describe('parlor serve --catalog-url', () => {
  it('serves the manifest of its env with no games folder; a promotion reaches new rooms, not the running one', async () => {
    const v1 = buildArtifact('arena', '1.0.0', gameBundle('Arena', 'arena 1.0.0'));
    const v2 = buildArtifact('arena', '1.1.0', gameBundle('Arena', 'arena 1.1.0'));
    const other = buildArtifact('quiz', '0.3.0', gameBundle('Quiz Night', 'quiz'));
    for (const a of [v1, v2, other]) host.add(a);
    host.pin('prod', [v1, other]);
    host.pin('staging', [v2]);
    const keyFile = join(dir, 'catalog.key');
    writeFileSync(keyFile, `# the catalog key\n${KEY}\n`, { mode: 0o600 });
    const cacheDir = join(dir, 'artifacts');

    const s = serve(['--catalog-url', host.url, '--env', 'prod', '--catalog-key-file', keyFile, '--artifact-cache', cacheDir, '--manifest-refresh', '200', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info']);
    await waitFor(() => /Open (http:\/\/[^\s]+)\//.test(s.out()) || s.proc.exitCode !== null, 'serve up', 30_000);
    const url = /Open (http:\/\/[^\s/]+)\//.exec(s.out())?.[1];
    expect(url, s.out()).toBeDefined();
    expect(s.out()).toContain('arena@1.0.0');

    // the lobby and the games API list the manifest's games, once each, at their pinned versions
    const lobby = await (await fetch(`${url}/`)).text();
    expect(lobby).toContain('Arena');
    expect(lobby).toContain('Quiz Night');
    const api = (await (await fetch(`${url}/parlor/api/games`)).json()) as { games: { name: string; version?: string }[] };
    expect(api.games.map((g) => `${g.name}@${g.version}`).sort()).toEqual(['arena@1.0.0', 'quiz@0.3.0']);
    // fetched with the key, verified, and cached on disk
    expect(host.refused).toBe(0);
    expect(existsSync(join(cacheDir, `${v1.sha256}.tar`))).toBe(true);
    expect(existsSync(join(cacheDir, `${v2.sha256}.tar`))).toBe(false); // staging's version is not this env's

    const wsUrl = `${url!.replace('http:', 'ws:')}/parlor/ws`;
    const first = await player(wsUrl, 'arena');
    await waitFor(() => first.texts().includes('arena 1.0.0'), 'a player of arena 1.0.0 gets frames', 15_000);

    // promote 1.1.0 in prod: the next refresh makes it current; a new room runs it
    host.pin('prod', [v2, other]);
    await waitFor(async () => {
      const g = (await (await fetch(`${url}/parlor/api/games`)).json()) as { games: { name: string; version?: string }[] };
      return g.games.some((x) => x.name === 'arena' && x.version === '1.1.0');
    }, 'the promotion is picked up', 15_000);
    const second = await player(wsUrl, 'arena', 'fresh-room');
    await waitFor(() => second.texts().includes('arena 1.1.0'), 'a new room runs 1.1.0', 15_000);
    // the running room keeps 1.0.0 and keeps sending frames
    const before = first.framesApplied;
    await waitFor(() => first.framesApplied > before + 3, 'the 1.0.0 room keeps playing', 15_000);
    expect(first.texts()).toContain('arena 1.0.0');
    const rooms = (await (await fetch(`${url}/parlor/api/rooms`)).json()) as { rooms: { id: string; version?: string }[] };
    expect(rooms.rooms.find((r) => r.id === first.init?.roomId)?.version).toBe('1.0.0');
    expect(rooms.rooms.find((r) => r.id === 'fresh-room')?.version).toBe('1.1.0');
    // its play page still serves
    expect((await fetch(`${url}/play/arena/${first.init?.roomId}`)).status).toBe(200);

    s.proc.kill('SIGKILL');
  });

  it('without --games or --catalog-url, and with a catalog but no key, it exits with a one-line error naming the flags', async () => {
    const none = serve(['--port', '0']);
    const code = await new Promise<number | null>((r) => none.proc.once('close', r));
    expect(code).not.toBe(0);
    expect(none.out()).toContain('--catalog-url');
    expect(none.out()).not.toMatch(/\n\s+at /);
    const noKey = serve(['--catalog-url', host.url, '--port', '0']);
    const code2 = await new Promise<number | null>((r) => noKey.proc.once('close', r));
    expect(code2).not.toBe(0);
    expect(noKey.out()).toContain('--catalog-key-file');
  });
});
