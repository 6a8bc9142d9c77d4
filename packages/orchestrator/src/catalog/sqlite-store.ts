/**
 * The catalog's SQLite store (better-sqlite3): one file, WAL, foreign keys on, migrations applied at
 * open ({@link migrate}). better-sqlite3 is synchronous; the {@link CatalogStore} methods wrap it in
 * promises so a networked store can take its place.
 */
import Database, { type Database as Db } from 'better-sqlite3';
import type { CatalogGame, PublishRequest } from '@parlor/squish';
import { migrate } from './migrations.js';
import type { CatalogStore, CommitOutcome, ManifestPin, RequestUpdate, StoredVersion } from './store.js';
import type { ManifestChange } from './types.js';
import { toGame, toRequest, toVersion, type GameRow, type RequestRow, type VersionRow } from './rows.js';

interface HistoryRow {
  env: string;
  slug: string;
  version: string | null;
  previous: string | null;
  action: ManifestChange['action'];
  by: string;
  at: number;
}

/**
 * Opens (creating if needed) the catalog database at `file`: WAL journal, `synchronous=FULL` (a
 * committed publish survives power loss), foreign keys on, a 5 s busy timeout, pending migrations
 * applied in their transactions.
 * @throws Error when the file cannot be opened or a migration fails (the message names the file).
 */
