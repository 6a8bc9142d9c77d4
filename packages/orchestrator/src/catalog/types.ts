/**
 * The catalog module's seams. The catalog (store, artifact store, publish pipeline, manifests) is
 * its own module: it runs inside the orchestrator process by default and can run on its own
 * (`parlor-catalog`). Placement never imports it; room creation sees it only as a
 * {@link GameResolver}, which returns a resolved {@link ArtifactRef}.
 */
import type { ArtifactRef, CatalogGame, GameAccess, GameVersion, Manifest, ManifestChange, PublishReport, PublishRequest } from '@parlor/squish';

// the catalog's own modules take it from here; it is squish's (the shared contract)
export type { ManifestChange };

/**
 * What room creation needs of the catalog: `pong` (in `env`) or `pong@1.2.0` to a resolved version.
 * Throws `CatalogError` `UNKNOWN_GAME` / `UNKNOWN_VERSION` / `UNKNOWN_ENV` (404) or
 * `NOT_IN_MANIFEST` (409) with the cause.
 */
export interface GameResolver {
  resolve(game: string, env: string): Promise<ArtifactRef>;
}

/** The result of the publish gate on an unpacked upload. */
export interface GateOutcome {
  report: PublishReport;
  /**
   * When passed: the folder holding what the artifact is made of (the built bundle `index.cjs`, the
   * game's assets at their paths, `parlor-artifact.json`), and the game's metadata as the gate read it.
   */
  built?: { dir: string; squishVersion: number; name: string };
}

/**
 * The publish gate as the catalog calls it: scan + build + smoke run of an unpacked upload folder.
 * Injected (the orchestrator's CLI passes `@parlor/server/gate`'s), so the catalog module does not
 * depend on a runtime.
 */
export type PublishGate = (uploadDir: string, signal: AbortSignal) => Promise<GateOutcome>;

/** Changes `PUT /v1/games/:slug` may make. */
export interface GameConfigPatch {
  name?: string;
  description?: string;
  tags?: string[];
  show?: boolean;
  access?: Partial<GameAccess>;
}

/**
 * The catalog service: everything the REST routes and the CLIs call. Methods throw `CatalogError`
 * with a stable `code` and an HTTP `status` (404 unknown, 409 conflict, 413 too large, 429 rate, 400 bad input).
 */
export interface Catalog extends GameResolver {
  /** Games, optionally only those in an environment's manifest. */
  listGames(): Promise<CatalogGame[]>;
  getGame(slug: string): Promise<CatalogGame>;
  updateGame(slug: string, patch: GameConfigPatch, by: string): Promise<CatalogGame>;
  listVersions(slug: string): Promise<GameVersion[]>;
  getVersion(slug: string, version: string): Promise<GameVersion>;
  /**
   * Records a publish request `PENDING` for an upload (a gzip'd tar of the game folder), then runs
   * it (`PROCESSING` → `PUBLISHED` | `FAILED`). Resolves with the request as it ended. The same
   * slug@version with other content is refused (409 `VERSION_EXISTS`); the same content again is
   * `PUBLISHED` with the existing version (idempotent). Concurrent publishes of one slug@version:
   * exactly one wins. Rate-limited per publisher (429 `RATE_LIMITED`).
   */
  publish(slug: string, version: string, upload: Uint8Array, publisher: string): Promise<PublishRequest>;
  /**
   * {@link publish} split for `POST /v1/games/:slug/versions/:version` (202, the pipeline runs in
   * the background): resolves once the upload is checked and the request recorded, with `request`
   * (`PENDING`; or the existing `PUBLISHED` request when that slug@version holds this content
   * already, answered 200) and `done`, the request as it ends (never rejects). Throws, before
   * recording anything, what {@link publish} throws for the upload (400/409/413/429).
   */
  startPublish(slug: string, version: string, upload: Uint8Array, publisher: string): Promise<{ request: PublishRequest; done: Promise<PublishRequest> }>;
  getPublishRequest(id: string): Promise<PublishRequest>;
  listPublishRequests(slug?: string): Promise<PublishRequest[]>;
  /** Pins `slug@version` in `env`'s manifest. */
  promote(slug: string, version: string, env: string, by: string): Promise<ManifestChange>;
  /** Pins the version that was pinned before the current one (409 `NOTHING_TO_ROLL_BACK`). */
  rollback(slug: string, env: string, by: string): Promise<ManifestChange>;
  /** An environment's manifest; `dev` follows each game's latest version unless pinned. */
  manifest(env: string): Promise<Manifest>;
  manifestHistory(env: string, slug?: string): Promise<ManifestChange[]>;
  /** The artifact's bytes by hash, or `undefined`; never partial. */
  artifactPath(sha256: string): string | undefined;
  /** Closes the store. */
  close(): Promise<void>;
}
