/**
 * Manifests and resolution over a {@link CatalogStore}: an environment's entries (`dev` follows each
 * game's latest version unless pinned; other environments list only their pins), rollback targets
 * from the history, and `pong` / `pong@1.2.0` to an {@link ArtifactRef}.
 */
import { ENV_RE, SLUG_RE, VERSION_RE, type ArtifactRef, type CatalogGame, type ManifestEntry } from '@parlor/squish';
import semver from 'semver';
import { CatalogError } from './errors.js';
import type { CatalogStore, StoredVersion } from './store.js';
import type { ManifestChange } from './types.js';

/** The environment that follows each game's latest published version unless pinned. */
export const DEV_ENV = 'dev';

/** @throws {CatalogError} `UNKNOWN_ENV` for a name failing `ENV_RE`. */
export function checkEnv(env: string): void {
  if (typeof env !== 'string' || !ENV_RE.test(env)) {
    throw new CatalogError('UNKNOWN_ENV', `unknown environment ${JSON.stringify(String(env).slice(0, 40))}: an environment is lower-case letters, digits and '-' (e.g. dev, staging, prod)`);
  }
}

/** The game, or `UNKNOWN_GAME`. */
export async function gameOf(store: CatalogStore, slug: string): Promise<CatalogGame> {
  const game = SLUG_RE.test(slug) ? await store.getGame(slug) : undefined;
  if (!game) throw new CatalogError('UNKNOWN_GAME', `unknown game ${JSON.stringify(slug.slice(0, 80))}: publish it first (parlor publish)`);
  return game;
}

/** The version, or `UNKNOWN_VERSION`. */
export async function versionOf(store: CatalogStore, slug: string, version: string): Promise<StoredVersion> {
  const v = VERSION_RE.test(version) ? await store.getVersion(slug, version) : undefined;
  if (!v) throw new CatalogError('UNKNOWN_VERSION', `${slug} has no published version ${JSON.stringify(version.slice(0, 80))}: see GET /v1/games/${slug}/versions`);
  return v;
}

/** The latest version of a list in semver order (pre-releases below their release), or `undefined`. */
export function latest(versions: readonly StoredVersion[]): StoredVersion | undefined {
  return [...versions].sort((a, b) => semver.rcompare(a.version, b.version))[0];
}

/** The version `env` runs of a game: its pin, else (in `dev`) the latest; `undefined` when none. */
export async function versionIn(store: CatalogStore, env: string, slug: string): Promise<StoredVersion | undefined> {
  const pin = await store.getPin(env, slug);
  if (pin) return store.getVersion(slug, pin.version);
  return env === DEV_ENV ? latest(await store.listVersions(slug)) : undefined;
}

/** A manifest entry (the seed's `prod.games.json` shape) for a game's version. */
export function entryOf(game: CatalogGame, v: StoredVersion, publicUrl: string): ManifestEntry {
  return {
    slug: game.slug,
    name: game.name,
    src: `${publicUrl}/v1/game-files/${game.slug}/${v.version}/`,
    url_path: `/play/${game.slug}`,
    version: v.version,
    sha256: v.sha256,
    squish_version: v.squishVersion,
    access_control: { requires_auth: game.access.requiresAuth, min_role: game.access.minRole },
    tags: [...game.tags],
    show: game.show,
  };
}

/** The entries of an environment's manifest, by slug. */
export async function manifestEntries(store: CatalogStore, env: string, publicUrl: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const slugs = env === DEV_ENV ? (await store.listGames()).map((g) => g.slug) : (await store.listPins(env)).map((p) => p.slug);
  for (const slug of slugs) {
    const game = await store.getGame(slug);
    const v = game && (await versionIn(store, env, slug));
    if (game && v) out.push(entryOf(game, v, publicUrl));
  }
  return out;
}

/**
 * The version a rollback pins: the history replayed as a stack (a promote pushes, a rollback pops,
 * a remove empties it); the target is the entry under the top.
 * @throws {CatalogError} `NOTHING_TO_ROLL_BACK` when there is none.
 */
export function rollbackTarget(history: readonly ManifestChange[], env: string, slug: string): { current: string; target: string } {
  const stack: string[] = [];
  for (const c of history) {
    if (c.action === 'promote' && c.version !== null) {
      if (stack[stack.length - 1] !== c.version) stack.push(c.version);
    } else if (c.action === 'rollback') stack.pop();
    else if (c.action === 'remove') stack.length = 0;
  }
  if (stack.length < 2) {
    throw new CatalogError('NOTHING_TO_ROLL_BACK', `${slug} has no version pinned in ${env} before ${stack.length ? stack[0] : 'now'}: promote a version instead`);
  }
  return { current: stack[stack.length - 1]!, target: stack[stack.length - 2]! };
}

/**
 * Resolves `pong` (the version `env` runs) or `pong@1.2.0` (that version, whatever `env`).
 * @throws {CatalogError} `VALIDATION` for a malformed name, `UNKNOWN_ENV`, `UNKNOWN_GAME`,
 *   `UNKNOWN_VERSION` (404) or `NOT_IN_MANIFEST` (409).
 */
export async function resolveGame(store: CatalogStore, game: string, env: string, publicUrl: string): Promise<ArtifactRef> {
  checkEnv(env);
  const at = typeof game === 'string' ? game.indexOf('@') : -1;
  const slug = at < 0 ? String(game) : game.slice(0, at);
  const version = at < 0 ? undefined : game.slice(at + 1);
  if (!SLUG_RE.test(slug) || (version !== undefined && !VERSION_RE.test(version))) {
    throw new CatalogError('VALIDATION', `game ${JSON.stringify(String(game).slice(0, 80))} is not a slug or slug@version (e.g. pong, pong@1.2.0)`);
  }
  const g = await gameOf(store, slug);
  const v = version !== undefined ? await versionOf(store, slug, version) : await versionIn(store, env, slug);
  if (!v) throw new CatalogError('NOT_IN_MANIFEST', `${slug} is not in the ${env} manifest: promote a version (parlor promote ${slug}@<version> --env ${env})`);
  return { slug, version: v.version, sha256: v.sha256, squishVersion: v.squishVersion, url: `${publicUrl}/v1/artifacts/${v.sha256}`, access: { ...g.access } };
}
