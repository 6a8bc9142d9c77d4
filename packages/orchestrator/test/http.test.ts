import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { OrchestratorOptions } from '../src/index.js';
import { checkContract, fetchOpenApi, type Recorded } from './contract.js';
import { ADMIN_KEY, describeContract, http, startAgent, startOrchestrator } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function orchestrator(opts: OrchestratorOptions = {}) {
  const r = await startOrchestrator(opts);
  cleanups.push(() => r.orch.shutdown());
  return r;
}

describe('the HTTP surface', () => {
  it('405 with Allow on a route that does not serve the method; 404 off the routes; HEAD on GET routes; /healthz, /readyz and the document without auth', async () => {
    const { orch } = await orchestrator();
    const put = await http(orch, 'PUT', '/v1/stats');
    expect(put.status).toBe(405);
    expect(put.body).toMatchObject({ status: 'rejected', cause: 'METHOD_NOT_ALLOWED' });
    expect(put.headers.allow).toBe('GET');
    expect((await http(orch, 'DELETE', '/v1/rooms')).headers.allow).toBe('GET, POST');
    expect((await http(orch, 'GET', '/v1/rooms/x/seats')).headers.allow).toBe('POST');
    expect((await http(orch, 'HEAD', '/v1/rooms/x/seats')).status).toBe(405);
    // auth comes first: no key, no hint about which methods exist
    expect((await http(orch, 'PUT', '/v1/stats', { key: null })).status).toBe(401);
    expect((await http(orch, 'GET', '/v1/nothing-here')).body).toMatchObject({ status: 'rejected', cause: 'NOT_FOUND' });
    expect((await http(orch, 'GET', '/v1/nothing-here', { key: null })).status).toBe(401);
    expect((await http(orch, 'GET', '/elsewhere', { key: null })).status).toBe(404);
    const head = await http(orch, 'HEAD', '/v1/stats');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.etag).toMatch(/^W\//);
    expect((await http(orch, 'GET', '/healthz', { key: null })).body).toEqual({ status: 'OK', data: { ok: true } });
    expect((await http(orch, 'GET', '/readyz', { key: null })).body).toEqual({ status: 'OK', data: { ready: true } });
    const doc = await http(orch, 'GET', '/v1/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/rooms', '/v1/rooms/{roomId}/seats', '/v1/instances/{id}/drain', '/v1/events']));
    // a URL that cannot be decoded: the same auth first, then VALIDATION in the envelope
    expect((await http(orch, 'GET', '/v1/rooms/%E0%A4%A', { key: null })).status).toBe(401);
    const badUrl = await http(orch, 'GET', '/v1/rooms/%E0%A4%A');
    expect(badUrl.body).toMatchObject({ status: 'rejected', cause: 'VALIDATION' });
    expect(badUrl.headers['cache-control']).toBe('no-store');
    const res = await http(orch, 'GET', '/v1/stats');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('CORS: allowed origins get the headers (preflight 204 without auth), others none', async () => {
    const { orch } = await orchestrator({ cors: ['https://app.example'] });
    const pre = await http(orch, 'OPTIONS', '/v1/rooms', { key: null, headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, DELETE, OPTIONS');
    const get = await http(orch, 'GET', '/v1/stats', { headers: { origin: 'https://app.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(get.headers['access-control-expose-headers']).toBe('ETag');
    const other = await http(orch, 'GET', '/v1/stats', { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('api: false serves only /healthz, /readyz and the agent socket; sseQueryAuth takes ?key= on /v1/events only', async () => {
    // (not recorded: the contract is the one of an orchestrator that serves the API)
    const off = await orchestrator({ api: false });
    const get = async (path: string) => {
      const res = await request(`${off.orch.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return { status: res.statusCode, body: (await res.body.json()) as { cause?: string } };
    };
    expect(await get('/v1/stats')).toMatchObject({ status: 404, body: { cause: 'NOT_FOUND' } });
    expect((await get('/v1/openapi.json')).status).toBe(404);
    expect((await get('/healthz')).status).toBe(200);
    await startAgent(off.orch).then(({ agent }) => cleanups.push(() => agent.disconnect()));

    const { orch } = await orchestrator({ sseQueryAuth: true });
    const sse = await request(`${orch.url}/v1/events?key=${ADMIN_KEY}`);
    expect(sse.statusCode).toBe(200);
    sse.body.destroy();
    expect((await http(orch, 'GET', `/v1/stats?key=${ADMIN_KEY}`, { key: null })).status).toBe(401);
  });
});

describe('the contract check', () => {
  it('fails on a status, a body or an operation the document does not describe', async () => {
    const { orch } = await orchestrator();
    const doc = await fetchOpenApi(orch.url);
    const good = (await http(orch, 'GET', '/v1/stats')).body;
    const rec = (r: Partial<Recorded>): Recorded => ({ method: 'GET', path: '/v1/stats', status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(good), ...r });
    expect(checkContract(doc, [rec({})])).toEqual([]);
    const bad = [
      rec({ status: 418 }), // undeclared status
      rec({ body: JSON.stringify({ status: 'OK', data: { ...good.data, extra: 1 } }) }), // a field the schema does not have
      rec({ body: JSON.stringify({ status: 'OK', data: { ...good.data, rooms: -1 } }) }), // out of bounds
      rec({ path: '/v1/instances/x', status: 404, body: JSON.stringify({ status: 'rejected', cause: 'ROOM_NOT_FOUND', message: 'x' }) }), // a cause the route does not declare
      rec({ status: 304, body: '{}' }), // a body where none is declared
      rec({ method: 'PUT', status: 200 }), // no such operation
      rec({ path: '/v1/rooms/r1', status: 200, body: JSON.stringify({ status: 'OK', data: { roomId: 'r1' } }) }), // missing fields
    ];
    const problems = checkContract(doc, bad);
    expect(problems).toHaveLength(bad.length);
  });
});

describeContract();