export function openSqliteStore(file: string): CatalogStore {
  let db: Db;
  try {
    db = new Database(file, { timeout: 1000 });
    // One process owns a catalog folder: its recovery at open marks the requests it finds PENDING or
    // PROCESSING as interrupted, which would be wrong for another live process's. The exclusive lock is
    // taken now (an empty exclusive transaction) and held until close; the OS drops it if we are killed.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(`cannot open the catalog database ${file}: another process has it open (one catalog folder serves one orchestrator or parlor-catalog at a time)`, { cause: err });
    }
    throw new Error(`cannot open the catalog database ${file}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteStore(db);
}

class SqliteStore implements CatalogStore {
  constructor(private readonly db: Db) {}

  private all<T>(sql: string, ...params: unknown[]): T[] {
    return this.db.prepare(sql).all(...params) as T[];
  }
  private one<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.db.prepare(sql).get(...params) as T | undefined;
  }

  async listGames(): Promise<CatalogGame[]> {
    return this.all<GameRow>('SELECT * FROM games ORDER BY slug').map(toGame);
  }
  async getGame(slug: string): Promise<CatalogGame | undefined> {
    const r = this.one<GameRow>('SELECT * FROM games WHERE slug = ?', slug);
    return r && toGame(r);
  }
  async saveGame(g: CatalogGame): Promise<CatalogGame | undefined> {
    const r = this.db
      .prepare('UPDATE games SET name = ?, description = ?, tags = ?, show = ?, requires_auth = ?, min_role = ?, updated_at = ? WHERE slug = ?')
      .run(g.name, g.description, JSON.stringify(g.tags), g.show ? 1 : 0, g.access.requiresAuth ? 1 : 0, g.access.minRole, g.updatedAt, g.slug);
    return r.changes ? this.getGame(g.slug) : undefined;
  }
  async listVersions(slug: string): Promise<StoredVersion[]> {
    return this.all<VersionRow>('SELECT * FROM versions WHERE slug = ? ORDER BY published_at DESC, rowid DESC', slug).map(toVersion);
  }
  async getVersion(slug: string, version: string): Promise<StoredVersion | undefined> {
    const r = this.one<VersionRow>('SELECT * FROM versions WHERE slug = ? AND version = ?', slug, version);
    return r && toVersion(r);
  }
  async createRequest(q: PublishRequest): Promise<void> {
    this.db
      .prepare('INSERT INTO publish_requests (id, slug, version, state, publisher, error, sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(q.id, q.slug, q.version, q.state, q.publisher, q.error ? JSON.stringify(q.error) : null, q.sha256, q.createdAt, q.updatedAt);
  }
  async updateRequest(id: string, u: RequestUpdate): Promise<void> {
    this.db
      .prepare('UPDATE publish_requests SET state = ?, error = ?, sha256 = COALESCE(?, sha256), updated_at = ? WHERE id = ?')
      .run(u.state, u.error ? JSON.stringify(u.error) : null, u.sha256 ?? null, u.updatedAt, id);
  }
  async getRequest(id: string): Promise<PublishRequest | undefined> {
    const r = this.one<RequestRow>('SELECT * FROM publish_requests WHERE id = ?', id);
    return r && toRequest(r);
  }
  async listRequests(slug?: string, limit = 1000): Promise<PublishRequest[]> {
    const rows =
      slug === undefined
        ? this.all<RequestRow>('SELECT * FROM publish_requests ORDER BY created_at DESC, rowid DESC LIMIT ?', limit)
        : this.all<RequestRow>('SELECT * FROM publish_requests WHERE slug = ? ORDER BY created_at DESC, rowid DESC LIMIT ?', slug, limit);
    return rows.map(toRequest);
  }
  async commitPublish(v: StoredVersion, g: CatalogGame): Promise<CommitOutcome> {
    return this.db
      .transaction((): CommitOutcome => {
        const existing = this.one<VersionRow>('SELECT * FROM versions WHERE slug = ? AND version = ?', v.slug, v.version);
        if (existing && existing.sha256 !== v.sha256) return { outcome: 'conflict', version: toVersion(existing) };
        if (!existing) {
          this.db
            .prepare('INSERT OR IGNORE INTO games (slug, name, description, tags, show, requires_auth, min_role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(g.slug, g.name, g.description, JSON.stringify(g.tags), g.show ? 1 : 0, g.access.requiresAuth ? 1 : 0, g.access.minRole, g.createdAt, g.updatedAt);
          this.db
            .prepare(
              'INSERT INTO versions (slug, version, sha256, size, squish_version, source_sha256, published_at, published_by, gate, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            )
            .run(v.slug, v.version, v.sha256, v.size, v.squishVersion, v.sourceSha256, v.publishedAt, v.publishedBy, JSON.stringify(v.gate), v.requestId);
        }
        this.db.prepare("UPDATE publish_requests SET state = 'PUBLISHED', error = NULL, sha256 = ?, updated_at = ? WHERE id = ?").run(v.sha256, v.publishedAt, v.requestId);
        const row = this.one<VersionRow>('SELECT * FROM versions WHERE slug = ? AND version = ?', v.slug, v.version)!;
        return { outcome: existing ? 'same' : 'published', version: toVersion(row) };
      })
      .immediate();
  }
  async failUnfinished(error: NonNullable<PublishRequest['error']>, at: number): Promise<number> {
    return this.db.prepare("UPDATE publish_requests SET state = 'FAILED', error = ?, updated_at = ? WHERE state IN ('PENDING', 'PROCESSING')").run(JSON.stringify(error), at).changes;
  }
  async listPins(env: string): Promise<ManifestPin[]> {
    return this.all<ManifestPin>('SELECT env, slug, version, at FROM manifest_pins WHERE env = ? ORDER BY slug', env);
  }
  async getPin(env: string, slug: string): Promise<ManifestPin | undefined> {
    return this.one<ManifestPin>('SELECT env, slug, version, at FROM manifest_pins WHERE env = ? AND slug = ?', env, slug);
  }
  async applyChange(c: ManifestChange): Promise<void> {
    this.db
      .transaction(() => {
        this.db
          .prepare('INSERT INTO manifest_history (env, slug, version, previous, action, by, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(c.env, c.slug, c.version, c.previous, c.action, c.by, c.at);
        if (c.version === null) this.db.prepare('DELETE FROM manifest_pins WHERE env = ? AND slug = ?').run(c.env, c.slug);
        else
          this.db
            .prepare('INSERT INTO manifest_pins (env, slug, version, at) VALUES (?, ?, ?, ?) ON CONFLICT (env, slug) DO UPDATE SET version = excluded.version, at = excluded.at')
            .run(c.env, c.slug, c.version, c.at);
      })
      .immediate();
  }
  async history(env: string, slug?: string): Promise<ManifestChange[]> {
    const cols = 'env, slug, version, previous, action, by, at';
    return slug === undefined
      ? this.all<HistoryRow>(`SELECT ${cols} FROM manifest_history WHERE env = ? ORDER BY id`, env)
      : this.all<HistoryRow>(`SELECT ${cols} FROM manifest_history WHERE env = ? AND slug = ? ORDER BY id`, env, slug);
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
