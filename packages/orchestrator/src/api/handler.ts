/**
 * The HTTP surface: `/healthz`, `/readyz` and the REST API `/v1` (envelope, errors, CORS, ETag,
 * admin auth, audit log), against the narrow {@link ControlPlane}. `GET /v1/events` is handed to
 * {@link SseStreams}.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp, type AuthGuard } from '../auth/guard.js';
import { CAUSE_STATUS, FleetCause, OrchestratorError, type FleetCauseValue } from '../errors.js';
import { kv, type Logger } from '../logger.js';
import type { EventFeed } from '../registry/events.js';
import type { CreateRoomRequest, RoomQuery } from '../types.js';
import type { ApiOptions, ControlPlane } from './control-plane.js';
import { SseStreams } from './sse.js';

/** Largest request body accepted (bytes); larger ones get `PAYLOAD_TOO_LARGE` before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

class Rejection extends Error {
  constructor(
    readonly reason: FleetCauseValue,
    message: string,
  ) {
    super(message);
  }
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  ip: string;
  method: string;
  path: string;
  query: URLSearchParams;
  keyFp: string | null;
}

/** The request handler of the orchestrator's HTTP server. */
export class ApiHandler {
  private readonly sse: SseStreams;

  constructor(
    private readonly control: ControlPlane,
    private readonly opts: ApiOptions,
    private readonly deps: { guard: AuthGuard; feed: EventFeed; logger: Logger },
  ) {
    this.sse = new SseStreams(deps.feed, opts);
  }

  /** Ends every SSE stream. */
  closeStreams(): void {
    this.sse.closeAll();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      url = new URL('http://x/');
    }
    const ctx: Ctx = { req, res, ip: clientIp(req, this.opts.trustProxy), method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, keyFp: null };
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    this.applyCors(req, res);
    if (ctx.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const mutating = ctx.method !== 'GET' && ctx.method !== 'HEAD';
    if (mutating && ctx.path.startsWith('/v1/')) {
      res.on('finish', () => {
        this.deps.logger.info(`audit: ${kv({ method: ctx.method, path: ctx.path, status: res.statusCode, key: ctx.keyFp ?? 'none', ip: ctx.ip })}`);
      });
    }
    this.route(ctx).catch((err: unknown) => this.fail(ctx, err));
  }

  private applyCors(req: IncomingMessage, res: ServerResponse): void {
    const allowed = this.opts.cors;
    const origin = req.headers.origin;
    if (allowed.length === 0 || !origin) return;
    if (allowed.includes('*') || allowed.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-None-Match');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
      res.setHeader('Access-Control-Expose-Headers', 'ETag');
      res.setHeader('Access-Control-Max-Age', '600');
    }
  }

  private fail(ctx: Ctx, err: unknown): void {
    let cause: FleetCauseValue;
    let message: string;
    if (err instanceof Rejection) {
      cause = err.reason;
      message = err.message;
    } else if (err instanceof OrchestratorError && err.code in CAUSE_STATUS) {
      cause = err.code as FleetCauseValue;
      message = err.message;
    } else {
      this.deps.logger.error(`http error: ${kv({ method: ctx.method, path: ctx.path })}: ${(err as Error)?.stack ?? String(err)}`);
      if (!ctx.res.headersSent) this.json(ctx, 500, { status: 'rejected', cause: 'INTERNAL', message: 'internal error' });
      else ctx.res.destroy();
      return;
    }
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    const extra: Record<string, string> = {};
    if (cause === FleetCause.UNAUTHORIZED) extra['WWW-Authenticate'] = 'Bearer realm="parlor"';
    if (cause === FleetCause.AUTH_THROTTLED || cause === FleetCause.INSTANCE_BUSY || cause === FleetCause.SSE_LIMIT) extra['Retry-After'] = '1';
    if (cause === FleetCause.PAYLOAD_TOO_LARGE) extra.Connection = 'close';
    // UNAUTHORIZED has one uniform body: no message that could tell why.
    const body = cause === FleetCause.UNAUTHORIZED ? { status: 'rejected', cause } : { status: 'rejected', cause, message };
    this.json(ctx, CAUSE_STATUS[cause], body, extra);
  }

