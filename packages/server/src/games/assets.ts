import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { basename, extname, isAbsolute, resolve, sep } from 'node:path';
import type { AssetRef, AssetSpec } from '@parlor/squish';
import { GameLoadError, ServerErrorCode } from '../errors.js';

/** An asset file of a loaded game, held in memory and served with immutable caching. */
export interface LoadedAsset extends AssetRef {
  /** Absolute, real (symlink-free) path of the source file, inside the game folder. */
  file: string;
  /** MIME type from the file extension (see {@link ASSET_TYPES}). */
  contentType: string;
  /** File contents. */
  data: Uint8Array;
}

/** URL path prefix of game assets: `/parlor/assets/<game>/<hash>/<basename>`. */
export const ASSETS_PATH = '/parlor/assets/';

/** Largest single asset file, bytes (8 MiB): larger files are refused before they are read. */
export const DEFAULT_MAX_ASSET_BYTES = 8 * 1024 * 1024;
/** Largest total of one game's asset files, bytes (64 MiB): checked before each file is read. */
export const DEFAULT_MAX_GAME_ASSET_BYTES = 64 * 1024 * 1024;

/**
 * The MIME allow-list: asset file extensions (lower case, with the dot) → MIME type and the
 * `AssetSpec.type` they may be declared as. Any other extension is refused.
 */
export const ASSET_TYPES: Readonly<Record<string, { mime: string; type: 'image' | 'audio' }>> = Object.freeze({
  '.png': { mime: 'image/png', type: 'image' },
  '.jpg': { mime: 'image/jpeg', type: 'image' },
  '.jpeg': { mime: 'image/jpeg', type: 'image' },
  '.gif': { mime: 'image/gif', type: 'image' },
  '.webp': { mime: 'image/webp', type: 'image' },
  '.avif': { mime: 'image/avif', type: 'image' },
  '.svg': { mime: 'image/svg+xml', type: 'image' },
  '.ico': { mime: 'image/x-icon', type: 'image' },
  '.mp3': { mime: 'audio/mpeg', type: 'audio' },
  '.ogg': { mime: 'audio/ogg', type: 'audio' },
  '.oga': { mime: 'audio/ogg', type: 'audio' },
  '.wav': { mime: 'audio/wav', type: 'audio' },
  '.m4a': { mime: 'audio/mp4', type: 'audio' },
  '.aac': { mime: 'audio/aac', type: 'audio' },
  '.flac': { mime: 'audio/flac', type: 'audio' },
  '.webm': { mime: 'audio/webm', type: 'audio' },
});

/** MIME type of a file name by extension (see {@link ASSET_TYPES}); `application/octet-stream` when unknown. */
export function contentTypeOf(file: string): string {
  return ASSET_TYPES[extname(file).toLowerCase()]?.mime ?? 'application/octet-stream';
}

/** Size caps of {@link loadAssets}, bytes. */
export interface AssetLimits {
  /** Largest single asset; default {@link DEFAULT_MAX_ASSET_BYTES} (8 MiB). */
  maxAssetBytes?: number;
  /** Largest total per game; default {@link DEFAULT_MAX_GAME_ASSET_BYTES} (64 MiB). */
  maxGameBytes?: number;
}

/**
 * Reads every asset of `metadata().assets` (paths relative to `baseDir`), hashes its contents
 * (SHA-256, first 16 hex digits) and builds its URL `/parlor/assets/<game>/<hash>/<basename>`.
 *
 * Asset paths are untrusted: a path must be relative, without `..` segments, backslashes or
 * control characters, and must resolve (following symlinks, `realpath`) to a file inside the
 * real `baseDir`; the file is opened without following a final symlink and without blocking
 * (FIFOs), and must be a regular file (`fstat`) whose size fits the caps — checked before a byte
 * is read. Its extension must be on {@link ASSET_TYPES} and match the declared `type`.
 *
 * @throws {GameLoadError} `SERVER_GAME_ASSET_REFUSED` (path, file type, size or extension refused) or
 *   `SERVER_GAME_ASSET_MISSING` (no such file / unreadable), with `field` = `'assets.<id>'`;
 *   `SERVER_GAME_BAD_METADATA` when a spec is not `{ type: 'image' | 'audio', path: string }`.
 */
