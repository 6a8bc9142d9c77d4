/**
 * The host's cache of catalog artifacts: fetches an artifact with Node's fetch (undici) (`ArtifactRef.url`, the catalog's
 * `GET /v1/artifacts/<sha256>`), verifies the sha256 of its bytes before anything is written or
 * extracted, keeps the verified tar on disk (`<dir>/<sha256>.tar`: temporary name, fsync, rename),
 * and extracts it into a fresh folder per load. Every use re-hashes the cached tar: a corrupt or
 * tampered copy is deleted and fetched again. Nothing that failed its hash is ever kept, extracted or run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { SHA256_RE, type ArtifactRef } from '@parlor/squish';
import { ARTIFACT_METADATA_FILE, type ArtifactMetadata } from '../gate/publish.js';
import { ArtifactError, ServerConfigError, ServerErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/** Default size cap of one artifact: 64 MiB. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 64 * 1024 * 1024;
/** Default time one artifact fetch may take, headers and body: 30 s. */
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 30_000;
/** Most entries one artifact may hold. */
const MAX_ENTRIES = 10_000;

/** A verified artifact, extracted into a folder of its own. */
export interface ExtractedArtifact {
  sha256: string;
  /** The folder it was extracted into (fresh for each {@link ArtifactCache.load}). */
  dir: string;
  /** Absolute path of its bundle (`<dir>/index.cjs`). */
  entry: string;
  metadata: ArtifactMetadata;
  /** `true` when this load fetched it from the catalog (cold), `false` when the verified cache served it (warm). */
  fetched: boolean;
}

/** Options of an {@link ArtifactCache}. */
export interface ArtifactCacheOptions {
  /** Cache folder (created if missing): verified tars at `<dir>/<sha256>.tar`, extracted artifacts under `<dir>/extracted/`. */
  dir: string;
  /** Bearer key sent with each fetch (`Authorization: Bearer <key>`), or a function read at each fetch (a reloaded key file). */
  key?: string | (() => string | undefined);
  /** Largest artifact accepted, bytes; default {@link DEFAULT_ARTIFACT_MAX_BYTES}. */
  maxBytes?: number;
  /** Longest one fetch may take, ms; default {@link DEFAULT_ARTIFACT_TIMEOUT_MS}. */
  timeoutMs?: number;
  logger?: Logger;
}

/** See the file's opening comment. Concurrent loads of one sha256 share one fetch. */
export class ArtifactCache {
  /** The cache folder (absolute). */
  readonly dir: string;
  private readonly extractRoot: string;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly inflight = new Map<string, Promise<{ bytes: Buffer; fetched: boolean }>>();
  private swept = false;

