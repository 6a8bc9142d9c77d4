/**
 * `CatalogClient`: the publisher's and operator's typed client of the catalog's REST API (`/v1`
 * games, versions, publish requests, manifests), which `parlor publish`, `parlor promote`,
 * `parlor rollback` and `parlor games` use. It speaks HTTP through Node's built-in `fetch` (undici).
 */
import { SLUG_RE, VERSION_RE, type CatalogGame, type GameVersion, type Manifest, type ManifestChange, type PublishRequest, type PublishState } from '@parlor/squish';
import { ServerConfigError, ServerErrorCode } from '../errors.js';
import { CatalogClientError } from './client-error.js';
import { packGameFolder, type PackedGame, type PackLimits } from './pack.js';

/** Options of {@link CatalogClient}. Durations in ms. */
export interface CatalogClientOptions {
  /** Base URL of the catalog: the orchestrator's (it runs the catalog by default) or `parlor-catalog`'s, e.g. `http://127.0.0.1:7070`. */
  baseUrl: string;
  /** A publisher key (publish, reads) or an admin key (everything), sent as `Authorization: Bearer <key>`. */
  key: string;
  /** Per-request timeout of reads and manifest changes (headers and body), ms. Default 15 000. */
  timeoutMs?: number;
  /** Timeout of an upload, ms. Default 120 000. */
  uploadTimeoutMs?: number;
}


/** What {@link CatalogClient.publish} reports as it goes (for progress lines). */
export type PublishProgress =
  | { phase: 'packed'; dir: string; files: number; bytes: number; uploadBytes: number }
  | { phase: 'uploaded'; request: PublishRequest }
  | { phase: 'state'; state: PublishState; request: PublishRequest };

/** Options of {@link CatalogClient.publish}. */
export interface PublishOptions extends PackLimits {
  /** Called at each step: packed, uploaded, and each new state of the publish request. */
  onProgress?: (p: PublishProgress) => void;
  /** Poll the request until it ends (`PUBLISHED` or `FAILED`). Default `true`; `false` resolves with the request as uploaded. */
  wait?: boolean;
  /** Interval between polls, ms. Default 250. */
  pollMs?: number;
  /** Longest wait for the request to end, ms. Default 600 000 (10 minutes). */
  waitMs?: number;
  /** Stops waiting (the request goes on in the catalog). */
  signal?: AbortSignal;
}

/** Options of {@link CatalogClient.waitForPublish}. */
export type WaitOptions = Pick<PublishOptions, 'onProgress' | 'pollMs' | 'waitMs' | 'signal'>;

const ENDED: ReadonlySet<PublishState> = new Set(['PUBLISHED', 'FAILED']);

/**
 * Typed client of the catalog's REST API. Every method resolves with the `/v1` envelope's `data`
 * and throws {@link CatalogClientError}: `code` the catalog's REST cause (`UNAUTHORIZED`,
 * `FORBIDDEN`, `UNKNOWN_GAME`, `VERSION_EXISTS`, …) with the HTTP `status`, or one of the client's
 * own `SERVER_CATALOG_*` codes (status 0 when there was no answer).
 */
export class CatalogClient {
  /** The catalog's base URL, without a trailing `/`. */
  readonly baseUrl: string;
  private readonly auth: string;
  private readonly timeoutMs: number;
  private readonly uploadTimeoutMs: number;

