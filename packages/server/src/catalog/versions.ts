/**
 * A host's catalog versions: loads an `ArtifactRef` into a {@link GameServer} through the
 * {@link ArtifactCache} (fetched and verified once, then the verified cache), and follows an
 * environment's manifest (`GET /v1/manifests/<env>`): each listed game's pinned version becomes
 * the current one (the lobby's, new rooms'), while rooms of other versions play on.
 */
import { ENV_RE, SHA256_RE, type ArtifactRef, type GameAccess, type Manifest, type ManifestEntry } from '@parlor/squish';
import { ServerConfigError } from '../errors.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { GameServer } from '../server.js';
import { readCapped, type ArtifactCache } from './artifact-cache.js';

/** Longest a manifest fetch may take, ms. */
const MANIFEST_TIMEOUT_MS = 15_000;
/** Largest manifest accepted, bytes. */
const MANIFEST_MAX_BYTES = 8 * 1024 * 1024;

/** What one {@link CatalogVersions.applyManifest} did. */
export interface ManifestApplied {
  /** `slug@version` of every game now current from the manifest. */
  current: string[];
  /** Entries that could not be loaded (their previous version, if any, stays current). */
  failed: { game: string; error: string }[];
  /** Slugs no longer in the manifest: no longer offered (their live rooms play on). */
  retired: string[];
}

/** See the file's opening comment. */
export class CatalogVersions {
  private readonly pending = new Map<string, Promise<LoadedGame>>();
  /** Slugs made current from the manifest (so a game gone from it is retired, a local game never). */
  private readonly fromManifest = new Set<string>();
  /** The version made current per slug (for the log line when it changes). */
  private readonly current = new Map<string, string>();

  constructor(
    private readonly server: GameServer,
    readonly cache: ArtifactCache,
    private readonly logger?: Logger,
  ) {}

  /**
   * The loaded version `ref` names, loading it if needed: fetch (or the verified cache), verify,
   * extract, load into the server. Concurrent calls for one version share one load.
   * With `current`, it becomes the current build of its game (listed in the lobby unless `listed` is `false`).
   * @throws {ArtifactError} `SERVER_ARTIFACT_*` (a mismatch is never extracted nor run); {@link GameLoadError} when its build fails.
   */
  async ensure(ref: ArtifactRef, options: { current?: boolean; listed?: boolean } = {}): Promise<LoadedGame> {
    const key = `${ref.slug}@${ref.version}`;
    let game = this.server.gameVersion(ref.slug, ref.version);
    if (!game || game.sha256 !== ref.sha256) {
      let p = this.pending.get(key);
      if (!p) {
        p = this.load(ref).finally(() => this.pending.delete(key));
        this.pending.set(key, p);
      }
      game = await p;
    }
    // Current or not, listed or not, and the access of new rooms: never a rebuild.
    game = await this.server.loadVersion(
      { slug: ref.slug, version: ref.version, sha256: ref.sha256, dir: game.baseDir, entry: game.entry ?? '', access: ref.access, listed: options.listed },
      { current: options.current },
    );
    if (options.current && this.current.get(ref.slug) !== ref.version) {
      this.logger?.info({ game: ref.slug, version: ref.version, previous: this.current.get(ref.slug) ?? null }, 'version now current: new rooms run it, running rooms keep theirs');
      this.current.set(ref.slug, ref.version);
    }
    return game;
  }

  private async load(ref: ArtifactRef): Promise<LoadedGame> {
    const artifact = await this.cache.load(ref);
    try {
      const game = await this.server.loadVersion({ slug: ref.slug, version: ref.version, sha256: ref.sha256, dir: artifact.dir, entry: artifact.entry, access: ref.access });
      this.logger?.info({ game: ref.slug, version: ref.version, sha256: ref.sha256, fetched: artifact.fetched }, artifact.fetched ? 'artifact fetched and verified' : 'artifact verified from the cache');
      if (game.baseDir !== artifact.dir) await this.cache.release(artifact.dir);
      return game;
    } catch (err) {
      await this.cache.release(artifact.dir);
      throw err;
    }
  }

  /**
   * Makes each game of `manifest` current at its pinned version (its artifact at
   * `<catalogUrl>/v1/artifacts/<sha256>`), retires the games a previous manifest listed that this
   * one does not, and unloads versions no room runs any more. One game failing to load is logged
   * and reported; the others still apply.
   */
  async applyManifest(manifest: Manifest, catalogUrl: string): Promise<ManifestApplied> {
    const out: ManifestApplied = { current: [], failed: [], retired: [] };
    const listed = new Set<string>();
    for (const entry of manifest.games) {
      listed.add(entry.slug);
      try {
        await this.ensure(refOf(entry, catalogUrl), { current: true, listed: entry.show !== false });
        this.fromManifest.add(entry.slug);
        out.current.push(`${entry.slug}@${entry.version}`);
      } catch (err) {
        const error = (err as Error).message;
        out.failed.push({ game: `${entry.slug}@${entry.version}`, error });
        this.logger?.error({ game: entry.slug, version: entry.version, code: (err as { code?: unknown }).code, error }, 'manifest game not loaded');
      }
    }
    for (const slug of [...this.fromManifest]) {
      if (listed.has(slug)) continue;
      this.server.retireGame(slug);
      this.fromManifest.delete(slug);
      this.current.delete(slug);
      this.logger?.info({ game: slug }, 'game no longer in the manifest: no new rooms; running rooms play on');
      out.retired.push(slug);
    }
    await this.prune();
    return out;
  }

