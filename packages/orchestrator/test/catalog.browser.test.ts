/**
 * The catalog end to end in real Chromium: a real orchestrator with its in-process catalog (SQLite,
 * the real publish gate), two real game servers whose fleet agents run catalog versions (an
 * artifact cache each) and a third that has none (it declares no squish version, so no catalog room
 * is placed there). pong is published with the publisher's client, promoted to prod, and rooms created
 * by `{ game: 'pong', env: 'prod' }` are played by real pages; a promotion reaches new rooms while a
 * running room keeps its version and keeps playing; a rollback; a game restricted to signed-in players
 * shows an anonymous page the sign-in refusal (4402) and lets a page with `?token=` play.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ArtifactCache, CatalogVersions, createFleetHost, createGameServer, loadGame, type GameServer } from '@parlor/server';
import { CatalogClient } from '@parlor/server/catalog';
import { createPublishGate } from '@parlor/server/gate';
import { FleetAgent } from '@parlor/fleet-agent';
import type { Orchestrator } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} missing in CI`);

const PONG = fileURLToPath(new URL('../../../examples/pong', import.meta.url));
const SECRET = 'a-catalog-browser-test-secret-of-32-bytes-or-more';

interface PageState {
  status: string;
  roomId: string;
  frames: number;
  code?: number;
}

describe.skipIf(!haveChromium && process.env.CI !== 'true')('the catalog in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-catalog-browser-'));
  let orch: Orchestrator;
  let catalog: CatalogClient;
  const servers: GameServer[] = [];
  const agents: FleetAgent[] = [];
  const caches: ArtifactCache[] = [];
  const contexts: BrowserContext[] = [];
  let plainInstance = '';
  let browser: Browser;

  beforeAll(async () => {
    const gate = createPublishGate({ runtime: 'process', smokeMs: 800, typeCheck: false });
    ({ orch } = await startOrchestrator({ catalog: { dir: join(dir, 'catalog'), gate }, env: 'prod' }));
    catalog = new CatalogClient({ baseUrl: orch.url, key: ADMIN_KEY });
    const pong = await loadGame('pong', { dir: PONG });
    for (let i = 0; i < 3; i++) {
      // two hosts run catalog versions; the third serves only its local pong, with no artifact cache
      const server = await createGameServer({ games: { pong }, port: 0, host: '127.0.0.1', logger: captureLogger().logger, identity: { secrets: [SECRET] } });
      servers.push(server);
      let versions: CatalogVersions | undefined;
      if (i < 2) {
        const cache = new ArtifactCache({ dir: join(dir, `artifacts-${i}`), key: AGENT_KEY });
        caches.push(cache);
        versions = new CatalogVersions(server, cache);
      }
      const agent = new FleetAgent(createFleetHost(server, { versions }), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name: i < 2 ? `catalog-${i}` : 'plain', logger: quietAgentLogger });
      agents.push(agent);
      await agent.connect({ connectTimeoutMs: 5000 });
      if (i === 2) plainInstance = agent.instanceId!;
    }
    await waitFor(() => orch.fleet.instances.filter((i) => i.status === 'active').length === 3, 'three instances');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    for (const a of agents) await a.disconnect();
    for (const s of servers) await s.close();
    for (const c of caches) c.closeSync();
    await orch?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function openPage(url: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }
  const state = (p: Page): Promise<PageState | null> =>
    p.evaluate(() => {
      const c = (window as unknown as { __parlor?: { status: string; roomId: string; framesApplied: number; error: { code: number } | null } }).__parlor;
      return c ? { status: c.status, roomId: c.roomId, frames: c.framesApplied, code: c.error?.code } : null;
    });
  async function createRoom(): Promise<{ roomId: string; joinUrl: string; version: string; endpointUrl: string; instanceId: string }> {
    const res = await http(orch, 'POST', '/v1/rooms', { body: { game: 'pong', env: 'prod' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data.instanceId, 'never on the host without an artifact cache').not.toBe(plainInstance);
    return res.body.data;
  }
  /** The version the room's own host says it runs. */
  async function hostVersion(room: { endpointUrl: string; roomId: string }): Promise<string | undefined> {
    const { rooms } = (await (await fetch(`${room.endpointUrl}/parlor/api/rooms`)).json()) as { rooms: { id: string; version?: string }[] };
    return rooms.find((r) => r.id === room.roomId)?.version;
  }
  async function playing(pages: Page[], roomId: string): Promise<void> {
    await waitFor(async () => (await Promise.all(pages.map(state))).every((s) => s?.status === 'playing' && s.roomId === roomId && s.frames > 0), `pages playing ${roomId}`, 20_000);
  }
  /** Frames keep coming to `page` (a two-player pong room plays on: its ball moves). */
  async function framesAdvance(page: Page, what: string): Promise<void> {
    const before = (await state(page))!.frames;
    await waitFor(async () => ((await state(page))?.frames ?? 0) > before + 5, `frames keep coming: ${what}`, 10_000);
  }

  it('publish, promote, play by game; a promotion reaches new rooms only; rollback; a game for signed-in players', async () => {
    expect(orch.fleet.getInstance(plainInstance)!.squishVersions).toEqual([]);
    expect(orch.fleet.instances.filter((i) => i.squishVersions.length > 0)).toHaveLength(2);

    const v100 = await catalog.publish(PONG, 'pong', '1.0.0');
    expect(v100).toMatchObject({ state: 'PUBLISHED', version: '1.0.0' });
    await catalog.promote('pong', '1.0.0', 'prod');

    // a room by game: resolved by the catalog, placed on a host that fetches, verifies and runs 1.0.0; two pages play it
    const first = await createRoom();
    expect(first.version).toBe('1.0.0');
    expect(first.joinUrl).toMatch(new RegExp(`/play/pong/${first.roomId}$`));
    const players = [await openPage(first.joinUrl), await openPage(first.joinUrl)];
    await playing(players, first.roomId);
    expect(await hostVersion(first)).toBe('1.0.0');

    // 1.0.1 promoted: a new room runs it, the 1.0.0 room keeps its version and keeps playing
    expect(await catalog.publish(PONG, 'pong', '1.0.1')).toMatchObject({ state: 'PUBLISHED', version: '1.0.1' });
    await catalog.promote('pong', '1.0.1', 'prod');
    const second = await createRoom();
    expect(second.version).toBe('1.0.1');
    const newer = await openPage(second.joinUrl);
    await playing([newer], second.roomId);
    expect(await hostVersion(second)).toBe('1.0.1');
    await framesAdvance(players[0], 'the 1.0.0 room after the promotion');
    expect(await hostVersion(first)).toBe('1.0.0');
    expect(orch.fleet.getRoom(first.roomId)?.version).toBe('1.0.0');

    // rollback: new rooms run 1.0.0 again
    await catalog.rollback('pong', 'prod');
    const third = await createRoom();
    expect(third.version).toBe('1.0.0');
    const again = await openPage(third.joinUrl);
    await playing([again], third.roomId);
    expect(await hostVersion(third)).toBe('1.0.0');

    // pong restricted to signed-in players: an anonymous page is refused (4402), a page with ?token= plays
    const put = await http(orch, 'PUT', '/v1/games/pong', { body: { access: { requiresAuth: true } } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const restricted = await createRoom();
    const anon = await openPage(restricted.joinUrl);
    const title = anon.locator('.parlor-error-title');
    await title.waitFor({ timeout: 15_000 });
    expect(await title.innerText()).toBe('This game needs you to sign in');
    expect(await state(anon)).toMatchObject({ status: 'error', code: 4402 });
    const token = (user: string) => new SignJWT({ roles: ['member'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const signedIn = [await openPage(`${restricted.joinUrl}?token=${await token('alice')}`), await openPage(`${restricted.joinUrl}?token=${await token('bob')}`)];
    await playing(signedIn, restricted.roomId);
    await framesAdvance(signedIn[0], 'the restricted room, two signed-in players');
  }, 240_000);
});
