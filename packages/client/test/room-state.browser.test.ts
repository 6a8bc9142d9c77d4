/**
 * The room state banner and order toasts in headless Chromium, against a real @parlor/server
 * (inline runtime) serving a tiny turn-based game (test/fixtures/turn-banner, a turn every 30 s)
 * and examples/pong: the banner shows the turn and a countdown that ticks; a forced turn moves it;
 * a pause through the server API shows "Paused — <reason>"; a click while paused shows the
 * GAME_PAUSED toast and the socket stays open; resume brings the countdown back; sendOrder
 * resolves with the server's answers; a turn generating in a process engine reads "Turn N is being
 * generated…" and a click meanwhile gets the TURN_ALREADY_CLOSED toast; the game's end shows "Game over" with its summary; a running
 * real-time game shows no banner.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGameServer, type GameServer } from '@parlor/server';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');

/** The banner's text as a player sees it (`''` while hidden). */
function bannerText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.querySelector<HTMLElement>('.parlor-room-state');
    return el && el.style.display !== 'none' ? (el.textContent ?? '') : '';
  });
}

/** The texts of the toasts showing now. */
function toastTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('.parlor-toast')].map((e) => e.textContent ?? ''));
}

/** Waits until the banner's text matches `re`, and returns it. */
function banner(page: Page, re: RegExp, what: string): Promise<string> {
  return waitFor(`the banner to read ${what}`, async () => {
    const t = await bannerText(page);
    return re.test(t) ? t : null;
  }, 15_000);
}

/** Clicks the plane point (x, y) (0–100) of the page's game area. */
async function clickPlane(page: Page, x: number, y: number): Promise<void> {
  const p = await page.evaluate(({ x, y }) => {
    const c = (window as unknown as { __parlor: { canvas: HTMLCanvasElement; renderer: { viewport: { x: number; y: number; width: number; height: number } } } }).__parlor;
    const r = c.canvas.getBoundingClientRect();
    const vp = c.renderer.viewport;
    return { x: r.left + vp.x + (x * vp.width) / 100, y: r.top + vp.y + (y * vp.height) / 100 };
  }, { x, y });
  await page.mouse.click(p.x, p.y);
}

