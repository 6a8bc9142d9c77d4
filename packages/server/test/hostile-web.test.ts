/**
 * Hostile web suite (issue 7, items 3, 4 and 8): a real server over real HTTP/WS on 127.0.0.1.
 * - every page carries a strict CSP (no inline script), nosniff and a Referrer-Policy; assets are
 *   served sandboxed with nosniff, SVG as an attachment;
 * - games with hostile metadata are refused at load (GAME_BAD_METADATA naming the field) while the
 *   server keeps serving the others, and the lobby renders whatever it is given;
 * - asset paths that point outside the game folder or at special/oversized files are refused
 *   before a byte is read (GAME_ASSET_REFUSED);
 * - the bundler refuses imports of host files (GAME_BUILD_FAILED at the importing file:line).
 * Each attack asserts the attack fails and that a co-tenant room keeps receiving frames.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ASSET_BYTES, GameLoadError, ServerErrorCode, createLogger, loadGame, loadGamesFromDir, type GameServer, type LoadedGame } from '@parlor/server';
import { ProcessRuntime } from '../src/runtimes.js';
import { validateMetadata } from '../src/games/metadata.js';
import { TestClient, get, startServer } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'parlor-hostile-web-'));
const SECRET = 'host-secret-7f3a9c';

/** Source of a small well-behaved game whose `static metadata()` returns the expression `meta`. */
function gameSource(meta: string, extraImports = ''): string {
  return `import { Colors, Game, Group, Text, type Node } from '@parlor/squish';
${extraImports}
export default class G extends Game {
  static metadata(): any { return ${meta}; }
  private t = 0;
  private readonly text = new Text({ text: 'tick 0', x: 5, y: 5, size: 4, color: Colors.WHITE });
  private readonly root = new Group({ children: [this.text] });
  getLayers(): Node[] { return [this.root]; }
  tick(): void { this.t++; this.text.text = 'tick ' + this.t; }
}
`;
}

/** Writes a game folder `<base>/<name>/index.ts` and returns its path. */
function writeGame(base: string, name: string, meta: string, extraImports = ''): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.ts'), gameSource(meta, extraImports));
  return dir;
}

const SVG_WITH_SCRIPT =
  `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="localStorage.setItem('svg-onload','1')">` +
  `<script>localStorage.setItem('svg-pwned','1')</script><rect width="10" height="10" fill="red"/></svg>`;
// 1×1 transparent PNG
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a8300000000049454e44ae426082', 'hex');

/** The well-behaved game: an SVG and a PNG asset, and an import of a JSON file inside its own folder. */
function writeGoodGame(base: string, name = 'good'): string {
  const dir = writeGame(
    base,
    name,
    `{ name: 'Good <b>game</b>', description: 'A well-behaved game', tickRate: 30, maxPlayers: 4, assets: { star: { type: 'image', path: 'img/star.svg' }, dot: { type: 'image', path: 'dot.png' } }, label: label.text }`,
    `import label from './label.json';`,
  );
  mkdirSync(join(dir, 'img'), { recursive: true });
  writeFileSync(join(dir, 'img', 'star.svg'), SVG_WITH_SCRIPT);
  writeFileSync(join(dir, 'dot.png'), PNG);
  writeFileSync(join(dir, 'label.json'), JSON.stringify({ text: 'inside' }));
  return dir;
}

const CLOSED_PAGE_CSP = [/(^|;\s*)script-src 'self'(;|$)/, /(^|;\s*)object-src 'none'(;|$)/, /(^|;\s*)base-uri 'none'(;|$)/, /(^|;\s*)frame-ancestors 'self'(;|$)/, /(^|;\s*)default-src 'none'(;|$)/];

