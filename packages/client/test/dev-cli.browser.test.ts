/**
 * A game author's loop in the browser, end to end: the real `parlor dev` command (from source) on
 * a game file in a temporary folder, and real headless Chromium (playwright-core driving
 * /usr/bin/chromium) on its play page. A game that does not build shows its error at the
 * author's file:line in the page, and the page loads the game once the file is fixed; a game
 * whose room fails (4500) shows the room error at the author's line, and the stopped tab rejoins
 * by itself when the fix is saved. No reload by hand anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';

if (!haveChromium && !inCi) console.warn(`[dev cli browser] SKIPPED: ${CHROMIUM} not found. In CI (CI=true) this test runs and fails instead.`);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');

/** The game's source with `tick`'s body given; line 9 is the tick body's first line. */
const game = (tickBody: string, extra = ''): string => `import { Colors, Game, Group, Text, type GameMetadata, type Node } from '@parlor/squish';

export default class Dot extends Game {
  static override metadata(): GameMetadata { return { name: 'Dot', tickRate: 20, maxPlayers: 4 }; }
  private ticks = 0;
  private readonly label = new Text({ text: 'tick 0', x: 5, y: 5, size: 5, color: Colors.WHITE });
  private readonly root = new Group({ children: [this.label] });
  override tick(): void {
    ${tickBody}
  }
  getLayers(): Node[] { return [this.root]; }${extra}
}
`;
const GOOD = game("this.ticks++;\n    this.label.text = 'tick ' + this.ticks;");
/** Line 11 has a closing brace too many: the class ends there, and esbuild stops at the brace on line 12, column 1. */
const DOES_NOT_BUILD = game('this.ticks++;', ' }');
/** Throws on line 9, column 11, on every tick. */
const THROWS = game("throw new Error('the dot fell off');");

interface PageState {
  status: string;
  code: number | null;
  roomId: string;
  frames: number;
  overlay: string;
  severity: string | null;
}

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const c = (window as unknown as { __parlor?: any }).__parlor;
    const el = document.querySelector<HTMLElement>('.parlor-dev-overlay');
    const visible = !!el && el.style.display !== 'none';
    return {
      status: c?.status ?? 'none',
      code: c?.error?.code ?? null,
      roomId: c?.roomId ?? '',
      frames: c?.framesApplied ?? 0,
      overlay: visible ? el!.innerText : '',
      severity: visible ? (el!.dataset.severity ?? null) : null,
    };
  });
}

describe.skipIf(!haveChromium && !inCi)('parlor dev in the browser: a broken game shows its line and recovers when fixed', () => {
  let dir = '';
  let file = '';
  let child: ChildProcess | null = null;
  let out = '';
  let base = '';
  let browser: Browser;

  beforeAll(async () => {
    ensureFreshBundle();
    dir = mkdtempSync(join(tmpdir(), 'parlor-dev-browser-'));
    file = join(dir, 'dot.ts');
    writeFileSync(file, DOES_NOT_BUILD);
    child = spawn(process.execPath, ['--import', 'tsx', cli, 'dev', file, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('parlor dev to listen', async () => /Play: +http:\/\/127\.0\.0\.1:\d+\/play\/dot/.test(out) || child!.exitCode !== null, 60_000);
    base = /Play: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1] ?? '';
    expect(base, out).not.toBe('');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('shows the build error at its line, plays once fixed; shows a failed room at its line, and the stopped tab rejoins once fixed', async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 450 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/play/dot`);

    const broken = await waitFor('the build error in the page', async () => {
      const s = await pageState(page);
      return s.overlay.includes(`${file}:12:1`) ? s : null;
    }, 20_000);
    expect(broken.severity).toBe('error');
    expect(broken.overlay).toContain('error [build]');
    expect(broken.overlay).toContain('Unexpected "}"');
    expect(broken.overlay).toMatch(/> 12 \| \}/); // the code frame
    expect(broken.status).toBe('none'); // nothing to play yet

    writeFileSync(file, GOOD);
    const playing = await waitFor('the page to load the fixed game and play', async () => {
      const s = await pageState(page);
      return s.status === 'playing' && s.frames > 0 ? s : null;
    }, 45_000);
    expect(playing.severity).not.toBe('error');

    writeFileSync(file, THROWS);
    // the rebuild redirects the room's page to the new build, whose room then fails
    const failed = await waitFor('the room to fail (4500) and its error at the author’s line', async () => {
      const s = await pageState(page);
      return s.status === 'error' && s.code === 4500 && s.overlay.includes(`${file}:9:`) ? s : null;
    }, 45_000);
    expect(failed.overlay).toContain('the dot fell off');
    expect(failed.overlay).toContain('error [room]');

    writeFileSync(file, GOOD);
    const back = await waitFor('the stopped tab to rejoin the fixed game by itself', async () => {
      const s = await pageState(page);
      return s.status === 'playing' && s.frames > 0 && s.severity !== 'error' ? s : null;
    }, 45_000);
    expect(back.roomId).toBe(failed.roomId);
    await ctx.close();
  }, 240_000);
});