  /** @throws {ServerConfigError} on a size cap or timeout that is not a positive integer. */
  constructor(private readonly options: ArtifactCacheOptions) {
    this.dir = resolve(options.dir);
    this.maxBytes = options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ARTIFACT_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) throw new ServerConfigError('artifact maxBytes must be a positive integer');
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs < 1) throw new ServerConfigError('artifact timeoutMs must be a positive integer');
    // Extracted folders of this process only: another process sharing the cache keeps its own.
    this.extractRoot = join(this.dir, 'extracted', `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Where the verified tar of `sha256` is cached. */
  tarPath(sha256: string): string {
    return join(this.dir, `${sha256}.tar`);
  }

  /**
   * The verified bytes of an artifact: the cached tar if its bytes still hash to `ref.sha256`
   * (a copy that does not is deleted, logged, and fetched again), else fetched from `ref.url`,
   * verified, then cached. Concurrent calls for one sha256 share one fetch.
   * @throws {ArtifactError} `SERVER_ARTIFACT_MISMATCH` (fetched bytes with another hash: nothing is kept),
   *   `SERVER_ARTIFACT_FETCH_FAILED`; `SERVER_ARTIFACT_INVALID` for a sha256 that is not 64 lower-case hex digits.
   */
  verified(ref: Pick<ArtifactRef, 'sha256' | 'url'>): Promise<{ bytes: Buffer; fetched: boolean }> {
    const sha = ref.sha256;
    if (typeof sha !== 'string' || !SHA256_RE.test(sha)) throw new ArtifactError(ServerErrorCode.ARTIFACT_INVALID, String(sha).slice(0, 64), 'an artifact sha256 must be 64 lower-case hex digits');
    let p = this.inflight.get(sha);
    if (!p) {
      p = this.obtain(ref).finally(() => this.inflight.delete(sha));
      this.inflight.set(sha, p);
    }
    return p;
  }

  /**
   * Verifies (see {@link verified}) and extracts an artifact into a fresh folder, then reads its
   * `parlor-artifact.json`. An artifact is content only (it names no slug or version, so one
   * artifact serves every version and environment with the same files): the sha256 is what pins it.
   * @throws {ArtifactError} as {@link verified}; `SERVER_ARTIFACT_INVALID` for a tar that does not parse, an entry
   *   that is not a file or folder (links), a path that is absolute or escapes the folder, or missing/invalid metadata.
   */
  async load(ref: Pick<ArtifactRef, 'sha256' | 'url'>): Promise<ExtractedArtifact> {
    const { bytes, fetched } = await this.verified(ref);
    if (!this.swept) await this.sweepStale();
    const dir = join(this.extractRoot, `${ref.sha256.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    try {
      await extractTar(bytes, dir, ref.sha256);
      const metadata = await readMetadata(dir, ref.sha256);
      return { sha256: ref.sha256, dir, entry: join(dir, metadata.entry), metadata, fetched };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Removes one extracted folder of this cache (a version no longer loaded). The cached tar stays. */
  async release(dir: string): Promise<void> {
    if (resolve(dir).startsWith(this.extractRoot + sep)) await rm(dir, { recursive: true, force: true });
  }

  /** Removes every folder this cache extracted (the cached tars stay). */
  async close(): Promise<void> {
    await rm(this.extractRoot, { recursive: true, force: true });
  }

  /** {@link close}, synchronously (for a process `exit` handler). */
  closeSync(): void {
    rmSync(this.extractRoot, { recursive: true, force: true });
  }

  /**
   * Removes the extracted folders of processes that are gone (a host killed with -9 never ran its
   * `close`); folders of live processes sharing the cache are left alone. Once per cache.
   */
  private async sweepStale(): Promise<void> {
    this.swept = true;
    const root = join(this.dir, 'extracted');
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
      if (!Number.isSafeInteger(pid) || pid === process.pid || alive(pid)) continue;
      await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private async obtain(ref: Pick<ArtifactRef, 'sha256' | 'url'>): Promise<{ bytes: Buffer; fetched: boolean }> {
    const sha = ref.sha256;
    const path = this.tarPath(sha);
    const cached = await readFile(path).catch(() => null);
    if (cached) {
      if (sha256Of(cached) === sha) return { bytes: cached, fetched: false };
      this.options.logger?.warn({ sha256: sha, path }, 'cached artifact does not match its sha256: deleted, fetching it again');
      await unlink(path).catch(() => undefined);
    }
    const bytes = await this.fetch(ref);
    const got = sha256Of(bytes);
    if (got !== sha) throw new ArtifactError(ServerErrorCode.ARTIFACT_MISMATCH, sha, `artifact ${sha} from ${safeUrl(ref.url)} hashes to ${got}: refused, nothing kept or run`);
    await this.store(path, bytes);
    return { bytes, fetched: true };
  }

  private async fetch(ref: Pick<ArtifactRef, 'sha256' | 'url'>): Promise<Buffer> {
    const sha = ref.sha256;
    const fail = (why: string, cause?: unknown): ArtifactError =>
      new ArtifactError(ServerErrorCode.ARTIFACT_FETCH_FAILED, sha, `artifact ${sha} from ${safeUrl(ref.url)}: ${why}`, { cause });
    let url: URL;
    try {
      url = new URL(ref.url);
    } catch {
      throw fail('not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail('not an http(s) URL');
    const key = typeof this.options.key === 'function' ? this.options.key() : this.options.key;
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      // Node's fetch (undici): no redirect is followed (an artifact URL is the catalog's own).
      const res = await fetch(url, { method: 'GET', headers: key ? { authorization: `Bearer ${key}` } : {}, signal, redirect: 'manual' });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw fail(`the catalog answered HTTP ${res.status}`);
      }
      return await readCapped(res, this.maxBytes, (why) => fail(why));
    } catch (err) {
      if (err instanceof ArtifactError) throw err;
      throw fail(signal.aborted ? `no complete answer within ${this.timeoutMs} ms` : (err as Error).message, err);
    }
  }

  /** Writes verified bytes under a temporary name, fsyncs, renames into place. */
  private async store(path: string, bytes: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      // Caching is an optimisation: a full disk still lets this verified artifact run.
      this.options.logger?.warn({ path, error: (err as Error).message }, 'artifact not cached');
    }
  }
}

/**
 * A response body, refused (`fail`) once it is over `maxBytes` (by its `Content-Length`, or while
 * reading); never buffers more than `maxBytes`.
 */
export async function readCapped(res: Response, maxBytes: number, fail: (why: string) => Error): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw fail(`${declared} bytes, over the cap of ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw fail(`over the cap of ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** Whether a process with this id runs (one we may not signal still runs). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lower-case hex sha256 of `bytes`. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function invalid(sha: string, why: string): ArtifactError {
  return new ArtifactError(ServerErrorCode.ARTIFACT_INVALID, sha, `artifact ${sha} ${why}`);
}

/** A URL without its credentials or query (for messages and logs). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`.slice(0, 200);
  } catch {
    return JSON.stringify(String(url).slice(0, 100));
  }
}

/**
 * Extracts a verified tar into `dir`: regular files and folders only, every path relative and
 * inside `dir` (the artifact was verified, but a catalog could still have stored a hostile one).
 */
async function extractTar(bytes: Buffer, dir: string, sha: string): Promise<void> {
  const files: { path: string; data: Buffer }[] = [];
  const dirs: string[] = [];
  await new Promise<void>((resolveDone, reject) => {
    let failed: ArtifactError | null = null;
    const fail = (why: string): void => {
      failed ??= invalid(sha, why);
    };
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      const path = entry.path;
      const safe = safeRelative(path);
      if (failed) return entry.resume();
      if (files.length + dirs.length >= MAX_ENTRIES) fail(`has more than ${MAX_ENTRIES} entries`);
      else if (!safe) fail(`has an entry escaping its folder: ${JSON.stringify(path.slice(0, 200))}`);
      else if (entry.type === 'Directory') dirs.push(safe);
      else if (entry.type !== 'File' && entry.type !== 'OldFile') fail(`has a ${entry.type} entry (${JSON.stringify(path.slice(0, 200))}): only files and folders are allowed`);
      else {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => files.push({ path: safe, data: Buffer.concat(chunks) }));
        return;
      }
      entry.resume();
    });
    parser.on('error', (err: Error) => fail(`is not a valid tar: ${err.message}`));
    parser.on('close', () => (failed ? reject(failed) : resolveDone()));
    parser.end(bytes);
  });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const d of dirs) await mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  for (const f of files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, f.path), f.data, { mode: 0o644, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? invalid(sha, `has two entries for ${JSON.stringify(f.path.slice(0, 200))}`) : err;
    });
  }
}

