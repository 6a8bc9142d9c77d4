/**
 * Unpacking a publish upload (a gzip'd tar of the game folder) into a fresh temporary folder,
 * safely: byte caps on the compressed and the uncompressed size (413 `UPLOAD_TOO_LARGE`), a
 * file-count cap, and no entry may escape the folder, be absolute, a link or a device (400
 * `BAD_UPLOAD` naming the entry). Nothing is written before the whole archive is checked.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { CatalogError } from './errors.js';

/** Caps of an upload. */
export interface UploadLimits {
  /** Largest upload as sent (gzip'd), bytes. Default {@link DEFAULT_UPLOAD_LIMITS}: 32 MiB. */
  maxCompressedBytes?: number;
  /** Largest total of the unpacked files (the tar's size), bytes. Default 32 MiB. */
  maxUnpackedBytes?: number;
  /** Most files (folders not counted). Default 2 000. */
  maxFiles?: number;
}

/** Defaults of {@link UploadLimits}: 32 MiB compressed, 32 MiB unpacked, 2 000 files. */
export const DEFAULT_UPLOAD_LIMITS: Required<UploadLimits> = { maxCompressedBytes: 32 * 1024 * 1024, maxUnpackedBytes: 32 * 1024 * 1024, maxFiles: 2000 };

/** An unpacked upload. */
export interface UnpackedUpload {
  /** The fresh folder holding the game's files (the caller removes it). */
  dir: string;
  /** Number of files. */
  files: number;
  /** Total bytes of the files. */
  bytes: number;
  /** sha256 over the sorted files' paths, sizes and contents: the same game folder gives the same digest, however it was archived. */
  sourceSha256: string;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** The entry's path inside the folder, or a reason it is refused. */
function safePath(raw: string): { path: string } | { problem: string } {
  if (raw.includes('\0')) return { problem: 'has a NUL byte in its path' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('\\')) return { problem: 'is an absolute path' };
  if (raw.includes('\\')) return { problem: 'has a backslash in its path' };
  const norm = posix.normalize(raw).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../') || raw.split('/').includes('..')) return { problem: 'escapes the game folder (..)' };
  return { path: norm === '.' ? '' : norm };
}

const bad = (entry: string, why: string): CatalogError =>
  new CatalogError('BAD_UPLOAD', `upload entry ${JSON.stringify(entry.slice(0, 200))} ${why}: archive the game folder itself (parlor publish does)`);

/**
 * Checks and unpacks an upload into a new folder under `parent` (default the OS temp folder).
 * @throws {CatalogError} `UPLOAD_TOO_LARGE` (413) over a byte cap; `BAD_UPLOAD` (400) for data that
 *   is not a gzip'd tar, too many files, or an entry that is absolute, escapes the folder, or is a
 *   link, device or FIFO (the message names it).
 */
export async function unpackUpload(upload: Uint8Array, limits: UploadLimits = {}, parent: string = tmpdir()): Promise<UnpackedUpload> {
  const lim = { ...DEFAULT_UPLOAD_LIMITS, ...limits };
  if (upload.length > lim.maxCompressedBytes) {
    throw new CatalogError('UPLOAD_TOO_LARGE', `the upload is ${upload.length} bytes, over the cap of ${lim.maxCompressedBytes} bytes gzip'd`);
  }
  let tarBytes: Buffer;
  try {
    // the tar's size bounds the files' total (plus a header or two per entry); a gzip bomb stops at the cap
    tarBytes = gunzipSync(upload, { maxOutputLength: lim.maxUnpackedBytes + (lim.maxFiles + 64) * 2048 + 1024 * 1024 });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new CatalogError('UPLOAD_TOO_LARGE', `the upload unpacks to over ${lim.maxUnpackedBytes} bytes`);
    }
    throw new CatalogError('BAD_UPLOAD', 'the upload is not gzip data: send a gzip\'d tar of the game folder (Content-Type: application/gzip)', { cause: err });
  }
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>();
  let total = 0;
  let problem: CatalogError | undefined;
  await new Promise<void>((resolvePromise) => {
    const parser = new Parser({ strict: true });
    const fail = (e: CatalogError): void => {
      problem ??= e;
    };
    parser.on('entry', (e: ReadEntry) => {
      const chunks: Buffer[] = [];
      if (problem) return void e.resume();
      const p = safePath(e.path);
      if ('problem' in p) return void (fail(bad(e.path, p.problem)), e.resume());
      if (e.type === 'Directory') {
        if (p.path) dirs.add(p.path);
        return void e.resume();
      }
      if (!FILE_TYPES.has(e.type)) return void (fail(bad(e.path, `is a ${e.type}: only files and folders may be uploaded`)), e.resume());
      if (!p.path) return void (fail(bad(e.path, 'has no name')), e.resume());
      if (files.size + 1 > lim.maxFiles) return void (fail(new CatalogError('BAD_UPLOAD', `the upload holds over ${lim.maxFiles} files`)), e.resume());
      total += e.size ?? 0;
      if (total > lim.maxUnpackedBytes) return void (fail(new CatalogError('UPLOAD_TOO_LARGE', `the upload unpacks to over ${lim.maxUnpackedBytes} bytes`)), e.resume());
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => files.set(p.path, Buffer.concat(chunks)));
    });
    parser.on('warn', (_code: string, message: string | Error) => fail(new CatalogError('BAD_UPLOAD', `the upload is not a valid tar: ${typeof message === 'string' ? message : message.message}`)));
    parser.on('error', (err: Error) => fail(new CatalogError('BAD_UPLOAD', `the upload is not a valid tar: ${err.message}`, { cause: err })));
    parser.on('end', () => resolvePromise());
    parser.on('close', () => resolvePromise());
    parser.end(tarBytes);
  });
  if (problem) throw problem;
  if (tarBytes.length > 0 && files.size === 0 && dirs.size === 0) throw new CatalogError('BAD_UPLOAD', 'the upload is not a tar of a game folder (no entries)');
  for (const f of files.keys()) {
    // a file and a folder of one name, or a file under a file: refused before writing
    if (dirs.has(f)) throw bad(f, 'is both a file and a folder');
    for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) if (files.has(d)) throw bad(f, `sits under the file ${d}`);
  }

  const dir = mkdtempSync(join(parent, 'parlor-upload-'));
  const hash = createHash('sha256');
  const sorted = [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const d of dirs) mkdirSync(join(dir, d), { recursive: true });
  for (const path of sorted) {
    const bytes = files.get(path)!;
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, bytes, { mode: 0o644, flag: 'wx' });
    hash.update(`${path}\0${bytes.length}\0${createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  return { dir, files: files.size, bytes: total, sourceSha256: hash.digest('hex') };
}
