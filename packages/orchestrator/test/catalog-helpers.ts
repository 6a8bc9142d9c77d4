/**
 * Helpers of the catalog tests: temporary folders, gzip'd tar uploads of game folders (as
 * `parlor publish` sends them) and hand-made archives (hostile entries), fixture games.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Header, create as createTar } from 'tar';

export const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** The server's fixture folder game with an asset (star.svg) and a helper module. */
export const SPRITE = join(repo, 'packages/server/test/fixtures/games/sprite');

const made: string[] = [];
/** A fresh temporary folder, removed by {@link removeTemps}. */
export function tempDir(prefix = 'parlor-catalog-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
export function removeTemps(): void {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
}

/** A gzip'd tar of a folder's files (as `parlor publish` sends it). */
export async function gzipFolder(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of createTar({ cwd: dir, gzip: true, portable: true }, ['.']) as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A copy of the sprite game whose label module returns `label` (so its content differs per label). */
export function spriteGame(label = 'sprite'): string {
  const dir = tempDir('parlor-sprite-');
  cpSync(SPRITE, dir, { recursive: true });
  writeFileSync(join(dir, 'label.ts'), `export function label(): string {\n  return ${JSON.stringify(label)};\n}\n`);
  return dir;
}

/** A game that imports a forbidden built-in on line 2 of index.ts (the gate's static scan fails it). */
export function forbiddenGame(): string {
  const dir = tempDir('parlor-forbidden-');
  writeFileSync(
    join(dir, 'index.ts'),
    [
      "import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';",
      "import { execSync } from 'node:child_process';",
      'export default class Evil extends Game {',
      "  static override metadata(): GameMetadata { return { name: 'Evil' }; }",
      '  getLayers(): Node[] { execSync("true"); return [new Group()]; }',
      '}',
      '',
    ].join('\n'),
  );
  return dir;
}

/** One hand-made tar entry. */
export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  body?: string | Buffer;
  linkpath?: string;
}

/** A gzip'd tar of hand-made entries (paths exactly as given: `../x`, `/etc/x`, links…). */
export function rawUpload(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const type = e.type ?? 'File';
    const header = new Header({ path: e.path, type, size: type === 'File' ? body.length : 0, mode: type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), linkpath: e.linkpath });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A folder with `n` small files. */
export function manyFiles(n: number): string {
  const dir = tempDir('parlor-many-');
  mkdirSync(join(dir, 'f'));
  for (let i = 0; i < n; i++) writeFileSync(join(dir, 'f', `${i}.txt`), `${i}`);
  return dir;
}
