/**
 * The identity refusal pages in headless Chromium: a game needing sign-in refuses an anonymous
 * player with "This game needs you to sign in", one needing a role names it, both offering the
 * lobby; a signed-in player (`?token=`) plays, and the token leaves the address bar for sessionStorage.
 */
import { SignJWT } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Game, Group, Text, type GameMetadata, type Node, type PlayerInfo } from '@parlor/squish';
import { createGameServer, type GameServer } from '@parlor/server';
import { ensureFreshBundle } from './bundle.js';
import { CHROMIUM, LAUNCH_ARGS, haveChromium, inCi, waitFor } from './browser.js';

const SECRET = 'a-browser-test-secret-of-at-least-32-bytes';

class Badge extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Members only', access: { requiresAuth: true } };
  }
  readonly root = new Group();
  getLayers(): Node[] {
    return [this.root];
  }
  override onPlayerJoin(p: PlayerInfo): void {
    this.root.addChild(new Text({ text: `hello ${p.userId ?? 'anonymous'} (${p.roles.join(',')})`, x: 5, y: 5, size: 5, playerIds: [p.id] }));
  }
}

class ModsOnly extends Badge {
  static override metadata(): GameMetadata {
    return { name: 'Moderators only', access: { minRole: 'moderator' } };
  }
}

function token(sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

describe.skipIf(!haveChromium && !inCi)('identity refusal pages in headless Chromium', () => {
  let server: GameServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function openPage(path: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 600 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error(`[page ${path}] ${err.message}`));
    await page.goto(server.url + path);
    return page;
  }

  beforeAll(async () => {
    ensureFreshBundle();
    server = await createGameServer({
      games: { members: { gameClass: Badge }, mods: { gameClass: ModsOnly } },
      identity: { secrets: [SECRET] },
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

  it('anonymous: "This game needs you to sign in" with a way back to the lobby; a low role: "This game needs the role moderator"', async () => {
    const anon = await openPage('/play/members');
    const title = anon.locator('.parlor-error-title');
    await title.waitFor({ timeout: 15_000 });
    expect(await title.innerText()).toBe('This game needs you to sign in');
    const state = await anon.evaluate(() => {
      const c = (window as unknown as { __parlor: { status: string; error: { code: number } | null } }).__parlor;
      return { status: c.status, code: c.error?.code };
    });
    expect(state).toEqual({ status: 'error', code: 4402 });
    await anon.getByRole('link', { name: 'Back to the lobby' }).click();
    await waitFor('the lobby', async () => new URL(anon.url()).pathname === '/');

    const player = await openPage(`/play/mods?token=${await token('pat', ['member'])}`);
    const roleTitle = player.locator('.parlor-error-title');
    await roleTitle.waitFor({ timeout: 15_000 });
    expect(await roleTitle.innerText()).toBe('This game needs the role moderator');
    expect(await player.getByRole('link', { name: 'Back to the lobby' }).count()).toBe(1);
  });

  it('signed in with ?token=: plays, the game greets the user, and the token moves from the address bar to sessionStorage', async () => {
    const page = await openPage(`/play/members?token=${await token('dana', ['member'])}`);
    const greeting = await waitFor('the game greeting the signed-in player', () =>
      page.evaluate(() => {
        const c = (window as unknown as { __parlor: { status: string; scene: { nodes: Map<number, { text?: string }> } } }).__parlor;
        if (c.status !== 'playing') return null;
        for (const n of c.scene.nodes.values()) if (typeof n.text === 'string' && n.text.startsWith('hello ')) return n.text;
        return null;
      }), 15_000);
    expect(greeting).toBe('hello dana (member)');
    const where = await page.evaluate(() => ({ search: location.search, stored: sessionStorage.getItem('parlor:token') }));
    expect(where.search).not.toContain('token=');
    expect(where.stored).toMatch(/^eyJ/);
  });
});