  /** @throws {ServerConfigError} `SERVER_CONFIG` on a `baseUrl` that is not http(s), an empty key, or a bad duration. */
  constructor(options: CatalogClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ServerConfigError(`catalog URL ${JSON.stringify(options.baseUrl)} is not a URL (want e.g. http://127.0.0.1:7070)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServerConfigError(`catalog URL ${options.baseUrl}: want http:// or https://`);
    this.baseUrl = url.href.replace(/\/+$/, '');
    if (typeof options.key !== 'string' || options.key === '' || /\s/.test(options.key)) throw new ServerConfigError('the catalog key must be a non-empty string without whitespace');
    this.auth = `Bearer ${options.key}`;
    this.timeoutMs = duration('timeoutMs', options.timeoutMs, 15_000);
    this.uploadTimeoutMs = duration('uploadTimeoutMs', options.uploadTimeoutMs, 120_000);
  }

  /**
   * Publishes a game folder as `slug@version`: packs it ({@link packGameFolder}), uploads it
   * (`POST /v1/games/:slug/versions/:version`), then (unless `wait: false`) polls the publish
   * request until it is `PUBLISHED` or `FAILED` and resolves with it (a `FAILED` request resolves:
   * its `error` says why, with the gate's report).
   * @throws {CatalogClientError} `SERVER_CATALOG_PACK` before anything is sent; the catalog's
   *   refusals before recording (`VERSION_EXISTS` 409, `UPLOAD_TOO_LARGE` 413, `BAD_UPLOAD` 400,
   *   `RATE_LIMITED` 429 with `retryAfterSeconds`, `UNAUTHORIZED`, `FORBIDDEN`); `SERVER_CATALOG_TIMEOUT`.
   */
  async publish(dir: string, slug: string, version: string, options: PublishOptions = {}): Promise<PublishRequest> {
    checkSlug(slug);
    checkVersion(version);
    const packed: PackedGame = await packGameFolder(dir, options);
    options.onProgress?.({ phase: 'packed', dir: packed.dir, files: packed.files.length, bytes: packed.bytes, uploadBytes: packed.tgz.length });
    const request = await this.upload(slug, version, packed.tgz);
    options.onProgress?.({ phase: 'uploaded', request });
    if (options.wait === false) return request;
    return this.waitForPublish(request, options);
  }

  /**
   * `POST /v1/games/:slug/versions/:version` with a gzip'd tar: the publish request as recorded
   * (202, `PENDING`), or the `PUBLISHED` one when this exact content is already that version (200).
   * @throws {CatalogClientError} as {@link publish}'s upload.
   */
  upload(slug: string, version: string, tgz: Uint8Array): Promise<PublishRequest> {
    checkSlug(slug);
    checkVersion(version);
    return this.call('POST', `/v1/games/${slug}/versions/${encodeURIComponent(version)}`, { bytes: tgz, type: 'application/gzip' }, this.uploadTimeoutMs);
  }

  /**
   * Polls `GET /v1/publish-requests/:id` every `pollMs` until the request is `PUBLISHED` or
   * `FAILED`; `onProgress` gets each new state (the first one included).
   * @throws {CatalogClientError} `SERVER_CATALOG_TIMEOUT` after `waitMs` (the request goes on in
   *   the catalog); a poll's refusal or network error; the `signal`'s reason when aborted.
   */
  async waitForPublish(request: PublishRequest | string, options: WaitOptions = {}): Promise<PublishRequest> {
    const pollMs = duration('pollMs', options.pollMs, 250);
    const deadline = Date.now() + duration('waitMs', options.waitMs, 600_000);
    let current = typeof request === 'string' ? await this.publishRequest(request) : request;
    let seen: PublishState | null = null;
    for (;;) {
      if (current.state !== seen) {
        seen = current.state;
        options.onProgress?.({ phase: 'state', state: current.state, request: current });
      }
      if (ENDED.has(current.state)) return current;
      options.signal?.throwIfAborted();
      if (Date.now() >= deadline) {
        throw new CatalogClientError(ServerErrorCode.CATALOG_TIMEOUT, 0, `publish request ${current.id} (${current.slug}@${current.version}) is still ${current.state} after ${Math.round(duration('waitMs', options.waitMs, 600_000) / 1000)} s; it goes on in the catalog`);
      }
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), options.signal);
      current = await this.publishRequest(current.id);
    }
  }

  /** `GET /v1/publish-requests/:id`. @throws {CatalogClientError} `UNKNOWN_PUBLISH_REQUEST` (404). */
  publishRequest(id: string): Promise<PublishRequest> {
    return this.call('GET', `/v1/publish-requests/${encodeURIComponent(id)}`);
  }
  /** `GET /v1/publish-requests?slug=`: publish requests, newest first, optionally of one game. */
  publishRequests(slug?: string): Promise<PublishRequest[]> {
    return this.call('GET', `/v1/publish-requests${slug !== undefined ? `?slug=${encodeURIComponent(slug)}` : ''}`);
  }
  /** `GET /v1/games`: every game's configuration. */
  games(): Promise<CatalogGame[]> {
    return this.call('GET', '/v1/games');
  }
  /** `GET /v1/games/:slug`. @throws {CatalogClientError} `UNKNOWN_GAME` (404). */
  game(slug: string): Promise<CatalogGame> {
    return this.call('GET', `/v1/games/${encodeURIComponent(slug)}`);
  }
  /** `GET /v1/games/:slug/versions`: published versions, newest first. @throws {CatalogClientError} `UNKNOWN_GAME` (404). */
  versions(slug: string): Promise<GameVersion[]> {
    return this.call('GET', `/v1/games/${encodeURIComponent(slug)}/versions`);
  }
  /** `GET /v1/games/:slug/versions/:version`. @throws {CatalogClientError} `UNKNOWN_GAME`, `UNKNOWN_VERSION` (404). */
  version(slug: string, version: string): Promise<GameVersion> {
    return this.call('GET', `/v1/games/${encodeURIComponent(slug)}/versions/${encodeURIComponent(version)}`);
  }
  /**
   * `GET /v1/manifests/:env`: the environment's manifest (`dev` follows each game's latest version
   * unless pinned; an environment nobody promoted to is empty). @throws {CatalogClientError} `UNKNOWN_ENV` (404, a name failing `ENV_RE`).
   */
  manifest(env: string): Promise<Manifest> {
    return this.call('GET', `/v1/manifests/${encodeURIComponent(env)}`);
  }
  /** `GET /v1/manifests/:env/history?slug=`: the environment's manifest changes, newest first. */
  manifestHistory(env: string, slug?: string): Promise<ManifestChange[]> {
    return this.call('GET', `/v1/manifests/${encodeURIComponent(env)}/history${slug !== undefined ? `?slug=${encodeURIComponent(slug)}` : ''}`);
  }
  /**
   * `POST /v1/manifests/:env/promote`: pins `slug@version` in `env` (an admin key).
   * @throws {CatalogClientError} `UNKNOWN_GAME`, `UNKNOWN_VERSION`, `UNKNOWN_ENV` (404), `FORBIDDEN` (403, not an admin key).
   */
  promote(slug: string, version: string, env: string): Promise<ManifestChange> {
    return this.call('POST', `/v1/manifests/${encodeURIComponent(env)}/promote`, { json: { slug, version } });
  }
  /**
   * `POST /v1/manifests/:env/rollback`: pins the version pinned before the current one (an admin key).
   * @throws {CatalogClientError} `NOTHING_TO_ROLL_BACK` (409), `UNKNOWN_GAME`, `UNKNOWN_ENV` (404), `FORBIDDEN` (403).
   */
  rollback(slug: string, env: string): Promise<ManifestChange> {
    return this.call('POST', `/v1/manifests/${encodeURIComponent(env)}/rollback`, { json: { slug } });
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: { json: unknown } | { bytes: Uint8Array; type: string }, timeoutMs = this.timeoutMs): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const what = `${method} ${url}`;
    const headers: Record<string, string> = { authorization: this.auth, accept: 'application/json' };
    let payload: RequestInit['body'];
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = body.type;
      // fetch's types want an ArrayBuffer-backed view; a Buffer's pool is one
      payload = body.bytes as Uint8Array<ArrayBuffer>;
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      text = await res.text();
    } catch (err) {
      throw networkError(what, this.baseUrl, err, timeoutMs);
    }
    let parsed: { status?: unknown; data?: unknown; cause?: unknown; message?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = {};
    }
    if (res.ok && parsed.status === 'OK' && 'data' in parsed) return parsed.data as T;
    if (parsed.status === 'rejected' && typeof parsed.cause === 'string') {
      const retry = Number(res.headers.get('retry-after'));
      const message = typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : parsed.cause.toLowerCase().replace(/_/g, ' ');
      throw new CatalogClientError(parsed.cause, res.status, message, Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : undefined);
    }
    throw new CatalogClientError(ServerErrorCode.CATALOG_BAD_RESPONSE, res.status, `${what} answered ${res.status} with something that is not the catalog's /v1 envelope: is ${this.baseUrl} a catalog (the orchestrator's or parlor-catalog's URL)?`);
  }
}

function networkError(what: string, base: string, err: unknown, timeoutMs: number): CatalogClientError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const reason = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  return new CatalogClientError(ServerErrorCode.CATALOG_NETWORK, 0, `cannot reach the catalog at ${base} (${what}: ${reason})`, { cause: err });
}

function checkSlug(slug: string): void {
  if (!SLUG_RE.test(slug)) throw new ServerConfigError(`invalid game slug ${JSON.stringify(slug)}: lower-case letters, digits and '-', starting with a letter or digit, at most 64`);
}

function checkVersion(version: string): void {
  if (!VERSION_RE.test(version)) throw new ServerConfigError(`invalid version ${JSON.stringify(version)}: semver MAJOR.MINOR.PATCH with an optional pre-release, e.g. 1.2.0 or 1.3.0-rc.1`);
}

function duration(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new ServerConfigError(`${name} must be a positive number of ms (got ${String(v)})`);
  return v;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
