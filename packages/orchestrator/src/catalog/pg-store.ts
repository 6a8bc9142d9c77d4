/**
 * The catalog's Postgres store: the {@link CatalogStore} on a shared database
 * (`--database-url postgres://…`), so several orchestrators (or `parlor-catalog`s) serve one
 * catalog. Unlike the SQLite store it takes no exclusive lock: each publish request records its
 * process as owner, and recovery at open ({@link CatalogStore.failUnfinished}) fails only the
 * requests of owners that are gone (see `operations/pg-db.ts`).
 *
 * Artifacts are not in the database: they stay files in `<catalog dir>/artifacts/`, named by their
 * sha256. Every process serving one catalog must see the same artifacts, so with Postgres the
 * catalog folder (`--catalog-dir`) must be one shared folder (a network file system or a volume
 * all of them mount): an artifact is written (atomically, by rename) before its version is
 * committed, so a version another process reads is always downloadable from the shared folder.
 */
import type { CatalogGame, PublishRequest } from '@parlor/squish';
import { openPgDatabase, type PgDatabase } from '../operations/pg-db.js';
import type { CatalogStore, CommitOutcome, ManifestPin, RequestUpdate, StoredVersion } from './store.js';
import type { ManifestChange } from './types.js';
import { toGame, toRequest, toVersion, type GameRow, type RequestRow, type VersionRow } from './rows.js';

const VERSION_COLS = 'slug, version, sha256, size, squish_version, source_sha256, published_at, published_by, gate, request_id';
const REQUEST_COLS = 'id, slug, version, state, publisher, error, sha256, created_at, updated_at';

/**
 * Opens the catalog store on the Postgres database at `url` (migrations applied, this process's
 * owner lock taken; see `openPgDatabase`).
 * @throws Error naming the URL (password masked) when it cannot be opened: `pg` not installed,
 *   the server unreachable, a schema newer than this parlor.
 */
export async function openPgStore(url: string): Promise<CatalogStore> {
  return new PgStore(await openPgDatabase(url));
}

/** The catalog store on an open {@link PgDatabase} (closing the store closes it). */
export class PgStore implements CatalogStore {
  constructor(private readonly db: PgDatabase) {}

