/**
 * The catalog on its own (`parlor-catalog`): the catalog's routes, `/healthz`, `/readyz` and
 * `/v1/openapi.json` on one port, with the orchestrator's HTTP conventions (the `/v1` envelope,
 * TypeBox validation, the same key classes, failed-auth throttle and headers). An orchestrator
 * elsewhere uses it with `--catalog-url` (room creates resolve through `GET /v1/resolve`), hosts
 * fetch artifacts from it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import { ENV_RE } from '@parlor/squish';
import { Type, type TSchema } from '@sinclair/typebox';
import { fastify, LogController, type FastifyInstance } from 'fastify';
import { AuthGuard, clientIp } from '../auth/guard.js';
import { AccessKeys } from '../auth/keys.js';
import { AuthThrottle } from '../auth/throttle.js';
import { FleetCause, OrchestratorConfigError, OrchestratorError, type FleetCauseValue } from '../errors.js';
import { resolveLogger, type Logger, type LogLevel } from '../logger.js';
import { authenticate, MAX_BODY_BYTES, prepareV1App } from '../api/http.js';
import { pathOf } from '../api/reply.js';
import { ok, rejections } from '../api/schemas.js';
import { CatalogHost, type CatalogConfig } from './hosting.js';
import { registerCatalogRoutes } from './routes.js';
import type { Catalog } from './types.js';

const OPENAPI_PATH = '/v1/openapi.json';

/** Options of {@link CatalogServer}. */
export interface CatalogServerOptions {
  /** The catalog, or `{ dir, gate?, … }` to open one in `dir` when listening (see `CatalogConfig`). */
  catalog: Catalog | CatalogConfig;
  /** Interface to listen on. Default `0.0.0.0`. */
  host?: string;
  /** TCP port; `0` picks a free one. Default 7071. */
  port?: number;
  /** Keys that may read the catalog (the fleet's agent keys: hosts fetch artifacts with them). Same rules as the orchestrator's. */
  agentKey?: string | string[];
  /** Keys that may do everything (promote, roll back, edit games, publish). */
  adminKey?: string | string[];
  /** Keys that may publish and read; entries `key` or `name=key`. */
  publisherKey?: string | string[];
  /** The environment `GET /v1/resolve` uses when the query names none. Default `prod` in production, else `dev`. */
  env?: string;
  /** Public base URL artifact URLs are built on. Default the listen address. */
  publicUrl?: string;
  /** Take client addresses from `X-Forwarded-For`. Default `false`. */
  trustProxy?: boolean;
  /** A pino logger, or a level for the default one. Default `'info'`. */
  logger?: Logger | LogLevel;
  /** Environment for the key rules. Default `process.env.NODE_ENV`. */
  nodeEnv?: string;
}

/** The catalog served on its own. */
export class CatalogServer {
  /** The logger in use. */
  readonly logger: Logger;
  /** Keys generated in development (printed once at construction), else empty. */
  readonly generatedKeys: { readonly agentKey?: string; readonly adminKey?: string };
  private readonly app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;
  private readonly keys: AccessKeys;
  private readonly catalogHost: CatalogHost;
  private readonly host: string;
  private readonly wantedPort: number;
  private readonly publicBase: string | undefined;
  private _port = 0;
  private listening = false;
  private closing: Promise<void> | null = null;

  /** @throws {OrchestratorConfigError} on invalid options or key rules. */
  constructor(options: CatalogServerOptions) {
    this.logger = resolveLogger(options.logger);
    const nodeEnv = options.nodeEnv ?? process.env.NODE_ENV;
    this.keys = new AccessKeys({ agentKey: options.agentKey, adminKey: options.adminKey, publisherKey: options.publisherKey }, nodeEnv === 'production');
    this.generatedKeys = this.keys.generated;
    if (this.generatedKeys.agentKey || this.generatedKeys.adminKey) {
      process.stdout.write(
        `\n  parlor-catalog (development): generated keys, shown once\n` +
          (this.generatedKeys.agentKey ? `    agent key (reads): ${this.generatedKeys.agentKey}\n` : '') +
          (this.generatedKeys.adminKey ? `    admin key: ${this.generatedKeys.adminKey}\n` : '') +
          `  Pass --agent-key-file / --admin-key-file (or PARLOR_AGENT_KEYS / PARLOR_ADMIN_KEYS) to choose your own.\n\n`,
      );
    }
    this.catalogHost = new CatalogHost(options.catalog, this.logger);
    this.host = options.host ?? '0.0.0.0';
    this.wantedPort = options.port ?? 7071;
    this.publicBase = options.publicUrl?.replace(/\/+$/, '');
    const env = options.env ?? (nodeEnv === 'production' ? 'prod' : 'dev');
    if (!ENV_RE.test(env)) throw new OrchestratorConfigError(`env must be an environment name like dev, staging or prod (${ENV_RE.source}; got ${JSON.stringify(env)}); fix --env`);
    const guard = new AuthGuard(this.keys, new AuthThrottle(20, 200, 60_000), this.logger.child({ component: 'auth' }));
    this.app = this.createApp(guard, env, options.trustProxy === true);
    this.logger.info({ agentKeys: this.keys.fingerprints.agent, adminKeys: this.keys.fingerprints.admin, publisherKeys: this.keys.fingerprints.publisher }, 'keys');
  }

  /** The port listened on (after {@link listen}). */
  get port(): number {
    return this._port;
  }

