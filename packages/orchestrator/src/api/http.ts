/**
 * The HTTP stack of the orchestrator (fastify): body limit and JSON parsing, TypeBox validation,
 * the common headers and CORS, admin auth on `/v1`, the audit log, the rejection envelope for
 * every error, 404 and 405, and the OpenAPI document (`/v1/openapi.json`). The routes themselves
 * are in `routes.ts`; the agent socket shares the server (`upgrade`) but not this stack.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TSchema } from '@sinclair/typebox';
import { fastify, LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { clientIp, type AuthGuard } from '../auth/guard.js';
import { FLEET_CAUSES, FleetCause, OrchestratorError, isFleetCause, type FleetCauseValue } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';
import type { EventFeed } from '../registry/events.js';
import { compile, firstError } from '../schemas.js';
import type { ApiOptions, ControlPlane } from './control-plane.js';
import { pathOf, reject } from './reply.js';
import { registerRoutes, OPENAPI_PATH } from './routes.js';
import { registerDashboard } from './dashboard.js';
import { hasMetricsKey, METRICS_PATH, registerMetricsRoute } from './metrics-route.js';
import { SseStreams } from './sse.js';
import { isCatalogPath, registerCatalogRoutes, type CatalogRouteOptions } from '../catalog/routes.js';
import type { OperationLog } from '../operations/log.js';
import { registerOperationRoutes } from '../operations/routes.js';
import type { WebhookNotifier } from '../notifications/notifier.js';
import { registerWebhookRoutes } from '../notifications/routes.js';
import { registerAutoscalerRoutes } from '../provisioning/routes.js';
import type { AutoscalerStatus } from '../types.js';

/** Largest request body accepted (bytes); larger ones get `PAYLOAD_TOO_LARGE` before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** Fingerprint of the admin key that authenticated the request. */
    keyFp: string | null;
    /** The client address (`X-Forwarded-For` when `trustProxy`). */
    clientAddr: string;
  }
}

/** Errors of fastify itself that reach a client, as causes (the rest are 4xx `VALIDATION` or `INTERNAL`). */
const FASTIFY_CAUSES: Readonly<Record<string, FleetCauseValue>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: FleetCause.PAYLOAD_TOO_LARGE,
};

/** The orchestrator's HTTP API: a fastify instance, and the SSE streams it holds open. */
export interface Api {
  readonly app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;
  readonly streams: SseStreams;
}

/** Builds the HTTP API against the control plane (routes are added when the app gets ready). */
export function createApi(control: ControlPlane, opts: ApiOptions, deps: { guard: AuthGuard; feed: EventFeed; metrics: OrchestratorMetrics; logger: Logger; catalog?: CatalogRouteOptions; operations?: () => OperationLog; webhooks?: WebhookNotifier; autoscaler?: () => AutoscalerStatus }): Api {
  const log = deps.logger.child({ component: 'http' });
  const app = fastify({
    // fastify's own lines (listening, closing) duplicate ours: only its warnings and errors.
    loggerInstance: log.child({}, { level: log.levelVal >= 40 ? log.level : 'warn' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    forceCloseConnections: true,
    // While closing, requests still get the envelope (control calls answer SHUTTING_DOWN), not fastify's own 503.
    return503OnClosing: false,
    exposeHeadRoutes: true,
    // A URL fastify cannot route (bad percent-encoding…) skips the hooks: the same headers and auth, then VALIDATION.
    frameworkErrors: (err, req, reply) => {
      try {
        prepare(req, reply);
      } catch (e) {
        const r = e as OrchestratorError;
        return reject(reply, r.code as FleetCauseValue, r.message);
      }
      return reject(reply, FleetCause.VALIDATION, err.message);
    },
  });
  const streams = new SseStreams(deps.feed, opts, deps.metrics);
  prepareV1App(app, log);

  /** Every request: the common headers, CORS, and the admin key on `/v1` (throws `UNAUTHORIZED` or `AUTH_THROTTLED`). */
  function prepare(req: FastifyRequest, reply: FastifyReply): void {
    req.clientAddr = clientIp(req.raw, opts.trustProxy);
    const raw = reply.raw;
    raw.setHeader('X-Content-Type-Options', 'nosniff');
    raw.setHeader('Cache-Control', 'no-store');
    applyCors(opts.cors, req.headers.origin, raw);
    // `/metrics` (served with or without `/v1`): a metrics key, else the admin key check
    if (req.method !== 'OPTIONS' && pathOf(req.url) === METRICS_PATH) return void (hasMetricsKey(req, opts.metricsKeys) || authenticate(req, reply, METRICS_PATH, deps.guard, false));
    if (req.method === 'OPTIONS' || !opts.api) return;
    const path = pathOf(req.url);
    if ((path === '/v1' || path.startsWith('/v1/')) && path !== OPENAPI_PATH) authenticate(req, reply, path, deps.guard, opts.sseQueryAuth && path === '/v1/events', deps.catalog !== undefined && isCatalogPath(path));
  }
  app.addHook('onRequest', async (req, reply) => prepare(req, reply));
  app.addHook('onResponse', async (req, reply) => {
    const path = pathOf(req.url);
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || !path.startsWith('/v1/')) return;
    log.info({ method: req.method, path, status: reply.statusCode, keyFp: req.keyFp ?? 'none', ip: req.clientAddr }, 'audit');
  });


  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Parlor orchestrator', version: '1', description: 'Fleet control plane: read model, placement, rooms, seats, events.' },
      components: {
        securitySchemes: {
          adminKey: { type: 'http', scheme: 'bearer', description: 'An admin key' },
          metricsKey: { type: 'http', scheme: 'bearer', description: 'A metrics key (GET /metrics only)' },
          publisherKey: { type: 'http', scheme: 'bearer', description: 'A publisher key (the catalog: publish and reads)' },
          agentKey: { type: 'http', scheme: 'bearer', description: 'An agent key (the catalog: reads)' },
        },
      },
      security: [{ adminKey: [] }],
    },
  });
  void app.register(async (scope) => registerRoutes(scope, control, opts, streams));
  void app.register(async (scope) => registerMetricsRoute(scope, deps.metrics));
  if (deps.catalog) void app.register(async (scope) => registerCatalogRoutes(scope, deps.catalog!));
  if (deps.operations && opts.api) void app.register(async (scope) => registerOperationRoutes(scope, { operations: deps.operations! }));
  if (deps.webhooks && opts.api) void app.register(async (scope) => registerWebhookRoutes(scope, deps.webhooks!));
  if (deps.autoscaler && opts.api) void app.register(async (scope) => registerAutoscalerRoutes(scope, deps.autoscaler!));
  void app.register(async (scope) => registerDashboard(scope, opts));
  return { app, streams };
}

