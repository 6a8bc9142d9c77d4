/**
 * Patching a room to another catalog version of its game, with real artifacts (built, served over
 * HTTP, fetched, verified and loaded with `loadVersion` through `CatalogVersions`) and a real
 * client: 1.0.0 → 1.0.1 keeps the game's state (the new build restores the old build's snapshot)
 * with the player connected; → 1.1.0 is refused (`SERVER_PATCH_SEMVER_INCOMPATIBLE`), as is a
 * version not loaded or a room of a game served from source (`SERVER_NOT_VERSIONED`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache, CatalogVersions, ServerErrorCode, type GameServer } from '@parlor/server';
import { ArtifactHost } from './catalog-bed.js';
import { TestClient, startServer, waitFor } from './helpers.js';
import { TURNS_GAME, nextState, order, shows, states, turnsArtifact } from './lifecycle-bed.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-lifecycle-patch-'));
const KEY = 'agent-key-for-tests';
const artifacts = new ArtifactHost(KEY);
const clients: TestClient[] = [];
let server: GameServer | null = null;
let cache: ArtifactCache | null = null;

beforeAll(async () => {
  await artifacts.start();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  await cache?.close();
  await artifacts.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('patchRoom', () => {
  it('1.0.0 → 1.0.1 keeps the state with the player connected; → 1.1.0, a version not loaded and a game from source are refused', async () => {
    ({ server } = await startServer({ games: { local: TURNS_GAME } }));
    cache = new ArtifactCache({ dir: join(dir, 'cache'), key: KEY });
    const versions = new CatalogVersions(server, cache);
    const [v100, v101, v110] = ['1.0.0', '1.0.1', '1.1.0'].map((v) => artifacts.add(turnsArtifact(v)));
    await versions.ensure(v100!, { current: true });
    await versions.ensure(v101!);
    await versions.ensure(v110!);

    server.openRoom('turns', 'patched', {}, '1.0.0');
    const ann = await TestClient.connect(server);
    clients.push(ann);
    await ann.joinAndSync('turns', { roomId: 'patched' });
    await waitFor(() => shows(ann, 'turns 1.0.0'), 'version 1.0.0 shown');
    expect(await order(ann, 1, { say: 'alpha' })).toMatchObject({ accepted: true });
    await server.forceTurn('patched');
    expect(await order(ann, 2, { say: 'beta' })).toMatchObject({ accepted: true, turn: 2 });

    const full = ann.fullFrames;
    const after = states(ann).length;
    expect(await server.patchRoom('patched', '1.0.1')).toEqual({ status: 'running', turn: 2, nextTurnAt: null, reason: '' });
    await waitFor(() => ann.fullFrames > full && shows(ann, 'turns 1.0.1') && shows(ann, 'said 1:alpha 2:beta') && shows(ann, 'generated 1'), '1.0.1 with the state of 1.0.0');
    await nextState(ann, (s) => s.status === 'running' && s.turn === 2, after);
    expect(server.rooms().find((r) => r.id === 'patched')).toMatchObject({ version: '1.0.1', sha256: v101!.sha256, status: 'running', turn: 2 });
    expect(await order(ann, 3, { say: 'gamma' })).toMatchObject({ accepted: true, turn: 2 });

    await expect(server.patchRoom('patched', '1.1.0')).rejects.toMatchObject({ code: ServerErrorCode.PATCH_SEMVER_INCOMPATIBLE, message: expect.stringContaining('1.0.x') });
    await expect(server.patchRoom('patched', '1.0.9')).rejects.toMatchObject({ code: ServerErrorCode.NOT_VERSIONED, message: expect.stringContaining('loadVersion') });
    expect(server.rooms().find((r) => r.id === 'patched')).toMatchObject({ version: '1.0.1' });
    expect(ann.closeInfo).toBeNull();

    server.openRoom('local', 'from-source');
    await expect(server.patchRoom('from-source', '1.0.1')).rejects.toMatchObject({ code: ServerErrorCode.NOT_VERSIONED });

    // a paused room patched stays paused, and its players get the new engine's full frame all the same
    server.openRoom('turns', 'paused-patch', {}, '1.0.0');
    const bob = await TestClient.connect(server);
    clients.push(bob);
    await bob.joinAndSync('turns', { roomId: 'paused-patch' });
    await waitFor(() => shows(bob, 'turns 1.0.0'), 'version 1.0.0 shown');
    expect(await order(bob, 1, { say: 'delta' })).toMatchObject({ accepted: true });
    await server.pauseRoom('paused-patch', { reason: 'maintenance' });
    const fullBefore = bob.fullFrames;
    expect(await server.patchRoom('paused-patch', '1.0.1')).toMatchObject({ status: 'paused', turn: 1, reason: 'maintenance' });
    await waitFor(() => bob.fullFrames > fullBefore && shows(bob, 'turns 1.0.1') && shows(bob, 'said 1:delta'), 'the paused room on 1.0.1, its state kept, in a full frame');
    expect(bob.closeInfo).toBeNull();
  });
});
