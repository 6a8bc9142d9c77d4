/**
 * Webhooks through the orchestrator: the admin REST routes (configured URLs without secrets, dead
 * letters, retry), the metrics, the CLI's flags, and a real `parlor-orchestrator` process killed
 * with SIGKILL while a delivery is in flight, whose notification goes out after a restart on the
 * same data dir (its room events from a real fleet agent). Receivers are real node:http servers on
 * 127.0.0.1. In-process, the room events are injected through the orchestrator's public emitter
 * (`orch.emit('room:event', …)`, what the agent hub does with an agent's `roomEvent` frame).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetAgent } from '@parlor/fleet-agent';
import type { RoomEvent } from '@parlor/squish';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, describeContract, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';
import { EventingHost, startReceiver, type Receiver } from './webhook-receiver.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = 'webhook-secret-0123456789';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-webhooks-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function receiver(answer?: (n: number) => number | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanups.push(() => r.close());
  return r;
}

const turnReady = (roomId: string, turn: number): RoomEvent => ({ kind: 'turn.ready', roomId, game: 'galaxy', turn, at: Date.now() });

describe('webhooks admin API', () => {
  it('lists the webhooks without secrets, a down URL ends as a dead letter listed over the API, and the retry endpoint delivers it once the URL is back', async () => {
    const down = await receiver(() => 503);
    const { orch } = await startOrchestrator({
      dataDir: tempDir(),
      webhooks: [{ url: down.url, secret: SECRET, kinds: ['game.turn.ready'] }],
      webhookDelivery: { maxAttempts: 3, backoffInitialMs: 10, backoffMaxMs: 40 },
    });
    cleanups.push(() => orch.shutdown());

    orch.emit('room:event', { instanceId: 'i-1', event: turnReady('g1', 2) });
    await waitFor(async () => (await http(orch, 'GET', '/v1/webhooks')).body.data[0].dead === 1, 'a dead letter', 10_000);
    const hooks = await http(orch, 'GET', '/v1/webhooks');
    expect(hooks.status).toBe(200);
    expect(hooks.body.data).toEqual([{ url: down.url, kinds: ['game.turn.ready'], pending: 0, delivered: 0, dead: 1, lastError: 'HTTP 503' }]);
    expect(JSON.stringify(hooks.body)).not.toContain(SECRET);
    expect(down.received).toHaveLength(3);

    const dead = await http(orch, 'GET', '/v1/webhooks/dead-letters');
    expect(dead.status).toBe(200);
    expect(dead.body.data).toHaveLength(1);
    const letter = dead.body.data[0];
    expect(letter).toMatchObject({ url: down.url, kind: 'game.turn.ready', idempotencyKey: 'turn-ready:g1:2', payload: { game_id: 'g1', turn: 2 }, state: 'dead', attempts: 3, lastStatus: 503 });
    expect((await http(orch, 'GET', `/v1/webhooks/dead-letters?limit=1&before=${letter.id}`)).body.data).toEqual([]);
    expect((await http(orch, 'GET', '/v1/webhooks/dead-letters?limit=0')).status).toBe(400);
    expect(await orch.metrics.text()).toMatch(/parlor_orchestrator_webhook_outbox\{state="dead"\} 1/);
    expect(await orch.metrics.text()).toMatch(/parlor_orchestrator_webhook_deliveries_total\{result="dead"\} 1/);

    // the endpoint comes back; an admin sends the dead letter again
    down.answer = () => 200;
    const retried = await http(orch, 'POST', `/v1/webhooks/dead-letters/${letter.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.data).toMatchObject({ id: letter.id, state: 'pending', attempts: 0 });
    await waitFor(() => down.ok().length === 1, 'delivered after the retry');
    const got = down.ok()[0];
    expect(got.headers['idempotency-key']).toBe('turn-ready:g1:2');
    expect(verifyWebhookSignature(SECRET, got.headers, got.raw)).toBe(true);
    await waitFor(async () => (await http(orch, 'GET', '/v1/webhooks')).body.data[0].delivered === 1, 'recorded delivered');
    expect((await http(orch, 'GET', '/v1/webhooks/dead-letters')).body.data).toEqual([]);

    // no dead letter by that id any more, nor by a made-up one; other methods are refused; the admin key is required
    expect((await http(orch, 'POST', `/v1/webhooks/dead-letters/${letter.id}/retry`)).body).toMatchObject({ status: 'rejected', cause: 'NOT_FOUND' });
    expect((await http(orch, 'POST', '/v1/webhooks/dead-letters/nope/retry')).status).toBe(404);
    expect((await http(orch, 'DELETE', '/v1/webhooks')).status).toBe(405);
    expect((await http(orch, 'GET', '/v1/webhooks', { key: AGENT_KEY })).status).toBe(401);
  });

  it('an orchestrator without webhooks answers empty lists', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    orch.emit('room:event', { instanceId: 'i-1', event: turnReady('g2', 1) });
    expect((await http(orch, 'GET', '/v1/webhooks')).body).toEqual({ status: 'OK', data: [] });
    expect((await http(orch, 'GET', '/v1/webhooks/dead-letters')).body).toEqual({ status: 'OK', data: [] });
  });
});

describe('parlor-orchestrator --webhook', () => {
  const procs: ChildProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const closed = new Promise((r) => p.once('close', r));
      p.kill('SIGKILL');
      await closed;
    }
  });

  function start(args: string[], env: Record<string, string> = {}): { proc: ChildProcess; out: () => string; closed: Promise<number | null> } {
    const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    procs.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
    return { proc, out: () => out, closed };
  }

  it('refuses a webhook without a secret or with a URL that is not http(s) in one line, and takes the secret from a file, never showing it', async () => {
    const cli = 'packages/orchestrator/src/cli.ts';
    const base = [cli, '--host', '127.0.0.1', '--port', '0', '--no-catalog', '--data-dir', tempDir(), '--webhook', 'http://127.0.0.1:9/hook'];
    const bare = start(base, { PARLOR_WEBHOOK_SECRET: '' });
    expect(await bare.closed).not.toBe(0);
    expect(bare.out()).toMatch(/--webhook needs a secret to sign with: --webhook-secret-file <path> \(its first line\) or PARLOR_WEBHOOK_SECRET/);
    expect(bare.out()).not.toMatch(/\n\s+at /); // no stack
    const ftp = start([...base.slice(0, -1), 'ftp://127.0.0.1/hook'], { PARLOR_WEBHOOK_SECRET: SECRET });
    expect(await ftp.closed).not.toBe(0);
    expect(ftp.out()).toMatch(/--webhook ftp:\/\/127\.0\.0\.1\/hook: not an http\(s\) URL/);

    const file = join(tempDir(), 'webhook.secret');
    writeFileSync(file, `${SECRET}\n`);
    const run = start([...base, '--webhook-secret-file', file]);
    await waitFor(() => /REST: {3}(http:\/\/\S+)\/v1/.test(run.out()), 'listening', 20_000);
    const url = /REST: {3}(http:\/\/\S+)\/v1/.exec(run.out())![1];
    const res = await fetch(`${url}/v1/webhooks`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const text = await res.text();
    expect(JSON.parse(text).data).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/hook', pending: 0 })]);
    expect(text + run.out()).not.toContain(SECRET);
  });

  it('a delivery in flight when the orchestrator is killed (SIGKILL) is delivered after a restart on the same data dir, once', async () => {
    const dir = tempDir();
    // the first request hangs (in flight at the kill), every later one is answered 200
    const r = await receiver((n) => (n === 0 ? 'hang' : 200));
    const orchestrator = async (): Promise<{ run: ReturnType<typeof start>; url: string; agentUrl: string }> => {
      const run = start(['packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--port', '0', '--no-catalog', '--poll', '200', '--data-dir', dir, '--webhook', r.url], { PARLOR_WEBHOOK_SECRET: SECRET });
      await waitFor(() => /Agents: (ws:\/\/\S+)/.test(run.out()), 'orchestrator listening', 20_000);
      return { run, url: /REST: {3}(http:\/\/\S+)\/v1/.exec(run.out())![1], agentUrl: /Agents: (ws:\/\/\S+)/.exec(run.out())![1] };
    };
    const connect = async (url: string): Promise<{ host: EventingHost; agent: FleetAgent }> => {
      const host = new EventingHost();
      const agent = new FleetAgent(host, { url, key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', name: 'box', minBackoffMs: 50, maxBackoffMs: 200, logger: quietAgentLogger });
      cleanups.push(() => agent.disconnect());
      await agent.connect({ connectTimeoutMs: 10_000 });
      return { host, agent };
    };

    const first = await orchestrator();
    const one = await connect(first.agentUrl);
    one.host.emitRoomEvent(turnReady('k1', 1));
    await waitFor(() => r.received.length === 1, 'the delivery in flight', 10_000);
    first.run.proc.kill('SIGKILL');
    expect(await first.run.closed).toBe(null);
    expect(r.ok()).toHaveLength(0);
    await one.agent.disconnect();

    const second = await orchestrator();
    await waitFor(() => r.ok().length === 1, 'delivered after the restart', 10_000);
    // the host says the same fact again (not queued twice), then a new one, which arrives after it
    const two = await connect(second.agentUrl);
    two.host.emitRoomEvent(turnReady('k1', 1));
    two.host.emitRoomEvent(turnReady('k1', 2));
    await waitFor(() => r.ok().some((e) => e.body.idempotencyKey === 'turn-ready:k1:2'), 'the next turn', 10_000);
    await waitFor(async () => {
      const res = await fetch(`${second.url}/v1/webhooks`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return ((await res.json()) as { data: Array<{ delivered: number }> }).data[0].delivered === 2;
    }, 'both recorded delivered');
    expect(r.ok().map((e) => e.body.idempotencyKey)).toEqual(['turn-ready:k1:1', 'turn-ready:k1:2']);
    // the attempt after the restart is the same delivery as the one cut by the kill: same id and key
    expect(r.ok()[0].headers['x-parlor-delivery']).toBe(r.received[0].headers['x-parlor-delivery']);
    expect(verifyWebhookSignature(SECRET, r.ok()[0].headers, r.ok()[0].raw)).toBe(true);
  });
});

describeContract();