describe.skipIf(!haveChromium && !inCi)('room state banner and order toasts in headless Chromium', () => {
  let server: GameServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function openPage(path: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error(`[page ${path}] ${err.message}`));
    await page.goto(server.url + path);
    return page;
  }

  beforeAll(async () => {
    ensureFreshBundle();
    server = await createGameServer({
      games: { 'turn-banner': { dir: join(here, 'fixtures', 'turn-banner') }, pong: { dir: join(repo, 'examples', 'pong') } },
      port: 0,
      host: '127.0.0.1',
      runtime: 'inline',
      logLevel: 'warn',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.close();
  }, 30_000);

  it('turn and countdown, a forced turn, paused with the reason, GAME_PAUSED toast on a click with the socket kept, resume', async () => {
    const page = await openPage('/play/turn-banner');
    const first = await banner(page, /^Turn 1 · next turn in 0:(?:30|[0-2]\d)$/, '"Turn 1 · next turn in 0:ss"');
    // the countdown ticks by itself, between state messages
    await waitFor('the countdown to tick', async () => {
      const t = await bannerText(page);
      return /^Turn 1 · next turn in 0:(?:30|[0-2]\d)$/.test(t) && t !== first;
    });
    const roomId = await page.evaluate(() => (window as unknown as { __parlor: { roomId: string } }).__parlor.roomId);
    // count (re)joins from here on: a refusal must not cost the socket
    await page.evaluate(() => {
      const w = window as unknown as { __parlor: { on(e: string, f: () => void): void }; __inits: number };
      w.__inits = 0;
      w.__parlor.on('init', () => w.__inits++);
    });

    // a click on the button is the game's own order (id 0): accepted, with a subtle toast
    await clickPlane(page, 50, 70);
    await waitFor('the "Order accepted" toast', async () => (await toastTexts(page)).includes('Order accepted'));

    expect(await server.forceTurn(roomId)).toMatchObject({ status: 'running', turn: 2 });
    await banner(page, /^Turn 2 · next turn in 0:(?:30|[0-2]\d)$/, '"Turn 2 · next turn in 0:ss"');

    await server.pauseRoom(roomId, { reason: 'maintenance' });
    await banner(page, /^Paused — maintenance$/, '"Paused — maintenance"');
    await clickPlane(page, 50, 70);
    await waitFor('the GAME_PAUSED toast', async () => (await toastTexts(page)).includes('The game is paused: nothing you do counts until it resumes.'));
    const refused = await page.evaluate(() => (window as unknown as { __parlor: { sendOrder(o: unknown): Promise<unknown> } }).__parlor.sendOrder({ ships: 2 }));
    expect(refused).toMatchObject({ id: 1, accepted: false, code: 'GAME_PAUSED', turn: 2 });
    const after = await page.evaluate(() => {
      const w = window as unknown as { __parlor: { status: string; attempt: number }; __inits: number };
      return { status: w.__parlor.status, attempt: w.__parlor.attempt, inits: w.__inits };
    });
    expect(after).toEqual({ status: 'playing', attempt: 0, inits: 0 });
    expect(await bannerText(page)).toBe('Paused — maintenance');

    await server.resumeRoom(roomId);
    await banner(page, /^Turn 2 · next turn in 0:(?:30|[0-2]\d)$/, 'the countdown again');
    // the GAME_PAUSED toast went with the pause (it would otherwise show for 3.5 s)
    expect(await toastTexts(page)).not.toContain('The game is paused: nothing you do counts until it resumes.');
    const results = await page.evaluate(async () => {
      const c = (window as unknown as { __parlor: { sendOrder(o: unknown): Promise<unknown> } }).__parlor;
      return [await c.sendOrder({ ships: 3 }), await c.sendOrder({ ships: 0 })];
    });
    expect(results).toEqual([
      { id: 2, accepted: true, code: '', message: '', turn: 2 },
      { id: 3, accepted: false, code: 'ORDER_REJECTED', message: 'Order at least one whole ship.', turn: 2 },
    ]);
    await waitFor('the game\'s own refusal as a toast', async () => (await toastTexts(page)).includes('Order at least one whole ship.'));
    expect(await page.evaluate(() => (window as unknown as { __inits: number }).__inits)).toBe(0);

    // the game ends itself: the room closes, and the page says "Game over" with the summary, not an error
    await page.evaluate(() => (window as unknown as { __parlor: { sendOrder(o: unknown): Promise<unknown> } }).__parlor.sendOrder({ ships: 42 }).catch(() => null));
    const ended = await waitFor('the "Game over" box', () => page.evaluate(() => {
      const box = document.querySelector<HTMLElement>('.parlor-status');
      return box?.dataset.kind === 'ended' && box.style.display !== 'none' ? box.innerText : null;
    }), 15_000);
    expect(ended).toMatch(/^Game over\s+the answer was found\s+Back to the lobby$/);
    expect(await page.evaluate(() => (window as unknown as { __parlor: { status: string } }).__parlor.status)).toBe('error');
    expect(await bannerText(page)).toBe('');
  });

  it('a turn generating in a separate engine process: "Turn N is being generated…", a click gets TURN_ALREADY_CLOSED', async () => {
    // the turn takes 4 s: over the watchdog's default 1 s, so it is raised
    const slow = await createGameServer({ games: { 'turn-banner': { dir: join(here, 'fixtures', 'turn-banner') } }, port: 0, host: '127.0.0.1', runtime: 'process', processRuntime: { tickTimeoutMs: 10_000 }, logLevel: 'warn' });
    try {
      const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
      contexts.push(ctx);
      const page = await ctx.newPage();
      await page.goto(`${slow.url}/play/turn-banner`);
      await banner(page, /^Turn 1 · next turn in 0:(?:30|[0-2]\d)$/, '"Turn 1 · next turn in 0:ss"');
      const roomId = await page.evaluate(() => (window as unknown as { __parlor: { roomId: string } }).__parlor.roomId);
      const slowOrder = await page.evaluate(() => (window as unknown as { __parlor: { sendOrder(o: unknown): Promise<unknown> } }).__parlor.sendOrder({ ships: 7 }));
      expect(slowOrder).toMatchObject({ accepted: true, turn: 1 });
      const turned = slow.forceTurn(roomId);
      await banner(page, /^Turn 1 is being generated…$/, '"Turn 1 is being generated…"');
      await clickPlane(page, 50, 70);
      await waitFor('the TURN_ALREADY_CLOSED toast', async () => (await toastTexts(page)).includes('Turn 1 is closed and being generated: try again in a moment.'));
      expect(await turned).toMatchObject({ status: 'running', turn: 2 });
      await banner(page, /^Turn 2 · next turn in 0:(?:30|[0-2]\d)$/, '"Turn 2 · next turn in 0:ss"');
      expect(await page.evaluate(() => (window as unknown as { __parlor: { status: string; attempt: number } }).__parlor.attempt)).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('a running real-time game shows no banner', async () => {
    const page = await openPage('/play/pong');
    await waitFor('pong to play', () => page.evaluate(() => {
      const c = (window as unknown as { __parlor?: { status: string; framesApplied: number; state: unknown } }).__parlor;
      return !!c && c.status === 'playing' && c.framesApplied > 0;
    }), 15_000);
    expect(await bannerText(page)).toBe('');
    expect(await page.locator('.parlor-room-state').count()).toBe(1);
  });
});
