/**
 * A room on a catalog version that is no longer the manifest's current one comes back after kill -9
 * of its host: a real `parlor serve --catalog-url --env prod --state-dir` process against a real
 * HTTP catalog stand-in; the room is created on 1.0.0, 1.0.1 is promoted (new rooms run it, the
 * room keeps 1.0.0), the host is killed and restarted: the host loads 1.0.0 again (bytes pinned by
 * the recorded sha256, access from the catalog) and restores the room on it; its player reconnects.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactHost, buildArtifact, gameBundle } from './catalog-bed.js';
import { waitFor } from './helpers.js';
import { cleanUp, startHost, tempDir } from './state-host.js';

const KEY = 'catalog-key-for-state-tests';
const catalog = new ArtifactHost(KEY);
beforeAll(async () => {
  await catalog.start();
});
afterAll(async () => {
  cleanUp();
  await catalog.close();
});

describe('parlor serve --state-dir with a catalog', () => {
  it('restores a room on a version the manifest no longer pins, loading that version again', async () => {
    const v1 = buildArtifact('arena', '1.0.0', gameBundle('Arena', 'arena 1.0.0'));
    const v2 = buildArtifact('arena', '1.0.1', gameBundle('Arena', 'arena 1.0.1'));
    catalog.add(v1);
    catalog.add(v2);
    catalog.pin('prod', [v1]);
    const dir = tempDir();
    const keyFile = join(dir, 'catalog.key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    const stateDir = join(dir, 'state');
    const args = ['--catalog-url', catalog.url, '--env', 'prod', '--catalog-key-file', keyFile, '--artifact-cache', join(dir, 'artifacts'), '--manifest-refresh', '200'];

    let host = await startHost(stateDir, args, null);
    const ann = await host.client();
    const init = await ann.joinAndSync('arena', { name: 'Ann' });
    expect(ann.texts()).toContain('arena 1.0.0');
    catalog.pin('prod', [v2]);
    await host.waitForLog((l) => l.msg.startsWith('version now current') && l.version === '1.0.1', 'the promotion picked up');
    await host.kill9();
    ann.close();

    host = await startHost(stateDir, args, null);
    await host.waitForLog((l) => l.msg === 'room restored' && l.room === init.roomId, 'the room restored');
    expect(host.logs().some((l) => l.msg.startsWith('the version of a recorded room loaded again') && l.version === '1.0.0' && l.sha256 === v1.sha256)).toBe(true);
    const again = await host.client();
    const rejoined = await again.joinAndSync('arena', { roomId: init.roomId, reconnectToken: init.reconnectToken });
    expect([rejoined.roomId, rejoined.playerId]).toEqual([init.roomId, init.playerId]);
    await waitFor(() => again.texts().includes('arena 1.0.0'), 'the room running 1.0.0');
    // New rooms run the current version.
    const bob = await host.client();
    const bobInit = await bob.joinAndSync('arena', { roomId: 'fresh-room', name: 'Bob' });
    expect(bobInit.roomId).toBe('fresh-room');
    expect(bob.texts()).toContain('arena 1.0.1');
    again.close();
    bob.close();
    await host.kill9();
  }, 180_000);
});
