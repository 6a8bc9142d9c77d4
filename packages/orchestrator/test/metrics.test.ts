/**
 * `GET /metrics` (issue 12, item 8): scraped over HTTP from a real orchestrator with a live agent,
 * as Prometheus does (a bearer token: a metrics key or an admin key).
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, describeContract, http, startAgent, startOrchestrator, waitFor } from './helpers.js';

const METRICS_KEY = 'metrics-key-0123456789abcdef';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The value of one sample line of a Prometheus text exposition (`NaN` when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

describe('GET /metrics', () => {
  it('serves the fleet, placements, command latency, SSE consumers to a metrics key or an admin key, and nothing without one', async () => {
    const { orch } = await startOrchestrator({ metricsKey: METRICS_KEY });
    cleanups.push(() => orch.shutdown());
    const { agent, host } = await startAgent(orch, { capacity: { maxConnections: 50, maxRooms: 7 } });
    cleanups.push(() => agent.disconnect());

    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'm1' } })).status).toBe(201);
    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'no-such-game' } })).body.cause).toBe('NO_CANDIDATE');
    host.rooms.get('m1')!.clientCount = 3;
    await waitFor(() => orch.fleet.stats.clients === 3, 'players reported');
    const sse = await request(`${orch.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    cleanups.push(() => sse.body.destroy());

    const scrape = await http(orch, 'GET', '/metrics', { key: METRICS_KEY });
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toContain('text/plain');
    const text = scrape.body as string;
    expect(sample(text, 'parlor_orchestrator_instances{state="active"}')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_instances{state="stale"}')).toBe(0);
    expect(sample(text, 'parlor_orchestrator_rooms')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_clients')).toBe(3);
    expect(sample(text, 'parlor_orchestrator_capacity{resource="rooms"}')).toBe(7);
    expect(sample(text, 'parlor_orchestrator_placements_total{result="ok"}')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_placements_total{result="NO_CANDIDATE"}')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_command_duration_seconds_count{op="createRoom",outcome="ok"}')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_sse_consumers')).toBe(1);
    expect(sample(text, 'parlor_orchestrator_auth_failures_total{role="admin",result="refused"}')).toBe(0);

    // the admin key reads it too; no key, a wrong key, or the metrics key anywhere else: refused
    expect((await http(orch, 'GET', '/metrics')).status).toBe(200);
    const none = await http(orch, 'GET', '/metrics', { key: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ status: 'rejected', cause: 'UNAUTHORIZED' });
    expect((await http(orch, 'GET', '/metrics', { key: 'wrong-key-0123456789abcdef' })).status).toBe(401);
    expect((await http(orch, 'GET', '/v1/stats', { key: METRICS_KEY })).status).toBe(401);
    // each of those three refusals is counted
    const later = (await http(orch, 'GET', '/metrics', { key: METRICS_KEY })).body as string;
    expect(sample(later, 'parlor_orchestrator_auth_failures_total{role="admin",result="refused"}')).toBe(3);
  });

  it('is served without the REST API too (api: false), still behind a key', async () => {
    const { orch } = await startOrchestrator({ api: false, metricsKey: METRICS_KEY });
    cleanups.push(() => orch.shutdown());
    const res = await request(`${orch.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toContain('parlor_orchestrator_instances');
    const refused = await request(`${orch.url}/metrics`);
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();
  });
});

describeContract();
