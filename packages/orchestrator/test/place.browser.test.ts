/**
 * End to end: a real Chromium page presses "New room (fleet)" in a game server's lobby; the server
 * asks the orchestrator over its agent (no admin key), and the page lands on the returned joinUrl.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';
import { attachFleet, createGameServer, type GameServer } from '@parlor/server';
import type { FleetAgent } from '@parlor/fleet-agent';
import type { Orchestrator } from '../src/index.js';
import { AGENT_KEY, captureLogger, startOrchestrator, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} missing in CI`);

class Tiny extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Tiny', tickRate: 10, maxPlayers: 2 };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

describe.skipIf(!haveChromium && process.env.CI !== 'true')('lobby "New room (fleet)" in Chromium', () => {
  let orch: Orchestrator;
  const servers: GameServer[] = [];
  const agents: FleetAgent[] = [];
  let browser: Browser;

  beforeAll(async () => {
    ({ orch } = await startOrchestrator());
    for (let i = 0; i < 2; i++) {
      const { logger } = captureLogger();
      const server = await createGameServer({ games: { tiny: { gameClass: Tiny } }, port: 0, host: '127.0.0.1', logger });
      servers.push(server);
      const agent = attachFleet(server, { fleetUrl: orch.agentUrl, fleetKey: AGENT_KEY, name: `s${i}` }, logger);
      agents.push(agent);
      await agent.connect({ connectTimeoutMs: 5000 });
    }
    await waitFor(() => orch.fleet.instances.filter((i) => i.roomTypes.includes('tiny')).length === 2, 'two instances');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    for (const a of agents) await a.disconnect();
    for (const s of servers) await s.close();
    await orch?.shutdown();
  }, 30_000);

  it('the button creates a room through the orchestrator and the page opens its joinUrl', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${servers[0].url}/`);
    await page.click('button[data-fleet-game="tiny"]');
    await page.waitForURL(/\/play\/tiny\/[A-Za-z0-9_-]+$/, { timeout: 10_000 });
    const roomId = new URL(page.url()).pathname.split('/').pop()!;
    const room = orch.fleet.getRoom(roomId);
    expect(room).toBeDefined();
    expect(page.url()).toBe(room!.joinUrl);
  }, 30_000);
});
