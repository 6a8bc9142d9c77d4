/**
 * Catalog versions of recorded rooms, loaded again after a restart: a room runs the version it was
 * created, placed or patched on, which need not be the manifest's current one, and
 * `GameServer.restoreRooms()` brings back only rooms whose version is loaded.
 */
import type { ArtifactRef, GameAccess } from '@parlor/squish';
import { CatalogClient } from '../catalog/client.js';
import type { CatalogVersions } from '../catalog/versions.js';
import type { Logger } from '../logger.js';
import type { GameServer } from '../server.js';
import type { RoomStateStore } from './store.js';

/** Where the catalog answers, for {@link restoreRecordedVersions}. */
export interface RecordedVersionsCatalog {
  /** The catalog's base URL (the orchestrator's, or `parlor-catalog`'s). */
  url: string;
  /** The key to read it with (read at each call: a rotated key file is picked up). */
  key: () => string | undefined;
}

/**
 * For every room recorded live in `store` on a catalog version this server has not loaded: loads
 * that version (its bytes pinned by the sha256 recorded with the room, fetched or found in the
 * artifact cache, verified before anything runs; its access — sign-in, minimum role — the game's as
 * the catalog answers now, `GET /v1/games/:slug`), then restores the rooms now restorable
 * (`server.restoreRooms()`, right after each load, before anything may unload the version again).
 * A version that cannot be loaded is logged and its rooms are left in the store. Never rejects.
 * @returns how many versions were loaded.
 */
export async function restoreRecordedVersions(store: RoomStateStore, server: GameServer, versions: CatalogVersions, catalog: RecordedVersionsCatalog, logger: Logger): Promise<number> {
  const wanted = new Map<string, { slug: string; version: string; sha256: string }>();
  for (const r of store.liveRooms()) {
    if (r.version === null || r.sha256 === null) continue;
    if (server.gameVersion(r.game, r.version)?.sha256 === r.sha256) continue;
    wanted.set(`${r.game}@${r.version}#${r.sha256}`, { slug: r.game, version: r.version, sha256: r.sha256 });
  }
  const access = new Map<string, Promise<GameAccess>>();
  let loaded = 0;
  for (const want of wanted.values()) {
    const fields = { game: want.slug, version: want.version, sha256: want.sha256 };
    try {
      const key = catalog.key();
      if (!key) throw new Error('no catalog key');
      const client = new CatalogClient({ baseUrl: catalog.url, key });
      if (!access.has(want.slug)) access.set(want.slug, client.game(want.slug).then((g) => g.access));
      const ref: ArtifactRef = {
        slug: want.slug,
        version: want.version,
        sha256: want.sha256,
        squishVersion: (await client.version(want.slug, want.version)).squishVersion,
        url: `${client.baseUrl}/v1/artifacts/${want.sha256}`,
        access: await access.get(want.slug)!,
      };
      await versions.ensure(ref);
      loaded++;
      logger.info(fields, 'the version of a recorded room loaded again, to restore it');
      await server.restoreRooms();
    } catch (err) {
      logger.error({ ...fields, error: (err as Error)?.message ?? String(err) }, 'the version of a recorded room could not be loaded: its rooms stay recorded, not restored');
    }
  }
  return loaded;
}
