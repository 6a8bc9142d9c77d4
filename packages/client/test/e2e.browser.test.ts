/**
 * End-to-end: a real @parlor/server (inline runtime) serving examples/pong and
 * examples/hidden-hand on 127.0.0.1, and real headless Chromium (playwright-core driving
 * /usr/bin/chromium) loading the real client bundle from /parlor/client.js.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createGameServer, type GameServer } from '@parlor/server';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const shotDir = '/tmp/parlor-e2e';

if (!haveChromium && !inCi) {
  console.warn(`[e2e] SKIPPED: ${CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium). In CI (CI=true) this test runs and fails instead.`);
}

// ------------------------------------------------------------------ helpers

interface ClientState {
  status: string;
  playerId: number | null;
  spectator: boolean;
  roomId: string;
  framesApplied: number;
  nodes: number;
  path: string;
}

function clientState(page: Page): Promise<ClientState | null> {
  return page.evaluate(() => {
    const c = (window as unknown as { __parlor?: any }).__parlor;
    if (!c) return null;
    return {
      status: c.status,
      playerId: c.playerId,
      spectator: c.spectator,
      roomId: c.roomId,
      framesApplied: c.framesApplied,
      nodes: c.scene.nodes.size,
      path: location.pathname + location.search,
    };
  });
}

async function waitPlaying(page: Page, label: string): Promise<ClientState> {
  return waitFor(`${label} to join and apply a frame`, async () => {
    const s = await clientState(page);
    return s && s.status === 'playing' && s.framesApplied > 0 && s.nodes > 0 ? s : null;
  }, 15_000);
}

type RGB = [number, number, number];

/**
 * Mean plane-y of the pixels close to `color` in the plane strip x0–x1 (full height), read from
 * the canvas backing store; `null` when there are none.
 */
function stripCentre(page: Page, x0: number, x1: number, color: RGB, tol = 40): Promise<number | null> {
  return page.evaluate(({ x0, x1, color, tol }) => {
    const c = (window as unknown as { __parlor: any }).__parlor;
    const canvas = c.canvas as HTMLCanvasElement;
    const vp = c.renderer.viewport as { x: number; y: number; width: number; height: number };
    const k = canvas.width / canvas.clientWidth;
    const px0 = Math.round((vp.x + (x0 * vp.width) / 100) * k);
    const px1 = Math.round((vp.x + (x1 * vp.width) / 100) * k);
    const py0 = Math.round(vp.y * k);
    const ph = Math.round(vp.height * k);
    const img = canvas.getContext('2d')!.getImageData(px0, py0, Math.max(1, px1 - px0), ph);
    let n = 0;
    let sum = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const i = (y * img.width + x) * 4;
        const d = Math.abs(img.data[i] - color[0]) + Math.abs(img.data[i + 1] - color[1]) + Math.abs(img.data[i + 2] - color[2]);
        if (d <= tol) {
          n++;
          sum += y;
        }
      }
    }
    return n < 20 ? null : ((sum / n) * 100) / img.height;
  }, { x0, x1, color, tol });
}

interface BandInfo {
  /** Pixels in the band that are not (close to) the felt colour. */
  nonFelt: number;
  total: number;
  /** Mean colour per cell of a 48 × 8 grid. */
  grid: number[];
}

