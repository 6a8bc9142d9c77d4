/**
 * `@parlor/server/catalog` — the publisher's side of the catalog: {@link CatalogClient} (publish a
 * game folder as `slug@version` and follow its publish request, promote and roll back versions in
 * an environment's manifest, list games, versions and publish requests), {@link packGameFolder}
 * (the upload a publish sends) and {@link CatalogClientError}, the one error they throw.
 * `parlor publish`, `parlor promote`, `parlor rollback` and `parlor games` are built on it.
 */
export {
  CatalogClient,
  type CatalogClientOptions,
  type PublishOptions,
  type PublishProgress,
  type WaitOptions,
} from './catalog/client.js';
export { CatalogClientError } from './catalog/client-error.js';
export {
  DEFAULT_MAX_UNPACKED_BYTES,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_MAX_UPLOAD_FILES,
  listGameFiles,
  packGameFolder,
  type PackLimits,
  type PackedGame,
} from './catalog/pack.js';
