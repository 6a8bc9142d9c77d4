/**
 * The fleet dashboard in a real Chromium against a real orchestrator with real game servers and
 * their fleet agents. The page is loaded through a TCP relay the test can cut (a real network
 * partition between the browser and the orchestrator), to prove the stream resumes with
 * `Last-Event-ID` and replays what it missed. Set DASHBOARD_SCREENSHOT=<path.png> to keep a
 * screenshot of the live page.
 */
import { existsSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';
import { createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import WebSocket from 'ws';
import { FleetAgent, agentSubprotocols, decodeFrame, encodeFrame } from '@parlor/fleet-agent';
import { createPublishGate } from '@parlor/server/gate';
import type { Orchestrator } from '../src/index.js';
import { gzipFolder, removeTemps, spriteGame, tempDir } from './catalog-helpers.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} missing in CI`);

class Tiny extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Tiny', tickRate: 10, maxPlayers: 4 };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
}

/** A TCP relay to the orchestrator that records request heads and can cut every connection and refuse new ones. */
class Relay {
  readonly heads: string[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  refusing = false;
  constructor(private readonly target: number) {}
  async listen(): Promise<string> {
    this.server = createServer((client) => {
      if (this.refusing) return void client.destroy();
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (b: Buffer) => {
        const text = b.toString('latin1');
        if (/^[A-Z]+ \//.test(text)) this.heads.push(text.slice(0, text.indexOf('\r\n\r\n')));
      });
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  /** Cuts every open connection (browser and orchestrator both see a reset). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

describe.skipIf(!haveChromium && process.env.CI !== 'true')('fleet dashboard in Chromium', () => {
  let orch: Orchestrator;
  let relay: Relay;
  let base: string;
  const servers: GameServer[] = [];
  const agents: FleetAgent[] = [];
  let browser: Browser;
  let page: Page;

  async function addHost(name: string, labels: Record<string, string>): Promise<string> {
    const server = await createGameServer({ games: { tiny: { gameClass: Tiny } }, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
    servers.push(server);
    const agent = new FleetAgent(createFleetHost(server), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name, labels, logger: quietAgentLogger });
    agents.push(agent);
    await agent.connect({ connectTimeoutMs: 5000 });
    await waitFor(() => (orch.fleet.getInstance(agent.processUid)?.roomTypes.length ?? 0) > 0, `${name} reported`);
    return orch.fleet.getInstance(agent.processUid)!.id;
  }
  const row = (kind: 'instance' | 'room', id: string) => page.locator(`tr[data-${kind}="${id}"]`);

  beforeAll(async () => {
    ({ orch } = await startOrchestrator());
    await addHost('box-1', { region: 'eu' });
    relay = new Relay(Number(new URL(orch.url).port));
    base = await relay.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await relay?.close();
    for (const a of agents) await a.disconnect();
    for (const s of servers) await s.close();
    await orch?.shutdown();
  }, 30_000);

  it('a wrong key gets a clear message, and no key is stored or put in a URL', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    await page.getByLabel('Admin key').fill('not-the-admin-key-0000');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('refused this admin key (401');
    expect(await page.locator('#board').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(page.url()).toBe(`${base}/dashboard`);
  }, 30_000);

  it('shows instances and rooms live: a host joining, a room created, a player joining, the room destroyed', async () => {
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
    const first = orch.fleet.instances[0];
    await row('instance', first.id).waitFor();
    expect(await row('instance', first.id).innerText()).toContain('region=eu');
    // the key lives in this tab's sessionStorage, never in the URL or the page
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([ADMIN_KEY]);
    expect(page.url()).toBe(`${base}/dashboard`);
    expect(relay.heads.every((h) => !h.split('\r\n')[0].includes(ADMIN_KEY))).toBe(true);

    // a second host connects: its row appears from the stream
    const second = await addHost('box-2', { region: 'us' });
    await row('instance', second).waitFor({ timeout: 5000 });

    // a room created through the REST API appears, on the instance it was placed on
    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'tiny', roomId: 'dash-1', placement: { instanceId: second } } });
    expect(created.status).toBe(201);
    await row('room', 'dash-1').waitFor({ timeout: 5000 });
    const cells = await row('room', 'dash-1').locator('td').allInnerTexts();
    expect(cells.slice(0, 4)).toEqual(['dash-1', 'tiny', '—', '0 / 4']);
    expect(cells[4]).toContain('box-2');
    await expect.poll(() => page.locator('#t-rooms').textContent()).toBe('1');
    expect(await row('instance', second).locator('td.num').allInnerTexts()).toEqual([`1 / ${orch.fleet.getInstance(second)!.capacity.maxRooms}`, `0 / ${orch.fleet.getInstance(second)!.capacity.maxConnections.toLocaleString('en-US')}`]);

    // a player opens the room's join URL: player:join raises its count
    const player = await (await browser.newContext()).newPage();
    await player.goto(created.body.data.joinUrl);
    await expect.poll(() => row('room', 'dash-1').locator('td.num').first().textContent(), { timeout: 10_000 }).toBe('1 / 4');
    await expect.poll(() => page.locator('#t-players').textContent()).toBe('1');
    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    await player.context().close();

    // destroyed through the REST API: the row goes
    expect((await http(orch, 'DELETE', '/v1/rooms/dash-1')).status).toBe(200);
    await row('room', 'dash-1').waitFor({ state: 'detached', timeout: 5000 });
    await expect.poll(() => page.locator('#t-rooms').textContent()).toBe('0');
  }, 60_000);

  it('drains and undrains an instance and destroys a room from its buttons', async () => {
    const inst = orch.fleet.instances.find((i) => i.name === 'box-1')!;
    await page.getByRole('button', { name: 'Drain box-1' }).click();
    await waitFor(() => orch.fleet.getInstance(inst.id)?.status === 'draining', 'drained through the API');
    await expect.poll(() => row('instance', inst.id).locator('.state').textContent()).toBe('draining');
    await page.getByRole('button', { name: 'Undrain box-1' }).click();
    await waitFor(() => orch.fleet.getInstance(inst.id)?.status === 'active', 'undrained through the API');
    await expect.poll(() => row('instance', inst.id).locator('.state').textContent()).toBe('active');

    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'tiny', roomId: 'dash-2' } })).status).toBe(201);
    await row('room', 'dash-2').waitFor({ timeout: 5000 });
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Destroy room dash-2' }).click();
    await waitFor(() => orch.fleet.getRoom('dash-2') === undefined, 'room destroyed through the API');
    await row('room', 'dash-2').waitFor({ state: 'detached', timeout: 5000 });
  }, 30_000);

  it('marks an instance whose snapshots are refused, and clears the mark once one is accepted', async () => {
    // a hand-driven agent: valid snapshots, then one with a negative client count, then valid again
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    await new Promise((r) => ws.once('open', r));
    let bad = false;
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      if (f.t !== 'poll') return;
      const room = { roomId: 'raw-room', type: 'other', clientCount: bad ? -5 : 0, metadata: {}, provenance: 'local', createdAt: Date.now() };
      ws.send(encodeFrame({ t: 'state', seq: f.seq, hash: bad ? 'bad' : 'good', snapshot: { draining: false, roomTypes: ['other'], rooms: [room] } as never }));
    });
    ws.send(encodeFrame({ t: 'hello', processUid: 'uid-dashboard-raw1', name: 'raw-box', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
    try {
      await waitFor(() => orch.fleet.getRoom('raw-room') !== undefined, 'raw agent reported');
      const id = orch.fleet.getRoom('raw-room')!.instanceId;
      await row('instance', id).waitFor({ timeout: 5000 });
      expect(await row('instance', id).locator('.health').count()).toBe(0);
      bad = true;
      await row('instance', id).locator('.health', { hasText: 'snapshots refused' }).waitFor({ timeout: 5000 });
      bad = false;
      await row('instance', id).locator('.health').waitFor({ state: 'detached', timeout: 5000 });
    } finally {
      ws.terminate();
    }
  }, 30_000);

  it('after a network cut, reconnects with Last-Event-ID and gets exactly what it missed (no new sync)', async () => {
    await page.locator('#conn[data-state="live"]').waitFor();
    expect(await page.locator('#t-sync').textContent()).toBe('last sync: new');
    const before = relay.heads.length;
    relay.refusing = true;
    relay.cut();
    await page.locator('#conn[data-state="error"]').waitFor({ timeout: 5000 });
    // the last event the page got before the cut (read after it: an event of an earlier test, such as
    // its destroy's operation:finished, may still have been arriving when the cut was decided)
    const lastId = (await page.locator('#t-event').textContent())!;
    expect(lastId).toMatch(/^\d+-\d+$/);
    // while the page is cut off, a room is created
    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'tiny', roomId: 'dash-3' } })).status).toBe(201);
    relay.refusing = false;
    await row('room', 'dash-3').waitFor({ timeout: 15_000 });
    await page.locator('#conn[data-state="live"]').waitFor();
    const resumed = relay.heads.slice(before).find((h) => h.startsWith('GET /v1/events'));
    expect(resumed?.toLowerCase()).toContain(`last-event-id: ${lastId}`);
    expect(await page.locator('#t-sync').textContent()).toBe('last sync: new');
    expect(await page.locator('#t-event').textContent()).not.toBe(lastId);
  }, 40_000);

  it('hides the games section when no catalog answers /v1/games; signing out forgets the key', async () => {
    // this orchestrator has no catalog (the next describe has one)
    expect((await http(orch, 'GET', '/v1/games')).body).toMatchObject({ status: 'rejected' });
    expect(await page.locator('#catalog').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  }, 30_000);

  it('a key the orchestrator stops accepting signs the page out with a message', async () => {
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
    orch.setKeys({ adminKey: 'another-admin-key-0123456789' });
    relay.cut(); // the stream reconnects and is refused
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 15_000 }).toContain('no longer accepts this admin key');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  }, 30_000);
});

describe.skipIf(!haveChromium && process.env.CI !== 'true')('fleet dashboard with a catalog', () => {
  let orch: Orchestrator;
  let browser: Browser;

  beforeAll(async () => {
    const gate = createPublishGate({ runtime: 'process', smokeMs: 800, typeCheck: false });
    ({ orch } = await startOrchestrator({ catalog: { dir: tempDir(), gate }, env: 'dev' }));
    for (const version of ['1.0.0', '1.1.0']) {
      const res = await http(orch, 'POST', `/v1/games/sprite/versions/${version}`, { raw: await gzipFolder(spriteGame(version)), headers: { 'content-type': 'application/gzip' } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      await waitFor(async () => (await http(orch, 'GET', `/v1/publish-requests/${res.body.data.id}`)).body.data.state === 'PUBLISHED', `sprite@${version} published`, 60_000);
    }
    expect((await http(orch, 'POST', '/v1/manifests/prod/promote', { body: { slug: 'sprite', version: '1.0.0' } })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await orch?.shutdown();
    removeTemps();
  }, 30_000);

  it('lists the games with the version each environment serves: dev the latest, prod its pin, none in staging', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${orch.url}/dashboard`);
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    const row = page.locator('tr[data-game="sprite"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await page.locator('#games-head th').allInnerTexts()).toEqual(['Game', 'Listed', 'Access', 'dev', 'staging', 'prod']);
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(1)).toEqual(['yes', 'anyone', '1.1.0', '—', '1.0.0']);
    expect(cells[0]).toContain('sprite');
  }, 30_000);
});
