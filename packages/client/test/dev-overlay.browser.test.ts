/**
 * Dev mode in real headless Chromium (playwright-core driving /usr/bin/chromium) with the real
 * client bundle, against a real server given a DevStatus (as `parlor dev` gives it), on
 * 127.0.0.1: the dev overlay shows a build error at its file:line:column and goes away when a
 * newer build is ok; a game whose first build failed gets a page that loads it once it builds; a
 * tab whose room failed (4500) rejoins by itself when the fixed build arrives; warnings can be
 * dismissed; and a server without a DevStatus adds nothing to its pages.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Colors, Game, Group, Shape, ShapeUtils, Text, type GameMetadata, type Node } from '@parlor/squish';
import { DevStatus, createGameServer, type GameDiagnostic, type GameServer } from '@parlor/server';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';

if (!haveChromium && !inCi) console.warn(`[dev overlay browser] SKIPPED: ${CHROMIUM} not found. In CI (CI=true) this test runs and fails instead.`);

/** A game that draws a square and a tick counter (so frames keep coming). */
class DotGame extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Dot', tickRate: 20, maxPlayers: 4 };
  }
  private ticks = 0;
  private readonly label = new Text({ text: 'tick 0', x: 2, y: 2, size: 4, color: Colors.WHITE });
  private readonly root = new Group({ children: [new Shape({ points: ShapeUtils.rectangle(40, 40, 20, 20), fill: Colors.GREEN }), this.label] });
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.ticks++;
    this.label.text = `tick ${this.ticks}`;
  }
}

/** The "broken build" of a game: its tick throws, so its room fails (4500) at once (maxConsecutiveErrors 1). */
class CrashingGame extends DotGame {
  override tick(): void {
    throw new Error('this.dot is undefined');
  }
}

const BUILD_ERROR: GameDiagnostic = {
  kind: 'build',
  severity: 'error',
  message: 'Expected ";" but found "}"',
  file: '/home/author/games/dot.ts',
  line: 7,
  column: 12,
  codeFrame: '  6 |   tick() {\n> 7 |     this.x = }\n    |            ^',
};
const TYPE_WARNING: GameDiagnostic = {
  kind: 'type',
  severity: 'warning',
  message: "Type 'string' is not assignable to type 'number'.",
  file: '/home/author/games/dot.ts',
  line: 12,
  column: 5,
};

interface PageState {
  status: string;
  code: number | null;
  roomId: string;
  framesApplied: number;
  paints: number;
  path: string;
  dev: boolean;
  /** The revision of the last dev state the page got (-1 before one). */
  revision: number;
  overlay: { visible: boolean; text: string; severity: string | null; dismiss: boolean } | null;
}

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const c = (window as unknown as { __parlor?: any }).__parlor;
    const el = document.querySelector<HTMLElement>('.parlor-dev-overlay');
    return {
      status: c?.status ?? 'none',
      code: c?.error?.code ?? null,
      roomId: c?.roomId ?? '',
      framesApplied: c?.framesApplied ?? 0,
      paints: c?.renderer?.paints ?? 0,
      path: location.pathname + location.search,
      dev: !!c?.dev,
      revision: (c?.dev ?? (window as unknown as { __parlorDev?: any }).__parlorDev)?.state?.revision ?? -1,
      overlay: el
        ? { visible: el.style.display !== 'none', text: el.innerText, severity: el.dataset.severity ?? null, dismiss: !!el.querySelector('.parlor-dev-dismiss') }
        : null,
    };
  });
}

/** Waits until the page plays: joined, frames applied and painted on the canvas. */
function waitPlaying(page: Page, what: string): Promise<PageState> {
  return waitFor(`${what}: playing with frames drawn`, async () => {
    const s = await pageState(page);
    return s.status === 'playing' && s.framesApplied > 0 && s.paints > 0 ? s : null;
  }, 15_000);
}