/** Pixel statistics of the plane band y0–y1 (inset 1 unit from the sides). */
function band(page: Page, y0: number, y1: number, felt: RGB): Promise<BandInfo> {
  return page.evaluate(({ y0, y1, felt }) => {
    const c = (window as unknown as { __parlor: any }).__parlor;
    const canvas = c.canvas as HTMLCanvasElement;
    const vp = c.renderer.viewport as { x: number; y: number; width: number; height: number };
    const k = canvas.width / canvas.clientWidth;
    const px0 = Math.round((vp.x + vp.width / 100) * k);
    const pw = Math.round((vp.width * 98) / 100 * k);
    const py0 = Math.round((vp.y + (y0 * vp.height) / 100) * k);
    const ph = Math.round((((y1 - y0) * vp.height) / 100) * k);
    const img = canvas.getContext('2d')!.getImageData(px0, py0, pw, ph);
    const GW = 48, GH = 8;
    const sums = new Array(GW * GH * 3).fill(0);
    const counts = new Array(GW * GH).fill(0);
    let nonFelt = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const i = (y * img.width + x) * 4;
        const r = img.data[i], g = img.data[i + 1], b = img.data[i + 2];
        if (Math.abs(r - felt[0]) + Math.abs(g - felt[1]) + Math.abs(b - felt[2]) > 12) nonFelt++;
        const cell = Math.floor((y * GH) / img.height) * GW + Math.floor((x * GW) / img.width);
        sums[cell * 3] += r;
        sums[cell * 3 + 1] += g;
        sums[cell * 3 + 2] += b;
        counts[cell]++;
      }
    }
    const grid = sums.map((s, i) => Math.round(s / Math.max(1, counts[Math.floor(i / 3)])));
    return { nonFelt, total: img.width * img.height, grid };
  }, { y0, y1, felt });
}

/** Number of grid cells whose mean colour differs by more than `tol` (sum of channels). */
function gridDiff(a: number[], b: number[], tol = 24): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 3) {
    if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > tol) n++;
  }
  return n;
}

/** The colour of one canvas pixel at CSS position (x, y). */
function pixelAt(page: Page, x: number, y: number): Promise<RGB> {
  return page.evaluate(({ x, y }) => {
    const canvas = (window as unknown as { __parlor: any }).__parlor.canvas as HTMLCanvasElement;
    const k = canvas.width / canvas.clientWidth;
    const d = canvas.getContext('2d')!.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data;
    return [d[0], d[1], d[2]] as RGB;
  }, { x, y });
}

/** Waits until `read` gives (about) the same non-null value twice, 250 ms apart, and returns it. */
async function settled(what: string, read: () => Promise<number | null>): Promise<number> {
  let prev: number | null = null;
  return waitFor(what, async () => {
    const v = await read();
    const ok = v !== null && prev !== null && Math.abs(v - prev) < 0.5;
    prev = v;
    return ok ? v : null;
  }, 10_000, 250);
}

/** Holds `key` down until `moved` holds (the game saw the key), then releases it. */
async function holdKeyUntil(page: Page, key: string, what: string, moved: () => Promise<boolean>): Promise<void> {
  await page.keyboard.down(key);
  try {
    await waitFor(what, moved);
  } finally {
    await page.keyboard.up(key);
  }
}

/** Resolves after the page has run `n` animation frames (the renderer paints only on one). */
function animationFrames(page: Page, n: number): Promise<void> {
  return page.evaluate((count) => new Promise<void>((resolve) => {
    let left = count;
    const step = () => (--left <= 0 ? resolve() : requestAnimationFrame(step));
    requestAnimationFrame(step);
  }), n);
}

/** A minimal RGBA PNG encoder (for a test sprite sheet). */
function png(width: number, height: number, rgba: number[]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw: number[] = [];
  for (let y = 0; y < height; y++) raw.push(0, ...rgba.slice(y * width * 4, (y + 1) * width * 4));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(raw))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A short silent 8-bit mono WAV. */
function wav(samples = 800, rate = 8000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + samples, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate, 28);
  h.writeUInt16LE(1, 32);
  h.writeUInt16LE(8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(samples, 40);
  return Buffer.concat([h, Buffer.alloc(samples, 128)]);
}

