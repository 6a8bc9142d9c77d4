import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { AssetRef, AssetSpec } from '@parlor/squish';
import { GameLoadError, ServerErrorCode } from '../errors.js';

/** An asset file of a loaded game, held in memory and served with immutable caching. */
export interface LoadedAsset extends AssetRef {
  /** Absolute path of the source file. */
  file: string;
  /** MIME type from the file extension. */
  contentType: string;
  /** File contents. */
  data: Uint8Array;
}

/** URL path prefix of game assets: `/parlor/assets/<game>/<hash>/<basename>`. */
export const ASSETS_PATH = '/parlor/assets/';

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.flac': 'audio/flac',
  '.webm': 'audio/webm',
};

/** MIME type of a file name by extension; `application/octet-stream` when unknown. */
export function contentTypeOf(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Reads every asset of `metadata().assets` (paths relative to `baseDir`), hashes its contents
 * (SHA-256, first 16 hex digits) and builds its URL `/parlor/assets/<game>/<hash>/<basename>`.
 * @throws {GameLoadError} `GAME_ASSET_MISSING` when a file cannot be read.
 */
export async function loadAssets(game: string, baseDir: string, specs: Record<string, AssetSpec>): Promise<LoadedAsset[]> {
  const out: LoadedAsset[] = [];
  for (const [id, spec] of Object.entries(specs)) {
    if (!spec || typeof spec.path !== 'string' || (spec.type !== 'image' && spec.type !== 'audio')) {
      throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, baseDir, `asset "${id}" must be { type: 'image' | 'audio', path: string }`);
    }
    const file = resolve(baseDir, spec.path);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      throw new GameLoadError(ServerErrorCode.GAME_ASSET_MISSING, file, `asset "${id}" of game "${game}": cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
    const name = encodeURIComponent(basename(file));
    out.push({
      id,
      type: spec.type,
      hash,
      url: `${ASSETS_PATH}${encodeURIComponent(game)}/${hash}/${name}`,
      file,
      contentType: contentTypeOf(file),
      data,
    });
  }
  return out;
}
