import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, Game } from '@parlor/squish';
import { GameLoadError, ServerErrorCode, loadGame, loadGamesFromDir, type GameServer } from '@parlor/server';
import { findGames } from '../src/games/loader.js';
import { TestClient, get, startServer, waitFor } from './helpers.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const gamesDir = join(fixtures, 'games');
const bad = join(fixtures, 'bad');

let server: GameServer | null = null;
const clients: TestClient[] = [];
let tmp: string | null = null;

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = null;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
});

async function expectLoadError(path: string, code: string, message: RegExp): Promise<void> {
  const err = await loadGame('x', path).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GameLoadError);
  expect((err as GameLoadError).code).toBe(code);
  expect((err as GameLoadError).message).toMatch(message);
}

describe('loadGame', () => {
  it('bundles a folder game with a helper module; the class extends the host’s own Game', async () => {
    const g = await loadGame('sprite', join(gamesDir, 'sprite'));
    expect(g.gameClass.prototype).toBeInstanceOf(Game);
    expect(g.metadata).toMatchObject({ name: 'Sprite', tickRate: 30, maxPlayers: 8 });
    expect(g.entry).toBe(join(gamesDir, 'sprite', 'index.ts'));
    expect(g.inputs).toEqual(expect.arrayContaining([join(gamesDir, 'sprite', 'index.ts'), join(gamesDir, 'sprite', 'label.ts')]));
    expect(g.bundle?.code).not.toContain('class Game'); // @parlor/squish stays external
    const svg = readFileSync(join(gamesDir, 'sprite', 'star.svg'));
    const hash = createHash('sha256').update(svg).digest('hex').slice(0, 16);
    expect(g.assets).toEqual([
      expect.objectContaining({ id: 'star', type: 'image', hash, url: `/parlor/assets/sprite/${hash}/star.svg`, contentType: 'image/svg+xml' }),
    ]);
  });

  it('rejects bad games with typed errors', async () => {
    await expectLoadError(join(bad, 'no-default.ts'), ServerErrorCode.GAME_NO_CLASS, /default export must be a class extending Game/);
    await expectLoadError(join(bad, 'not-a-class.ts'), ServerErrorCode.GAME_NO_CLASS, /got an object with keys name/);
    await expectLoadError(join(bad, 'no-metadata.ts'), ServerErrorCode.GAME_BAD_METADATA, /must define static metadata/);
    await expectLoadError(join(bad, 'bad-tickrate.ts'), ServerErrorCode.GAME_BAD_METADATA, /tickRate/);
    await expectLoadError(join(bad, 'throws-on-load.ts'), ServerErrorCode.GAME_EVAL_FAILED, /module side effect failed/);
    await expectLoadError(join(bad, 'syntax-error.js'), ServerErrorCode.GAME_BUILD_FAILED, /syntax-error\.js:1:\d+/);
    await expectLoadError(join(bad, 'missing-asset'), ServerErrorCode.GAME_ASSET_MISSING, /gone\.png/);
    await expectLoadError(join(bad, 'empty-folder'), ServerErrorCode.GAME_NOT_FOUND, /no entry file/);
    await expectLoadError(join(bad, 'does-not-exist.ts'), ServerErrorCode.GAME_NOT_FOUND, /not found/);
  });

  it('finds every game of a folder and loads them; failures are reported per game with onError', async () => {
    expect(Object.keys(await findGames(gamesDir))).toEqual(['solo', 'sprite']);
    const games = await loadGamesFromDir(gamesDir);
    expect(Object.keys(games)).toEqual(['solo', 'sprite']);
    const failed: string[] = [];
    const some = await loadGamesFromDir(bad, { onError: (name, err) => failed.push(`${name}:${err.code}`) });
    expect(Object.keys(some)).toEqual([]);
    expect(failed.sort()).toEqual([
      'bad-tickrate:SERVER_GAME_BAD_METADATA',
      'missing-asset:SERVER_GAME_ASSET_MISSING',
      'no-default:SERVER_GAME_NO_CLASS',
      'no-metadata:SERVER_GAME_BAD_METADATA',
      'not-a-class:SERVER_GAME_NO_CLASS',
      'syntax-error:SERVER_GAME_BUILD_FAILED',
      'throws-on-load:SERVER_GAME_EVAL_FAILED',
    ]);
    await expect(loadGamesFromDir(bad)).rejects.toBeInstanceOf(GameLoadError);
  });
});

describe('served games from files', () => {
  it('plays a bundled folder game and serves its asset with immutable caching', async () => {
    ({ server } = await startServer({ games: { sprite: { dir: join(gamesDir, 'sprite') } } }));
    const c = await TestClient.connect(server);
    clients.push(c);
    await c.joinAndSync('sprite');
    const assets = c.messages.find((m) => m.type === 'assets');
    expect(assets?.type === 'assets' && assets.assets.length).toBe(1);
    const url = assets?.type === 'assets' ? assets.assets[0].url : '';
    expect(c.texts()).toContain('bundled helper');
    const res = await get(server, url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.text).toBe(readFileSync(join(gamesDir, 'sprite', 'star.svg'), 'utf8'));
    expect((await get(server, url.replace(/[0-9a-f]{16}/, '0000000000000000'))).status).toBe(404);
  });

  it('replaceGame (dev reload) redirects live rooms to /play/<game> and new joins get the new build', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'parlor-reload-'));
    cpSync(join(gamesDir, 'solo.ts'), join(tmp, 'solo.ts'));
    const file = join(tmp, 'solo.ts');
    // The temp folder is outside the repo: esbuild must not need to resolve @parlor/squish there.
    ({ server } = await startServer({ games: { solo: { file } } }));
    const a = await TestClient.connect(server);
    clients.push(a);
    await a.joinAndSync('solo');
    expect(a.texts()).toContain('version 1');
    writeFileSync(file, readFileSync(file, 'utf8').replace('version 1', 'version 2'));
    await server.replaceGame('solo', { file });
    expect((await a.closed()).code).toBe(CloseCode.NORMAL);
    expect(a.messages.find((m) => m.type === 'redirect')).toMatchObject({ type: 'redirect', url: '/play/solo' });
    await waitFor(() => server!.rooms().length === 0, 'old room disposed');
    const b = await TestClient.connect(server);
    clients.push(b);
    await b.joinAndSync('solo');
    expect(b.texts()).toContain('version 2');

    // A broken rebuild keeps the previous build.
    writeFileSync(file, 'export default class {{');
    await expect(server.replaceGame('solo', { file })).rejects.toMatchObject({ code: ServerErrorCode.GAME_BUILD_FAILED });
    expect(server.games()).toMatchObject([{ name: 'solo', title: 'Solo' }]);
  });
});