/** A square (1:1) test game with a 2×1 sprite sheet (red | blue), a looping sound and a clickable circle. */
const SPRITES_GAME = `
import { Asset, Colors, Game, Group, Shape, ShapeUtils, rgba } from '@parlor/squish';
export default class Sprites extends Game {
  static metadata() {
    return {
      name: 'Sprites', aspectRatio: { x: 1, y: 1 }, tickRate: 20, maxPlayers: 4,
      assets: { sheet: { type: 'image', path: 'sheet.png' }, beep: { type: 'audio', path: 'beep.wav' } },
    };
  }
  constructor(options) {
    super(options);
    this.root = new Group();
    this.beep = new Asset({ assetId: 'beep', loop: true, volume: 0.5 });
    this.button = new Shape({
      shapeType: 'circle', x: 50, y: 75, radius: 10, fill: Colors.GREEN,
      onClick: () => { this.beep.remove(); this.button.fill = Colors.RED; },
    });
    this.root.addChild(
      new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: rgba(50, 50, 50) }),
      new Asset({ assetId: 'sheet', x: 10, y: 10, width: 30, height: 30, crop: { x: 1, y: 0, width: 1, height: 1 } }),
      new Asset({ assetId: 'sheet', x: 60, y: 10, width: 30, height: 30 }),
      this.button,
      this.beep,
    );
  }
  getLayers() { return [this.root]; }
}
`;

// ------------------------------------------------------------------ the test

const CYAN: RGB = [34, 211, 238];
const ORANGE: RGB = [249, 115, 22];
const FELT: RGB = [21, 101, 61];

