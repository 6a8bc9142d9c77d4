/**
 * The development status routes (`parlor dev` only, i.e. a server given a `DevStatus`): the
 * browser's dev overlay reads a game's build and room diagnostics from them.
 * - `GET /parlor/dev/events?game=<name>`: Server-Sent Events, one `state` event with the current
 *   status first, then one per change; a comment line every {@link DEV_HEARTBEAT_MS} keeps the
 *   stream open through idle proxies.
 * - `GET /parlor/dev/status/<name>`: the current status as JSON.
 * Without a `DevStatus` they are not registered (the 404 page, like any unknown path).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DevGameState, DevStatus, GameDiagnostic } from '../dev/status.js';
import type { Logger } from '../logger.js';
import { refuse } from './errors.js';

/** Path of the dev status event stream (`?game=<name>`). */
export const DEV_EVENTS_PATH = '/parlor/dev/events';
/** Path prefix of a game's dev status as JSON (`/parlor/dev/status/<name>`). */
export const DEV_STATUS_PATH = '/parlor/dev/status';
/** Most dev event streams open at once; one more is answered 503 `DEV_STREAMS_FULL`. */
export const MAX_DEV_STREAMS = 32;
/** Interval of the heartbeat comment on an idle event stream, ms. */
export const DEV_HEARTBEAT_MS = 15_000;
/** Reconnect delay the stream asks browsers to use after it drops (the SSE `retry:` field), ms. */
export const DEV_RETRY_MS = 1000;
/** Most diagnostics sent per state (errors come first, so the cut drops warnings). */
export const MAX_DEV_DIAGNOSTICS = 50;

/**
 * A game's status as the dev routes send it: the {@link DevGameState} (diagnostics capped at
 * {@link MAX_DEV_DIAGNOSTICS}, messages at 2000 and code frames at 8000 characters) plus `server`,
 * an id of this server process: a client that sees it change knows revisions started over.
 */
export interface DevStateMessage extends DevGameState {
  server: string;
}

/** What the dev routes read. */
export interface DevRoutesView {
  readonly logger: Logger;
  readonly devStatus: DevStatus;
  /** Whether a game of this name is loaded (a loaded game without a report is shown as revision 0, ok). */
  hasGame(name: string): boolean;
}

/** Registers {@link DEV_EVENTS_PATH} and {@link DEV_STATUS_PATH} (see the module comment). */
export function registerDevRoutes(app: FastifyInstance, view: DevRoutesView): void {
  const server = randomBytes(6).toString('hex');
  const streams = new Set<() => void>();
  const stateOf = (game: string): DevStateMessage | null => {
    const state = view.devStatus.get(game) ?? (view.hasGame(game) ? { game, revision: 0, ok: true, diagnostics: [] } : undefined);
    return state ? toMessage(state, server) : null;
  };

  app.get<{ Params: { game: string } }>(`${DEV_STATUS_PATH}/:game`, async (req, reply) => {
    const state = stateOf(req.params.game);
    if (!state) return refuse(req, reply, 'UNKNOWN_GAME', `no game named ${JSON.stringify(req.params.game.slice(0, 64))} here`);
    return reply.header('Cache-Control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(state));
  });

  app.get<{ Querystring: { game?: unknown } }>(DEV_EVENTS_PATH, async (req, reply) => {
    const game = typeof req.query.game === 'string' ? req.query.game : '';
    if (game === '') return refuse(req, reply, 'VALIDATION', 'game is required: /parlor/dev/events?game=<name>');
    const first = stateOf(game);
    if (!first) return refuse(req, reply, 'UNKNOWN_GAME', `no game named ${JSON.stringify(game.slice(0, 64))} here`);
    if (streams.size >= MAX_DEV_STREAMS) return refuse(req, reply, 'DEV_STREAMS_FULL', undefined, { 'Retry-After': '5' });
    const headers = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    };
    if (req.method === 'HEAD') return reply.headers(headers).send();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, headers);
    openStream(res, first, {
      server,
      streams,
      subscribe: (onChange) => {
        const listener = (state: DevGameState): void => {
          if (state.game === game) onChange(toMessage(state, server));
        };
        view.devStatus.on('change', listener);
        return () => view.devStatus.off('change', listener);
      },
      logger: view.logger,
    });
    return reply;
  });
}

/**
 * Writes one event stream until the connection closes: `retry:`, the first state, then each
 * change. A reader that does not keep up holds at most one pending state (the newest), written
 * when the socket drains.
 */
function openStream(
  res: import('node:http').ServerResponse,
  first: DevStateMessage,
  o: { server: string; streams: Set<() => void>; subscribe: (onChange: (s: DevStateMessage) => void) => () => void; logger: Logger },
): void {
  let pending: DevStateMessage | null = null;
  const write = (s: DevStateMessage): void => {
    if (res.writableNeedDrain) {
      pending = s;
      return;
    }
    res.write(`event: state\ndata: ${JSON.stringify(s)}\n\n`);
  };
  res.on('drain', () => {
    const s = pending;
    pending = null;
    if (s) write(s);
  });
  res.write(`retry: ${DEV_RETRY_MS}\n: parlor dev status of ${first.game.slice(0, 64)}\n\n`);
  write(first);
  const unsubscribe = o.subscribe(write);
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(': ping\n\n');
  }, DEV_HEARTBEAT_MS);
  heartbeat.unref?.();
  const close = (): void => {
    if (!o.streams.delete(close)) return;
    clearInterval(heartbeat);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  o.streams.add(close);
  res.on('close', close);
  res.on('error', (err) => {
    o.logger.debug({ error: err.message }, 'dev event stream error');
    close();
  });
}

function cap(s: string | undefined, max: number): string | undefined {
  return s === undefined || s.length <= max ? s : `${s.slice(0, max)}…`;
}

function toMessage(state: DevGameState, server: string): DevStateMessage {
  const diagnostics = state.diagnostics.slice(0, MAX_DEV_DIAGNOSTICS).map((d): GameDiagnostic => ({ ...d, message: cap(d.message, 2000) ?? '', codeFrame: cap(d.codeFrame, 8000) }));
  return { game: state.game, revision: state.revision, ok: state.ok, diagnostics, server };
}