/** Checks the request's key: an admin key, or on the catalog's routes (`anyClass`) a key of any class (the route checks it). */
export function authenticate(req: FastifyRequest, reply: FastifyReply, path: string, guard: AuthGuard, allowQuery: boolean, anyClass = false): void {
  const h = req.headers.authorization;
  let key: string | null = null;
  if (typeof h === 'string' && /^Bearer [^\s]+$/i.test(h.trim())) key = h.trim().slice(7);
  else if (allowQuery) key = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1)).get('key');
  const verdict = anyClass ? guard.identify(req.clientAddr, key, { method: req.method, path }) : guard.check('admin', req.clientAddr, key, { method: req.method, path });
  if (!verdict.ok) {
    if (verdict.reason === 'throttled') {
      // the real seconds until a wrong key from this caller is heard again (the error handler keeps it)
      reply.header('Retry-After', String(verdict.retryAfterS));
      throw new OrchestratorError(FleetCause.AUTH_THROTTLED, FLEET_CAUSES.AUTH_THROTTLED.message);
    }
    throw new OrchestratorError(FleetCause.UNAUTHORIZED, FLEET_CAUSES.UNAUTHORIZED.message);
  }
  req.keyFp = verdict.fingerprint;
  req.keyRole = verdict.role;
  req.keyName = verdict.name;
}

function applyCors(allowed: readonly string[], origin: string | undefined, res: ServerResponse): void {
  if (allowed.length === 0 || !origin) return;
  if (!allowed.includes('*') && !allowed.includes(origin)) return;
  res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') ? '*' : origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-None-Match');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
  res.setHeader('Access-Control-Expose-Headers', 'ETag');
  res.setHeader('Access-Control-Max-Age', '600');
}

/**
 * What every `/v1` fastify app of the orchestrator shares (the API here, the catalog on its own in
 * `catalog/standalone.ts`): the request decorations the auth guard fills, any content type read as
 * JSON (an empty body is no body; invalid JSON is `VALIDATION`), TypeBox validation answering
 * `VALIDATION` with the first error, answers serialised as they are (the contract test checks them),
 * and every error and unknown path answered in the rejection envelope (an unexpected error is logged
 * on `log` and answered `INTERNAL`, its details kept out of the reply).
 */
export function prepareV1App(app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>, log: Logger): void {
  app.decorateRequest('keyFp', null);
  app.decorateRequest('clientAddr', '');
  app.decorateRequest('keyRole', null);
  app.decorateRequest('keyName', null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    if (body.byteLength === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      done(new OrchestratorError(FleetCause.VALIDATION, 'body is not valid JSON'), undefined);
    }
  });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = compile(schema as TSchema);
    return (data: unknown) => {
      const value = httpPart === 'body' && (data === null || data === undefined) ? {} : data;
      const bad = firstError(check, value);
      return bad ? { error: new OrchestratorError(FleetCause.VALIDATION, `${httpPart} ${bad}`) } : { value };
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof OrchestratorError && isFleetCause(err.code)) return reject(reply, err.code, err.message);
    const cause = FASTIFY_CAUSES[err.code] ?? (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? FleetCause.VALIDATION : undefined);
    if (cause === FleetCause.PAYLOAD_TOO_LARGE) return reject(reply, cause, `body over ${MAX_BODY_BYTES} bytes`);
    if (cause) return reject(reply, cause, err.message);
    log.error({ err, method: req.method, path: pathOf(req.url) }, 'http error');
    return reject(reply, FleetCause.INTERNAL, FLEET_CAUSES.INTERNAL.message);
  });
  app.setNotFoundHandler((req, reply) => reject(reply, FleetCause.NOT_FOUND, `nothing at ${pathOf(req.url)}`));
}
