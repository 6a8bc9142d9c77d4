/**
 * The catalog as a server hosts it (the orchestrator in-process, or `parlor-catalog` on its own):
 * either a {@link Catalog} the integrator made, or the settings to open one (`createCatalog`) once
 * the server's public URL is known (after listen, when the port was 0). Before it is open, and
 * after it is closed, calls are refused with `SHUTTING_DOWN` (503), as `/readyz` says.
 */
import { FleetCause, OrchestratorConfigError, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import { maskDatabaseUrl } from '../operations/pg-db.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from './routes.js';
import { createCatalog, type CatalogOptions } from './service.js';
import type { Catalog, GameResolver, PublishGate } from './types.js';

/**
 * Settings of a catalog opened by the server: its folder (`catalog.db`, `artifacts/`), and the
 * rest of `createCatalog`'s options (`databaseUrl`: the catalog's tables in a shared Postgres
 * database instead of `catalog.db`; the folder then holds only the artifacts, shared by every
 * process serving the catalog). `gate` defaults to `createPublishGate()` of
 * `@parlor/server/gate` (the same gate as `parlor validate`); `publicUrl` is the server's.
 */
export type CatalogConfig = Omit<CatalogOptions, 'gate' | 'publicUrl' | 'logger'> & { gate?: PublishGate };

/** Whether `v` is a {@link Catalog} (rather than settings to open one). */
export function isCatalog(v: Catalog | CatalogConfig): v is Catalog {
  return typeof (v as Catalog).listGames === 'function' && typeof (v as Catalog).resolve === 'function';
}

/** One hosted catalog: opens it at {@link open}, hands it to the routes and to room creation. */
export class CatalogHost {
  /** Largest upload the routes accept, bytes. */
  readonly maxUploadBytes: number;
  /** Room creation's view of the catalog (resolves through it once open). */
  readonly resolver: GameResolver = { resolve: (game, env) => this.get().resolve(game, env) };
  private catalog: Catalog | null;
  private closed = false;

  /** @throws {OrchestratorConfigError} for settings without a folder. */
  constructor(
    private readonly setting: Catalog | CatalogConfig,
    private readonly logger: Logger,
  ) {
    if (!isCatalog(setting) && (typeof setting.dir !== 'string' || setting.dir === '')) throw new OrchestratorConfigError('catalog: give a Catalog, or { dir } (the folder of catalog.db and the artifacts)');
    this.catalog = isCatalog(setting) ? setting : null;
    this.maxUploadBytes = (!isCatalog(setting) && setting.uploadLimits?.maxCompressedBytes) || DEFAULT_MAX_UPLOAD_BYTES;
  }

  /** The open catalog. @throws {OrchestratorError} `SHUTTING_DOWN` before {@link open} or after {@link close}. */
  get(): Catalog {
    if (!this.catalog || this.closed) throw new OrchestratorError(FleetCause.SHUTTING_DOWN, this.closed ? 'the catalog is closed' : 'the catalog is not open yet');
    return this.catalog;
  }

  /** The catalog when open, else `undefined`. */
  get current(): Catalog | undefined {
    return this.closed ? undefined : (this.catalog ?? undefined);
  }

  /**
   * Opens the catalog of the settings (nothing for a given one), its artifact URLs on `publicUrl`.
   * @throws {OrchestratorConfigError} naming the folder when it cannot be opened.
   */
  async open(publicUrl: string): Promise<void> {
    if (this.catalog || isCatalog(this.setting)) return;
    const { gate, ...rest } = this.setting;
    try {
      this.catalog = await createCatalog({ ...rest, gate: gate ?? (await defaultGate()), publicUrl, logger: this.logger.child({ component: 'catalog' }) });
    } catch (err) {
      const check = this.setting.databaseUrl === undefined ? '--catalog-dir' : '--catalog-dir and --database-url';
      throw new OrchestratorConfigError(`catalog ${this.setting.dir}: ${(err as Error)?.message ?? String(err)} (check ${check})`, { cause: err });
    }
    this.logger.info({ dir: this.setting.dir, publicUrl, database: this.setting.databaseUrl === undefined ? 'sqlite' : maskDatabaseUrl(this.setting.databaseUrl) }, 'catalog open');
  }

  /** Closes a catalog it opened (one given is the integrator's to close). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.catalog && !isCatalog(this.setting)) await this.catalog.close();
  }
}

/** `createPublishGate()` of `@parlor/server/gate`, loaded only when a catalog opens without a gate. */
async function defaultGate(): Promise<PublishGate> {
  const mod = (await import('@parlor/server/gate')) as unknown as { createPublishGate?: () => PublishGate };
  if (typeof mod.createPublishGate !== 'function') throw new Error('@parlor/server/gate has no createPublishGate (rebuild @parlor/server)');
  return mod.createPublishGate();
}