  /** `http://<host>:<port>` (wildcard hosts shown as `localhost`). */
  get url(): string {
    const h = this.host;
    return `http://${h === '0.0.0.0' || h === '::' ? 'localhost' : h.includes(':') ? `[${h}]` : h}:${this._port}`;
  }

  /** The `publicUrl` option, else {@link url}. */
  get publicUrl(): string {
    return this.publicBase ?? this.url;
  }

  /** The catalog once open. */
  get catalog(): Catalog | undefined {
    return this.catalogHost.current;
  }

  /** Replaces key lists (rotation; see `Orchestrator.setKeys`). @throws {OrchestratorConfigError} on a rule violation. */
  setKeys(keys: { agentKey?: string | string[]; adminKey?: string | string[]; publisherKey?: string | string[] }): void {
    const fps = this.keys.set(keys);
    this.logger.info({ agentKeys: fps.agent, adminKeys: fps.admin, publisherKeys: fps.publisher }, 'keys rotated');
  }

  /**
   * Listens, then opens the catalog on the listening address.
   * @throws {OrchestratorError} `ORCHESTRATOR_LISTEN` when it cannot listen; `ORCHESTRATOR_CONFIG` when the catalog cannot be opened.
   */
  async listen(): Promise<void> {
    try {
      await this.app.listen({ port: this.wantedPort, host: this.host });
    } catch (err) {
      throw new OrchestratorError('ORCHESTRATOR_LISTEN', `cannot listen on ${this.host}:${this.wantedPort}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    this._port = (this.app.server.address() as AddressInfo).port;
    try {
      await this.catalogHost.open(this.publicUrl);
    } catch (err) {
      await this.app.close();
      throw err;
    }
    this.listening = true;
    this.logger.info({ url: this.url }, 'catalog listening');
  }

  /** Closes the server and the catalog it opened. Idempotent. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.app.close();
      await this.catalogHost.close();
      this.listening = false;
    })();
    return this.closing;
  }

  private createApp(guard: AuthGuard, env: string, trustProxy: boolean): FastifyInstance<Server, IncomingMessage, ServerResponse, Logger> {
    const log = this.logger.child({ component: 'http' });
    const app = fastify({
      loggerInstance: log.child({}, { level: log.levelVal >= 40 ? log.level : 'warn' }),
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: MAX_BODY_BYTES,
      forceCloseConnections: true,
      return503OnClosing: false,
      exposeHeadRoutes: true,
    });
    prepareV1App(app, log);
    app.addHook('onRequest', async (req, reply) => {
      req.clientAddr = clientIp(req.raw, trustProxy);
      reply.raw.setHeader('X-Content-Type-Options', 'nosniff');
      reply.raw.setHeader('Cache-Control', 'no-store');
      const path = pathOf(req.url);
      if (req.method === 'OPTIONS' || !path.startsWith('/v1/') || path === OPENAPI_PATH) return;
      authenticate(req, reply, path, guard, false, true);
    });
    app.addHook('onResponse', async (req, reply) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
      log.info({ method: req.method, path: pathOf(req.url), status: reply.statusCode, keyFp: req.keyFp ?? 'none', ip: req.clientAddr }, 'audit');
    });
    void app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Parlor catalog', version: '1', description: 'Published game versions, manifests per environment, the publish pipeline, artifacts.' },
        components: {
          securitySchemes: {
            adminKey: { type: 'http', scheme: 'bearer', description: 'An admin key' },
            publisherKey: { type: 'http', scheme: 'bearer', description: 'A publisher key (publish and reads)' },
            agentKey: { type: 'http', scheme: 'bearer', description: 'An agent key (reads)' },
          },
        },
        security: [{ adminKey: [] }],
      },
    });
    void app.register(async (scope) => {
      const health = (summary: string, data: TSchema, causes: FleetCauseValue[], ready: () => boolean) =>
        ({ method: 'GET' as const, schema: { summary, tags: ['health'], security: [], response: { 200: ok(data, summary), ...rejections(...causes) } } as Record<string, unknown>, ready });
      const live = health('Liveness (no auth)', Type.Object({ ok: Type.Literal(true) }), ['INTERNAL'], () => true);
      scope.route({ method: live.method, url: '/healthz', schema: live.schema, handler: () => ({ status: 'OK', data: { ok: true } }) });
      const ready = health('Readiness: listening, the catalog open, not shutting down (no auth)', Type.Object({ ready: Type.Literal(true) }), ['SHUTTING_DOWN', 'INTERNAL'], () => this.listening && !this.closing);
      scope.route({
        method: ready.method,
        url: '/readyz',
        schema: ready.schema,
        handler: () => {
          if (!ready.ready()) throw new OrchestratorError(FleetCause.SHUTTING_DOWN, 'not ready');
          return { status: 'OK', data: { ready: true } };
        },
      });
      scope.route({ method: 'GET', url: OPENAPI_PATH, schema: { summary: 'This document (no auth)', tags: ['meta'], security: [], response: { 200: Type.Object({}, { description: 'OpenAPI 3.1 document' }), ...rejections('INTERNAL') } }, handler: () => app.swagger() });
    });
    void app.register(async (scope) => registerCatalogRoutes(scope, { catalog: () => this.catalogHost.get(), env, publicUrl: () => this.publicUrl, maxUploadBytes: this.catalogHost.maxUploadBytes, logger: this.logger }));
    return app;
  }
}
