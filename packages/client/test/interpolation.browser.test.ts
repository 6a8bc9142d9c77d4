/**
 * Interpolation in headless Chromium against a real @parlor/server (inline runtime) serving a
 * 5 Hz room (test/fixtures/glide): two squares move right 2 plane units a frame and wrap back
 * (a teleport). After every paint the page reads the canvas back (the `paint` event) and finds
 * each square's left edge in the pixels; after every frame it notes the frame's positions from the
 * mirror. Between two frames the interpolated (red) square is painted strictly between the two
 * frames' positions, moving forward, and never between the two ends of a wrap; the opted-out
 * (green) square is only ever painted at the newest frame's position. A client started with
 * `interpolate: false` paints both squares only at the newest frame's positions.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGameServer, type GameServer } from '@parlor/server';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One entry of the page's log, in the order things happened: a frame applied, or a paint read back. */
interface Entry {
  kind: 'frame' | 'paint';
  full: boolean;
  /** Left edges in plane x units (`null`: not found). */
  red: number | null;
  green: number | null;
}

/** Frames to watch (about 4 s at 5 Hz; the squares wrap once in 36 frames, so the log starts anywhere in the cycle). */
const FRAMES = 40;
/** One canvas pixel in plane units is 100 / 800; edges are found to within a pixel or so. */
const TOL = 0.2;

/** Logs, in the page, each frame's positions (from the mirror) and each paint's (read back from the canvas), for {@link FRAMES} frames. */
async function watch(page: Page, count = FRAMES): Promise<Entry[]> {
  await page.evaluate((frames) => {
    type Shape = { fill: number[] | null; points: [number, number][] };
    type Client = {
      canvas: HTMLCanvasElement;
      renderer: { viewport: { x: number; y: number; width: number; height: number } };
      scene: { nodes: Map<number, Shape> };
      on(e: 'frame', f: (info: { full: boolean }) => void): void;
      on(e: 'paint', f: () => void): void;
    };
    const w = window as unknown as { __parlor: Client; __log: unknown[] };
    const c = w.__parlor;
    const log: unknown[] = (w.__log = []);
    const ctx = c.canvas.getContext('2d')!;
    /** Left edge (plane x) of the first pixel run of a colour on the row at plane y. */
    const edge = (planeY: number, channel: 0 | 1): number | null => {
      const vp = c.renderer.viewport;
      const dpr = c.canvas.width / c.canvas.clientWidth;
      const row = Math.round((vp.y + (planeY * vp.height) / 100) * dpr);
      const px = ctx.getImageData(0, row, c.canvas.width, 1).data;
      for (let i = 0; i < c.canvas.width; i++) {
        const v = px[4 * i + channel];
        const other = px[4 * i + (1 - channel)];
        if (v > 127 && other < 64) return ((i / dpr - vp.x) * 100) / vp.width;
      }
      return null;
    };
    const framed = (rgb: number[]): number | null => {
      for (const n of c.scene.nodes.values()) {
        if (n.fill && n.fill[0] === rgb[0] && n.fill[1] === rgb[1] && n.points.length) return n.points[0][0];
      }
      return null;
    };
    let seen = 0;
    c.on('frame', (info) => {
      if (seen++ >= frames) return;
      log.push({ kind: 'frame', full: info.full, red: framed([255, 0, 0]), green: framed([0, 255, 0]) });
    });
    c.on('paint', () => {
      if (seen > frames) return;
      log.push({ kind: 'paint', full: false, red: edge(25, 0), green: edge(65, 1) });
    });
  }, count);
  const log = await waitFor(`${count} frames`, async () => {
    const l = await page.evaluate(() => (window as unknown as { __log: Entry[] }).__log);
    return l.filter((e) => e.kind === 'frame').length >= count ? l : null;
  }, 60_000);
  return log;
}

