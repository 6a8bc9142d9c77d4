/**
 * The catalog service ({@link createCatalog}): the publish pipeline (upload checks, request
 * `PENDING → PROCESSING → PUBLISHED | FAILED`, the injected gate, the artifact, one committing
 * transaction), immutability, per-publisher rate limits, crash recovery at open, and manifests.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SLUG_RE, TokenBucket, VERSION_RE, type ArtifactRef, type CatalogGame, type GameVersion, type Manifest, type PublishReport, type PublishRequest } from '@parlor/squish';
import { resolveLogger, type Logger } from '../logger.js';
import { ArtifactStore, packArtifact } from './artifacts.js';
import { CatalogError, PublishFailureCause } from './errors.js';
import { DEV_ENV, checkEnv, gameOf, manifestEntries, resolveGame, rollbackTarget, versionOf } from './manifests.js';
import { isPostgresUrl } from '../operations/pg-db.js';
import { openPgStore } from './pg-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { CatalogStore, StoredVersion } from './store.js';
import type { Catalog, GameConfigPatch, ManifestChange, PublishGate } from './types.js';
import { unpackUpload, type UploadLimits } from './upload.js';

/** A pipeline stage, reported to {@link CatalogOptions.onStage} as it is reached. */
export type PublishStage = 'recorded' | 'processing' | 'gated' | 'stored' | 'published' | 'failed';

/** Options of {@link createCatalog}. Durations in ms. */
export interface CatalogOptions {
  /** The catalog's folder: `catalog.db` (SQLite), `artifacts/` and `tmp/` (uploads being published; emptied at open). Created if missing. */
  dir: string;
  /** The publish gate (e.g. `createPublishGate()` of `@parlor/server/gate`). */
  gate: PublishGate;
  /** The catalog's public base URL (no trailing slash), for `ArtifactRef.url` (`<publicUrl>/v1/artifacts/<sha>`) and `ManifestEntry.src`. */
  publicUrl: string;
  /** Publishes per publisher: `perMinute` sustained (default 10) with bursts of `burst` (default `perMinute`). */
  publishRate?: { perMinute?: number; burst?: number };
  /** Upload caps (defaults: 32 MiB gzip'd, 32 MiB unpacked, 2 000 files; see `DEFAULT_UPLOAD_LIMITS`). */
  uploadLimits?: UploadLimits;
  /** Longest a gate run may take before the request fails `GATE_TIMEOUT`. Default 300 000 (5 min). */
  gateTimeoutMs?: number;
  /** The store; default the SQLite store at `<dir>/catalog.db`, or the Postgres one of `databaseUrl`. */
  store?: CatalogStore;
  /**
   * A shared Postgres database (`postgres://user:password@host:5432/db`) holding the catalog's
   * tables instead of `<dir>/catalog.db`, so several processes serve one catalog. Artifacts stay
   * files in `<dir>/artifacts/`: every process serving the catalog must then use the same `dir`
   * (a shared folder): a version committed by one is downloaded from another. Each process
   * publishes through its own `tmp/<id>/` there, and only temporary files over an hour old are
   * removed at open (a live process's are not). Default none (SQLite).
   */
  databaseUrl?: string;
  /** Logger (pino) or level; default `'warn'`. */
  logger?: Logger | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Called as each publish request reaches a stage (tests and metrics). */
  onStage?: (stage: PublishStage, request: { id: string; slug: string; version: string }) => void;
}

/** The artifact's metadata file (as `@parlor/server/gate` writes it). */

const INTERRUPTED = { code: PublishFailureCause.INTERRUPTED, message: 'the catalog stopped while this publish ran: publish again' };

/** The request as a failure: its error kept, `FAILED`. */
const failure = (code: string, message: string, report?: PublishReport): NonNullable<PublishRequest['error']> => (report ? { code, message, report } : { code, message });

/**
 * Opens the catalog in `options.dir`: the store (migrations applied), the artifact store, and crash
 * recovery — requests a crash left `PENDING`/`PROCESSING` become `FAILED` `INTERRUPTED`, temporary
 * upload folders and artifact files are removed.
 * @throws Error when the folder or database cannot be opened (the message names it).
 */
