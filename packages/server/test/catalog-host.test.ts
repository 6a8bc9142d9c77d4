/**
 * A host runs catalog versions, over real sockets: artifacts fetched from a real HTTP server with
 * the bearer key, verified before anything is kept or run (a mismatch never runs: the game's top
 * level would write a marker file), cached and re-hashed at each use (a tampered cache is
 * detected and fetched again), loaded and played by a WebSocket client; two versions of one game
 * run side by side in one server (a promotion never changes a running room); the fleet host
 * creates a room of an exact version and reports it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache, ArtifactError, CatalogVersions, createFleetHost, ServerErrorCode, type GameServer } from '@parlor/server';
import { ArtifactHost, buildArtifact, gameBundle } from './catalog-bed.js';
import { TestClient, get, startServer, waitFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-catalog-host-'));
const KEY = 'agent-key-for-tests';
const host = new ArtifactHost(KEY);
const clients: TestClient[] = [];
const servers: GameServer[] = [];

beforeAll(async () => {
  await host.start();
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

function cache(name: string): ArtifactCache {
  return new ArtifactCache({ dir: join(dir, name), key: KEY });
}

/** Whether a client's scene shows a text starting with `prefix`. */
function shows(c: TestClient, prefix: string): boolean {
  return c.texts().some((t) => t.startsWith(prefix));
}

