/**
 * A {@link GameResolver} for a catalog running elsewhere (`parlor-catalog`, or another
 * orchestrator's in-process catalog): `GET <url>/v1/resolve?game=…&env=…` with a key of that
 * catalog. The catalog's refusals pass through with their causes; anything else is
 * `CATALOG_UNAVAILABLE` (502).
 */
import type { ArtifactRef } from '@parlor/squish';
import { request } from 'undici';
import { FleetCause, OrchestratorConfigError, OrchestratorError, type FleetCauseValue } from '../errors.js';
import { compile, firstError } from '../schemas.js';
import { ArtifactRefSchema } from './schemas.js';
import type { GameResolver } from './types.js';

/** The catalog's answers that mean "this game does not resolve", passed through as they are. */
const PASSED: ReadonlySet<FleetCauseValue> = new Set<FleetCauseValue>(['UNKNOWN_GAME', 'UNKNOWN_VERSION', 'UNKNOWN_ENV', 'NOT_IN_MANIFEST', 'VALIDATION']);
const refCheck = compile(ArtifactRefSchema);

/** Options of {@link createRemoteResolver}. */
export interface RemoteResolverOptions {
  /** The catalog's base URL (`http://catalog:7071`). */
  url: string;
  /** A key of that catalog (any class: resolving is a read). */
  key: string;
  /** How long one resolve may take, ms. Default 5000. */
  timeoutMs?: number;
}

/**
 * A resolver that asks the catalog at `options.url`.
 * @throws {OrchestratorConfigError} for a URL that is not http(s) or an empty key.
 * The resolver's `resolve` throws {@link OrchestratorError}: the catalog's `UNKNOWN_GAME`,
 * `UNKNOWN_VERSION`, `UNKNOWN_ENV`, `NOT_IN_MANIFEST`, `VALIDATION` as it answered them, else
 * `CATALOG_UNAVAILABLE` (no answer in time, a refused key, an answer that is not the envelope).
 */
export function createRemoteResolver(options: RemoteResolverOptions): GameResolver {
  const base = options.url.replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new OrchestratorConfigError(`catalog URL must be http(s)://host[:port] (got ${JSON.stringify(options.url)}); fix --catalog-url`);
  if (typeof options.key !== 'string' || options.key === '') throw new OrchestratorConfigError('a catalog URL needs a key of that catalog (--catalog-key-file or PARLOR_CATALOG_KEY)');
  const timeoutMs = options.timeoutMs ?? 5000;
  const unavailable = (why: string, cause?: unknown): OrchestratorError => new OrchestratorError(FleetCause.CATALOG_UNAVAILABLE, `catalog at ${base}: ${why}`, { cause });
  return {
    async resolve(game: string, env: string): Promise<ArtifactRef> {
      const q = new URLSearchParams({ game, env });
      let status: number;
      let body: unknown;
      try {
        const res = await request(`${base}/v1/resolve?${q}`, { headers: { authorization: `Bearer ${options.key}`, accept: 'application/json' }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
        status = res.statusCode;
        const text = await res.body.text();
        try {
          body = JSON.parse(text);
        } catch {
          throw unavailable(`HTTP ${status} that is not the /v1 envelope (is it a Parlor catalog?)`);
        }
      } catch (err) {
        if (err instanceof OrchestratorError) throw err;
        throw unavailable(`no answer (${(err as Error)?.message ?? String(err)})`, err);
      }
      const env_ = body as { status?: unknown; data?: unknown; cause?: unknown; message?: unknown };
      if (status === 200 && env_.status === 'OK') {
        const bad = firstError(refCheck, env_.data);
        if (bad) throw unavailable(`an artifact ref that is not valid (${bad})`);
        return env_.data as ArtifactRef;
      }
      const cause = typeof env_.cause === 'string' ? env_.cause : '';
      const message = typeof env_.message === 'string' ? env_.message : cause;
      if (PASSED.has(cause as FleetCauseValue)) throw new OrchestratorError(cause as FleetCauseValue, message);
      if (cause === 'UNAUTHORIZED' || cause === 'AUTH_THROTTLED') throw unavailable(`the catalog refused this orchestrator's key (${cause}); fix --catalog-key-file`);
      throw unavailable(`HTTP ${status}${cause ? ` ${cause}` : ''}${message && message !== cause ? `: ${message}` : ''}`);
    },
  };
}
