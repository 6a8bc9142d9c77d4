import { GameMetadataError, resolveMetadata, type GameMetadata, type ResolvedGameMetadata } from '@parlor/squish';
import { GameLoadError, ServerErrorCode } from '../errors.js';

/**
 * Validates a game's raw metadata (what `static metadata()` returned, in this process or as
 * reported by a sandbox) against the schema of `@parlor/squish`'s `resolveMetadata` (types,
 * ranges and lengths of every field; see `METADATA_LIMITS`: name ≤ 80 characters, description
 * ≤ 500, tickRate in (0, 120], maxPlayers 1–10 000, at most 256 assets…) and returns it with the
 * defaults applied, as a fresh object of plain values (getters are refused, never called).
 * The loader and the publish gate both use it.
 *
 * @param raw the untrusted metadata
 * @param path the game file or folder, for the error (default `'metadata()'`)
 * @throws {GameLoadError} `SERVER_GAME_BAD_METADATA`, with `field` set to the offending field's path
 *   (e.g. `'description'`, `'assets.hero.path'`; `''` for the object itself).
 */
export function validateMetadata(raw: unknown, path = 'metadata()'): ResolvedGameMetadata {
  try {
    return resolveMetadata(raw as GameMetadata);
  } catch (err) {
    const field = err instanceof GameMetadataError ? err.field : undefined;
    const message = err instanceof Error && typeof err.message === 'string' ? err.message : 'metadata() is invalid';
    throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, path, `${path}: ${message}`, { cause: err, field });
  }
}