export async function loadAssets(game: string, baseDir: string, specs: Record<string, AssetSpec>, limits: AssetLimits = {}): Promise<LoadedAsset[]> {
  const maxAsset = limits.maxAssetBytes ?? DEFAULT_MAX_ASSET_BYTES;
  const maxGame = limits.maxGameBytes ?? DEFAULT_MAX_GAME_ASSET_BYTES;
  const out: LoadedAsset[] = [];
  const entries = Object.entries(specs ?? {});
  if (entries.length === 0) return out;
  let realBase: string;
  try {
    realBase = await realpath(resolve(baseDir));
  } catch (err) {
    throw new GameLoadError(ServerErrorCode.GAME_ASSET_MISSING, baseDir, `game "${game}": cannot resolve its folder ${baseDir}: ${errMessage(err)}`, { cause: err });
  }
  let total = 0;
  for (const [id, spec] of entries) {
    const field = `assets.${id}`;
    if (!spec || typeof spec !== 'object' || typeof spec.path !== 'string' || (spec.type !== 'image' && spec.type !== 'audio')) {
      throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, baseDir, `asset "${id}" must be { type: 'image' | 'audio', path: string }`, { field });
    }
    const refuse = (why: string): never => {
      throw new GameLoadError(ServerErrorCode.GAME_ASSET_REFUSED, baseDir, `asset "${id}" of game "${game}" (${JSON.stringify(spec.path.slice(0, 120))}): ${why}`, { field });
    };
    const rel = spec.path;
    // eslint-disable-next-line no-control-regex
    if (rel.length === 0 || /[\u0000-\u001f\u007f]/.test(rel)) refuse('the path is empty or has control characters');
    if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.startsWith('~')) refuse('the path must be relative to the game folder');
    if (rel.includes('\\')) refuse('use "/" in asset paths, not "\\"');
    if (rel.split('/').includes('..')) refuse('the path must not contain ".." segments');
    const ext = extname(rel).toLowerCase();
    const kind = ASSET_TYPES[ext];
    if (!kind) refuse(`the extension "${ext || '(none)'}" is not allowed (allowed: ${Object.keys(ASSET_TYPES).join(' ')})`);
    if (kind!.type !== spec.type) refuse(`a "${ext}" file is not an ${spec.type} asset`);

    let file: string;
    try {
      file = await realpath(resolve(realBase, rel));
    } catch (err) {
      throw new GameLoadError(ServerErrorCode.GAME_ASSET_MISSING, baseDir, `asset "${id}" of game "${game}": cannot read ${resolve(realBase, rel)}: ${errMessage(err)}`, {
        cause: err,
        field,
      });
    }
    if (!file.startsWith(realBase + sep)) refuse('it resolves (through a symlink) outside the game folder');

    let data: Buffer;
    let fh;
    try {
      fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (code === 'ELOOP') refuse('it is a symlink that changed while loading');
      throw new GameLoadError(ServerErrorCode.GAME_ASSET_MISSING, baseDir, `asset "${id}" of game "${game}": cannot open ${file}: ${errMessage(err)}`, { cause: err, field });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) refuse('it is not a regular file');
      if (st.size > maxAsset) refuse(`it is ${st.size} bytes; the limit per asset is ${maxAsset}`);
      if (total + st.size > maxGame) refuse(`the game's assets would total ${total + st.size} bytes; the limit per game is ${maxGame}`);
      data = Buffer.alloc(st.size);
      let off = 0;
      while (off < st.size) {
        const { bytesRead } = await fh.read(data, off, st.size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      if (off < st.size) data = data.subarray(0, off);
      total += data.byteLength;
    } catch (err) {
      if (err instanceof GameLoadError) throw err;
      throw new GameLoadError(ServerErrorCode.GAME_ASSET_MISSING, baseDir, `asset "${id}" of game "${game}": cannot read ${file}: ${errMessage(err)}`, { cause: err, field });
    } finally {
      await fh.close().catch(() => {});
    }
    const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
    const name = encodeURIComponent(basename(rel));
    out.push({
      id,
      type: spec.type,
      hash,
      url: `${ASSETS_PATH}${encodeURIComponent(game)}/${hash}/${name}`,
      file,
      contentType: kind!.mime,
      data,
    });
  }
  return out;
}

function errMessage(err: unknown): string {
  const m = (err as { message?: unknown })?.message;
  return typeof m === 'string' ? m : 'unknown error';
}
