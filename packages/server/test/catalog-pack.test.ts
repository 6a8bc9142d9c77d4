/**
 * Packing a game folder for the catalog (`parlor publish`'s upload): which files go (sorted, the
 * same list every time), which never do (node_modules, dotfiles, build output), the caps, and
 * that the gzip'd tar unpacks with `tar` to exactly those files and bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogClientError, listGameFiles, packGameFolder } from '@parlor/server/catalog';

const temps: string[] = [];
afterEach(() => {
  while (temps.length) rmSync(temps.pop()!, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-pack-test-'));
  temps.push(dir);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

/** The entries of a gzip'd tar: path, type, mtime, uid, and the bytes of files. */
async function unpack(tgz: Buffer): Promise<Array<{ path: string; type: string; mtime: number; uid: number | undefined; body: string }>> {
  const out: Array<{ path: string; type: string; mtime: number; uid: number | undefined; body: string }> = [];
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({ strict: true });
    p.on('entry', (e: ReadEntry) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => out.push({ path: e.path, type: e.type, mtime: e.mtime?.getTime() ?? -1, uid: e.uid, body: Buffer.concat(chunks).toString('utf8') }));
    });
    p.on('error', reject);
    p.on('end', () => resolve());
    p.end(gunzipSync(tgz));
  });
  return out;
}

const GAME = {
  'index.ts': 'export default 1;\n',
  'package.json': '{"name":"@acme/space-pong"}\n',
  'assets/ball.svg': '<svg/>',
  'src/Paddle.ts': 'export const p = 2;\n',
  'src/dist/kept.ts': 'export const kept = true;\n',
  'node_modules/left-pad/index.js': 'module.exports = 1;\n',
  'src/node_modules/x/index.js': 'nested node_modules\n',
  '.git/config': '[core]\n',
  '.env': 'SECRET=1\n',
  'assets/.DS_Store': 'x',
  'dist/index.js': 'built\n',
  'build/out.js': 'built\n',
  'coverage/lcov.info': 'cov\n',
  'tsconfig.tsbuildinfo': '{}',
  'npm-debug.log': 'log\n',
};
const KEPT = ['assets/ball.svg', 'index.ts', 'package.json', 'src/Paddle.ts', 'src/dist/kept.ts'];

describe('packing a game folder for the catalog', () => {
  it('lists the game files, sorted, without node_modules, dotfiles or build output', () => {
    expect(listGameFiles(folder(GAME))).toEqual(KEPT);
  });

  it('packs exactly those files, with mtime 0 and no owner, and the same bytes every time', async () => {
    const dir = folder(GAME);
    const a = await packGameFolder(dir);
    expect(a.files).toEqual(KEPT);
    expect(a.bytes).toBe(KEPT.reduce((n, f) => n + Buffer.byteLength(GAME[f as keyof typeof GAME]), 0));
    const entries = await unpack(a.tgz);
    expect(entries.map((e) => e.path)).toEqual(KEPT);
    for (const e of entries) {
      expect(e.type).toBe('File');
      expect(e.mtime).toBe(0);
      expect(e.body).toBe(readFileSync(join(dir, e.path), 'utf8'));
    }
    // touching the files changes nothing: the upload of the same content is the same bytes
    for (const f of KEPT) utimesSync(join(dir, f), new Date(), new Date(2030, 1, 1));
    const b = await packGameFolder(dir);
    expect(b.tgz.equals(a.tgz)).toBe(true);
  });

  it('refuses a symbolic link, naming it (the catalog refuses links)', async () => {
    const dir = folder({ 'index.ts': 'export default 1;\n', 'assets/real.svg': '<svg/>' });
    symlinkSync(join(dir, 'assets/real.svg'), join(dir, 'assets/alias.svg'));
    const err = await packGameFolder(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogClientError);
    expect((err as CatalogClientError).code).toBe('SERVER_CATALOG_PACK');
    expect((err as CatalogClientError).status).toBe(0);
    expect((err as Error).message).toContain('assets/alias.svg is a symbolic link');
  });

  it('refuses a folder over the file cap, naming the folder', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`f${i}.ts`] = `export const x${i} = ${i};\n`;
    const dir = folder(files);
    expect(listGameFiles(dir, 6)).toHaveLength(6);
    expect(() => listGameFiles(dir, 5)).toThrow(`${dir} has more than 5 files to upload`);
  });

  it('refuses a folder whose files or upload are over the byte caps, naming the folder and the cap', async () => {
    const dir = folder({ 'index.ts': 'export default 1;\n', 'assets/big.txt': 'x'.repeat(5000) });
    await expect(packGameFolder(dir, { maxUnpackedBytes: 4000 })).rejects.toThrow(`${dir} holds 5.0 kB in 2 files, over the catalog's upload cap of 4.0 kB`);
    // random bytes hardly compress: the gzip'd tar is over a 2 kB cap
    const noisy = folder({ 'index.ts': 'export default 1;\n', 'assets/noise.txt': randomBytes(6000).toString('base64') });
    await expect(packGameFolder(noisy, { maxBytes: 2000 })).rejects.toThrow(`${noisy} packs to more than 2.0 kB (the catalog's upload cap`);
  });

  it('refuses a missing folder, a file, and a folder with nothing to upload', async () => {
    const dir = folder({ 'index.ts': 'export default 1;\n', '.env': 'x', 'node_modules/a.js': '1' });
    await expect(packGameFolder(join(dir, 'nope'))).rejects.toThrow(`${join(dir, 'nope')}: no such folder`);
    await expect(packGameFolder(join(dir, 'index.ts'))).rejects.toThrow('not a folder');
    rmSync(join(dir, 'index.ts'));
    await expect(packGameFolder(dir)).rejects.toThrow(`${dir}: no files to upload`);
  });
});
