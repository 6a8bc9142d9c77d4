// A real `parlor-orchestrator` process and real signals: the first SIGTERM drains (new work refused
// with SHUTTING_DOWN, /readyz 503, the create already sent to an agent finishes and its caller gets
// 201, SSE streams end with `shutdown`, agents are closed with SHUTDOWN), then the process exits 0;
// the room keeps running on its host and reappears under the next orchestrator. A second signal
// exits at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FleetAgent, FleetCloseCode } from '@parlor/fleet-agent';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, MemoryHost, quietAgentLogger, waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A host whose creates of `held` ids wait until {@link release}. */
class HeldHost extends MemoryHost {
  readonly entered = new Set<string>();
  private readonly waiting = new Map<string, () => void>();
  constructor(private readonly held: string[]) {
    super();
  }
  override async createRoom(type: string, roomId: string, options: Record<string, unknown>): Promise<void> {
    if (this.held.includes(roomId)) {
      this.entered.add(roomId);
      await new Promise<void>((r) => this.waiting.set(roomId, r));
    }
    return super.createRoom(type, roomId, options);
  }
  release(roomId: string): void {
    this.waiting.get(roomId)?.();
  }
}

type Proc = { proc: ChildProcess; url: string; out: () => string; exited: Promise<number | null> };

async function orchestrator(port: number, shutdownTimeoutMs: number): Promise<Proc> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--no-catalog', '--port', String(port), '--poll', '200', '--command-timeout', '60000', '--shutdown-timeout', String(shutdownTimeoutMs), '--log-level', 'info'],
    { cwd: root, env: { ...process.env, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  cleanups.push(() => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    return exited;
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await waitFor(() => /REST: {3}(http:\/\/\S+)\/v1/.test(out), 'orchestrator listening', 20_000);
  return { proc, url: /REST: {3}(http:\/\/\S+)\/v1/.exec(out)![1], out: () => out, exited };
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}

async function connectAgent(url: string, host: MemoryHost): Promise<{ agent: FleetAgent; closes: number[] }> {
  const agent = new FleetAgent(host, { url: url.replace(/^http/, 'ws'), key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', name: 'box', minBackoffMs: 50, maxBackoffMs: 200, logger: quietAgentLogger });
  const closes: number[] = [];
  agent.on('disconnected', ({ code }) => closes.push(code));
  cleanups.push(() => agent.disconnect());
  await agent.connect({ connectTimeoutMs: 5000 });
  return { agent, closes };
}

describe('parlor-orchestrator on SIGTERM', () => {
  it('drains: a create in flight completes (201), new work gets 503 SHUTTING_DOWN, /readyz 503, SSE ends with shutdown, exit 0; the room reappears under the next orchestrator', async () => {
    const first = await orchestrator(0, 30_000);
    const port = Number(new URL(first.url).port);
    const host = new HeldHost(['slow-1']);
    const { closes } = await connectAgent(first.url, host);
    await waitFor(async () => (await call(first.url, 'GET', '/v1/instances')).body.data[0]?.roomTypes.includes('pong') === true, 'agent registered with its room types (its first snapshot)');
    const client = new FleetClient({ baseUrl: first.url, adminKey: ADMIN_KEY, reconnectDelayMs: 50, reconnectMaxDelayMs: 200 });
    cleanups.push(() => client.close());
    const events: string[] = [];
    const stream = client.events((e) => events.push(e.name));
    cleanups.push(() => stream.close());
    await waitFor(() => events.includes('sync'), 'SSE sync');

    const inflight = call(first.url, 'POST', '/v1/rooms', { type: 'pong', roomId: 'slow-1' });
    await waitFor(() => host.entered.has('slow-1'), 'the create reached the host');
    first.proc.kill('SIGTERM');
    await waitFor(async () => (await call(first.url, 'GET', '/readyz')).status === 503, '/readyz 503 once draining');

    // new work is refused while the create in flight is still running
    const refused = await call(first.url, 'POST', '/v1/rooms', { type: 'pong', roomId: 'late-1' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ status: 'rejected', cause: 'SHUTTING_DOWN' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const seats = await call(first.url, 'POST', '/v1/rooms/slow-1/seats', { count: 1 });
    expect(seats.body.cause).toBe('SHUTTING_DOWN');
    expect(host.rooms.has('late-1')).toBe(false);
    expect(first.proc.exitCode).toBeNull();

    host.release('slow-1');
    const created = await inflight;
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ roomId: 'slow-1', type: 'pong' });
    expect(await first.exited).toBe(0);
    expect(first.out()).toContain('draining: refusing new work');
    expect(first.out()).not.toContain('drain timed out');
    await waitFor(() => events.includes('shutdown'), 'SSE last event shutdown');
    await waitFor(() => closes.includes(FleetCloseCode.SHUTDOWN), 'agent closed with SHUTDOWN');
    // the room keeps running on its host, and the agent reports it to the next orchestrator
    expect(host.rooms.has('slow-1')).toBe(true);
    const second = await orchestrator(port, 30_000);
    await waitFor(async () => (await call(second.url, 'GET', '/v1/rooms/slow-1')).status === 200, 'the room reappears', 20_000);
    expect((await call(second.url, 'GET', '/v1/rooms')).body.data.map((r: { roomId: string }) => r.roomId)).toEqual(['slow-1']);
  }, 90_000);

  it('a second SIGTERM exits at once (1), without waiting for the create in flight', async () => {
    const orch = await orchestrator(0, 600_000);
    const host = new HeldHost(['stuck-1']);
    await connectAgent(orch.url, host);
    await waitFor(async () => (await call(orch.url, 'GET', '/v1/instances')).body.data[0]?.roomTypes.includes('pong') === true, 'agent registered with its room types (its first snapshot)');
    const inflight = call(orch.url, 'POST', '/v1/rooms', { type: 'pong', roomId: 'stuck-1' }).catch((err: Error) => err);
    await waitFor(() => host.entered.has('stuck-1'), 'the create reached the host');
    orch.proc.kill('SIGTERM');
    await waitFor(async () => (await call(orch.url, 'GET', '/readyz')).status === 503, 'draining');
    orch.proc.kill('SIGTERM');
    // the drain would wait 10 minutes for the held create: only the second signal ends it within the test's time
    expect(await orch.exited).toBe(1);
    await inflight;
  }, 60_000);
});