describe('ArtifactCache', () => {
  it('fetches with the bearer key, verifies, caches, and serves the verified cache warm', async () => {
    const art = buildArtifact('pong', '1.0.0', gameBundle('Pong', 'pong 1.0.0'));
    const ref = host.add(art);
    const c = cache('warm');
    const first = await c.load(ref);
    expect(first.fetched).toBe(true);
    expect(first.metadata).toMatchObject({ name: 'pong', entry: 'index.cjs' });
    expect(existsSync(first.entry)).toBe(true);
    expect(existsSync(c.tarPath(art.sha256))).toBe(true);
    const second = await c.load(ref);
    expect(second.fetched).toBe(false);
    expect(second.dir).not.toBe(first.dir); // a fresh folder per load
    expect(host.hits.get(`/v1/artifacts/${art.sha256}`)).toBe(1);
    // a wrong key is refused by the catalog: a typed fetch failure
    const other = new ArtifactCache({ dir: join(dir, 'nokey'), key: 'wrong' });
    await expect(other.load(ref)).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_FETCH_FAILED });
    await c.close();
  });

  it('bounds an artifact fetch: over the size cap or past the timeout is a typed fetch failure, nothing kept', async () => {
    const art = buildArtifact('pong', '1.0.3', gameBundle('Pong', 'pong 1.0.3'));
    const ref = host.add(art);
    const small = new ArtifactCache({ dir: join(dir, 'small'), key: KEY, maxBytes: 1024 });
    await expect(small.load(ref)).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_FETCH_FAILED, message: expect.stringContaining('over the cap') });
    expect(existsSync(small.tarPath(art.sha256))).toBe(false);
    // a catalog that accepts the connection and never answers
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const slow = new ArtifactCache({ dir: join(dir, 'slow'), key: KEY, timeoutMs: 300 });
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/artifacts/${art.sha256}`;
      await expect(slow.load({ ...ref, url })).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_FETCH_FAILED, message: expect.stringContaining('within 300 ms') });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('removes the extracted folders a killed host left behind, never those of a live process', async () => {
    const art = buildArtifact('pong', '1.0.4', gameBundle('Pong', 'pong 1.0.4'));
    const ref = host.add(art);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(dir, 'sweep', 'extracted', `${gone}-0badc0de`);
    const live = join(dir, 'sweep', 'extracted', `${process.ppid}-0badc0de`);
    for (const d of [stale, live]) {
      mkdirSync(join(d, 'x'), { recursive: true });
      writeFileSync(join(d, 'x', 'index.cjs'), '');
    }
    const c = cache('sweep');
    await c.load(ref);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    await c.close();
  });

  it('concurrent loads of one sha256 share one fetch', async () => {
    const art = buildArtifact('pong', '1.0.1', gameBundle('Pong', 'pong 1.0.1'));
    const ref = host.add(art);
    const c = cache('concurrent');
    const loads = await Promise.all([c.load(ref), c.load(ref), c.load(ref)]);
    expect(new Set(loads.map((l) => l.dir)).size).toBe(3);
    expect(host.hits.get(`/v1/artifacts/${art.sha256}`)).toBe(1);
    await c.close();
  });

  it('refuses bytes that do not match the sha256: typed ARTIFACT_MISMATCH, nothing kept, extracted or run', async () => {
    const marker = join(dir, 'evil-ran');
    const good = buildArtifact('evil', '1.0.0', gameBundle('Evil', 'fine'));
    const evil = buildArtifact('evil', '1.0.0', gameBundle('Evil', 'evil', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');`));
    // the catalog (or something on the way) serves other bytes than the sha256 the ref names
    host.artifacts.set(good.sha256, evil.bytes);
    const c = cache('mismatch');
    const { server } = await startServer({ games: {} });
    servers.push(server);
    const versions = new CatalogVersions(server, c);
    const err = await versions.ensure(host.ref(good)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactError);
    expect(err).toMatchObject({ code: ServerErrorCode.ARTIFACT_MISMATCH, sha256: good.sha256 });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(c.tarPath(good.sha256))).toBe(false);
    const kept = existsSync(join(dir, 'mismatch')) ? readdirSync(join(dir, 'mismatch')).filter((f) => f.endsWith('.tar') || f.endsWith('.tmp')) : [];
    expect(kept).toEqual([]);
    expect(server.gameVersion('evil', '1.0.0')).toBeUndefined();
    expect(server.games()).toEqual([]);
    // the same evil bytes served at their own hash are a valid artifact: the marker proves the check above was what stopped it
    host.add(evil);
    await versions.ensure(host.ref(evil));
    expect(existsSync(marker)).toBe(true);
    await c.close();
  });

  it('detects a tampered cached artifact by its hash, deletes it and fetches it again', async () => {
    const art = buildArtifact('pong', '1.0.2', gameBundle('Pong', 'pong 1.0.2'));
    const ref = host.add(art);
    const c = cache('tamper');
    expect((await c.load(ref)).fetched).toBe(true);
    writeFileSync(c.tarPath(art.sha256), buildArtifact('pong', '1.0.2', gameBundle('Pong', 'tampered')).bytes);
    const again = await c.load(ref);
    expect(again.fetched).toBe(true);
    expect(host.hits.get(`/v1/artifacts/${art.sha256}`)).toBe(2);
    // the cache holds the verified bytes again
    expect((await c.load(ref)).fetched).toBe(false);
    await c.close();
  });

  it('refuses a verified artifact whose entries escape its folder or are links, and one without metadata', async () => {
    const c = cache('hostile');
    const escaping = buildArtifact('pong', '9.0.0', gameBundle('Pong', 'x'), { 'a/escape.txt': 'out' });
    // tar refuses to write a '..' entry: rename the entry in its raw header (and fix the header's checksum)
    const raw = Buffer.from(escaping.bytes);
    const name = Buffer.alloc(100);
    name.write('../escape.txt');
    let at = 0;
    while (at < raw.length && !raw.subarray(at, at + 100).toString('latin1').startsWith('a/')) at += 512;
    expect(at).toBeLessThan(raw.length);
    name.copy(raw, at);
    // fix the header checksum
    raw.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + 512; i++) sum += raw[i]!;
    raw.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
    const bad = { ...escaping, bytes: raw, sha256: (await import('@parlor/server')).sha256Of(raw) };
    await expect(c.load(host.add(bad))).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_INVALID, message: expect.stringContaining('escaping its folder') });
    const linked = buildArtifact('pong', '9.0.3', gameBundle('Pong', 'x'), {}, { 'secret.txt': '/etc/hostname' });
    await expect(c.load(host.add(linked))).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_INVALID, message: expect.stringContaining('SymbolicLink') });
    expect(existsSync(join(dir, 'hostile', 'extracted', 'escape.txt'))).toBe(false);
    const noMeta = buildArtifact('pong', '9.0.1', gameBundle('Pong', 'x'), { 'parlor-artifact.json': 'not json' });
    await expect(c.load(host.add(noMeta))).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_INVALID, message: expect.stringContaining('parlor-artifact.json') });
    const otherEntry = buildArtifact('pong', '9.0.2', gameBundle('Pong', 'x'), { 'parlor-artifact.json': JSON.stringify({ name: 'pong', squishVersion: 1, entry: '../index.cjs', assets: [] }) });
    await expect(c.load(host.add(otherEntry))).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_INVALID, message: expect.stringContaining('entry') });
    await c.close();
  });
});

