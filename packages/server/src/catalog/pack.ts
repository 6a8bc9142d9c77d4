/**
 * Packs a game folder for `POST /v1/games/:slug/versions/:version`: a gzip'd tar of the files a
 * version is made of (sources, assets, package.json), never node_modules, `.git`, dotfiles or
 * build output, capped locally with the catalog's own default caps so an upload the catalog would
 * refuse is refused here first, with the folder named.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { create } from 'tar';
import { ServerErrorCode } from '../errors.js';
import { CatalogClientError } from './client-error.js';

/** Largest upload (the gzip'd tar), bytes: 32 MiB, the catalog's default (413 `UPLOAD_TOO_LARGE` above it). */
export const DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024;
/** Largest total of the files in one upload (unpacked), bytes: 32 MiB, the catalog's default (413 `UPLOAD_TOO_LARGE` above it). */
export const DEFAULT_MAX_UNPACKED_BYTES = 32 * 1024 * 1024;
/** Most files in one upload: 2 000, the catalog's default (400 `BAD_UPLOAD` above it). */
export const DEFAULT_MAX_UPLOAD_FILES = 2000;

/** Folder names never uploaded, at any depth. */
const SKIPPED_DIRS = new Set(['node_modules']);
/** Build output at the top of the game folder, never uploaded (the catalog builds the version itself). */
const SKIPPED_TOP_DIRS = new Set(['dist', 'build', 'out', 'coverage']);
/** Files never uploaded, at any depth. */
const SKIPPED_FILE = /\.(tsbuildinfo|log)$/;

/** Caps of {@link packGameFolder}. */
export interface PackLimits {
  /** Largest gzip'd tar, bytes. Default {@link DEFAULT_MAX_UPLOAD_BYTES} (32 MiB). */
  maxBytes?: number;
  /** Largest total of the files packed, bytes. Default {@link DEFAULT_MAX_UNPACKED_BYTES} (32 MiB). */
  maxUnpackedBytes?: number;
  /** Most files. Default {@link DEFAULT_MAX_UPLOAD_FILES} (2 000). */
  maxFiles?: number;
}

/** A packed game folder. */
export interface PackedGame {
  /** The game folder, absolute. */
  dir: string;
  /** The files packed, relative to `dir` with `/` separators, sorted (the tar's entry order). */
  files: string[];
  /** Total size of the files packed, bytes (before compression). */
  bytes: number;
  /** The gzip'd tar (the upload's body). */
  tgz: Buffer;
}

/**
 * The files of a game folder that an upload carries, relative with `/` separators, sorted by
 * code unit (so the same folder always packs the same list): every regular file except what is
 * under `node_modules` (at any depth), a name starting with `.` (`.git`, `.env`, …), the top
 * folders `dist`, `build`, `out`, `coverage`, and `*.tsbuildinfo` / `*.log` files.
 * @throws {CatalogClientError} `SERVER_CATALOG_PACK` when `dir` is not a folder, when it holds a
 *   symbolic link or another non-regular file (the catalog refuses links), or more than `maxFiles` files.
 */
export function listGameFiles(dir: string, maxFiles = DEFAULT_MAX_UPLOAD_FILES): string[] {
  const root = resolve(dir);
  let st;
  try {
    st = statSync(root);
  } catch {
    throw packError(`${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw packError(`${dir}: not a folder (publish the game's folder)`);
  const files: string[] = [];
  const walk = (abs: string, top: boolean): void => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const name = e.name;
      if (name.startsWith('.')) continue;
      const path = join(abs, name);
      const rel = relative(root, path).split(sep).join('/');
      if (e.isDirectory()) {
        if (SKIPPED_DIRS.has(name) || (top && SKIPPED_TOP_DIRS.has(name))) continue;
        walk(path, false);
      } else if (e.isFile()) {
        if (SKIPPED_FILE.test(name)) continue;
        files.push(rel);
        if (files.length > maxFiles) {
          throw packError(`${dir} has more than ${maxFiles} files to upload (node_modules, dotfiles and dist/build are left out already): remove files, or publish a smaller folder`);
        }
      } else if (e.isSymbolicLink()) {
        throw packError(`${dir}: ${rel} is a symbolic link, which the catalog refuses: replace it with the file itself (or move it out of the folder)`);
      } else {
        throw packError(`${dir}: ${rel} is not a regular file (a socket, FIFO or device): move it out of the folder`);
      }
    }
  };
  walk(root, true);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Packs a game folder as a gzip'd tar: the files of {@link listGameFiles}, sorted, with mtime 0
 * and no owner names, so the same folder packs to the same entries.
 * @throws {CatalogClientError} `SERVER_CATALOG_PACK` (see {@link listGameFiles}), or when the files
 *   total over `maxUnpackedBytes` or the gzip'd tar is over `maxBytes` (the message names the folder,
 *   the size and the cap).
 */
export async function packGameFolder(dir: string, limits: PackLimits = {}): Promise<PackedGame> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const root = resolve(dir);
  const files = listGameFiles(dir, limits.maxFiles ?? DEFAULT_MAX_UPLOAD_FILES);
  if (files.length === 0) throw packError(`${dir}: no files to upload (an empty folder, or only skipped ones)`);
  let bytes = 0;
  for (const f of files) bytes += lstatSync(join(root, f)).size;
  const maxUnpacked = limits.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  if (bytes > maxUnpacked) {
    throw packError(`${dir} holds ${formatBytes(bytes)} in ${files.length} files, over the catalog's upload cap of ${formatBytes(maxUnpacked)}: move large files out of the folder`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = create({ gzip: true, cwd: root, portable: true, noDirRecurse: true, mtime: new Date(0) }, files);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw packError(`${dir} packs to more than ${formatBytes(maxBytes)} (the catalog's upload cap; ${formatBytes(bytes)} in ${files.length} files): move large files out of the folder`);
    }
    chunks.push(chunk);
  }
  return { dir: root, files, bytes, tgz: Buffer.concat(chunks, size) };
}

/** `1234567` → `1.2 MB` (decimal units, as file managers show sizes). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function packError(message: string): CatalogClientError {
  return new CatalogClientError(ServerErrorCode.CATALOG_PACK, 0, message);
}