export async function createCatalog(options: CatalogOptions): Promise<Catalog> {
  const log = resolveLogger(options.logger, 'warn');
  if (options.databaseUrl !== undefined && !isPostgresUrl(options.databaseUrl)) throw new Error(`databaseUrl must be a postgres://… URL (got ${JSON.stringify(String(options.databaseUrl).slice(0, 20))}…)`);
  const shared = options.databaseUrl !== undefined;
  mkdirSync(options.dir, { recursive: true });
  // a shared folder: this process's own tmp/<id>/, and only stale leftovers of others are removed
  const tmp = shared ? join(options.dir, 'tmp', randomUUID()) : join(options.dir, 'tmp');
  if (shared) removeStale(join(options.dir, 'tmp'), STALE_TEMP_MS);
  else rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const artifacts = new ArtifactStore(join(options.dir, 'artifacts'));
  const removed = artifacts.removeTemporaryFiles(shared ? STALE_TEMP_MS : 0);
  const store = options.store ?? (shared ? await openPgStore(options.databaseUrl!) : openSqliteStore(join(options.dir, 'catalog.db')));
  const interrupted = await store.failUnfinished(INTERRUPTED, Date.now());
  if (interrupted || removed) log.warn({ interrupted, removed }, 'catalog: publishes interrupted by a stop were marked FAILED, temporary files removed');
  return new CatalogService(options, store, artifacts, tmp, log);
}

/** Age past which another process's temporary upload or artifact file in a shared catalog folder counts as a crash's leftover, ms. */
const STALE_TEMP_MS = 3600_000;

/** Removes the entries of `dir` last changed over `ageMs` ago. */
function removeStale(dir: string, ageMs: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      if (Date.now() - statSync(join(dir, name)).mtimeMs > ageMs) rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      /* removed meanwhile */
    }
  }
}

class CatalogService implements Catalog {
  private readonly publicUrl: string;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly perMinute: number;
  private readonly burst: number;
  /** The tail of each slug@version's queue of pipelines (one at a time per slug@version). */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly running = new Set<{ abort: AbortController; done: Promise<unknown> }>();
  private closed = false;

  constructor(
    private readonly options: CatalogOptions,
    private readonly store: CatalogStore,
    private readonly artifacts: ArtifactStore,
    private readonly tmp: string,
    private readonly log: Logger,
  ) {
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.perMinute = Math.max(1e-6, options.publishRate?.perMinute ?? 10);
    this.burst = Math.max(1, options.publishRate?.burst ?? Math.ceil(this.perMinute));
  }

  listGames(): Promise<CatalogGame[]> {
    return this.store.listGames();
  }
  getGame(slug: string): Promise<CatalogGame> {
    return gameOf(this.store, slug);
  }
  async updateGame(slug: string, patch: GameConfigPatch, _by: string): Promise<CatalogGame> {
    const game = await gameOf(this.store, slug);
    const next = applyPatch(game, patch);
    next.updatedAt = Date.now();
    return (await this.store.saveGame(next)) ?? gameOf(this.store, slug);
  }
  async listVersions(slug: string): Promise<GameVersion[]> {
    await gameOf(this.store, slug);
    return (await this.store.listVersions(slug)).map(publicVersion);
  }
  async getVersion(slug: string, version: string): Promise<GameVersion> {
    await gameOf(this.store, slug);
    return publicVersion(await versionOf(this.store, slug, version));
  }
  async getPublishRequest(id: string): Promise<PublishRequest> {
    const r = typeof id === 'string' && id.length <= 64 ? await this.store.getRequest(id) : undefined;
    if (!r) throw new CatalogError('UNKNOWN_PUBLISH_REQUEST', `no publish request ${JSON.stringify(String(id).slice(0, 64))}`);
    return r;
  }
  listPublishRequests(slug?: string): Promise<PublishRequest[]> {
    return this.store.listRequests(slug);
  }

