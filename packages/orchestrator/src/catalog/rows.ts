/**
 * What the SQLite and the Postgres catalog stores share: the row shapes of the `games`,
 * `versions` and `publish_requests` tables (same columns in both) and their mapping to the API's
 * types. SQLite answers booleans as 0/1, Postgres as booleans: the mapping takes either.
 */
import type { CatalogGame, PublishReport, PublishRequest } from '@parlor/squish';
import type { StoredVersion } from './store.js';

/** A row of `games`. */
export interface GameRow {
  slug: string;
  name: string;
  description: string;
  /** JSON array of strings. */
  tags: string;
  show: boolean | number;
  requires_auth: boolean | number;
  min_role: string | null;
  created_at: number;
  updated_at: number;
}

/** A row of `versions`. */
export interface VersionRow {
  slug: string;
  version: string;
  sha256: string;
  size: number;
  squish_version: number;
  source_sha256: string;
  published_at: number;
  published_by: string;
  gate: string;
  request_id: string;
}

/** A row of `publish_requests`. */
export interface RequestRow {
  id: string;
  slug: string;
  version: string;
  state: PublishRequest['state'];
  publisher: string;
  error: string | null;
  sha256: string | null;
  created_at: number;
  updated_at: number;
}

/** A `games` row as the API's game. */
export const toGame = (r: GameRow): CatalogGame => ({
  slug: r.slug,
  name: r.name,
  description: r.description,
  tags: JSON.parse(r.tags) as string[],
  show: Boolean(r.show),
  access: { requiresAuth: Boolean(r.requires_auth), minRole: r.min_role },
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
/** A `versions` row as the store's version. */
export const toVersion = (r: VersionRow): StoredVersion => ({
  slug: r.slug,
  version: r.version,
  sha256: r.sha256,
  size: r.size,
  squishVersion: r.squish_version,
  publishedAt: r.published_at,
  publishedBy: r.published_by,
  gate: JSON.parse(r.gate) as PublishReport,
  sourceSha256: r.source_sha256,
  requestId: r.request_id,
});
/** A `publish_requests` row as the API's request. */
export const toRequest = (r: RequestRow): PublishRequest => ({
  id: r.id,
  slug: r.slug,
  version: r.version,
  state: r.state,
  publisher: r.publisher,
  error: r.error === null ? null : (JSON.parse(r.error) as PublishRequest['error']),
  sha256: r.sha256,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