describe.skipIf(!haveChromium && !inCi)('interpolation between frames in headless Chromium', () => {
  let server: GameServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function open(path: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 800, height: 450 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[page ${path}] ${err.message}`));
    return page;
  }

  beforeAll(async () => {
    ensureFreshBundle();
    server = await createGameServer({
      games: { glide: { dir: join(here, 'fixtures', 'glide') } },
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

  it('paints the interpolated node between frames and the opted-out one only at frame positions', async () => {
    const page = await open('/play/glide');
    await page.goto(`${server.url}/play/glide`);
    await waitFor('the first frame', () => page.evaluate(() => (window as unknown as { __parlor?: { framesApplied: number } }).__parlor?.framesApplied ?? 0));

    const log = await watch(page);

    let prev: Entry | null = null;
    let cur: Entry | null = null;
    let lastRed = -Infinity;
    let between = 0;
    let paintsAfterWrap = 0;
    let paints = 0;
    const betweenOf = new Set<Entry>();
    for (const e of log) {
      if (e.kind === 'frame') {
        expect(e.red).not.toBeNull();
        prev = cur;
        cur = e;
        if (prev && prev.red! > cur.red!) lastRed = -Infinity; // the wrap: motion starts again from the left
        continue;
      }
      // the frame before the first one logged is unknown: start at the second
      if (!cur || !prev) continue;
      paints++;
      expect(e.red, 'the red square is painted').not.toBeNull();
      expect(e.green, 'the green square is painted').not.toBeNull();
      // the opted-out square: exactly the newest frame's position, at every paint
      expect(Math.abs(e.green! - cur.green!), `green painted at ${e.green} with the newest frame at ${cur.green}`).toBeLessThanOrEqual(TOL);
      if (cur.full) {
        expect(Math.abs(e.red! - cur.red!)).toBeLessThanOrEqual(TOL);
        continue;
      }
      const a = prev.red!;
      const b = cur.red!;
      if (b < a) {
        // a wrap (70 units, over the teleport distance): drawn at the new position at once
        expect(Math.abs(e.red! - b), `red painted at ${e.red} after a wrap from ${a} to ${b}`).toBeLessThanOrEqual(TOL);
        paintsAfterWrap++;
      } else {
        // never behind the previous frame, never past the newest: no extrapolation
        expect(e.red!, `red painted at ${e.red} between frames at ${a} and ${b}`).toBeGreaterThanOrEqual(a - TOL);
        expect(e.red!).toBeLessThanOrEqual(b + TOL);
        if (e.red! > a + TOL && e.red! < b - TOL) {
          between++;
          betweenOf.add(cur);
        }
      }
      // monotonic: the red square only moves forward until the wrap
      expect(e.red!, 'red moves forward').toBeGreaterThanOrEqual(lastRed - TOL);
      lastRed = e.red!;
    }
    // several frame intervals each showed positions strictly between their two frames
    expect(betweenOf.size, `paints ${paints}, strictly between two frames ${between}`).toBeGreaterThanOrEqual(5);
    expect(paints).toBeGreaterThan(FRAMES);
    // the room wraps every 36 frames: the log holds at least one wrap, painted without interpolation
    expect(paintsAfterWrap).toBeGreaterThan(0);
  }, 120_000);

  it('Parlor.start({ interpolate: false }) paints every node at the newest frame only', async () => {
    const page = await open('/play/glide');
    await page.goto(`${server.url}/play/glide`);
    await waitFor('the first frame', () => page.evaluate(() => (window as unknown as { __parlor?: { framesApplied: number } }).__parlor?.framesApplied ?? 0));
    // the embedder's own start on the same canvas: the play page's client leaves, a client without interpolation joins
    await page.evaluate(() => {
      type Client = { canvas: HTMLCanvasElement; close(): void };
      const w = window as unknown as { __parlor: Client; Parlor: { start(o: object): Client } };
      const canvas = w.__parlor.canvas;
      w.__parlor.close();
      w.Parlor.start({ game: 'glide', canvas, interpolate: false, updateUrl: false });
    });
    await waitFor('the first frame without interpolation', () => page.evaluate(() => (window as unknown as { __parlor: { framesApplied: number } }).__parlor.framesApplied));
    expect(await page.evaluate(() => (window as unknown as { __parlor: { interpolator: unknown } }).__parlor.interpolator)).toBeNull();
    const log = await watch(page, 12);
    let cur: Entry | null = null;
    let paints = 0;
    for (const e of log) {
      if (e.kind === 'frame') {
        cur = e;
        continue;
      }
      if (!cur) continue;
      paints++;
      expect(Math.abs(e.red! - cur.red!), `red painted at ${e.red} with the newest frame at ${cur.red}`).toBeLessThanOrEqual(TOL);
      expect(Math.abs(e.green! - cur.green!)).toBeLessThanOrEqual(TOL);
    }
    expect(paints).toBeGreaterThan(0);
  }, 60_000);
});
