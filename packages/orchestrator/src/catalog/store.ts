/**
 * The catalog's persistence seam: {@link CatalogStore}. The SQLite store (`sqlite-store.ts`) is the
 * default; the Postgres store (`pg-store.ts`, `--database-url`) implements the same interface for
 * several processes serving one catalog. Every method is async so a
 * networked store fits; each method that changes several rows does so in one transaction.
 */
import type { CatalogGame, GameVersion, PublishRequest } from '@parlor/squish';
import type { ManifestChange } from './types.js';

/** A published version as stored: the public {@link GameVersion} and the digest of the upload it was built from. */
export interface StoredVersion extends GameVersion {
  /** sha256 over the upload's files (see `digestFolder` in upload.ts): lets a re-upload of the same source be recognised before the gate runs. */
  sourceSha256: string;
  /** The publish request that published it. */
  requestId: string;
}

/** What {@link CatalogStore.commitPublish} did. */
export type CommitOutcome =
  /** The version was inserted and the request marked `PUBLISHED`. */
  | { outcome: 'published'; version: StoredVersion }
  /** The version existed with the same artifact: the request is marked `PUBLISHED` with it (idempotent). */
  | { outcome: 'same'; version: StoredVersion }
  /** The version existed with another artifact: nothing changed (the caller fails the request `VERSION_EXISTS`). */
  | { outcome: 'conflict'; version: StoredVersion };

/** Fields a request update sets. */
export interface RequestUpdate {
  state: PublishRequest['state'];
  error?: PublishRequest['error'];
  sha256?: string | null;
  updatedAt: number;
}

/** A manifest pin: which version of a game an environment runs. */
export interface ManifestPin {
  env: string;
  slug: string;
  version: string;
  at: number;
}

/**
 * The catalog's store: games, versions, publish requests, manifest pins and their history.
 * Times are ms since the epoch. Lists are in a stable order (documented per method).
 */
export interface CatalogStore {
  /** Games by slug, ascending. */
  listGames(): Promise<CatalogGame[]>;
  getGame(slug: string): Promise<CatalogGame | undefined>;
  /** Replaces a game's config (not its slug or createdAt). Returns `undefined` for an unknown slug. */
  saveGame(game: CatalogGame): Promise<CatalogGame | undefined>;
  /** Versions of a game, newest published first. */
  listVersions(slug: string): Promise<StoredVersion[]>;
  getVersion(slug: string, version: string): Promise<StoredVersion | undefined>;
  /** Inserts a publish request (the pipeline records it `PENDING` before anything runs). */
  createRequest(request: PublishRequest): Promise<void>;
  /** Updates a request's state, error and artifact. */
  updateRequest(id: string, update: RequestUpdate): Promise<void>;
  getRequest(id: string): Promise<PublishRequest | undefined>;
  /** Requests, newest first, optionally of one slug; at most `limit` (default 1000). */
  listRequests(slug?: string, limit?: number): Promise<PublishRequest[]>;
  /**
   * One transaction: creates the game on its first version (`game`), inserts the version (unique
   * slug@version) and marks the request `PUBLISHED` with its sha256. When slug@version exists, the
   * outcome says whether its artifact is the same (the request is marked `PUBLISHED`) or not
   * (nothing changes).
   */
  commitPublish(version: StoredVersion, game: CatalogGame): Promise<CommitOutcome>;
  /**
   * Marks every `PENDING` / `PROCESSING` request `FAILED` with `error` (at start, after a crash).
   * Returns how many. A store shared by live processes (Postgres) marks only the requests of
   * processes that are gone, never another live one's.
   */
  failUnfinished(error: NonNullable<PublishRequest['error']>, at: number): Promise<number>;
  /** The environment's pins, by slug. */
  listPins(env: string): Promise<ManifestPin[]>;
  getPin(env: string, slug: string): Promise<ManifestPin | undefined>;
  /** One transaction: records the change in the history and sets (or, for `version: null`, removes) the pin. */
  applyChange(change: ManifestChange): Promise<void>;
  /** The environment's changes, oldest first, optionally of one slug. */
  history(env: string, slug?: string): Promise<ManifestChange[]>;
  /** Closes the store; later calls fail. */
  close(): Promise<void>;
}
