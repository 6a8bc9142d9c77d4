// The autoscaler's drain timeout, for real: a provisioned `parlor serve` child drained (here by an
// admin) while it still holds a room keeps it for drainTimeoutMs; then the autoscaler stops the room
// through the lifecycle `stop` (recorded with source autoscaler) and stops the instance through the
// provisioner (scale_down, reason drain_timeout). And the provisioning flags of parlor-orchestrator
// refuse bad values with one line naming the flag.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FleetClient, Orchestrator, OrchestratorConfigError, ProcessProvisioner, type AutoscalerDecision, type AutoscalerOptions, type FleetEvent } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';
import { freePort, killProvisioned } from './provisioning-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** One small game (`ticker`): each instance boots quickly. */
const GAMES = fileURLToPath(new URL('./fixtures/provisioned-games', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('autoscaler drain timeout', () => {
  it('a drained instance that keeps a room past drainTimeoutMs: the room is stopped (source autoscaler), then the instance (scale_down, drain_timeout)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'parlor-autoscale-drain-'));
    const dir = join(base, 'instances');
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    cleanups.push(() => killProvisioned(dir));
    const port = await freePort();
    const template = {
      args: ['--games', GAMES, '--host', '127.0.0.1', '--drain-timeout', '0', '--log-level', 'warn', '--artifact-cache', join(base, 'artifacts')],
      fleetUrl: `ws://127.0.0.1:${port}`,
      agentKey: AGENT_KEY,
      labels: {},
      capacity: 2,
      env: { NODE_ENV: 'development' },
    };
    const provisioner = new ProcessProvisioner({ dir, template, stopTimeoutMs: 10_000 });
    const { orch } = await startOrchestrator({ port, pollMs: 500, unjoinedRoomTtlMs: 0, autoscaler: { provisioner, buffer: 2, minInstances: 1, maxInstances: 3, coolDownMs: 300, syncMs: 100, drainTimeoutMs: 1500 } });
    cleanups.push(() => orch.shutdown());
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    const events: FleetEvent[] = [];
    const stream = client.events((e) => events.push(e));
    cleanups.push(() => client.close());
    cleanups.push(() => stream.close());
    const ready = async (): Promise<Array<{ id: string; labels: Record<string, string> }>> =>
      ((await http(orch, 'GET', '/v1/instances')).body.data as Array<{ id: string; roomTypes: string[]; labels: Record<string, string> }>).filter((i) => i.roomTypes.includes('ticker'));

    await waitFor(async () => (await ready()).length === 1, 'the first instance joined', 30_000);
    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'ticker' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const roomId = created.body.data.roomId as string;
    const held = created.body.data.instanceId as string;
    await waitFor(async () => (await ready()).length === 2, 'a second instance joined (the buffer)', 30_000);
    const provisionedId = (await ready()).find((i) => i.id === held)!.labels['parlor.provisioned-id']!;

    const drained = await http(orch, 'POST', `/v1/instances/${held}/drain`);
    expect(drained.status).toBe(200);
    await waitFor(() => events.some((e) => e.name === 'autoscaler' && (e.data as AutoscalerDecision).action === 'scale_down'), 'the scale-down over SSE', 20_000);
    const down = events.filter((e) => e.name === 'autoscaler').map((e) => e.data as AutoscalerDecision).find((d) => d.action === 'scale_down')!;
    expect(down).toMatchObject({ reason: 'drain_timeout', instanceId: held, provisionedIds: [provisionedId], ok: true });
    // the room was stopped first, through the operation log, by the autoscaler
    const stops = (await http(orch, 'GET', `/v1/rooms/${roomId}/operations?op=stop`)).body.data.operations as Operation[];
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ source: 'autoscaler', state: 'succeeded', instanceId: held });
    expect(stops[0]!.updatedAt).toBeLessThanOrEqual(down.at);
    const destroyAt = events.findIndex((e) => e.name === 'room:destroy' && (e.data as { room: { roomId: string } }).room.roomId === roomId);
    expect(destroyAt).toBeGreaterThanOrEqual(0);
    // the process exits (SIGTERM: the host drains with no room left), its instance leaves; the other stays
    await waitFor(() => events.some((e) => e.name === 'instance:leave' && (e.data as { instance: { id: string } }).instance.id === held), 'the stopped instance left', 20_000);
    await waitFor(async () => !(await provisioner.list()).some((p) => p.id === provisionedId), 'its process exited', 20_000);
    expect((await ready()).length).toBe(1);
  }, 60_000);
});

