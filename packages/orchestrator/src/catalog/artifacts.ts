/**
 * Artifacts: {@link packArtifact} makes the deterministic tar of a built game folder, and
 * {@link ArtifactStore} keeps artifacts on the filesystem, content-addressed and immutable, at
 * `<dir>/<sha[0..2]>/<sha>.tar`. A file is written under a temporary name in its final folder,
 * fsynced, renamed into place and its folder fsynced, so a reader (or a crash) never sees a
 * partial artifact under its final name; the same bytes are stored once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { SHA256_RE } from '@parlor/squish';
import { create as createTar } from 'tar';

/** Prefix of the temporary names the store writes to (never served, removed by {@link ArtifactStore.removeTemporaryFiles}). */
export const ARTIFACT_TEMP_PREFIX = '.tmp-';

/** An artifact's bytes, their sha256 (lower-case hex) and size in bytes. */
export interface PackedArtifact {
  bytes: Buffer;
  sha256: string;
  size: number;
}

/** sha256 of `bytes` in lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Packs a folder into the artifact format: an uncompressed tar whose entries are sorted by path,
 * with mtime 0, uid/gid 0, no owner names, mode 0644 for files and 0755 for folders, and no links,
 * so the same files always give the same bytes (and the same sha256).
 * @throws Error naming the entry when the folder holds a link, a device or another non-regular file.
 */
export async function packArtifact(dir: string): Promise<PackedArtifact> {
  const entries: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs)) {
      const full = join(abs, name);
      const st = lstatSync(full);
      const rel = relative(dir, full).split(sep).join('/');
      if (st.isDirectory()) {
        entries.push(rel);
        walk(full);
      } else if (st.isFile()) entries.push(rel);
      else throw new Error(`cannot pack ${full}: an artifact holds only regular files and folders`);
    }
  };
  walk(dir);
  entries.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pack = createTar(
    {
      cwd: dir,
      portable: true,
      noDirRecurse: true,
      mtime: new Date(0),
      onWriteEntry: (e) => {
        const st = e.stat as { mode: number; isDirectory(): boolean } | undefined;
        if (st) st.mode = (st.mode & ~0o7777) | (st.isDirectory() ? 0o755 : 0o644);
      },
    },
    entries,
  );
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  const bytes = Buffer.concat(chunks);
  return { bytes, sha256: sha256Hex(bytes), size: bytes.length };
}

/** fsyncs a folder (so a rename in it is durable). */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A content-addressed, immutable store of artifacts on the filesystem, at
 * `<dir>/<sha[0..2]>/<sha>.tar`. Only complete files are ever under their final names.
 */
export class ArtifactStore {
  /** @param dir the store's folder (created if missing). */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Where the artifact `sha256` lives (or would live). @throws Error for a string that is not a sha256. */
  location(sha256: string): string {
    if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256.slice(0, 80))}`);
    return join(this.dir, sha256.slice(0, 2), `${sha256}.tar`);
  }

  /** Whether the artifact is stored. `false` for a string that is not a sha256. */
  has(sha256: string): boolean {
    return SHA256_RE.test(sha256) && existsSync(this.location(sha256));
  }

  /** The artifact's file path when stored, else `undefined` (also for a string that is not a sha256). */
  path(sha256: string): string | undefined {
    return this.has(sha256) ? this.location(sha256) : undefined;
  }

  /** The artifact's bytes when stored, else `undefined`. */
  read(sha256: string): Buffer | undefined {
    const p = this.path(sha256);
    return p === undefined ? undefined : readFileSync(p);
  }

  /**
   * Stores `bytes` under their sha256 (nothing is written when they are stored already): a
   * temporary file in the final folder, fsync, rename, fsync of the folder.
   * @returns the sha256, size in bytes and path.
   */
  put(bytes: Uint8Array): { sha256: string; size: number; path: string } {
    const sha256 = sha256Hex(bytes);
    const final = this.location(sha256);
    if (!existsSync(final)) {
      const folder = join(this.dir, sha256.slice(0, 2));
      mkdirSync(folder, { recursive: true });
      const temp = join(folder, `${ARTIFACT_TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
      const fd = openSync(temp, 'wx', 0o644);
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } catch (err) {
        closeSync(fd);
        rmSync(temp, { force: true });
        throw err;
      }
      closeSync(fd);
      renameSync(temp, final);
      fsyncDir(folder);
      fsyncDir(this.dir);
    }
    return { sha256, size: bytes.length, path: final };
  }

  /**
   * Removes temporary files a crash left behind (call at open, before any `put`). Returns how many.
   * @param olderThanMs only those last changed over this long ago (a folder shared with live processes); default 0: all.
   */
  removeTemporaryFiles(olderThanMs = 0): number {
    let n = 0;
    for (const sub of readdirSync(this.dir)) {
      const folder = join(this.dir, sub);
      if (!lstatSync(folder).isDirectory()) continue;
      for (const name of readdirSync(folder)) {
        if (!name.startsWith(ARTIFACT_TEMP_PREFIX)) continue;
        if (olderThanMs > 0 && Date.now() - lstatSync(join(folder, name)).mtimeMs <= olderThanMs) continue;
        rmSync(join(folder, name), { force: true });
        n++;
      }
    }
    return n;
  }
}
