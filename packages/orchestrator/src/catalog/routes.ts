/**
 * The catalog's REST routes (`/v1/games`, `/v1/publish-requests`, `/v1/manifests/:env`,
 * `/v1/resolve`, `/v1/artifacts/:sha256`, `/v1/game-files/…`), in the `/v1` envelope with their
 * TypeBox schemas, against the {@link Catalog} interface. Registered in the orchestrator's API (the
 * catalog in-process) or the standalone `parlor-catalog` (standalone.ts); either way the request's
 * key class (`req.keyRole`) decides: admin everything, publisher publish + reads, agent reads.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ArtifactRef } from '@parlor/squish';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { KeyRole } from '../auth/guard.js';
import { FleetCause, OrchestratorError, type FleetCauseValue } from '../errors.js';
import type { Logger } from '../logger.js';
import { cached, reject } from '../api/reply.js';
import { BODY_CAUSES, NOT_MODIFIED, ok, rejections, V1_CAUSES } from '../api/schemas.js';
import { GAME_FILE_TYPES, gameFileType, tarIndex } from './game-files.js';
import * as S from './schemas.js';
import type { Catalog, GameConfigPatch } from './types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The class of the key that authenticated the request (`null` before auth, or on a route without it). */
    keyRole: KeyRole | null;
    /** The key's name: a publisher's `name=key` name, else the key's fingerprint. */
    keyName: string | null;
  }
}

/** Default cap of an upload (the gzip'd tar), bytes: 32 MiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024;

/** The paths the catalog serves: every key class may call them (the route checks the class). */
const CATALOG_PATH_RE = /^\/v1\/(?:games|publish-requests|manifests|resolve|artifacts|game-files)(?:\/|$)/;

/** Whether `path` (no query) is one of the catalog's routes. */
export function isCatalogPath(path: string): boolean {
  return CATALOG_PATH_RE.test(path);
}

/** What the catalog's routes need. */
export interface CatalogRouteOptions {
  /** The catalog, or how to get it at each request (an in-process catalog opens once the port is known; before, the getter throws `SHUTTING_DOWN`). */
  catalog: Catalog | (() => Catalog);
  /** The environment `GET /v1/resolve` uses when the query names none. */
  env: string;
  /** The public base URL (`http://host:port`) artifact URLs are built on; read at each resolve (the port is known after listen). */
  publicUrl: () => string;
  /** Largest upload accepted, bytes (`UPLOAD_TOO_LARGE` 413 past it, before reading it). Default {@link DEFAULT_MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
  logger: Logger;
}

/** An artifact ref with its URL on this catalog's public address. */
export function withArtifactUrl(ref: ArtifactRef, publicUrl: string): ArtifactRef {
  return { ...ref, url: `${publicUrl.replace(/\/+$/, '')}/v1/artifacts/${ref.sha256}` };
}

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
interface Operation {
  summary: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: unknown;
  response: Record<number, unknown>;
  handler: Handler;
  /** Route options beyond the schema (upload route: body limit, own validator). */
  extra?: Record<string, unknown>;
}
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** One path's operations, and a 405 (with `Allow`) for its other methods. */
function resource(app: FastifyInstance, url: string, ops: Partial<Record<(typeof METHODS)[number], Operation>>, tags: string[]): void {
  const allowed = Object.keys(ops) as Array<(typeof METHODS)[number]>;
  for (const method of allowed) {
    const { handler, summary, extra, ...schema } = ops[method]!;
    app.route({ method, url, schema: { summary, tags, security: [{ adminKey: [] }, { publisherKey: [] }, { agentKey: [] }], ...schema }, handler, ...extra });
  }
  const others: HTTPMethods[] = METHODS.filter((m) => !allowed.includes(m));
  if (!allowed.includes('GET')) others.push('HEAD');
  app.route({ method: others, url, schema: { hide: true }, handler: (req, reply) => reject(reply, FleetCause.METHOD_NOT_ALLOWED, `${req.method} not allowed on ${url}`, { Allow: allowed.join(', ') }) });
}

const v1 = (...causes: FleetCauseValue[]): Record<number, TSchema> => rejections(...V1_CAUSES, ...causes);

/** Refuses (403 `FORBIDDEN`) a key whose class may not call this route. */
function need(req: FastifyRequest, what: 'admin' | 'publish'): void {
  const role = req.keyRole;
  if (role === 'admin' || (what === 'publish' && role === 'publisher')) return;
  throw new OrchestratorError(FleetCause.FORBIDDEN, what === 'admin' ? `${role ?? 'this'} key may not do this: an admin key only` : `${role ?? 'this'} key may not publish: a publisher or admin key only`);
}

/** The publish route (its body is the upload). */
const UPLOAD_ROUTE = '/v1/games/:slug/versions/:version';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A conditional GET of an immutable resource: 304 when `If-None-Match` names `etag`. */
function notModified(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  return typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
}

const binary = (types: string[], description: string): unknown => ({ description, content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) });