describe('autoscaler boot failures', () => {
  it('an instance that exits before it joins (a server that cannot start) is started again after a growing back-off, not at every sync', async () => {
    const base = mkdtempSync(join(tmpdir(), 'parlor-autoscale-boot-'));
    const dir = join(base, 'instances');
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    cleanups.push(() => killProvisioned(dir));
    const port = await freePort();
    // `parlor serve` refuses an unknown flag and exits 1
    const provisioner = new ProcessProvisioner({ dir, template: { args: ['--no-such-flag'], fleetUrl: `ws://127.0.0.1:${port}`, agentKey: AGENT_KEY, labels: {}, capacity: 2, env: {} } });
    const { orch, logs } = await startOrchestrator({ port, autoscaler: { provisioner, buffer: 2, minInstances: 1, maxInstances: 3, syncMs: 100 } });
    cleanups.push(() => orch.shutdown());
    const failures = (): Array<{ failures: number; retryInMs: number }> => logs.filter((l) => /exited before it joined the fleet/.test(l.msg)) as never;
    await waitFor(() => failures().length >= 3, 'three boot failures logged', 30_000);
    // 2^n × syncMs: 200, 400, 800 ms before the next scale-up
    expect(failures().slice(0, 3).map((f) => [f.failures, f.retryInMs])).toEqual([[1, 200], [2, 400], [3, 800]]);
    const ups = (await http(orch, 'GET', '/v1/operations?op=scale_up')).body.data.operations as Operation[];
    expect(ups.length).toBeGreaterThanOrEqual(3);
    expect(ups.length).toBeLessThanOrEqual(4);
    // why is in each instance's log
    const firstLog = readdirSync(dir).find((n) => n.endsWith('.log'))!;
    expect(readFileSync(join(dir, firstLog), 'utf8')).toMatch(/unknown option '--no-such-flag'/);
  }, 60_000);
});

describe('parlor-orchestrator provisioning flags', () => {
  const emptyHome = mkdtempSync(join(tmpdir(), 'parlor-flags-home-'));
  const withoutKubeconfig = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'KUBECONFIG' && !k.startsWith('KUBERNETES_')));
  afterAll(() => rmSync(emptyHome, { recursive: true, force: true }));

  /** Runs the CLI (from source) with `args`; resolves with its exit code and output once it closed. */
  function run(args: string[]): Promise<{ code: number | null; out: string }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--no-catalog', '--data-dir', join(tmpdir(), 'parlor-flags-never-opened'), ...args], {
      cwd: root,
      env: { ...withoutKubeconfig(), HOME: emptyHome, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
    return new Promise((r) => proc.once('close', (code) => r({ code, out })));
  }

  it('the Orchestrator refuses autoscaler options out of bounds, naming the option', () => {
    const provisioner = new ProcessProvisioner({ dir: join(tmpdir(), 'parlor-options-never-started'), template: { fleetUrl: 'ws://127.0.0.1:1', agentKey: AGENT_KEY, labels: {}, capacity: 2, env: {} } });
    cleanups.push(() => rmSync(join(tmpdir(), 'parlor-options-never-started'), { recursive: true, force: true }));
    const make = (o: Partial<AutoscalerOptions>) => () => new Orchestrator({ agentKey: AGENT_KEY, adminKey: ADMIN_KEY, logger: 'silent', autoscaler: { provisioner, ...o } });
    expect(make({ buffer: '0%' })).toThrow(/^autoscaler\.buffer must be a number of free room slots/);
    expect(make({ buffer: -1 })).toThrow(/^autoscaler\.buffer must be/);
    expect(make({ minInstances: 3, maxInstances: 2 })).toThrow('autoscaler.maxInstances (2) must be at least minInstances (3)');
    expect(make({ syncMs: 1 })).toThrow('autoscaler.syncMs must be an integer ≥ 10 (got 1)');
    expect(make({ provisioner: {} as never })).toThrow(OrchestratorConfigError);
  });

  it('a bad value stops it with one line naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--provisioner', 'ec2'], /^parlor-orchestrator: --provisioner "ec2": want one of process, swarm, kubernetes/],
      [['--provisioner', 'process', '--buffer', '150%'], /^parlor-orchestrator: --buffer must be a number of free room slots \(4\) or a percentage of all slots \(25%\) \(got "150%"\)/],
      [['--provisioner', 'process', '--min-instances', '4', '--max-instances', '2'], /^parlor-orchestrator: --max-instances 2 is below --min-instances 4/],
      [['--provisioner', 'process', '--port', '0'], /^parlor-orchestrator: --provisioner needs a fixed --port/],
      // no kubeconfig anywhere (HOME is an empty folder, KUBECONFIG unset) and not in a cluster: refused at start
      [['--provisioner', 'kubernetes'], /^parlor-orchestrator: --provisioner kubernetes: kubernetes provisioner: no kubeconfig/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach(({ code, out }, i) => {
      expect(code, out).toBe(1);
      expect(out.trim().split('\n'), out).toHaveLength(1);
      expect(out.trim()).toMatch(cases[i]![1]);
    });
  }, 60_000);
});