  async listGames(): Promise<CatalogGame[]> {
    return (await this.db.query<GameRow>('SELECT * FROM games ORDER BY slug')).map(toGame);
  }
  async getGame(slug: string): Promise<CatalogGame | undefined> {
    const [r] = await this.db.query<GameRow>('SELECT * FROM games WHERE slug = $1', [slug]);
    return r && toGame(r);
  }
  async saveGame(g: CatalogGame): Promise<CatalogGame | undefined> {
    const [r] = await this.db.query<GameRow>(
      'UPDATE games SET name = $1, description = $2, tags = $3, show = $4, requires_auth = $5, min_role = $6, updated_at = $7 WHERE slug = $8 RETURNING *',
      [g.name, g.description, JSON.stringify(g.tags), g.show, g.access.requiresAuth, g.access.minRole, g.updatedAt, g.slug],
    );
    return r && toGame(r);
  }
  async listVersions(slug: string): Promise<StoredVersion[]> {
    return (await this.db.query<VersionRow>(`SELECT ${VERSION_COLS} FROM versions WHERE slug = $1 ORDER BY published_at DESC, seq DESC`, [slug])).map(toVersion);
  }
  async getVersion(slug: string, version: string): Promise<StoredVersion | undefined> {
    const [r] = await this.db.query<VersionRow>(`SELECT ${VERSION_COLS} FROM versions WHERE slug = $1 AND version = $2`, [slug, version]);
    return r && toVersion(r);
  }
  async createRequest(q: PublishRequest): Promise<void> {
    await this.db.query(`INSERT INTO publish_requests (${REQUEST_COLS}, owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
      q.id, q.slug, q.version, q.state, q.publisher, q.error ? JSON.stringify(q.error) : null, q.sha256, q.createdAt, q.updatedAt, this.db.owner,
    ]);
  }
  async updateRequest(id: string, u: RequestUpdate): Promise<void> {
    await this.db.query('UPDATE publish_requests SET state = $1, error = $2, sha256 = COALESCE($3, sha256), updated_at = $4 WHERE id = $5', [
      u.state, u.error ? JSON.stringify(u.error) : null, u.sha256 ?? null, u.updatedAt, id,
    ]);
  }
  async getRequest(id: string): Promise<PublishRequest | undefined> {
    const [r] = await this.db.query<RequestRow>(`SELECT ${REQUEST_COLS} FROM publish_requests WHERE id = $1`, [id]);
    return r && toRequest(r);
  }
  async listRequests(slug?: string, limit = 1000): Promise<PublishRequest[]> {
    const rows =
      slug === undefined
        ? await this.db.query<RequestRow>(`SELECT ${REQUEST_COLS} FROM publish_requests ORDER BY created_at DESC, seq DESC LIMIT $1`, [limit])
        : await this.db.query<RequestRow>(`SELECT ${REQUEST_COLS} FROM publish_requests WHERE slug = $1 ORDER BY created_at DESC, seq DESC LIMIT $2`, [slug, limit]);
    return rows.map(toRequest);
  }
  async commitPublish(v: StoredVersion, g: CatalogGame): Promise<CommitOutcome> {
    return this.db.tx(async (q) => {
      await q('INSERT INTO games (slug, name, description, tags, show, requires_auth, min_role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (slug) DO NOTHING', [
        g.slug, g.name, g.description, JSON.stringify(g.tags), g.show, g.access.requiresAuth, g.access.minRole, g.createdAt, g.updatedAt,
      ]);
      // another process may publish the same slug@version at once: the unique key decides, the loser reads the winner
      const inserted = await q<VersionRow>(
        `INSERT INTO versions (${VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (slug, version) DO NOTHING RETURNING ${VERSION_COLS}`,
        [v.slug, v.version, v.sha256, v.size, v.squishVersion, v.sourceSha256, v.publishedAt, v.publishedBy, JSON.stringify(v.gate), v.requestId],
      );
      const row = inserted[0] ?? (await q<VersionRow>(`SELECT ${VERSION_COLS} FROM versions WHERE slug = $1 AND version = $2`, [v.slug, v.version]))[0];
      if (!inserted.length && row.sha256 !== v.sha256) {
        // nothing of this transaction stays: not even a game row made for it (it existed, as its version does)
        return { outcome: 'conflict', version: toVersion(row) };
      }
      await q("UPDATE publish_requests SET state = 'PUBLISHED', error = NULL, sha256 = $1, updated_at = $2 WHERE id = $3", [v.sha256, v.publishedAt, v.requestId]);
      return { outcome: inserted.length ? 'published' : 'same', version: toVersion(row) };
    });
  }
  async failUnfinished(error: NonNullable<PublishRequest['error']>, at: number): Promise<number> {
    const owners = (await this.db.query<{ owner: string }>("SELECT DISTINCT owner FROM publish_requests WHERE state IN ('PENDING', 'PROCESSING')")).map((r) => r.owner);
    const dead = [...(await this.db.deadOwners(owners))];
    if (!dead.length) return 0;
    const rows = await this.db.query("UPDATE publish_requests SET state = 'FAILED', error = $1, updated_at = $2 WHERE state IN ('PENDING', 'PROCESSING') AND owner = ANY($3) RETURNING id", [JSON.stringify(error), at, dead]);
    return rows.length;
  }
  async listPins(env: string): Promise<ManifestPin[]> {
    return this.db.query<ManifestPin>('SELECT env, slug, version, at FROM manifest_pins WHERE env = $1 ORDER BY slug', [env]);
  }
  async getPin(env: string, slug: string): Promise<ManifestPin | undefined> {
    const [r] = await this.db.query<ManifestPin>('SELECT env, slug, version, at FROM manifest_pins WHERE env = $1 AND slug = $2', [env, slug]);
    return r;
  }
  async applyChange(c: ManifestChange): Promise<void> {
    await this.db.tx(async (q) => {
      await q('INSERT INTO manifest_history (env, slug, version, previous, action, by, at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [c.env, c.slug, c.version, c.previous, c.action, c.by, c.at]);
      if (c.version === null) await q('DELETE FROM manifest_pins WHERE env = $1 AND slug = $2', [c.env, c.slug]);
      else await q('INSERT INTO manifest_pins (env, slug, version, at) VALUES ($1, $2, $3, $4) ON CONFLICT (env, slug) DO UPDATE SET version = excluded.version, at = excluded.at', [c.env, c.slug, c.version, c.at]);
    });
  }
  async history(env: string, slug?: string): Promise<ManifestChange[]> {
    const cols = 'env, slug, version, previous, action, by, at';
    return slug === undefined
      ? this.db.query<ManifestChange>(`SELECT ${cols} FROM manifest_history WHERE env = $1 ORDER BY id`, [env])
      : this.db.query<ManifestChange>(`SELECT ${cols} FROM manifest_history WHERE env = $1 AND slug = $2 ORDER BY id`, [env, slug]);
  }
  async close(): Promise<void> {
    await this.db.close();
  }
}