  async publish(slug: string, version: string, upload: Uint8Array, publisher: string): Promise<PublishRequest> {
    return (await this.startPublish(slug, version, upload, publisher)).done;
  }

  async startPublish(slug: string, version: string, upload: Uint8Array, publisher: string): Promise<{ request: PublishRequest; done: Promise<PublishRequest> }> {
    if (this.closed) throw new Error('the catalog is closed');
    if (typeof slug !== 'string' || !SLUG_RE.test(slug)) {
      throw new CatalogError('VALIDATION', `invalid slug ${JSON.stringify(String(slug).slice(0, 80))}: lower-case letters, digits and '-', 1–64 characters, starting with a letter or digit`);
    }
    if (typeof version !== 'string' || !VERSION_RE.test(version)) {
      throw new CatalogError('VALIDATION', `invalid version ${JSON.stringify(String(version).slice(0, 80))}: MAJOR.MINOR.PATCH with an optional pre-release (1.2.0, 1.3.0-rc.1)`);
    }
    this.takeToken(publisher);
    const unpacked = await unpackUpload(upload, this.options.uploadLimits, this.tmp);
    try {
      const existing = await this.store.getVersion(slug, version);
      if (existing) {
        if (existing.sourceSha256 !== unpacked.sourceSha256) throw versionExists(slug, version);
        const request = await this.store.getRequest(existing.requestId);
        if (request) {
          rmSync(unpacked.dir, { recursive: true, force: true });
          return { request, done: Promise.resolve(request) };
        }
      }
      const now = Date.now();
      const request: PublishRequest = { id: randomUUID(), slug, version, state: 'PENDING', publisher, error: null, sha256: null, createdAt: now, updatedAt: now };
      await this.store.createRequest(request);
      this.stage('recorded', request);
      const abort = new AbortController();
      const key = `${slug}@${version}`;
      const before = this.locks.get(key) ?? Promise.resolve();
      const done = before.then(() => this.run(request, unpacked.dir, unpacked.sourceSha256, abort.signal));
      const tail = done.catch(() => undefined);
      this.locks.set(key, tail);
      const entry = { abort, done: tail };
      this.running.add(entry);
      void tail.finally(() => {
        this.running.delete(entry);
        if (this.locks.get(key) === tail) this.locks.delete(key);
      });
      return { request, done };
    } catch (err) {
      rmSync(unpacked.dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** One publish request's pipeline, after its slug@version's earlier ones. Never rejects: ends PUBLISHED or FAILED. */
  private async run(request: PublishRequest, uploadDir: string, sourceSha256: string, signal: AbortSignal): Promise<PublishRequest> {
    const { id, slug, version } = request;
    let builtDir: string | undefined;
    const fail = async (error: NonNullable<PublishRequest['error']>): Promise<PublishRequest> => {
      await this.store.updateRequest(id, { state: 'FAILED', error, updatedAt: Date.now() });
      this.stage('failed', request);
      return (await this.store.getRequest(id))!;
    };
    try {
      if (signal.aborted) return await fail(INTERRUPTED);
      await this.store.updateRequest(id, { state: 'PROCESSING', updatedAt: Date.now() });
      this.stage('processing', request);
      const existing = await this.store.getVersion(slug, version);
      if (existing && existing.sourceSha256 !== sourceSha256) return await fail(failure('VERSION_EXISTS', versionExists(slug, version).message));
      if (existing) {
        // the same upload won a concurrent publish of this slug@version just before: the same version
        await this.store.updateRequest(id, { state: 'PUBLISHED', sha256: existing.sha256, updatedAt: Date.now() });
        this.stage('published', request);
        return (await this.store.getRequest(id))!;
      }
      const outcome = await this.runGate(uploadDir, signal);
      if ('error' in outcome) return await fail(outcome.error);
      const { report, built } = outcome;
      builtDir = built.dir;
      this.stage('gated', request);
      const packed = await packArtifact(built.dir);
      const stored = this.artifacts.put(packed.bytes);
      this.stage('stored', request);
      const now = Date.now();
      const v: StoredVersion = {
        slug, version, sha256: stored.sha256, size: stored.size, squishVersion: built.squishVersion,
        publishedAt: now, publishedBy: request.publisher, gate: report, sourceSha256, requestId: id,
      };
      const game: CatalogGame = {
        slug, name: built.name || slug, description: '', tags: [], show: true,
        access: { requiresAuth: false, minRole: null }, createdAt: now, updatedAt: now,
      };
      const committed = await this.store.commitPublish(v, game);
      if (committed.outcome === 'conflict') return await fail(failure('VERSION_EXISTS', versionExists(slug, version).message));
      this.stage('published', request);
      return (await this.store.getRequest(id))!;
    } catch (err) {
      this.log.error({ err, id, slug, version }, 'catalog: publish failed unexpectedly');
      try {
        return await fail(failure(PublishFailureCause.INTERNAL, `the catalog failed while publishing: ${(err as Error)?.message ?? 'unknown error'}`));
      } catch {
        return { ...request, state: 'FAILED', error: failure(PublishFailureCause.INTERNAL, 'the catalog failed while publishing') };
      }
    } finally {
      rmSync(uploadDir, { recursive: true, force: true });
      if (builtDir) rmSync(builtDir, { recursive: true, force: true });
    }
  }

  /** The gate, bounded by `gateTimeoutMs` and the catalog's close; a failure is the request's error. */
  private async runGate(
    uploadDir: string,
    closing: AbortSignal,
  ): Promise<{ report: PublishReport; built: NonNullable<Awaited<ReturnType<PublishGate>>['built']> } | { error: NonNullable<PublishRequest['error']> }> {
    const timeoutMs = this.options.gateTimeoutMs ?? 300_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([closing, timeout]);
    let outcome: Awaited<ReturnType<PublishGate>>;
    try {
      outcome = await new Promise((resolvePromise, reject) => {
        const onAbort = (): void => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
        this.options.gate(uploadDir, signal).then(resolvePromise, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    } catch (err) {
      if (closing.aborted) return { error: INTERRUPTED };
      if (timeout.aborted) return { error: failure(PublishFailureCause.GATE_TIMEOUT, `the publish gate took over ${timeoutMs} ms`) };
      throw err;
    }
    if (!outcome.report.passed || !outcome.built) {
      const errors = outcome.report.findings.filter((f) => f.severity === 'error');
      const first = errors[0];
      const message = first ? `the publish gate failed: ${first.at ? `${first.at}: ` : ''}${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}` : 'the publish gate failed';
      return { error: failure(PublishFailureCause.GATE_FAILED, message, outcome.report) };
    }
    return { report: outcome.report, built: outcome.built };
  }

  async promote(slug: string, version: string, env: string, by: string): Promise<ManifestChange> {
    checkEnv(env);
    await gameOf(this.store, slug);
    await versionOf(this.store, slug, version);
    const pin = await this.store.getPin(env, slug);
    const change: ManifestChange = { env, slug, version, previous: pin?.version ?? null, action: 'promote', by, at: Date.now() };
    await this.store.applyChange(change);
    return change;
  }

  async rollback(slug: string, env: string, by: string): Promise<ManifestChange> {
    checkEnv(env);
    await gameOf(this.store, slug);
    const { current, target } = rollbackTarget(await this.store.history(env, slug), env, slug);
    const change: ManifestChange = { env, slug, version: target, previous: current, action: 'rollback', by, at: Date.now() };
    await this.store.applyChange(change);
    return change;
  }

  async manifest(env: string): Promise<Manifest> {
    checkEnv(env);
    return { env, generatedAt: Date.now(), games: await manifestEntries(this.store, env, this.publicUrl) };
  }

  async manifestHistory(env: string, slug?: string): Promise<ManifestChange[]> {
    checkEnv(env);
    return this.store.history(env, slug);
  }

  resolve(game: string, env: string = DEV_ENV): Promise<ArtifactRef> {
    return resolveGame(this.store, game, env, this.publicUrl);
  }

  artifactPath(sha256: string): string | undefined {
    return this.artifacts.path(sha256);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.running) r.abort.abort(new Error('the catalog is closing'));
    await Promise.all([...this.running].map((r) => r.done));
    await this.store.close();
    if (this.options.databaseUrl !== undefined) rmSync(this.tmp, { recursive: true, force: true });
    else for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { recursive: true, force: true });
  }

  /** @throws {CatalogError} `RATE_LIMITED` when the publisher's bucket is empty. */
  private takeToken(publisher: string): void {
    let bucket = this.buckets.get(publisher);
    if (!bucket) this.buckets.set(publisher, (bucket = new TokenBucket(this.perMinute / 60, this.burst)));
    if (!bucket.take()) {
      const retryAfterSeconds = Math.max(1, Math.ceil(60 / this.perMinute));
      throw new CatalogError('RATE_LIMITED', `${publisher} published too often (${this.perMinute} per minute): retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }

  private stage(stage: PublishStage, r: { id: string; slug: string; version: string }): void {
    try {
      this.options.onStage?.(stage, { id: r.id, slug: r.slug, version: r.version });
    } catch (err) {
      this.log.warn({ err }, 'catalog: onStage threw');
    }
  }
}

/**
 * Writes the slug and version into the built folder's `parlor-artifact.json` (the gate does not
 * know them): `{slug, version, name, squishVersion, entry, assets}`, so a host can check that the
 * artifact it fetched is the version it asked for.
 */
function versionExists(slug: string, version: string): CatalogError {
  return new CatalogError('VERSION_EXISTS', `${slug}@${version} is published with other content: versions are immutable, publish a new version`);
}

/** The public {@link GameVersion} of a stored version (no store-only fields). */
function publicVersion(v: StoredVersion): GameVersion {
  const { sourceSha256: _s, requestId: _r, ...rest } = v;
  return rest;
}

/** A game with a config patch applied. @throws {CatalogError} `VALIDATION` naming the bad field. */
function applyPatch(game: CatalogGame, patch: GameConfigPatch): CatalogGame {
  const bad = (field: string, rule: string): CatalogError => new CatalogError('VALIDATION', `game config: ${field} ${rule}`);
  if (patch === null || typeof patch !== 'object') throw bad('body', 'must be an object');
  const next: CatalogGame = { ...game, tags: [...game.tags], access: { ...game.access } };
  if (patch.name !== undefined) {
    if (typeof patch.name !== 'string' || patch.name.length < 1 || patch.name.length > 80) throw bad('name', 'must be 1–80 characters');
    next.name = patch.name;
  }
  if (patch.description !== undefined) {
    if (typeof patch.description !== 'string' || patch.description.length > 500) throw bad('description', 'must be at most 500 characters');
    next.description = patch.description;
  }
  if (patch.tags !== undefined) {
    if (!Array.isArray(patch.tags) || patch.tags.length > 32 || !patch.tags.every((t) => typeof t === 'string' && t.length >= 1 && t.length <= 32)) throw bad('tags', 'must be at most 32 strings of 1–32 characters');
    next.tags = [...patch.tags];
  }
  if (patch.show !== undefined) {
    if (typeof patch.show !== 'boolean') throw bad('show', 'must be true or false');
    next.show = patch.show;
  }
  if (patch.access !== undefined) {
    const a = patch.access;
    if (a === null || typeof a !== 'object') throw bad('access', 'must be an object');
    if (a.requiresAuth !== undefined && typeof a.requiresAuth !== 'boolean') throw bad('access.requiresAuth', 'must be true or false');
    if (a.minRole !== undefined && a.minRole !== null && (typeof a.minRole !== 'string' || a.minRole.length < 1 || a.minRole.length > 64)) throw bad('access.minRole', 'must be null or 1–64 characters');
    if (a.requiresAuth !== undefined) next.access.requiresAuth = a.requiresAuth;
    if (a.minRole !== undefined) next.access.minRole = a.minRole;
    if (next.access.minRole !== null) next.access.requiresAuth = true; // a role implies a signed-in player
  }
  return next;
}
