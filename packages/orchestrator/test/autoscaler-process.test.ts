// The buffer autoscaler with the process provisioner, for real: an orchestrator (in this process)
// starts real `parlor serve` children (the built CLI of @parlor/server) through
// ProcessProvisioner, rooms are created over REST, and the fleet grows, shrinks and replaces an
// instance killed with SIGKILL. Buffer 2 (or 3), capacity 2 rooms per instance, min 1, max 3.
// Nothing sleeps: every step waits for an SSE event or polls REST state with a deadline.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient, ProcessProvisioner, type AutoscalerDecision, type AutoscalerStatus, type FleetEvent, type Orchestrator } from '../src/index.js';
import { checkContract, fetchOpenApi, recorded } from './contract.js';
import { ADMIN_KEY, AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';
import { freePort, killProvisioned } from './provisioning-helpers.js';

/** One small game (`ticker`): each instance boots quickly. */
const GAMES = fileURLToPath(new URL('./fixtures/provisioned-games', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An orchestrator with a process-provisioner autoscaler, an SSE consumer, and cleanup of everything. */
async function scaled(opts: { buffer: number | `${number}%`; coolDownMs?: number }): Promise<{ orch: Orchestrator; dir: string; events: FleetEvent[]; status: () => Promise<AutoscalerStatus> }> {
  const base = mkdtempSync(join(tmpdir(), 'parlor-autoscale-'));
  const dir = join(base, 'instances');
  const port = await freePort();
  const provisioner = new ProcessProvisioner({
    dir,
    stopTimeoutMs: 10_000,
    template: {
      args: ['--games', GAMES, '--host', '127.0.0.1', '--drain-timeout', '0', '--log-level', 'warn', '--artifact-cache', join(base, 'artifacts')],
      fleetUrl: `ws://127.0.0.1:${port}`,
      agentKey: AGENT_KEY,
      labels: { pool: 'test' },
      capacity: 2,
      env: { NODE_ENV: 'development' },
    },
  });
  const { orch } = await startOrchestrator({
    port,
    pollMs: 500,
    unjoinedRoomTtlMs: 0,
    autoscaler: { provisioner, buffer: opts.buffer, minInstances: 1, maxInstances: 3, coolDownMs: opts.coolDownMs ?? 300, syncMs: 100, drainTimeoutMs: 20_000 },
  });
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  cleanups.push(() => killProvisioned(dir));
  cleanups.push(() => orch.shutdown());
  const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
  const events: FleetEvent[] = [];
  const stream = client.events((e) => events.push(e));
  cleanups.push(() => client.close());
  cleanups.push(() => stream.close());
  await waitFor(() => events.some((e) => e.name === 'sync'), 'SSE sync');
  const status = async (): Promise<AutoscalerStatus> => {
    const r = await http(orch, 'GET', '/v1/autoscaler');
    expect(r.status).toBe(200);
    return r.body.data as AutoscalerStatus;
  };
  return { orch, dir, events, status };
}

/** Instances serving ticker (their first snapshot arrived), by id. */
async function ready(orch: Orchestrator): Promise<Array<{ id: string; roomCount: number; labels: Record<string, string> }>> {
  const list = (await http(orch, 'GET', '/v1/instances')).body.data as Array<{ id: string; roomCount: number; roomTypes: string[]; status: string; labels: Record<string, string> }>;
  return list.filter((i) => i.roomTypes.includes('ticker') && i.status === 'active');
}

const decisions = (events: FleetEvent[]): AutoscalerDecision[] => events.filter((e) => e.name === 'autoscaler').map((e) => e.data as AutoscalerDecision);

describe('buffer autoscaler with the process provisioner', () => {
  it('grows when rooms take the buffer (never past max), shrinks by draining and stopping empty instances after the rooms end (never below min); op log, SSE and /metrics show it', async () => {
    const { orch, dir, events, status } = await scaled({ buffer: 2 });
    // every few ms: the provisioner's own count never leaves [min, max] once the first one runs
    const seen: number[] = [];
    const watcher = new ProcessProvisioner({ dir, template: { fleetUrl: '', agentKey: '', labels: {}, capacity: 2, env: {} } });
    const watch = setInterval(() => void watcher.list().then((l) => seen.push(l.length)), 20);
    cleanups.push(() => clearInterval(watch));

    // min 1: one instance, its 2 slots are the buffer
    await waitFor(async () => (await ready(orch)).length === 1, 'the first instance joined', 30_000);
    // (decided as it started listening, before this test's SSE stream opened: the state shows it)
    expect((await status()).lastDecision).toMatchObject({ action: 'scale_up', reason: 'min_instances', count: 1, ok: true, provisioner: 'process' });
    const first = (await ready(orch))[0]!;
    expect(first.labels).toMatchObject({ 'parlor.provisioner': 'process', pool: 'test' });
    expect(first.labels['parlor.provisioned-id']).toMatch(/^proc-/);
    await waitFor(async () => (await status()).buffer.free === 2, 'free 2 of target 2');

    // one room: 1 free < 2 → one more instance
    const rooms: string[] = [];
    const create = async (): Promise<void> => {
      const r = await http(orch, 'POST', '/v1/rooms', { body: { type: 'ticker' } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      rooms.push(r.body.data.roomId as string);
    };
    await create();
    await waitFor(async () => (await ready(orch)).length === 2, 'a second instance joined', 30_000);
    expect(decisions(events).filter((d) => d.action === 'scale_up').at(-1)).toMatchObject({ reason: 'buffer', count: 1, buffer: { free: 1, target: 2 } });

    // three rooms on 4 slots: 1 free → the third (max); two more rooms leave 1 free, and nothing more starts
    await create();
    await create();
    await waitFor(async () => (await ready(orch)).length === 3, 'a third instance joined', 30_000);
    await create();
    await create();
    await waitFor(async () => {
      const s = await status();
      return s.buffer.free === 1 && s.instances.provisioned === 3 && s.instances.joined === 3;
    }, 'at max with 1 free slot', 10_000);
    const metrics = (await http(orch, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/^parlor_orchestrator_buffer_free_slots 1$/m);
    expect(metrics).toMatch(/^parlor_orchestrator_buffer_target_slots 2$/m);
    expect(metrics).toMatch(/^parlor_orchestrator_provisioned_instances\{state="joined"\} 3$/m);

    expect(decisions(events).map((d) => d.action)).toEqual(['scale_up', 'scale_up']); // the first one came before the stream
    // the rooms end: two instances are drained then stopped, one stays (free 2 = the buffer; min 1)
    for (const roomId of rooms) expect((await http(orch, 'DELETE', `/v1/rooms/${roomId}`)).status).toBe(200);
    await waitFor(() => decisions(events).filter((d) => d.action === 'scale_down' && d.ok).length === 2, 'two scale-downs over SSE', 30_000);
    await waitFor(async () => (await watcher.list()).length === 1, 'two instances exited', 20_000);
    await waitFor(async () => (await status()).instances.provisioned === 1 && (await ready(orch)).length === 1, 'one instance left', 10_000);
    const downs = decisions(events).filter((d) => d.action !== 'scale_up');
    // each one drained (empty), then stopped
    expect(downs.map((d) => `${d.action}:${d.reason}`)).toEqual(['drain:buffer', 'scale_down:drained_empty', 'drain:buffer', 'scale_down:drained_empty']);
    expect(downs[0]!.instanceId).toBe(downs[1]!.instanceId);
    expect(downs[0]!.provisionedIds).toEqual(downs[1]!.provisionedIds);
    clearInterval(watch);
    expect(Math.max(...seen)).toBe(3);
    expect(Math.min(...seen.slice(seen.indexOf(1)))).toBe(1); // once one ran, never below min

    // the operation log: every decision, source autoscaler, roomId ''
    const ops = async (op: string): Promise<Operation[]> => (await http(orch, 'GET', `/v1/operations?op=${op}`)).body.data.operations as Operation[];
    const ups = await ops('scale_up');
    expect(ups).toHaveLength(3);
    for (const o of [...ups, ...(await ops('drain')), ...(await ops('scale_down'))]) expect(o).toMatchObject({ roomId: '', source: 'autoscaler', state: 'succeeded', params: { provisioner: 'process' } });
    expect(await ops('drain')).toHaveLength(2);
    const stops = await ops('scale_down');
    expect(stops).toHaveLength(2);
    expect(stops[0]).toMatchObject({ instanceId: downs[3]!.instanceId, params: { reason: 'drained_empty', provisionedId: downs[3]!.provisionedIds[0] } });
    // one query finds them all, room operations left out
    const fleetOps = (await http(orch, 'GET', '/v1/operations?source=autoscaler')).body.data.operations as Operation[];
    expect(fleetOps.map((o) => o.op).reverse()).toEqual(['scale_up', 'scale_up', 'scale_up', 'drain', 'scale_down', 'drain', 'scale_down']);
    // operation:finished carried them too
    expect(events.filter((e) => e.name === 'operation:finished' && (e.data as { operation: Operation }).operation.source === 'autoscaler')).toHaveLength(6);
    expect((await status()).lastDecision).toMatchObject({ action: 'scale_down', ok: true });

    // the REST answers of this file match the published contract (this orchestrator serves /v1/autoscaler)
    expect((await http(orch, 'POST', '/v1/autoscaler', { body: {} })).body).toMatchObject({ status: 'rejected', cause: 'METHOD_NOT_ALLOWED' });
    expect(checkContract(await fetchOpenApi(orch.url), recorded)).toEqual([]);
  }, 90_000);

  it('an instance killed with SIGKILL while it holds a room is replaced: the buffer is refilled by a new instance', async () => {
    const { orch, dir, events, status } = await scaled({ buffer: 3 });
    // buffer 3 with 2 slots each: two instances from the start
    await waitFor(async () => (await ready(orch)).length === 2, 'two instances joined', 30_000);
    const r = await http(orch, 'POST', '/v1/rooms', { body: { type: 'ticker' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitFor(async () => (await status()).buffer.free === 3, 'free 3 with the room');
    const victim = (await ready(orch)).find((i) => i.id === r.body.data.instanceId)!;
    const provisionedId = victim.labels['parlor.provisioned-id']!;
    const pid = Number(readFileSync(join(dir, `${provisionedId}.pid`), 'utf8').trim()); // the pid alone, as `kill $(cat …)` wants
    const before = decisions(events).length;

    process.kill(pid, 'SIGKILL');
    await waitFor(() => events.some((e) => e.name === 'instance:leave' && (e.data as { instance: { id: string } }).instance.id === victim.id), 'the killed instance left', 20_000);
    await waitFor(() => decisions(events).slice(before).some((d) => d.action === 'scale_up' && d.ok), 'a scale-up over SSE', 20_000);
    expect(decisions(events).slice(before)[0]).toMatchObject({ action: 'scale_up', reason: 'buffer', count: 1, buffer: { free: 2, target: 3 } });
    await waitFor(async () => {
      const list = await ready(orch);
      return list.length === 2 && !list.some((i) => i.id === victim.id);
    }, 'a new instance joined in its place', 30_000);
    // the autoscaler's state follows at its next sync
    await waitFor(async () => {
      const s = await status();
      return s.instances.provisioned === 2 && s.instances.joined === 2 && s.buffer.free === 4 && s.buffer.target === 3;
    }, 'the autoscaler counts 2 instances and 4 free slots', 5000);
  }, 90_000);

  it('a percentage buffer keeps that share of all slots free: 50% of 2-room instances grows to a second one when the first is full', async () => {
    const { orch, events, status } = await scaled({ buffer: '50%' });
    await waitFor(async () => (await ready(orch)).length === 1, 'the first instance joined', 30_000);
    // 2 slots: the target is 1 (50%), one room leaves 1 free: enough
    const create = async (): Promise<string> => {
      const r = await http(orch, 'POST', '/v1/rooms', { body: { type: 'ticker' } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.data.instanceId as string;
    };
    await create();
    await waitFor(async () => {
      const s = await status();
      return s.buffer.free === 1 && s.buffer.target === 1;
    }, 'free 1 of target 1');
    expect(decisions(events)).toEqual([]);
    // full: 0 free < 1 → one more instance; then 4 slots, target 2, free 2
    await create();
    await waitFor(() => decisions(events).some((d) => d.action === 'scale_up'), 'a scale-up over SSE', 10_000);
    expect(decisions(events)[0]).toMatchObject({ action: 'scale_up', reason: 'buffer', count: 1, buffer: { free: 0, target: 1 } });
    await waitFor(async () => (await ready(orch)).length === 2, 'the second instance joined', 30_000);
    await waitFor(async () => {
      const s = await status();
      return s.buffer.free === 2 && s.buffer.target === 2 && s.instances.joined === 2;
    }, 'free 2 of target 2 (50% of 4)');
  }, 60_000);
});