function expectStrictPage(path: string, r: { status: number; headers: Headers; text: string }): void {
  const csp = r.headers.get('content-security-policy') ?? '';
  for (const re of CLOSED_PAGE_CSP) expect(csp, `${path}: CSP ${csp}`).toMatch(re);
  expect(csp, `${path}: no unsafe-inline/eval anywhere`).not.toMatch(/unsafe-(inline|eval)|\*/);
  expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
  expect(r.headers.get('referrer-policy'), path).toMatch(/^(same-origin|no-referrer|strict-origin(-when-cross-origin)?)$/);
  expect(r.headers.get('content-type'), path).toMatch(/^text\/html/);
  // nothing inline the CSP would have to allow: no inline <script>, no <style>, no style= or on*= attributes
  expect(r.text, `${path}: inline script`).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(r.text, `${path}: <style>`).not.toMatch(/<style/i);
  expect(r.text, `${path}: style attribute`).not.toMatch(/\sstyle=/i);
  expect(r.text, `${path}: event handler attribute`).not.toMatch(/\son[a-z]+=/i);
}

describe('hostile web: pages, assets, metadata, bundler', () => {
  let server: GameServer;
  let good: LoadedGame;
  let control: TestClient;

  beforeAll(async () => {
    const base = join(root, 'served');
    good = await loadGame('good', writeGoodGame(base));
    const ticker = await loadGame('ticker', writeGame(base, 'ticker', `{ name: 'Ticker', tickRate: 30 }`));
    ({ server } = await startServer({ games: { good, ticker }, runtime: 'inline' }));
    control = await TestClient.connect(server);
    await control.joinAndSync('ticker');
  });

  afterAll(async () => {
    control?.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The co-tenant room still receives frames and was not closed. */
  async function coTenantAlive(): Promise<void> {
    await control.moreFrames(5);
    expect(control.closeInfo).toBeNull();
  }

  it('every page carries a strict CSP with no inline script, nosniff and a Referrer-Policy', async () => {
    const a = await TestClient.connect(server);
    const init = await a.joinAndSync('good');
    for (const path of ['/', '/play/good', `/play/good/${init.roomId}`, '/play/good/abc?spectate=1', '/play/nope', '/play/good/bad%20id', `/play/good/${'x'.repeat(70)}`, '/nothing/here', '/play/%3Cscript%3E']) {
      const r = await get(server, path);
      expect([200, 404], path).toContain(r.status);
      expectStrictPage(path, r);
    }
    a.close();
    // the lobby and play page take their behaviour from same-origin files, served with nosniff
    for (const [path, type] of [['/parlor/play.js', /javascript/], ['/parlor/lobby.js', /javascript/], ['/parlor/parlor.css', /text\/css/]] as const) {
      const r = await get(server, path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toMatch(type);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const play = await get(server, '/play/good');
    expect(play.text).toContain('<script src="/parlor/client.js"></script>');
    expect(play.text).toContain('<script src="/parlor/play.js"></script>');
    // the game's title is escaped, never markup
    expect(play.text).toContain('Good &lt;b&gt;game&lt;/b&gt;');
    await coTenantAlive();
  });

  it('assets are served with nosniff and a sandboxing CSP; SVG only as an attachment', async () => {
    expect(good.assets.map((x) => x.id).sort()).toEqual(['dot', 'star']);
    for (const asset of good.assets) {
      const r = await get(server, asset.url);
      expect(r.status, asset.url).toBe(200);
      expect(r.headers.get('x-content-type-options'), asset.url).toBe('nosniff');
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, asset.url).toMatch(/^sandbox(;|$)/);
      expect(csp, asset.url).toMatch(/default-src 'none'/);
      expect(csp, asset.url).not.toMatch(/allow-scripts|allow-same-origin|script-src/);
      if (asset.id === 'star') {
        expect(r.headers.get('content-type')).toBe('image/svg+xml');
        expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="star\.svg"$/);
      } else {
        expect(r.headers.get('content-type')).toBe('image/png');
        expect(r.headers.get('content-disposition')).toBeNull();
      }
    }
    // traversal and unknown assets stay 404
    for (const path of ['/parlor/assets/good/../../../etc/passwd', '/parlor/assets/good/%2e%2e%2f%2e%2e%2fetc%2fpasswd', `/parlor/assets/good/0000000000000000/star.svg`]) {
      expect((await get(server, path)).status, path).toBe(404);
    }
    await coTenantAlive();
  });

  it('a live server refuses hostile rebuilds (metadata, asset path, host import) and keeps serving', async () => {
    const base = join(root, 'reload');
    const attempts: Array<[string, string]> = [
      [writeGame(base, 'desc', `{ name: 'D', description: {} }`), ServerErrorCode.GAME_BAD_METADATA],
      [writeGame(base, 'zero', `{ name: 'Z', assets: { a: { type: 'image', path: 'zero.png' } } }`), ServerErrorCode.GAME_ASSET_REFUSED],
      [writeGame(base, 'env', `{ name: 'E', assets: { a: { type: 'image', path: '/proc/self/environ' } } }`), ServerErrorCode.GAME_ASSET_REFUSED],
      [writeGame(base, 'secret', `{ name: 'x' + JSON.stringify(s) }`, `import s from '../secret.json';`), ServerErrorCode.GAME_BUILD_FAILED],
    ];
    symlinkSync('/dev/zero', join(base, 'zero', 'zero.png'));
    writeFileSync(join(base, 'secret.json'), JSON.stringify({ secret: SECRET }));
    for (const [dir, code] of attempts) {
      await expect(server.replaceGame('good', dir), dir).rejects.toMatchObject({ code });
      await coTenantAlive();
    }
    // the old build of "good" is still served, and the lobby shows nothing of the attempts
    const lobby = await get(server, '/');
    expect(lobby.status).toBe(200);
    expect(lobby.text).toContain('Good &lt;b&gt;game&lt;/b&gt;');
    expect(lobby.text).not.toContain(SECRET);
    expect((await get(server, good.assets[0]!.url)).status).toBe(200);
  });

  it('the lobby renders defensively: a game with broken data never makes GET / a 500', async () => {
    // A LoadedGame built by hand bypasses the loader's checks; the lobby must still render.
    const forged = {
      ...good,
      name: 'forged',
      metadata: { ...good.metadata, name: 'T'.repeat(100_000), description: {} as unknown as string, maxPlayers: 'lots' as unknown as number },
    } as LoadedGame;
    const base = join(root, 'lobby');
    const other = await loadGame('other', writeGame(base, 'other', `{ name: 'Other game', description: 'still listed' }`));
    const { server: s } = await startServer({ games: { forged, other }, runtime: 'inline' });
    try {
      const r = await get(s, '/');
      expect(r.status).toBe(200);
      expect(r.text).toContain('Other game');
      expect(r.text).toContain('still listed');
      expect(r.text).toContain('data-game="forged"');
      expect(r.text.length).toBeLessThan(64 * 1024);
      expectStrictPage('/', r);
      expect((await get(s, '/parlor/api/games')).status).toBe(200);
    } finally {
      await s.close();
    }
    await coTenantAlive();
  });
});

describe('hostile metadata is refused at load with GAME_BAD_METADATA naming the field', () => {
  const base = join(root, 'metadata');
  const cases: Array<[name: string, meta: string, field: string]> = [
    ['desc-object', `{ name: 'D', description: {} }`, 'description'],
    ['desc-long', `{ name: 'D', description: 'd'.repeat(501) }`, 'description'],
    ['title-4mb', `{ name: 'T'.repeat(4 * 1024 * 1024) }`, 'name'],
    ['title-control', `{ name: 'evil\\u0000name' }`, 'name'],
    ['title-getter', `{ get name() { return 'changes every read ' + Math.random(); } }`, 'name'],
    ['title-number', `{ name: 42 }`, 'name'],
    ['tick-huge', `{ name: 'T', tickRate: 1e9 }`, 'tickRate'],
    ['tick-nan', `{ name: 'T', tickRate: NaN }`, 'tickRate'],
    ['tick-string', `{ name: 'T', tickRate: '20' }`, 'tickRate'],
    ['players-huge', `{ name: 'P', maxPlayers: 1e6 }`, 'maxPlayers'],
    ['players-frac', `{ name: 'P', maxPlayers: 2.5 }`, 'maxPlayers'],
    ['aspect-inf', `{ name: 'A', aspectRatio: { x: Infinity, y: 1 } }`, 'aspectRatio.x'],
    ['aspect-zero', `{ name: 'A', aspectRatio: { x: 16, y: 0 } }`, 'aspectRatio.y'],
    ['aspect-thin', `{ name: 'A', aspectRatio: { x: 1000, y: 1 } }`, 'aspectRatio'],
    ['assets-array', `{ name: 'A', assets: [] }`, 'assets'],
    ['assets-many', `{ name: 'A', assets: Object.fromEntries(Array.from({ length: 300 }, (_, i) => ['a' + i, { type: 'image', path: 'a.png' }])) }`, 'assets'],
    ['asset-type', `{ name: 'A', assets: { a: { type: 'script', path: 'a.js' } } }`, 'assets.a.type'],
    ['asset-path-long', `{ name: 'A', assets: { a: { type: 'image', path: 'p'.repeat(4000) + '.png' } } }`, 'assets.a.path'],
    ['version-object', `{ name: 'V', squishVersion: { toString() { throw new Error('boom'); }, valueOf() { throw new Error('boom'); } } }`, 'squishVersion'],
    ['not-object', `'just a string'`, ''],
  ];

  beforeAll(() => {
    for (const [name, meta] of cases) writeGame(base, name, meta);
    writeGame(base, 'throws-object', `(() => { throw { message: Object.create(null) }; })()`);
    writeGame(base, 'fine', `{ name: 'Fine game', description: 'served', tickRate: 30 }`);
  });

  it.each(cases)('%s', async (name, _meta, field) => {
    const err = await loadGame(name, join(base, name)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GameLoadError);
    expect((err as GameLoadError).code).toBe(ServerErrorCode.GAME_BAD_METADATA);
    expect((err as GameLoadError).field).toBe(field);
    expect((err as GameLoadError).message.length).toBeLessThan(1000);
  });

  it('a metadata() that throws a hostile object is a clean GAME_BAD_METADATA', async () => {
    await expect(loadGame('throws-object', join(base, 'throws-object'))).rejects.toMatchObject({ code: ServerErrorCode.GAME_BAD_METADATA });
  });

  it('what a sandbox reports is validated again (validateMetadata is the gate\'s check too)', async () => {
    const inspect = async () => ({ metadata: { name: 'x'.repeat(4 * 1024 * 1024) } as never, className: '<img src=x onerror=alert(1)>' });
    await expect(loadGame('fine', join(base, 'fine'), { inspect })).rejects.toMatchObject({ code: ServerErrorCode.GAME_BAD_METADATA, field: 'name' });
    const ok = await loadGame('fine', join(base, 'fine'), { inspect: async () => ({ metadata: { name: 'Fine', extra: 'dropped' } as never, className: '<b>' }) });
    expect(ok.metadata).toEqual({ name: 'Fine', description: '', aspectRatio: { x: 16, y: 9 }, tickRate: 20, frameRate: 20, maxPlayers: 8, assets: {}, squishVersion: 1 });
    expect(ok.gameClass.name).toBe('fine');
    let thrown: unknown = null;
    try {
      validateMetadata({ name: 'n', description: {} }, 'game.ts');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'SERVER_GAME_BAD_METADATA', field: 'description', path: 'game.ts' });
    expect(validateMetadata({ name: 'n' }).name).toBe('n');
  });

  it('in the process runtime, metadata refused inside the sandbox is GAME_BAD_METADATA too', async () => {
    const runtime = new ProcessRuntime({ logger: createLogger({ level: 'silent' }) });
    try {
      const inspect = (bundle: { code: string; filename: string }, baseDir: string) => runtime.inspect(bundle, baseDir);
      for (const [name, field] of [['desc-object', 'description'], ['title-4mb', 'name'], ['version-object', 'squishVersion']] as const) {
        await expect(loadGame(name, join(base, name), { inspect }), name).rejects.toMatchObject({ code: ServerErrorCode.GAME_BAD_METADATA, field });
      }
      const ok = await loadGame('fine', join(base, 'fine'), { inspect });
      expect(ok.evaluatedIn).toBe('sandbox');
      expect(ok.metadata.name).toBe('Fine game');
    } finally {
      await runtime.close?.();
    }
  });

  it('a folder with hostile games: each is refused, the server serves the rest, the lobby stays 200', async () => {
    const errors = new Map<string, GameLoadError>();
    const games = await loadGamesFromDir(base, { onError: (name, e) => void errors.set(name, e as GameLoadError) });
    expect(Object.keys(games)).toEqual(['fine']);
    expect([...errors.keys()].sort()).toEqual([...cases.map((c) => c[0]), 'throws-object'].sort());
    for (const e of errors.values()) expect(e.code).toBe(ServerErrorCode.GAME_BAD_METADATA);
    const { server } = await startServer({ games, runtime: 'inline' });
    try {
      const lobby = await get(server, '/');
      expect(lobby.status).toBe(200);
      expect(lobby.text).toContain('Fine game');
      expect(lobby.text.length).toBeLessThan(64 * 1024);
      const c = await TestClient.connect(server);
      await c.joinAndSync('fine');
      await c.moreFrames(5);
      expect(c.closeInfo).toBeNull();
      c.close();
    } finally {
      await server.close();
    }
  });
});

describe('asset paths are confined to the game folder, regular files only, capped, allow-listed', () => {
  const base = join(root, 'assets');
  const outside = join(base, 'outside.png');
  const asset = (path: string) => `{ name: 'Asset attack', assets: { a: { type: 'image', path: ${JSON.stringify(path)} } } }`;
  const cases: Array<[name: string, path: string, why: RegExp, setup?: (dir: string) => void]> = [
    ['abs-shadow', '/etc/shadow', /relative/],
    ['abs-environ', '/proc/self/environ', /relative/],
    ['dotdot', '../outside.png', /\.\./],
    ['dotdot-inner', 'img/../../outside.png', /\.\./],
    ['backslash', '..\\outside.png', /"\/"/],
    ['symlink-out', 'link.png', /outside the game folder/, (d) => symlinkSync(outside, join(d, 'link.png'))],
    ['symlink-dir-out', 'sub/outside.png', /outside the game folder/, (d) => symlinkSync(base, join(d, 'sub'))],
    ['dev-zero', 'zero.png', /outside the game folder/, (d) => symlinkSync('/dev/zero', join(d, 'zero.png'))],
    ['proc-environ', 'env.png', /outside the game folder/, (d) => symlinkSync('/proc/self/environ', join(d, 'env.png'))],
    ['shadow-link', 'shadow.png', /outside the game folder/, (d) => symlinkSync('/etc/shadow', join(d, 'shadow.png'))],
    ['fifo', 'fifo.png', /not a regular file/, (d) => execFileSync('mkfifo', [join(d, 'fifo.png')])],
    ['directory', 'dir.png', /not a regular file/, (d) => mkdirSync(join(d, 'dir.png'))],
    ['oversized', 'big.png', /limit per asset/, (d) => {
      writeFileSync(join(d, 'big.png'), '');
      truncateSync(join(d, 'big.png'), DEFAULT_MAX_ASSET_BYTES + 1); // sparse: costs no disk
    }],
    ['html', 'page.html', /extension "\.html" is not allowed/, (d) => writeFileSync(join(d, 'page.html'), '<script>alert(1)</script>')],
    ['no-extension', 'environ', /extension "\(none\)" is not allowed/, (d) => writeFileSync(join(d, 'environ'), 'x')],
    ['type-mismatch', 'sound.mp3', /not an image asset/, (d) => writeFileSync(join(d, 'sound.mp3'), 'x')],
  ];

  beforeAll(() => {
    mkdirSync(base, { recursive: true });
    writeFileSync(outside, PNG);
    for (const [name, path, , setup] of cases) {
      const dir = writeGame(base, name, asset(path));
      setup?.(dir);
    }
  });

  it.each(cases)('%s is refused before it is read', async (name) => {
    const before = process.memoryUsage().rss;
    const err = await loadGame(name, join(base, name)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GameLoadError);
    expect((err as GameLoadError).code).toBe(ServerErrorCode.GAME_ASSET_REFUSED);
    expect((err as GameLoadError).field).toBe('assets.a');
    expect((err as GameLoadError).message).toMatch(cases.find((c) => c[0] === name)![2]);
    // nothing was read: no 7 GB from /dev/zero, no environment in the message
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect((err as GameLoadError).message).not.toMatch(/PATH=|root:/);
  });

  it('the per-game total is capped before reading', async () => {
    const dir = writeGame(base, 'two-files', `{ name: 'Two', assets: { a: { type: 'image', path: 'a.png' }, b: { type: 'image', path: 'b.png' } } }`);
    writeFileSync(join(dir, 'a.png'), Buffer.alloc(600));
    writeFileSync(join(dir, 'b.png'), Buffer.alloc(600));
    await expect(loadGame('two-files', dir, { assetLimits: { maxGameBytes: 1000 } })).rejects.toMatchObject({ code: ServerErrorCode.GAME_ASSET_REFUSED, field: 'assets.b' });
    const ok = await loadGame('two-files', dir, { assetLimits: { maxGameBytes: 1200 } });
    expect(ok.assets.map((a) => a.data.byteLength)).toEqual([600, 600]);
  });

  it('a missing asset is GAME_ASSET_MISSING; a symlink that stays inside the folder is fine', async () => {
    const missing = writeGame(base, 'missing', asset('gone.png'));
    await expect(loadGame('missing', missing)).rejects.toMatchObject({ code: ServerErrorCode.GAME_ASSET_MISSING, field: 'assets.a' });
    const inside = writeGame(base, 'inside-link', asset('alias.png'));
    writeFileSync(join(inside, 'real.png'), PNG);
    symlinkSync('real.png', join(inside, 'alias.png'));
    const g = await loadGame('inside-link', inside);
    expect(Buffer.from(g.assets[0]!.data).equals(PNG)).toBe(true);
  });
});

describe('the bundler resolves nothing outside the game folder except @parlor/squish', () => {
  const base = join(root, 'bundler');

  beforeAll(() => {
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'host-secret.json'), JSON.stringify({ secret: SECRET }));
    writeFileSync(join(base, 'host-lib.ts'), `export const secret = ${JSON.stringify(SECRET)};`);
    mkdirSync(join(base, 'node_modules', 'evil-pkg'), { recursive: true });
    writeFileSync(join(base, 'node_modules', 'evil-pkg', 'package.json'), JSON.stringify({ name: 'evil-pkg', main: 'index.js' }));
    writeFileSync(join(base, 'node_modules', 'evil-pkg', 'index.js'), `module.exports = ${JSON.stringify(SECRET)};`);
    writeGame(join(base, 'games'), 'json-up', `{ name: 'x' + JSON.stringify(s) }`, `import s from '../../host-secret.json';`);
    writeGame(join(base, 'games'), 'ts-up', `{ name: 'x' + secret }`, `import { secret } from '../../host-lib';`);
    writeGame(join(base, 'games'), 'abs', `{ name: 'x' + JSON.stringify(s) }`, `import s from ${JSON.stringify(join(base, 'host-secret.json'))};`);
    writeGame(join(base, 'games'), 'pkg', `{ name: 'x' + s }`, `import s from 'evil-pkg';`);
    const linked = writeGame(join(base, 'games'), 'link', `{ name: 'x' + JSON.stringify(s) }`, `import s from './data.json';`);
    symlinkSync(join(base, 'host-secret.json'), join(linked, 'data.json'));
  });

  it.each(['json-up', 'ts-up', 'abs', 'pkg', 'link'])('%s: the import is refused at the importing file:line', async (name) => {
    const err = await loadGame(name, join(base, 'games', name)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GameLoadError);
    expect((err as GameLoadError).code).toBe(ServerErrorCode.GAME_BUILD_FAILED);
    expect((err as GameLoadError).message).toMatch(/index\.ts:2:\d+: import .* outside the game folder/);
    expect((err as GameLoadError).message).not.toContain(SECRET);
  });

  it('a package.json "main" that leads out of the folder is refused before anything is read from there', async () => {
    const dir = join(base, 'games', 'main-escape');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: '../../host-lib.ts' }));
    const err = await loadGame('main-escape', dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GameLoadError);
    expect((err as GameLoadError).code).toBe(ServerErrorCode.GAME_BUILD_FAILED);
    expect((err as GameLoadError).message).toMatch(/the entry .* outside the game folder/);
    expect((err as GameLoadError).message).not.toContain(SECRET);
  });
});