/** A tar entry path made relative and normalised, or `null` when it is absolute, has `..`, or names the root. */
function safeRelative(path: string): string | null {
  if (path.includes('\0') || path.includes('\\') || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return null;
  const norm = posix.normalize(path).replace(/\/+$/, '');
  if (norm === '' || norm === '.' || norm === '..' || norm.startsWith('../') || norm.split('/').includes('..')) return null;
  return norm;
}

async function readMetadata(dir: string, sha: string): Promise<ArtifactMetadata> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, ARTIFACT_METADATA_FILE), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(sha, code === 'ENOENT' ? 'has no parlor-artifact.json' : 'has a parlor-artifact.json that is not JSON');
  }
  const m = raw as Partial<ArtifactMetadata> | null;
  const bad = (field: string): ArtifactError => invalid(sha, `has an invalid parlor-artifact.json: ${field}`);
  if (!m || typeof m !== 'object') throw bad('not an object');
  if (typeof m.squishVersion !== 'number' || !Number.isInteger(m.squishVersion)) throw bad('squishVersion');
  if (m.entry !== 'index.cjs') throw bad('entry');
  if (m.assets !== undefined && (!Array.isArray(m.assets) || !m.assets.every((a) => typeof a === 'string'))) throw bad('assets');
  try {
    if (!(await stat(join(dir, m.entry))).isFile()) throw new Error('not a file');
  } catch {
    throw invalid(sha, `has no ${m.entry} (its entry)`);
  }
  return {
    name: typeof m.name === 'string' ? m.name : 'game',
    squishVersion: m.squishVersion,
    entry: m.entry,
    assets: m.assets ?? [],
  };
}