  /** Unloads the versions that are not current and that no live room runs, and removes their extracted folders. */
  async prune(): Promise<void> {
    for (const game of this.server.pruneVersions()) await this.cache.release(game.baseDir);
  }
}

/** The `ArtifactRef` of a manifest entry: the artifact at `<catalogUrl>/v1/artifacts/<sha256>`. */
export function refOf(entry: ManifestEntry, catalogUrl: string): ArtifactRef {
  const access: GameAccess = { requiresAuth: entry.access_control?.requires_auth === true, minRole: entry.access_control?.min_role ?? null };
  return {
    slug: entry.slug,
    version: entry.version,
    sha256: entry.sha256,
    squishVersion: entry.squish_version,
    url: new URL(`v1/artifacts/${entry.sha256}`, withSlash(catalogUrl)).href,
    access,
  };
}

/**
 * Fetches `GET <catalogUrl>/v1/manifests/<env>` (`Authorization: Bearer <key>`) and unwraps the
 * `/v1` envelope.
 * @throws {ServerConfigError} for an env failing `ENV_RE`; {@link Error} naming the URL for an unreachable catalog,
 *   a refusal (its `cause` and message), or an answer that is not a manifest.
 */
export async function fetchManifest(catalogUrl: string, env: string, key: string | undefined): Promise<Manifest> {
  if (!ENV_RE.test(env)) throw new ServerConfigError(`--env ${JSON.stringify(env.slice(0, 40))}: an environment is lower-case letters, digits and "-" (e.g. prod)`);
  const url = new URL(`v1/manifests/${env}`, withSlash(catalogUrl));
  const where = `${url.origin}${url.pathname}`;
  let status: number;
  let text = '';
  try {
    const res = await fetch(url, { method: 'GET', headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(MANIFEST_TIMEOUT_MS), redirect: 'manual' });
    status = res.status;
    text = (await readCapped(res, MANIFEST_MAX_BYTES, (why) => new Error(why))).toString('utf8');
  } catch (err) {
    throw new Error(`catalog ${where}: ${(err as Error).message}`, { cause: err });
  }
  let body: { status?: unknown; data?: unknown; cause?: unknown; message?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`catalog ${where}: HTTP ${status}, not JSON`);
  }
  if (status !== 200 || body.status !== 'OK') throw new Error(`catalog ${where}: HTTP ${status} ${String(body.cause ?? '')}: ${String(body.message ?? '').slice(0, 200)}`);
  const m = body.data as Manifest | undefined;
  if (!m || !Array.isArray(m.games) || !m.games.every((g) => g && typeof g.slug === 'string' && typeof g.version === 'string' && typeof g.sha256 === 'string' && SHA256_RE.test(g.sha256))) {
    throw new Error(`catalog ${where}: the answer is not a manifest`);
  }
  return m;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Options of {@link followManifest}. */
export interface FollowManifestOptions {
  /** The catalog's base URL (`http://catalog:7070`); the manifest is `<catalogUrl>/v1/manifests/<env>`. */
  catalogUrl: string;
  /** The environment whose manifest is followed (`prod`). */
  env: string;
  /** The bearer key, read at each fetch. */
  key: () => string | undefined;
  /** How often the manifest is fetched again, ms (the first fetch is at once). */
  intervalMs: number;
  logger?: Logger;
}

/** A running {@link followManifest}. */
export interface ManifestFollower {
  /** Fetches and applies the manifest now (after a refresh in progress, if any). Never rejects: a failure is logged and `null`. */
  refresh(): Promise<ManifestApplied | null>;
  /** Stops the periodic refresh. */
  stop(): void;
}

/**
 * Follows an environment's manifest: fetches and applies it at once, then every `intervalMs`
 * (never two at a time). A catalog that cannot be reached is logged, and the games already
 * loaded keep being served until the next refresh succeeds.
 */
export function followManifest(versions: CatalogVersions, options: FollowManifestOptions): ManifestFollower {
  let running: Promise<ManifestApplied | null> = Promise.resolve(null);
  let lastError = '';
  const once = async (): Promise<ManifestApplied | null> => {
    try {
      const manifest = await fetchManifest(options.catalogUrl, options.env, options.key());
      const applied = await versions.applyManifest(manifest, options.catalogUrl);
      if (lastError) options.logger?.info({ env: options.env }, 'manifest fetched again');
      lastError = '';
      return applied;
    } catch (err) {
      const error = (err as Error).message;
      // Logged once per distinct failure, not every interval.
      if (error !== lastError) options.logger?.error({ env: options.env, error }, 'manifest not fetched; the games loaded keep being served');
      lastError = error;
      return null;
    }
  };
  const refresh = (): Promise<ManifestApplied | null> => (running = running.then(once));
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref?.();
  return { refresh, stop: () => clearInterval(timer) };
}
