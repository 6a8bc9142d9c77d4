/**
 * A version's files, read from its artifact (an uncompressed tar) without extracting it: an index
 * of the tar's regular files (path → byte range), built once per artifact and kept (artifacts are
 * immutable), and the content type of a file by its extension.
 */
import { open } from 'node:fs/promises';

/** Where one file's bytes are in the tar. */
export interface TarEntry {
  /** Byte offset of the file's first byte in the tar. */
  offset: number;
  /** Bytes. */
  size: number;
}

const BLOCK = 512;

/** Most artifacts whose index is kept (the oldest used is dropped first). */
const MAX_INDEXES = 256;
const indexes = new Map<string, Promise<Map<string, TarEntry>>>();

/**
 * The regular files of the tar at `path` (an artifact addressed by `sha256`), by their relative
 * path. Reads only the headers. Understands ustar (with `prefix`), pax `path` records and GNU long
 * names. @throws the file system's error, or `Error` for a tar that is not well formed.
 */
export function tarIndex(sha256: string, path: string): Promise<Map<string, TarEntry>> {
  let index = indexes.get(sha256);
  if (index) {
    indexes.delete(sha256);
    indexes.set(sha256, index);
    return index;
  }
  index = readIndex(path);
  indexes.set(sha256, index);
  index.catch(() => indexes.delete(sha256));
  if (indexes.size > MAX_INDEXES) indexes.delete(indexes.keys().next().value!);
  return index;
}

async function readIndex(path: string): Promise<Map<string, TarEntry>> {
  const out = new Map<string, TarEntry>();
  const fh = await open(path, 'r');
  try {
    const total = (await fh.stat()).size;
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | null = null;
    while (pos + BLOCK <= total) {
      await fh.read(header, 0, BLOCK, pos);
      if (header.every((b) => b === 0)) break;
      const size = parseInt(field(header, 124, 12).trim() || '0', 8);
      if (!Number.isFinite(size) || size < 0) throw new Error(`bad tar header at ${pos}`);
      const type = String.fromCharCode(header[156]!);
      const data = pos + BLOCK;
      if (type === 'x' || type === 'L') {
        const body = Buffer.alloc(size);
        await fh.read(body, 0, size, data);
        longName = type === 'L' ? body.toString('utf8').replace(/\0.*$/s, '') : paxPath(body.toString('utf8'));
      } else {
        const prefix = field(header, 345, 155);
        const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
        longName = null;
        if (type === '0' || type === '\0') out.set(name.replace(/^\.\//, ''), { offset: data, size });
      }
      pos = data + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await fh.close();
  }
  return out;
}

function field(buf: Buffer, at: number, len: number): string {
  const raw = buf.subarray(at, at + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

/** The `path` of a pax extended header (`<len> path=<value>\n` records), or `null`. */
function paxPath(text: string): string | null {
  for (const rec of text.split('\n')) {
    const m = /^\d+ path=(.*)$/s.exec(rec);
    if (m) return m[1]!;
  }
  return null;
}

/** Content types of a version's files, by extension (others are `application/octet-stream`). */
export const GAME_FILE_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  cjs: 'text/javascript; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  mp4: 'video/mp4',
  webm: 'video/webm',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  wasm: 'application/wasm',
};

/** The content type of a version's file `path`. */
export function gameFileType(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot > path.lastIndexOf('/') ? path.slice(dot + 1).toLowerCase() : '';
  return GAME_FILE_TYPES[ext] ?? 'application/octet-stream';
}