/** Registers the catalog's routes on `app` (an encapsulated scope: its upload parser and error handler stay there). */
export function registerCatalogRoutes(app: FastifyInstance, opts: CatalogRouteOptions): void {
  const given = opts.catalog;
  /** The catalog, read at each request. */
  const catalog: () => Catalog = typeof given === 'function' ? given : () => given;
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const log = opts.logger.child({ component: 'catalog-http' });

  // The upload: a gzip'd tar, read as bytes (the root parser reads every other type as JSON).
  app.addContentTypeParser(['application/gzip', 'application/x-gzip', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: maxUpload }, (_req, body, done) => done(null, body));
  // The catalog's refusals carry their own headers; the rest goes to the API's error handler.
  app.setErrorHandler((err: Error & { code?: string }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && req.method === 'POST' && req.routeOptions.url === UPLOAD_ROUTE) return reject(reply, FleetCause.UPLOAD_TOO_LARGE, `upload over ${maxUpload} bytes`);
    if (err instanceof OrchestratorError && err.code === FleetCause.RATE_LIMITED) {
      const wait = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
      return reject(reply, FleetCause.RATE_LIMITED, err.message, { 'Retry-After': String(Math.max(1, Math.ceil(wait ?? 1))) });
    }
    throw err;
  });

  const games = ['catalog: games'];
  resource(app, '/v1/games', { GET: { summary: 'Games in the catalog', response: { 200: ok(Type.Array(S.CatalogGameSchema), 'games by slug'), ...NOT_MODIFIED, ...v1() }, handler: async (req, reply) => cached(req, reply, await catalog().listGames()) } }, games);
  resource(
    app,
    '/v1/games/:slug',
    {
      GET: {
        summary: "A game's configuration",
        params: S.SlugParams,
        response: { 200: ok(S.CatalogGameSchema, 'the game'), ...NOT_MODIFIED, ...v1('UNKNOWN_GAME') },
        handler: async (req, reply) => cached(req, reply, await catalog().getGame((req.params as Static<typeof S.SlugParams>).slug)),
      },
      PUT: {
        summary: "Change a game's configuration: name, description, tags, show, access (admin key)",
        params: S.SlugParams,
        body: S.GameConfigPatchSchema,
        response: { 200: ok(S.CatalogGameSchema, 'the game after the change'), ...v1(...BODY_CAUSES, 'FORBIDDEN', 'UNKNOWN_GAME') },
        handler: async (req) => {
          need(req, 'admin');
          return { status: 'OK', data: await catalog().updateGame((req.params as Static<typeof S.SlugParams>).slug, req.body as GameConfigPatch, req.keyName ?? 'admin') };
        },
      },
    },
    games,
  );
  resource(
    app,
    '/v1/games/:slug/versions',
    {
      GET: {
        summary: "A game's published versions, newest first",
        params: S.SlugParams,
        response: { 200: ok(Type.Array(S.GameVersionSchema), 'versions, newest first'), ...NOT_MODIFIED, ...v1('UNKNOWN_GAME') },
        handler: async (req, reply) => cached(req, reply, await catalog().listVersions((req.params as Static<typeof S.SlugParams>).slug)),
      },
    },
    games,
  );
  resource(
    app,
    UPLOAD_ROUTE,
    {
      GET: {
        summary: 'One published version',
        params: S.VersionParams,
        response: { 200: ok(S.GameVersionSchema, 'the version'), ...NOT_MODIFIED, ...v1('UNKNOWN_GAME', 'UNKNOWN_VERSION') },
        handler: async (req, reply) => {
          const { slug, version } = req.params as Static<typeof S.VersionParams>;
          return cached(req, reply, await catalog().getVersion(slug, version));
        },
      },
      POST: {
        summary:
          'Publish: the body is the gzip’d tar of the game folder (`Content-Type: application/gzip`). 202 with the request recorded PENDING; the gate runs in the ' +
          'background (poll GET /v1/publish-requests/:id until PUBLISHED or FAILED). The same content again: 200 with the PUBLISHED request (publisher or admin key)',
        params: S.VersionParams,
        body: { type: 'string', format: 'binary', description: "gzip'd tar of the game folder" },
        response: {
          200: ok(S.PublishRequestSchema, 'this slug@version already holds this content: its PUBLISHED request'),
          202: ok(S.PublishRequestSchema, 'recorded PENDING; the pipeline runs in the background'),
          ...v1('FORBIDDEN', 'BAD_UPLOAD', 'UPLOAD_TOO_LARGE', 'RATE_LIMITED', 'VERSION_EXISTS'),
        },
        // the key class is checked before the body is read (an agent key cannot make it read an upload)
        extra: { bodyLimit: maxUpload, validatorCompiler: () => () => true, onRequest: async (req: FastifyRequest) => need(req, 'publish') },
        handler: async (req, reply) => {
          const { slug, version } = req.params as Static<typeof S.VersionParams>;
          if (!Buffer.isBuffer(req.body) || req.body.byteLength === 0) throw new OrchestratorError(FleetCause.BAD_UPLOAD, "send the gzip'd tar of the game folder as the body, with Content-Type: application/gzip (parlor publish <dir> does)");
          const { request, done } = await catalog().startPublish(slug, version, new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength), req.keyName ?? 'unknown');
          done.then(
            (end) => log.info({ id: end.id, slug, version, state: end.state, error: end.error?.code }, 'publish request ended'),
            (err: unknown) => log.error({ err, slug, version }, 'publish pipeline failed'),
          );
          return reply.code(request.state === 'PUBLISHED' ? 200 : 202).send({ status: 'OK', data: request });
        },
      },
    },
    games,
  );

  const requests = ['catalog: publish requests'];
  resource(
    app,
    '/v1/publish-requests',
    {
      GET: {
        summary: 'Publish requests, newest first (optionally of one game)',
        querystring: S.SlugQuery,
        response: { 200: ok(Type.Array(S.PublishRequestSchema), 'publish requests'), ...NOT_MODIFIED, ...v1() },
        handler: async (req, reply) => cached(req, reply, await catalog().listPublishRequests((req.query as Static<typeof S.SlugQuery>).slug)),
      },
    },
    requests,
  );
  resource(
    app,
    '/v1/publish-requests/:id',
    {
      GET: {
        summary: 'One publish request: PENDING → PROCESSING → PUBLISHED | FAILED (with the error and the gate report)',
        params: S.IdParams,
        response: { 200: ok(S.PublishRequestSchema, 'the request'), ...NOT_MODIFIED, ...v1('UNKNOWN_PUBLISH_REQUEST') },
        handler: async (req, reply) => cached(req, reply, await catalog().getPublishRequest((req.params as Static<typeof S.IdParams>).id)),
      },
    },
    requests,
  );

  const manifests = ['catalog: manifests'];
  resource(
    app,
    '/v1/manifests/:env',
    {
      GET: {
        summary: "An environment's manifest (prod.games.json entries); dev follows each game's latest version unless pinned; an environment nobody promoted to is empty",
        params: S.EnvParams,
        response: { 200: ok(S.ManifestSchema, 'the manifest'), ...NOT_MODIFIED, ...v1('UNKNOWN_ENV') },
        handler: async (req, reply) => cached(req, reply, await catalog().manifest((req.params as Static<typeof S.EnvParams>).env)),
      },
    },
    manifests,
  );
  resource(
    app,
    '/v1/manifests/:env/history',
    {
      GET: {
        summary: "An environment's manifest changes in the order they were made (optionally of one game)",
        params: S.EnvParams,
        querystring: S.SlugQuery,
        response: { 200: ok(Type.Array(S.ManifestChangeSchema), 'changes, oldest first'), ...NOT_MODIFIED, ...v1('UNKNOWN_ENV') },
        handler: async (req, reply) => cached(req, reply, await catalog().manifestHistory((req.params as Static<typeof S.EnvParams>).env, (req.query as Static<typeof S.SlugQuery>).slug)),
      },
    },
    manifests,
  );
  resource(
    app,
    '/v1/manifests/:env/promote',
    {
      POST: {
        summary: 'Pin slug@version in the environment (admin key); running rooms keep their version',
        params: S.EnvParams,
        body: S.PromoteBody,
        response: { 200: ok(S.ManifestChangeSchema, 'the change'), ...v1(...BODY_CAUSES, 'FORBIDDEN', 'UNKNOWN_ENV', 'UNKNOWN_GAME', 'UNKNOWN_VERSION') },
        handler: async (req) => {
          need(req, 'admin');
          const { slug, version } = req.body as Static<typeof S.PromoteBody>;
          return { status: 'OK', data: await catalog().promote(slug, version, (req.params as Static<typeof S.EnvParams>).env, req.keyName ?? 'admin') };
        },
      },
    },
    manifests,
  );
  resource(
    app,
    '/v1/manifests/:env/rollback',
    {
      POST: {
        summary: 'Pin the version pinned before the current one (admin key)',
        params: S.EnvParams,
        body: S.RollbackBody,
        response: { 200: ok(S.ManifestChangeSchema, 'the change'), ...v1(...BODY_CAUSES, 'FORBIDDEN', 'UNKNOWN_ENV', 'UNKNOWN_GAME', 'NOTHING_TO_ROLL_BACK') },
        handler: async (req) => {
          need(req, 'admin');
          const { slug } = req.body as Static<typeof S.RollbackBody>;
          return { status: 'OK', data: await catalog().rollback(slug, (req.params as Static<typeof S.EnvParams>).env, req.keyName ?? 'admin') };
        },
      },
    },
    manifests,
  );

  const artifacts = ['catalog: artifacts'];
  resource(
    app,
    '/v1/resolve',
    {
      GET: {
        summary: `A game to the version it runs: \`game=pong\` (the version \`env\` pins; default env: ${opts.env}) or \`game=pong@1.2.0\``,
        querystring: S.ResolveQuery,
        response: { 200: ok(S.ArtifactRefSchema, 'the resolved version and its artifact URL'), ...v1('UNKNOWN_GAME', 'UNKNOWN_VERSION', 'UNKNOWN_ENV', 'NOT_IN_MANIFEST') },
        handler: async (req) => {
          const q = req.query as Static<typeof S.ResolveQuery>;
          return { status: 'OK', data: withArtifactUrl(await catalog().resolve(q.game, q.env ?? opts.env), opts.publicUrl()) };
        },
      },
    },
    artifacts,
  );
  resource(
    app,
    '/v1/artifacts/:sha256',
    {
      GET: {
        summary: "An artifact's bytes (an uncompressed tar; verify its sha256 before using it), immutable: ETag the sha256, cached a year",
        params: S.ShaParams,
        response: { 200: binary(['application/x-tar'], 'the artifact'), ...NOT_MODIFIED, ...v1('UNKNOWN_ARTIFACT') },
        handler: async (req, reply) => {
          const { sha256 } = req.params as Static<typeof S.ShaParams>;
          const path = catalog().artifactPath(sha256);
          const size = path === undefined ? undefined : await stat(path).then((s) => s.size, () => undefined);
          if (path === undefined || size === undefined) throw new OrchestratorError(FleetCause.UNKNOWN_ARTIFACT, `no artifact ${sha256}`);
          return sendImmutable(req, reply, `"${sha256}"`, 'application/x-tar', path, 0, size);
        },
      },
    },
    artifacts,
  );
  resource(
    app,
    '/v1/game-files/:slug/:version/*',
    {
      GET: {
        summary: "One file of a published version (its assets, parlor-artifact.json, the bundle), immutable: cached a year",
        params: S.GameFileParams,
        response: { 200: binary([...new Set([...Object.values(GAME_FILE_TYPES), 'application/octet-stream'])], 'the file'), ...NOT_MODIFIED, ...v1('UNKNOWN_GAME', 'UNKNOWN_VERSION', 'UNKNOWN_FILE') },
        handler: async (req, reply) => {
          const { slug, version, '*': file } = req.params as Static<typeof S.GameFileParams>;
          const v = await catalog().getVersion(slug, version);
          const path = catalog().artifactPath(v.sha256);
          if (path === undefined) throw new OrchestratorError(FleetCause.UNKNOWN_ARTIFACT, `the artifact of ${slug}@${version} is missing`);
          const entry = (await tarIndex(v.sha256, path)).get(file);
          if (!entry) throw new OrchestratorError(FleetCause.UNKNOWN_FILE, `${slug}@${version} has no file ${file.slice(0, 200)}`);
          const etag = `"${v.sha256.slice(0, 32)}-${createHash('sha256').update(file).digest('hex').slice(0, 16)}"`;
          return sendImmutable(req, reply, etag, gameFileType(file), path, entry.offset, entry.size);
        },
      },
    },
    artifacts,
  );
}

/** Streams `size` bytes of `path` from `offset`, immutable, or 304 on a matching `If-None-Match`. */
function sendImmutable(req: FastifyRequest, reply: FastifyReply, etag: string, type: string, path: string, offset: number, size: number): FastifyReply {
  reply.header('ETag', etag).header('Cache-Control', IMMUTABLE);
  if (notModified(req, etag)) return reply.code(304).send();
  reply.header('Content-Type', type).header('Content-Length', String(size));
  if (req.method === 'HEAD' || size === 0) return reply.send('');
  return reply.send(createReadStream(path, { start: offset, end: offset + size - 1 }));
}
