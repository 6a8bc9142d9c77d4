/**
 * Galaxy played in real headless Chromium (playwright-core driving /usr/bin/chromium) against a
 * real GameServer on 127.0.0.1 serving examples/galaxy with the real client bundle: two players
 * order by clicking planets on the canvas, a forced turn moves their ships, each page shows the
 * turn (the game's own label and the client's banner with its countdown to the cutoff), and a
 * paused room shows the paused banner with its reason and refuses a click with a toast.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createGameServer, type GameServer } from '@parlor/server';
import Galaxy from '../galaxy/index.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const shotDir = '/tmp/parlor-e2e';
if (!haveChromium && !inCi) console.warn(`[galaxy browser] SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium). In CI (CI=true) this test runs and fails instead.`);

/** Rebuilds the client's page bundle (its own tsup config) when it is missing or older than its sources, as the client's browser tests do. */
function ensureFreshBundle(): void {
  const clientDir = join(repo, 'packages', 'client');
  const bundle = join(clientDir, 'dist', 'parlor-client.global.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const src = Math.max(newest(join(clientDir, 'src')), newest(join(repo, 'packages', 'squish', 'src')));
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= src) return;
  execFileSync(join(repo, 'node_modules', '.bin', 'tsup'), [], { cwd: clientDir, env: { ...process.env, PARLOR_CLIENT_BUNDLE_ONLY: '1' }, stdio: 'pipe' });
}

/** Waits until `fn` returns a truthy value (errors meanwhile retried); fails naming `what` and the last value. */
function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  return vi.waitFor(async () => {
    const v = await fn();
    if (!v) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(v)}`);
    return v as NonNullable<T>;
  }, { timeout: timeoutMs, interval: 50 });
}

/** What a page's client shows: its status, room, the scene's texts, the banner and the toasts. */
function seen(page: Page): Promise<{ status: string; roomId: string; frames: number; texts: string[]; banner: string; toasts: string[] } | null> {
  return page.evaluate(() => {
    const c = (window as unknown as { __parlor?: any }).__parlor;
    if (!c) return null;
    const texts = [...c.scene.nodes.values()].filter((n: any) => typeof n.text === 'string').map((n: any) => n.text as string);
    const banner = document.querySelector<HTMLElement>('.parlor-room-state');
    return {
      status: c.status as string,
      roomId: c.roomId as string,
      frames: c.framesApplied as number,
      texts,
      banner: banner && banner.style.display !== 'none' ? (banner.textContent ?? '') : '',
      toasts: [...document.querySelectorAll('.parlor-toast')].map((t) => t.textContent ?? ''),
    };
  });
}

/** A left click where the page draws plane point (x, y) (0–100 each), as a player clicks it. */
async function clickPlane(page: Page, x: number, y: number): Promise<void> {
  const at = await page.evaluate(([x, y]) => {
    const c = (window as unknown as { __parlor: any }).__parlor;
    const rect = (c.canvas as HTMLCanvasElement).getBoundingClientRect();
    const vp = c.renderer.viewport as { x: number; y: number; width: number; height: number };
    return { x: rect.left + vp.x + (x * vp.width) / 100, y: rect.top + vp.y + (y * vp.height) / 100 };
  }, [x, y]);
  await page.mouse.click(at.x, at.y);
}

const planet = (name: string) => new Galaxy({ seed: 1 }).state.planets.find((p) => p.name === name)!;
const clickPlanet = (page: Page, name: string) => clickPlane(page, planet(name).x, planet(name).y);

describe.skipIf(!haveChromium && !inCi)('galaxy in Chromium', () => {
  let server: GameServer;
  let browser: Browser;

  beforeAll(async () => {
    ensureFreshBundle();
    mkdirSync(shotDir, { recursive: true });
    server = await createGameServer({ games: { galaxy: { dir: join(repo, 'examples', 'galaxy') } }, port: 0, host: '127.0.0.1', runtime: 'inline', logLevel: 'warn' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
  }, 30_000);

  async function open(path: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    page.on('pageerror', (err) => console.error(`[page ${path}] ${err.message}`));
    await page.goto(server.url + path);
    await waitFor(`${path} to join and draw`, async () => {
      const s = await seen(page);
      return s?.status === 'playing' && s.frames > 0 && s.texts.includes('Turn 1 of 50');
    });
    return page;
  }

  it('two players order by clicking, a forced turn moves their ships, the pages show the turn and the paused banner', async () => {
    const ann = await open('/play/galaxy');
    const roomId = (await seen(ann))!.roomId;
    const bob = await open(`/play/galaxy/${roomId}`);

    // the order window: the banner counts down to the cutoff (a turn every 30 s)
    for (const page of [ann, bob]) await waitFor('the turn banner with its countdown', async () => /^Turn 1 · next turn in 0:[0-3]\d$/.test((await seen(page))!.banner));

    // Ann (player 1: Sol, the first home planet) and Bob (player 2: Vega) each click one of their planets, then a target
    await clickPlanet(ann, 'Sol');
    await waitFor('Ann\'s selection', async () => (await seen(ann))!.texts.includes('Sol selected (10 ships free): click the target, or Sol again to cancel.'));
    await clickPlanet(ann, 'Lyra');
    await clickPlanet(bob, 'Vega');
    await waitFor('Bob\'s selection', async () => (await seen(bob))!.texts.some((t) => t.startsWith('Vega selected')));
    await clickPlanet(bob, 'Hydra');
    await waitFor('Ann\'s order on her page', async () => (await seen(ann))!.texts.includes('Sol → Lyra: 5 ships'));
    await waitFor('Bob\'s order on his page', async () => (await seen(bob))!.texts.includes('Vega → Hydra: 5 ships'));
    expect((await seen(bob))!.texts).not.toContain('Sol → Lyra: 5 ships'); // orders are private
    await ann.screenshot({ path: join(shotDir, 'galaxy-orders.png') });

    // the cutoff, forced: both fleets are in flight, two turns from their targets
    const state = await server.forceTurn(roomId);
    expect(state).toMatchObject({ status: 'running', turn: 2 });
    for (const page of [ann, bob]) {
      await waitFor('turn 2 with both fleets in flight', async () => {
        const s = (await seen(page))!;
        return s.texts.includes('Turn 2 of 50') && s.texts.includes('5 → Lyra, turn 3') && s.texts.includes('5 → Hydra, turn 3') && /^Turn 2 · next turn in /.test(s.banner);
      });
    }
    // Sol: 10 − 5 + its production 3, and 5 in flight (the pages send no names: players are Player 1 and 2)
    await waitFor('Ann\'s ships counted', async () => (await seen(ann))!.texts.includes('Player 1: 1 planet, 13 ships'));
    await bob.screenshot({ path: join(shotDir, 'galaxy-turn-2.png') });

    // paused: both pages show the banner with the reason; a click is refused with a toast, not dropped
    await server.pauseRoom(roomId, { reason: 'maintenance' });
    for (const page of [ann, bob]) await waitFor('the paused banner', async () => (await seen(page))!.banner === 'Paused — maintenance');
    await clickPlanet(ann, 'Sol');
    await waitFor('the refusal toast', async () => (await seen(ann))!.toasts.some((t) => /paused/i.test(t)));
    await ann.screenshot({ path: join(shotDir, 'galaxy-paused.png') });

    await server.resumeRoom(roomId);
    await waitFor('the turn banner again', async () => /^Turn 2 · next turn in /.test((await seen(bob))!.banner));
  }, 120_000);
});