describe.skipIf(!haveChromium && !inCi)('client end-to-end in headless Chromium', () => {
  let server: GameServer;
  let browser: Browser;
  let spritesDir = '';
  const contexts: BrowserContext[] = [];

  /** A page in its own context (own sessionStorage), 960×600 CSS px: 16:9 leaves 30 px bars top and bottom. */
  async function openPage(path: string, deviceScaleFactor = 1): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 600 }, deviceScaleFactor });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error(`[page ${path}] ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) console.error(`[page ${path}] ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) console.error(`[page ${path}] HTTP ${r.status()} ${r.url()}`);
    });
    await page.goto(server.url + path);
    return page;
  }

  beforeAll(async () => {
    ensureFreshBundle();
    mkdirSync(shotDir, { recursive: true });
    spritesDir = mkdtempSync(join(tmpdir(), 'parlor-sprites-'));
    writeFileSync(join(spritesDir, 'index.ts'), SPRITES_GAME);
    writeFileSync(join(spritesDir, 'sheet.png'), png(2, 1, [255, 0, 0, 255, 0, 0, 255, 255]));
    writeFileSync(join(spritesDir, 'beep.wav'), wav());
    server = await createGameServer({
      games: {
        pong: { dir: join(repo, 'examples', 'pong') },
        'hidden-hand': { dir: join(repo, 'examples', 'hidden-hand') },
        sprites: { dir: spritesDir },
      },
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
    if (spritesDir) rmSync(spritesDir, { recursive: true, force: true });
  }, 30_000);

  it('pong: each player\'s keys move their own paddle, and both pages draw it', async () => {
    const p1 = await openPage('/play/pong', 2); // high-DPI page
    const s1 = await waitPlaying(p1, 'pong page 1');
    const p2 = await openPage('/play/pong');
    const s2 = await waitPlaying(p2, 'pong page 2');
    expect(s2.roomId).toBe(s1.roomId);
    expect(s1.playerId).not.toBe(s2.playerId);
    expect(s1.spectator).toBe(false);
    // the address bar now names the room, so a reload rejoins it
    expect(s1.path).toBe(`/play/pong/${s1.roomId}`);

    // crisp on high-DPI: backing store = CSS size × devicePixelRatio
    const dims = await p1.evaluate(() => {
      const c = (window as unknown as { __parlor: any }).__parlor.canvas as HTMLCanvasElement;
      return { w: c.width, h: c.height, cw: c.clientWidth, ch: c.clientHeight };
    });
    expect(dims).toEqual({ w: 1920, h: 1200, cw: 960, ch: 600 });
    // letterbox: 960×540 game area centred, black bars of 30 px above and below
    expect(await pixelAt(p1, 480, 10)).toEqual([0, 0, 0]);
    expect(await pixelAt(p1, 480, 590)).toEqual([0, 0, 0]);
    expect(await pixelAt(p2, 200, 40)).toEqual([9, 12, 26]); // the game's background, inside the viewport

    const left = (p: Page) => stripCentre(p, 2, 4, CYAN);
    const right = (p: Page) => stripCentre(p, 96, 98, ORANGE);
    const l0 = await waitFor('the left paddle on page 1', () => left(p1));
    await waitFor('the left paddle on page 2', () => left(p2));
    const r0 = await waitFor('the right paddle on page 2', () => right(p2));
    expect(Math.abs(l0 - 50)).toBeLessThan(3); // starts centred

    await holdKeyUntil(p1, 'ArrowDown', 'page 1\'s left paddle to move down', async () => ((await left(p1)) ?? l0) > l0 + 10);
    const l1 = await settled('page 1\'s left paddle to stop', () => left(p1));
    expect(l1, 'page 1 shows its left paddle lower').toBeGreaterThan(l0 + 10);
    await waitFor('page 2 to show the left paddle lower too', async () => {
      const y = await left(p2);
      return y !== null && Math.abs(y - l1) < 3 ? y : null;
    });
    // the right paddle did not move
    await waitFor('the right paddle to stay put on page 1', async () => {
      const y = await right(p1); // null for a moment if the ball makes it flash white
      return y !== null && Math.abs(y - r0) < 2;
    });

    await holdKeyUntil(p2, 'ArrowUp', 'page 2\'s right paddle to move up', async () => ((await right(p2)) ?? r0) < r0 - 10);
    const r1 = await settled('page 2\'s right paddle to stop', () => right(p2));
    expect(r1, 'page 2 shows its right paddle higher').toBeLessThan(r0 - 10);
    await waitFor('page 1 to show the right paddle higher too', async () => {
      const y = await right(p1);
      return y !== null && Math.abs(y - r1) < 3 ? y : null;
    });

    await p1.screenshot({ path: join(shotDir, 'pong-1.png') });
    await p2.screenshot({ path: join(shotDir, 'pong-2.png') });

    // reload: the reconnect token in sessionStorage rejoins as the same player
    await p1.reload();
    const again = await waitPlaying(p1, 'pong page 1 after reload');
    expect(again.playerId).toBe(s1.playerId);
    expect(again.roomId).toBe(s1.roomId);
  }, 90_000);

  it('a room id nobody plays in is a 404 page offering to start it; starting it joins that named room, and the address bar drops ?create', async () => {
    const page = await openPage('/play/pong/party-1');
    expect(await page.locator('h1').innerText()).toContain('404');
    await page.getByRole('link', { name: 'Start room party-1' }).click();
    const s = await waitPlaying(page, 'the named room');
    expect(s.roomId).toBe('party-1');
    expect(s.path).toBe('/play/pong/party-1');
  });

  it('a full room offers to watch it as a spectator (and the lobby); the link does', async () => {
    const p1 = await openPage('/play/pong/full-1?create=1');
    await waitPlaying(p1, 'player 1');
    const p2 = await openPage('/play/pong/full-1');
    await waitPlaying(p2, 'player 2');
    const p3 = await openPage('/play/pong/full-1');
    const watch = p3.getByRole('link', { name: 'Watch as a spectator' });
    await watch.waitFor({ timeout: 15_000 });
    expect(await p3.getByRole('link', { name: 'Back to the lobby' }).count()).toBe(1);
    await watch.click();
    const s = await waitPlaying(p3, 'the spectator');
    expect(s.spectator).toBe(true);
    expect(s.roomId).toBe('full-1');
  });

  it('hidden-hand: players draw different hands; a spectator draws none', async () => {
    const h1 = await openPage('/play/hidden-hand');
    const a = await waitPlaying(h1, 'hidden-hand page 1');
    const h2 = await openPage('/play/hidden-hand');
    const b = await waitPlaying(h2, 'hidden-hand page 2');
    expect(b.roomId).toBe(a.roomId);
    const spec = await openPage(`/play/hidden-hand/${a.roomId}?spectate=1`);
    const c = await waitPlaying(spec, 'the spectator page');
    expect(c.spectator).toBe(true);
    expect(c.path).toBe(`/play/hidden-hand/${a.roomId}?spectate=1`);

    const BAND: [number, number] = [71, 99];
    // players: cards in the band (wait for the deal)
    const band1 = await waitFor('page 1 to draw its hand', async () => {
      const i = await band(h1, ...BAND, FELT);
      return i.nonFelt > i.total * 0.05 ? i : null;
    });
    const band2 = await waitFor('page 2 to draw its hand', async () => {
      const i = await band(h2, ...BAND, FELT);
      return i.nonFelt > i.total * 0.05 ? i : null;
    });
    // different hands → different pixels (the grid cells over the card faces differ)
    expect(gridDiff(band1.grid, band2.grid)).toBeGreaterThan(4);

    // spectator: the band is uniform felt (allow a few anti-aliased pixels of the table's shadow)
    // it joined after the deal, so its first (full) frame holds the dealt round: wait until that frame is
    // applied and painted (two animation frames later), not for a fixed time
    await waitFor('the spectator to apply its first frame', () => spec.evaluate(() => (window as unknown as { __parlor: any }).__parlor.framesApplied > 0));
    await animationFrames(spec, 2);
    const bandS = await band(spec, ...BAND, FELT);
    expect(bandS.nonFelt).toBeLessThan(bandS.total * 0.001);
    // the spectator badge is shown, the status box is not
    const overlay = await spec.evaluate(() => ({
      badge: getComputedStyle(document.querySelector('.parlor-spectating')!).display,
      status: getComputedStyle(document.querySelector('.parlor-status')!).display,
    }));
    expect(overlay).toEqual({ badge: 'block', status: 'none' });

    await h1.screenshot({ path: join(shotDir, 'hidden-hand-1.png') });
    await h2.screenshot({ path: join(shotDir, 'hidden-hand-2.png') });
    await spec.screenshot({ path: join(shotDir, 'hidden-hand-spectator.png') });

    // clicking a card (hit test → `click` input) plays it: page 1's hand changes
    const target = await h1.evaluate(() => {
      const c = (window as unknown as { __parlor: any }).__parlor;
      for (let y = 80; y <= 96; y += 2) {
        for (let x = 5; x <= 95; x += 0.5) {
          const n = c.hitTest(x, y);
          if (n) {
            const vp = c.renderer.viewport;
            const r = (c.canvas as HTMLCanvasElement).getBoundingClientRect();
            return { id: n.id as number, cx: r.left + vp.x + (x * vp.width) / 100, cy: r.top + vp.y + (y * vp.height) / 100 };
          }
        }
      }
      return null;
    });
    expect(target, 'a clickable card in page 1\'s hand').not.toBeNull();
    await h1.mouse.click(target!.cx, target!.cy);
    await waitFor('the clicked card to leave page 1\'s hand', async () => {
      const gone = await h1.evaluate((id) => !(window as unknown as { __parlor: any }).__parlor.scene.nodes.has(id), target!.id);
      return gone;
    });
  }, 90_000);

  it('shows errors with the close code\'s meaning, and reconnects as the same player after a drop', async () => {
    // an unknown game: the server closes with 4404 and the client stops with an error overlay
    const bad = await openPage('/');
    await bad.addScriptTag({ url: '/parlor/client.js' });
    await bad.evaluate(() => (window as unknown as { Parlor: any }).Parlor.start({ game: 'no-such-game', updateUrl: false }));
    const err = await waitFor('the client to stop with an error', async () => {
      const r = await bad.evaluate(() => {
        const c = (window as unknown as { __parlor: any }).__parlor;
        return { status: c.status, code: c.error?.code, text: document.querySelector('.parlor-status')?.textContent };
      });
      return r.status === 'error' ? r : null;
    });
    expect(err.code).toBe(4404);
    expect(err.text).toMatch(/^Error: .*no such game or room/);
    await bad.screenshot({ path: join(shotDir, 'error.png') });

    // a dropped socket: "Reconnecting… (attempt 1)", then the same player again via the token
    const page = await openPage('/play/hidden-hand');
    const before = await waitPlaying(page, 'the reconnect page');
    const seen = await page.evaluate(() => {
      const c = (window as unknown as { __parlor: any }).__parlor;
      const texts: string[] = [];
      c.on('status', () => texts.push(`${c.status}|${document.querySelector('.parlor-status')?.textContent ?? ''}`));
      (window as unknown as { __seen: string[] }).__seen = texts;
      c.connection.ws.close(4000, 'test drop');
      return true;
    });
    expect(seen).toBe(true);
    await waitFor('the status to go reconnecting → playing', () =>
      page.evaluate(() => (window as unknown as { __seen: string[] }).__seen.some((t) => t.startsWith('playing|'))));
    const after = await waitPlaying(page, 'the page to reconnect');
    expect(after.playerId).toBe(before.playerId);
    expect(after.roomId).toBe(before.roomId);
    const log = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    expect(log[0]).toBe('reconnecting|Reconnecting… (attempt 1)');
    expect(log[log.length - 1]).toMatch(/^playing\|/);
  }, 60_000);

  it('draws images (with crop) from HTTP assets, pillarboxes 1:1, plays audio nodes, and routes circle clicks', async () => {
    const page = await openPage('/play/sprites');
    await waitPlaying(page, 'the sprites page');
    /** The canvas colour at a plane point. */
    const at = (x: number, y: number) => page.evaluate(({ x, y }) => {
      const c = (window as unknown as { __parlor: any }).__parlor;
      const canvas = c.canvas as HTMLCanvasElement;
      const vp = c.renderer.viewport;
      const k = canvas.width / canvas.clientWidth;
      const d = canvas.getContext('2d')!.getImageData(Math.round((vp.x + (x * vp.width) / 100) * k), Math.round((vp.y + (y * vp.height) / 100) * k), 1, 1).data;
      return [d[0], d[1], d[2]];
    }, { x, y });
    const near = (a: number[], b: number[], tol = 30) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

    // 1:1 in 960×600: a 600×600 game area with 180 px bars left and right
    expect(await page.evaluate(() => (window as unknown as { __parlor: any }).__parlor.renderer.viewport)).toEqual({ x: 180, y: 0, width: 600, height: 600 });
    expect(await pixelAt(page, 90, 300)).toEqual([0, 0, 0]);
    expect(await pixelAt(page, 870, 300)).toEqual([0, 0, 0]);

    // the cropped sprite is the sheet's blue pixel; the whole sheet is red then blue
    await waitFor('the sprite sheet to load and draw', async () => near(await at(25, 25), [0, 0, 255]));
    // no bleeding of the neighbouring (red) sprite into the crop's edge
    expect(await at(10.5, 25)).toEqual([0, 0, 255]);
    expect(near(await at(64, 25), [255, 0, 0])).toBe(true);
    expect(near(await at(86, 25), [0, 0, 255])).toBe(true);
    expect(near(await at(50, 50), [50, 50, 50], 2)).toBe(true);

    // the sound node has an audio element (playing once the browser allows it)
    expect(await page.evaluate(() => (window as unknown as { __parlor: any }).__parlor.audio.size)).toBe(1);
    expect(near(await at(50, 75), [46, 196, 102])).toBe(true);
    await page.screenshot({ path: join(shotDir, 'sprites.png') });

    // a static scene is not repainted: no frames arrive, so no paints happen
    const count = () => page.evaluate(() => {
      const c = (window as unknown as { __parlor: any }).__parlor;
      return { paints: c.renderer.paints as number, frames: c.framesApplied as number };
    });
    const c0 = await count();
    await animationFrames(page, 30); // a paint can only happen on one of them
    expect(await count()).toEqual(c0);

    // clicking the circle (hit test in height units) removes the sound and turns it red
    const vp = await page.evaluate(() => (window as unknown as { __parlor: any }).__parlor.renderer.viewport);
    await page.mouse.click(vp.x + (57 * vp.width) / 100, vp.y + (75 * vp.height) / 100);
    await waitFor('the clicked circle to turn red', async () => near(await at(50, 75), [230, 57, 70]));
    await waitFor('the sound to stop with its node', () => page.evaluate(() => (window as unknown as { __parlor: any }).__parlor.audio.size === 0));
  }, 60_000);
});
