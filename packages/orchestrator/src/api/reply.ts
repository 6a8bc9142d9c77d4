/** How the REST API answers: the rejection envelope and the cached (ETag) `OK` envelope. */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FLEET_CAUSES, FleetCause, type FleetCauseValue } from '../errors.js';

/**
 * Answers with the rejection envelope of `cause`: its status and headers from `FLEET_CAUSES`
 * (plus `headers`), no message for `UNAUTHORIZED` (one uniform body).
 */
export function reject(reply: FastifyReply, cause: FleetCauseValue, message: string, headers: Record<string, string> = {}): FastifyReply {
  const def: { status: number; headers?: Record<string, string> } = FLEET_CAUSES[cause];
  const body = cause === FleetCause.UNAUTHORIZED ? { status: 'rejected', cause } : { status: 'rejected', cause, message };
  return reply
    .code(def.status)
    .headers({ ...def.headers, ...headers })
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(body));
}

/** A GET answer `{ status: 'OK', data }` with a weak ETag over it; a matching `If-None-Match` gets 304. */
export function cached(req: FastifyRequest, reply: FastifyReply, data: unknown): FastifyReply {
  const body = JSON.stringify({ status: 'OK', data });
  const etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`;
  reply.header('ETag', etag);
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(body);
}

/** The path of a request URL (no query). */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
