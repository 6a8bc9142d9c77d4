/**
 * Access of catalog versions enforced at join, over real sockets: a version the manifest marks
 * `requires_auth` refuses anonymous players (4402) and admits signed ones; its `min_role` ranks
 * roles (4407 below it); the catalog's access wins over the game's own. Artifacts come from a real
 * HTTP server (the catalog test bed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, type JoinMessage } from '@parlor/squish';
import { ArtifactCache, CatalogVersions, type GameServer } from '@parlor/server';
import { ArtifactHost, buildArtifact, gameBundle } from './catalog-bed.js';
import { TestClient, startServer, waitFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-identity-catalog-'));
const KEY = 'agent-key-for-identity-tests';
const SECRET = 'an-identity-catalog-secret-of-32-bytes-plus';
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

function token(sub: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

async function joinGame(server: GameServer, game: string, more: Partial<JoinMessage> = {}): Promise<TestClient> {
  const c = await TestClient.connect(server);
  clients.push(c);
  c.join(game, more);
  await waitFor(() => c.closeInfo !== null || (c.init !== null && c.fullFrames > 0), `join ${game} answered`);
  return c;
}

describe('catalog access at join', () => {
  it('requires_auth and min_role of the manifest are enforced for the version the host serves', async () => {
    const art = buildArtifact('vault', '1.0.0', gameBundle('Vault', 'vault 1.0.0'));
    host.add(art);
    const { server } = await startServer({ games: {}, identity: { secrets: [SECRET] } });
    servers.push(server);
    const versions = new CatalogVersions(server, new ArtifactCache({ dir: join(dir, 'cache'), key: KEY }));
    host.pin('prod', [art]);
    const manifest = host.manifests.get('prod')!;
    manifest.games[0]!.access_control = { requires_auth: true, min_role: null };
    await versions.applyManifest(manifest, host.url);

    expect((await joinGame(server, 'vault')).closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    expect((await joinGame(server, 'vault', { spectate: true })).closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    const signed = await joinGame(server, 'vault', { token: await token('ann') });
    expect(signed.closeInfo).toBeNull();
    expect(signed.texts().some((t) => t.startsWith('vault 1.0.0'))).toBe(true);

    manifest.games[0]!.access_control = { requires_auth: true, min_role: 'moderator' };
    await versions.applyManifest(manifest, host.url);
    expect((await joinGame(server, 'vault', { token: await token('bob', ['member']) })).closeInfo?.code).toBe(CloseCode.ROLE_REQUIRED);
    expect((await joinGame(server, 'vault', { token: await token('cy', ['admin']) })).closeInfo).toBeNull();
    // the room already running keeps its player
    expect(signed.closeInfo).toBeNull();
  });
});