describe('versions side by side', () => {
  it('runs a 1.2.0 room and a 1.2.1 room of one game in one server; a promotion never changes the running room', async () => {
    const v120 = buildArtifact('duel', '1.2.0', gameBundle('Duel', 'duel 1.2.0'));
    const v121 = buildArtifact('duel', '1.2.1', gameBundle('Duel', 'duel 1.2.1'));
    const { server } = await startServer({ games: {}, reconnectGraceMs: 50 });
    servers.push(server);
    const versions = new CatalogVersions(server, cache('side'));
    const fleet = createFleetHost(server, { versions });
    expect(fleet.squishVersions()).toContain(1);

    // the fleet places a room of 1.2.0 (nothing loaded yet: fetched, verified, loaded, created)
    await fleet.createRoom('duel', 'room-old', {}, host.add(v120));
    const a = await TestClient.connect(server);
    clients.push(a);
    await a.joinAndSync('duel', { roomId: 'room-old' });
    expect(shows(a, 'duel 1.2.0')).toBe(true);

    // promote: 1.2.1 becomes current; new rooms run it, the running room keeps 1.2.0
    await versions.ensure(host.add(v121), { current: true });
    await fleet.createRoom('duel', 'room-new', {}, host.ref(v121));
    const b = await TestClient.connect(server);
    clients.push(b);
    await b.joinAndSync('duel', { roomId: 'room-new' });
    expect(shows(b, 'duel 1.2.1')).toBe(true);
    const c = await TestClient.connect(server);
    clients.push(c);
    await c.joinAndSync('duel'); // a join without a room id gets a room of the current version
    expect(shows(c, 'duel 1.2.1')).toBe(true);

    // the old room keeps playing 1.2.0, and takes a new player by id
    const before = a.framesApplied;
    await waitFor(() => a.framesApplied > before + 2, 'frames keep reaching the 1.2.0 room');
    const late = await TestClient.connect(server);
    clients.push(late);
    await late.joinAndSync('duel', { roomId: 'room-old' });
    expect(shows(late, 'duel 1.2.0')).toBe(true);

    const rooms = fleet.listRooms();
    expect(rooms.find((r) => r.roomId === 'room-old')).toMatchObject({ type: 'duel', version: '1.2.0', sha256: v120.sha256, provenance: 'fleet' });
    expect(rooms.find((r) => r.roomId === 'room-new')).toMatchObject({ version: '1.2.1', sha256: v121.sha256 });
    expect(server.rooms().find((r) => r.id === 'room-old')).toMatchObject({ version: '1.2.0', sha256: v120.sha256 });

    // the lobby lists the game once, at its current version; each room's play page is served
    expect(server.games().filter((g) => g.name === 'duel')).toEqual([expect.objectContaining({ version: '1.2.1' })]);
    const lobby = await get(server, '/');
    expect(lobby.status).toBe(200);
    expect(lobby.text).toContain('Duel');
    expect((await get(server, '/play/duel/room-old')).status).toBe(200);
    expect((await get(server, '/play/duel/room-new')).status).toBe(200);

    // an unknown version is refused; versions no room runs are pruned, a running one stays
    expect(() => server.openRoom('duel', 'room-x', {}, '0.0.1')).toThrow(expect.objectContaining({ code: ServerErrorCode.UNKNOWN_GAME }));
    await versions.prune();
    expect(server.gameVersion('duel', '1.2.0')).toBeDefined();
    a.close();
    late.close();
    await waitFor(() => !server.rooms().some((r) => r.id === 'room-old'), 'the 1.2.0 room ends when empty', 15_000);
    await versions.prune();
    expect(server.gameVersion('duel', '1.2.0')).toBeUndefined();
    expect(server.gameVersion('duel', '1.2.1')).toBeDefined();
  });

  it('follows a manifest: a game with show false is served but not listed, a changed access reaches the loaded version, a game gone from it is retired', async () => {
    const art = buildArtifact('secret', '1.0.0', gameBundle('Secret', 'secret 1.0.0'));
    host.add(art);
    const { server } = await startServer({ games: {} });
    servers.push(server);
    const versions = new CatalogVersions(server, cache('manifest'));
    host.pin('backstage', [art]);
    const manifest = host.manifests.get('backstage')!;
    manifest.games[0]!.show = false;
    expect(await versions.applyManifest(manifest, host.url)).toEqual({ current: ['secret@1.0.0'], failed: [], retired: [] });
    expect(server.games()).toEqual([]);
    const p = await TestClient.connect(server);
    clients.push(p);
    await p.joinAndSync('secret');
    expect(shows(p, 'secret 1.0.0')).toBe(true);

    manifest.games[0]!.access_control = { requires_auth: true, min_role: 'member' };
    await versions.applyManifest(manifest, host.url);
    expect(server.gameVersion('secret', '1.0.0')?.access).toEqual({ requiresAuth: true, minRole: 'member' });
    expect(host.hits.get(`/v1/artifacts/${art.sha256}`)).toBe(1); // never fetched nor built again

    const gone = await versions.applyManifest({ ...manifest, games: [] }, host.url);
    expect(gone.retired).toEqual(['secret']);
    const again = await TestClient.connect(server);
    clients.push(again);
    again.join('secret');
    expect((await again.closed()).code).toBe(4404);
    expect(server.rooms().length).toBe(1); // the running room plays on
    const before = p.framesApplied;
    await waitFor(() => p.framesApplied > before + 2, 'the running room keeps playing');
  });

  it('a catalog version runs in the process runtime: evaluated in its sandbox at load, never in the host, and played', async () => {
    const marker = join(dir, 'sandboxed-top-level');
    // The top level tries to write a file: allowed on the host, refused by the sandbox's permission model.
    const art = buildArtifact('boxed', '1.0.0', gameBundle('Boxed', 'boxed 1.0.0', `try { require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); } catch {}`));
    const { server } = await startServer({ games: {}, runtime: 'process' });
    servers.push(server);
    const fleet = createFleetHost(server, { versions: new CatalogVersions(server, cache('process')) });
    await fleet.createRoom('boxed', 'boxed-room', {}, host.add(art));
    expect(server.gameVersion('boxed', '1.0.0')?.evaluatedIn).toBe('sandbox');
    const p = await TestClient.connect(server);
    clients.push(p);
    await p.joinAndSync('boxed', { roomId: 'boxed-room' });
    expect(shows(p, 'boxed 1.0.0')).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('a fleet createRoom with a mismatching artifact fails with ARTIFACT_MISMATCH and creates no room', async () => {
    const good = buildArtifact('solo', '2.0.0', gameBundle('Solo', 'solo'));
    const other = buildArtifact('solo', '2.0.0', gameBundle('Solo', 'other'));
    host.artifacts.set(good.sha256, other.bytes);
    const { server } = await startServer({ games: {} });
    servers.push(server);
    const fleet = createFleetHost(server, { versions: new CatalogVersions(server, cache('fleet-mismatch')) });
    await expect(fleet.createRoom('solo', 'r1', {}, host.ref(good))).rejects.toMatchObject({ code: ServerErrorCode.ARTIFACT_MISMATCH });
    expect(fleet.listRooms()).toEqual([]);
    // without an artifact cache, an artifact room is refused with a typed error
    await expect(createFleetHost(server).createRoom('solo', 'r2', {}, host.ref(good))).rejects.toMatchObject({ code: ServerErrorCode.UNKNOWN_GAME });
  });
});