describe.skipIf(!haveChromium && !inCi)('dev overlay in headless Chromium', () => {
  let server: GameServer;
  let plain: GameServer;
  let browser: Browser;
  const dev = new DevStatus();
  const contexts: BrowserContext[] = [];

  /** Console lines of every page that mention the Content Security Policy (the pages' CSP allows no inline script or style). */
  const cspViolations: string[] = [];
  let pagesOpened = 0;

  async function openPage(url: string): Promise<{ page: Page; requests: string[]; navigations: string[] }> {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 450 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    pagesOpened++;
    const requests: string[] = [];
    const navigations: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations.push(f.url());
    });
    page.on('pageerror', (err) => console.error(`[page ${url}] ${err.message}`));
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(`${url}: ${m.text()}`);
    });
    await page.goto(url);
    return { page, requests, navigations };
  }

  beforeAll(async () => {
    ensureFreshBundle();
    server = await createGameServer({
      games: { dot: { gameClass: DotGame }, crash: { gameClass: CrashingGame } },
      devStatus: dev,
      maxConsecutiveErrors: 1,
      roomsPerAddressPerMinute: 100,
      port: 0,
      host: '127.0.0.1',
      runtime: 'inline',
      logLevel: 'silent',
    });
    plain = await createGameServer({ games: { dot: { gameClass: DotGame } }, port: 0, host: '127.0.0.1', runtime: 'inline', logLevel: 'warn' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  // each test's pages go away after it (eight tabs drawing at once are enough for two cores)
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => {});
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.close();
    await plain?.close();
  }, 30_000);

  it('a build error shows at its file:line:column over the game; a newer ok build takes it away and the game plays', async () => {
    const { page } = await openPage(`${server.url}/play/dot`);
    const before = await waitPlaying(page, 'the dev page');
    expect(before.dev).toBe(true);
    expect(before.overlay?.visible).toBe(false);

    const broken = dev.report('dot', false, [BUILD_ERROR]);
    const shown = await waitFor('the overlay to show the build error', async () => {
      const s = await pageState(page);
      return s.overlay?.visible && s.revision === broken.revision ? s : null;
    });
    expect(shown.overlay!.severity).toBe('error');
    expect(shown.overlay!.text).toContain('Expected ";" but found "}"');
    expect(shown.overlay!.text).toContain('/home/author/games/dot.ts:7:12');
    expect(shown.overlay!.text).toContain('> 7 |     this.x = }');
    expect(shown.overlay!.dismiss).toBe(false); // errors cannot be dismissed
    const frame = await page.evaluate(() => getComputedStyle(document.querySelector('.parlor-dev-frame')!).fontFamily);
    expect(frame).toMatch(/monospace/);
    expect(shown.status).toBe('playing'); // the old build keeps running under the overlay

    // the fix: the dev command loads the new build (its rooms' clients are redirected to it), then reports ok
    await server.replaceGame('dot', { gameClass: DotGame });
    const fixed = dev.report('dot', true, []);
    await waitFor('the overlay to go away', async () => {
      const s = await pageState(page);
      return s.revision === fixed.revision && s.overlay?.visible === false;
    });
    await waitPlaying(page, 'the page on the new build');
  });

  it('a game whose first build failed: its page shows the error, then loads the game once it builds', async () => {
    dev.report('late', false, [{ ...BUILD_ERROR, file: '/home/author/games/late.ts' }]);
    const { page } = await openPage(`${server.url}/play/late`);
    const shown = await waitFor('the pending page to show the error', async () => {
      const s = await pageState(page);
      return s.overlay?.visible && s.revision >= 1 ? s : null;
    });
    expect(shown.status).toBe('none'); // nothing to play yet: no client started
    expect(shown.overlay!.text).toContain('/home/author/games/late.ts:7:12');
    expect(shown.overlay!.text).toContain('has not built yet');

    await server.replaceGame('late', { gameClass: DotGame });
    dev.report('late', true, []);
    const playing = await waitPlaying(page, 'the page once the game built');
    expect(playing.path.startsWith('/play/late')).toBe(true);
    expect(playing.overlay?.visible ?? false).toBe(false);
  });

  it('a tab stopped by a failed room (4500) rejoins the room by itself when the fixed build arrives', async () => {
    const { page, navigations } = await openPage(`${server.url}/play/crash`);
    const stopped = await waitFor('the room to fail with 4500', async () => {
      const s = await pageState(page);
      return s.status === 'error' && s.code === 4500 && s.roomId ? s : null;
    }, 15_000);
    const note = await waitFor('the overlay to say the connection stopped', async () => {
      const s = await pageState(page);
      return s.overlay?.visible && s.overlay.text.includes('The connection stopped') ? s : null;
    });
    expect(note.overlay!.text).toContain('4500');
    const loads = navigations.length;

    await server.replaceGame('crash', { gameClass: DotGame });
    const fixed = dev.report('crash', true, []);
    const back = await waitPlaying(page, 'the tab after the fix');
    await waitFor('the fixed state on the rejoined page', async () => (await pageState(page)).revision === fixed.revision);
    expect(back.roomId).toBe(stopped.roomId); // the same room, started again
    expect(back.path).toBe(`/play/crash/${stopped.roomId}`); // create=1 dropped again after the join
    expect(navigations.length).toBeGreaterThan(loads); // the page navigated by itself
    expect(back.overlay?.visible ?? false).toBe(false);
  });

  it('warnings show in amber and can be dismissed; the game plays on', async () => {
    const { page } = await openPage(`${server.url}/play/dot`);
    await waitPlaying(page, 'the dev page');
    const warned = dev.report('dot', true, [TYPE_WARNING]);
    const shown = await waitFor('the warning', async () => {
      const s = await pageState(page);
      return s.overlay?.visible && s.revision === warned.revision ? s : null;
    });
    expect(shown.overlay!.severity).toBe('warning');
    expect(shown.overlay!.text).toContain("Type 'string' is not assignable");
    expect(shown.overlay!.text).toContain('/home/author/games/dot.ts:12:5');
    expect(shown.overlay!.dismiss).toBe(true);
    await page.click('.parlor-dev-dismiss');
    await waitFor('the warning to be dismissed', async () => (await pageState(page)).overlay?.visible === false);
    expect((await pageState(page)).status).toBe('playing');
  });

  it('without a DevStatus: no dev overlay and no dev request', async () => {
    const { page, requests } = await openPage(`${plain.url}/play/dot`);
    const s = await waitPlaying(page, 'the plain page');
    expect(s.dev).toBe(false);
    expect(s.overlay).toBeNull();
    expect(requests.filter((u) => u.includes('/parlor/dev/'))).toEqual([]);
  });

  it('the tabs of one browser share one stream: eight tabs all load and all show each change, also after the reading tab closed', async () => {
    const before = dev.listenerCount('change');
    const ctx = await browser.newContext({ viewport: { width: 400, height: 225 } });
    contexts.push(ctx);
    const pages: Page[] = [];
    // more tabs than the ~6 HTTP connections a browser opens to one host: a stream per tab would starve the 7th
    for (let i = 0; i < 8; i++) {
      const page = await ctx.newPage();
      pagesOpened++;
      page.on('console', (m) => {
        if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(`tab ${i}: ${m.text()}`);
      });
      await page.goto(`${server.url}/play/dot`, { timeout: 15_000 });
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) await waitPlaying(page, `tab ${i}`);
    const revision = dev.get('dot')?.revision ?? 0;
    for (const [i, page] of pages.entries()) await waitFor(`tab ${i} to get the current state`, async () => (await pageState(page)).revision === revision);
    expect(dev.listenerCount('change') - before).toBe(1);

    const reading = async (): Promise<number[]> => {
      const r: number[] = [];
      for (const [i, page] of pages.entries()) if (!page.isClosed() && (await page.evaluate(() => (window as any).__parlor.dev.events.reading))) r.push(i);
      return r;
    };
    const [leader] = await reading();
    expect(await reading()).toEqual([leader]);
    await pages[leader].close();
    await waitFor('another tab to read the stream', async () => (await reading()).length === 1);
    const shown = dev.report('dot', true, [{ ...TYPE_WARNING, message: 'after the takeover' }]);
    for (const [i, page] of pages.entries()) {
      if (i === leader) continue;
      await waitFor(`tab ${i} to show the change`, async () => {
        const s = await pageState(page);
        return s.revision === shown.revision && s.overlay?.text.includes('after the takeover');
      });
    }
    expect(dev.listenerCount('change') - before).toBe(1);
    await ctx.close();
    await waitFor('the server to drop the stream of the closed browser', async () => dev.listenerCount('change') === before);
    dev.report('dot', true, []);
  }, 90_000);

  it('every dev page ran under the strict page CSP without a violation', () => {
    expect(pagesOpened).toBeGreaterThanOrEqual(13);
    expect(cspViolations).toEqual([]);
  });
});