  private json(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const buf = Buffer.from(JSON.stringify(body));
    ctx.res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(buf.byteLength), ...headers });
    if (ctx.method === 'HEAD') ctx.res.end();
    else ctx.res.end(buf);
  }

  private ok(ctx: Ctx, data: unknown, status = 200): void {
    this.json(ctx, status, { status: 'OK', data });
  }

  /** A GET answer with a weak ETag over its data; `If-None-Match` → 304. */
  private cached(ctx: Ctx, data: unknown): void {
    const body = JSON.stringify({ status: 'OK', data });
    const etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`;
    const inm = ctx.req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      ctx.res.writeHead(304, { ETag: etag }).end();
      return;
    }
    const buf = Buffer.from(body);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(buf.byteLength), ETag: etag });
    if (ctx.method === 'HEAD') ctx.res.end();
    else ctx.res.end(buf);
  }

  private authenticate(ctx: Ctx, allowQuery: boolean): void {
    const h = ctx.req.headers.authorization;
    let key: string | null = null;
    if (typeof h === 'string' && /^Bearer [^\s]+$/i.test(h.trim())) key = h.trim().slice(7);
    else if (allowQuery && ctx.query.has('key')) key = ctx.query.get('key');
    const verdict = this.deps.guard.check('admin', ctx.ip, key, { method: ctx.method, path: ctx.path });
    if (!verdict.ok) {
      if (verdict.reason === 'throttled') throw new Rejection(FleetCause.AUTH_THROTTLED, 'too many failed authentications from this address; retry later');
      throw new Rejection(FleetCause.UNAUTHORIZED, 'unauthorized');
    }
    const fp = verdict.fingerprint;
    ctx.keyFp = fp;
  }

  private async readBody(ctx: Ctx): Promise<unknown> {
    const len = ctx.req.headers['content-length'];
    if (len !== undefined && Number(len) > MAX_BODY_BYTES) {
      ctx.req.resume();
      throw new Rejection(FleetCause.PAYLOAD_TOO_LARGE, `body over ${MAX_BODY_BYTES} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    await new Promise<void>((resolve, reject) => {
      ctx.req.on('data', (c: Buffer) => {
        if (tooLarge) return;
        size += c.byteLength;
        if (size > MAX_BODY_BYTES) {
          tooLarge = true;
          resolve();
          return;
        }
        chunks.push(c);
      });
      ctx.req.on('end', () => resolve());
      ctx.req.on('error', reject);
    });
    if (tooLarge) throw new Rejection(FleetCause.PAYLOAD_TOO_LARGE, `body over ${MAX_BODY_BYTES} bytes`);
    if (size === 0) return undefined;
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new Rejection(FleetCause.VALIDATION, 'body is not valid JSON');
    }
  }

  private async route(ctx: Ctx): Promise<void> {
    const { path, method } = ctx;
    if (path === '/healthz') return this.ok(ctx, { ok: true });
    if (path === '/readyz') {
      if (this.control.ready) return this.ok(ctx, { ready: true });
      return this.json(ctx, 503, { status: 'rejected', cause: FleetCause.SHUTTING_DOWN, message: 'not ready' });
    }
    if (!this.opts.api || !(path === '/v1' || path.startsWith('/v1/'))) throw new Rejection(FleetCause.NOT_FOUND, `nothing at ${path}`);
    const seg = path.split('/').slice(2).map(safeDecode); // after '', 'v1'
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method) && !(method === 'HEAD' && methods.includes('GET'))) {
        ctx.res.setHeader('Allow', methods.join(', '));
        throw new Rejection(FleetCause.METHOD_NOT_ALLOWED, `${method} not allowed on ${path}`);
      }
    };
    this.authenticate(ctx, this.opts.sseQueryAuth && seg[0] === 'events' && seg.length === 1);
    const fleet = this.control.fleet;

    if (seg[0] === 'stats' && seg.length === 1) {
      allow('GET');
      return this.cached(ctx, fleet.stats);
    }
    if (seg[0] === 'events' && seg.length === 1) {
      allow('GET');
      return this.openStream(ctx);
    }
    if (seg[0] === 'instances') {
      if (seg.length === 1) {
        allow('GET');
        return this.cached(ctx, fleet.instances);
      }
      const inst = fleet.getInstance(seg[1]);
      if (seg.length === 2) {
        allow('GET');
        if (!inst) throw new Rejection(FleetCause.INSTANCE_NOT_FOUND, `no instance ${seg[1].slice(0, 64)}`);
        return this.cached(ctx, inst);
      }
      if (seg.length === 3 && seg[2] === 'rooms') {
        allow('GET');
        if (!inst) throw new Rejection(FleetCause.INSTANCE_NOT_FOUND, `no instance ${seg[1].slice(0, 64)}`);
        return this.cached(ctx, fleet.findRooms({ instanceId: inst.id }));
      }
      if (seg.length === 3 && (seg[2] === 'drain' || seg[2] === 'undrain')) {
        allow('POST');
        await this.readBody(ctx);
        const info = seg[2] === 'drain' ? await this.control.drainInstance(seg[1]) : await this.control.undrainInstance(seg[1]);
        return this.ok(ctx, info);
      }
    }
    if (seg[0] === 'rooms') {
      if (seg.length === 1) {
        allow('GET', 'POST');
        if (method === 'POST') {
          const body = await this.readBody(ctx);
          const room = await this.control.createRoom(body as CreateRoomRequest);
          return this.ok(ctx, room, 201);
        }
        return this.cached(ctx, fleet.findRooms(parseRoomQuery(ctx.query)));
      }
      if (seg.length === 2) {
        allow('GET', 'DELETE');
        if (method === 'DELETE') {
          await this.control.destroyRoom(seg[1]);
          return this.ok(ctx, { roomId: seg[1], destroyed: true });
        }
        const room = fleet.getRoom(seg[1]);
        if (!room) throw new Rejection(FleetCause.ROOM_NOT_FOUND, `no room ${seg[1].slice(0, 64)}`);
        return this.cached(ctx, room);
      }
    }
    if (seg[0] === 'rooms' && seg.length === 3 && seg[2] === 'seats') {
      allow('POST');
      const body = (await this.readBody(ctx)) ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Rejection(FleetCause.VALIDATION, 'body must be an object');
      const { count, ttlMs } = body as { count?: number; ttlMs?: number };
      return this.ok(ctx, await this.control.reserveSeats(seg[1], { count, ttlMs }), 201);
    }
    throw new Rejection(FleetCause.NOT_FOUND, `nothing at ${path}`);
  }

  private openStream(ctx: Ctx): void {
    if (this.sse.full) throw new Rejection(FleetCause.SSE_LIMIT, `at most ${this.opts.maxSseStreams} event streams`);
    this.sse.open(ctx.req, ctx.res);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseRoomQuery(q: URLSearchParams): RoomQuery {
  const out: RoomQuery = {};
  const type = q.get('type');
  if (type) out.type = type;
  const inst = q.get('instanceId');
  if (inst) out.instanceId = inst;
  const labels = q.getAll('label');
  if (labels.length > 0) {
    out.labels = {};
    for (const l of labels) {
      const i = l.indexOf(':');
      if (i <= 0) throw new Rejection(FleetCause.VALIDATION, 'label must be key:value');
      out.labels[l.slice(0, i)] = l.slice(i + 1);
    }
  }
  return out;
}
