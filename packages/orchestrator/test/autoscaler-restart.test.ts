// kill -9 of a real `parlor-orchestrator --provisioner process` in the middle of a scale-up, then a
// restart on the same --data-dir: the instances the first process started (detached `parlor serve`
// children, each with its pid file in <data-dir>/instances) outlive it, join the restarted one, and
// are counted by it, so it starts none beyond --max-instances; the first run's scale_up stays in the
// operation log. The test watches the provisioner's own count (its pid files) the whole time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessProvisioner, type AutoscalerStatus } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, waitFor } from './helpers.js';
import { freePort, killProvisioned } from './provisioning-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** One small game (`ticker`): each instance boots quickly. */
const GAMES = fileURLToPath(new URL('./fixtures/provisioned-games', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A real parlor-orchestrator (from source) with the process provisioner: buffer 6 of 2-room instances wants 3, max 3. */
function orchestrator(port: number, dataDir: string): { out: () => string; kill: () => Promise<void> } {
  const serverArgs = ['--games', GAMES, '--host', '127.0.0.1', '--drain-timeout', '0', '--log-level', 'warn', '--artifact-cache', join(dataDir, 'artifacts')];
  const args = ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--port', String(port), '--no-catalog', '--data-dir', dataDir, '--poll', '1000', '--log-level', 'info'];
  args.push('--provisioner', 'process', '--buffer', '6', '--instance-capacity', '2', '--min-instances', '1', '--max-instances', '3', '--cool-down', '60000', ...serverArgs.flatMap((a) => ['--server-arg', a]));
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await closed;
  };
  cleanups.push(kill);
  return { out: () => out, kill };
}

async function get(port: number, path: string): Promise<any> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return ((await res.body.json()) as { data: unknown }).data;
}

describe('orchestrator killed mid-scale-up', () => {
  it('the restarted orchestrator counts the instances the first one started (pid files) and never runs more than --max-instances', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parlor-autoscale-kill-'));
    const dir = join(dataDir, 'instances');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanups.push(() => killProvisioned(dir));
    const port = await freePort();
    // the provisioner's own view of what runs, every 20 ms, through both orchestrators' lives
    const watcher = new ProcessProvisioner({ dir, template: { fleetUrl: '', agentKey: '', labels: {}, capacity: 2, env: {} } });
    const seen: number[] = [];
    const watch = setInterval(() => void watcher.list().then((l) => seen.push(l.length)), 20);
    cleanups.push(() => clearInterval(watch));

    const watcherSeen = (): string => `provisioner counts seen: ${[...new Set(seen)].join(',')}`;
    const first = orchestrator(port, dataDir);
    // killed as soon as the first instances are started, before any of them joined
    await waitFor(async () => (await watcher.list()).length > 0, 'the scale-up started instances', 30_000);
    await first.kill();
    expect(first.out()).toMatch(/Scaling: process provisioner, buffer 6 free room slots, 1–3 instances of 2 rooms/);
    const listed = await watcher.list();
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.length).toBeLessThanOrEqual(3);
    // running: spawned (a `starting` one may be a record written just before a spawn the kill prevented)
    const started = listed.filter((p) => p.state === 'running').map((p) => p.id);

    const second = orchestrator(port, dataDir);
    await waitFor(() => /REST: {3}http:\/\/\S+\/v1/.test(second.out()), 'the second orchestrator listening', 30_000);
    // every instance started (by the first, and by the second if the first was killed before it started all three) joins the second
    let last: AutoscalerStatus | undefined;
    await waitFor(async () => {
      last = (await get(port, '/v1/autoscaler')) as AutoscalerStatus;
      return last.instances.joined === 3 && last.instances.provisioned === 3 && last.buffer.free === 6 && last.buffer.target === 6;
    }, 'three provisioned instances joined the restarted orchestrator, 6 free slots', 40_000).catch((err: Error) => {
      throw new Error(`${err.message}; last ${JSON.stringify(last)}; ${(watcherSeen())}`);
    });
    const instances = (await get(port, '/v1/instances')) as Array<{ labels: Record<string, string> }>;
    const ids = instances.map((i) => i.labels['parlor.provisioned-id']);
    for (const id of started) expect(ids).toContain(id); // the first run's instances, not replacements

    // the scale-ups in the log: the first run's (succeeded, or INTERRUPTED if it died inside it), and the second's only for what was missing
    const ups = ((await get(port, '/v1/operations?op=scale_up')) as { operations: Operation[] }).operations;
    const asked = ups.filter((o) => o.state === 'succeeded').reduce((n, o) => n + Number(o.params.count), 0);
    expect(ups.every((o) => o.source === 'autoscaler' && o.roomId === '')).toBe(true);
    expect(asked).toBeLessThanOrEqual(3);
    clearInterval(watch);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBe(3);
    expect((await watcher.list()).length).toBe(3);
  }, 90_000);

  it('an instance spawned by an orchestrator killed before it wrote the pid is found by its label; a record of a spawn that never happened is dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-provisioner-intent-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // what a kill -9 between the record and the spawn's pid leaves: the record without a pid, and the process
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '--label', 'parlor.provisioned-id=proc-orphan'], { detached: true, stdio: 'ignore' });
    cleanups.push(() => void orphan.kill('SIGKILL'));
    const now = Date.now();
    writeFileSync(join(dir, 'proc-orphan.json'), JSON.stringify({ id: 'proc-orphan', pid: null, startedAt: now, procStart: null, state: 'running' }));
    writeFileSync(join(dir, 'proc-never.json'), JSON.stringify({ id: 'proc-never', pid: null, startedAt: now - 60_000, procStart: null, state: 'running' }));
    const provisioner = new ProcessProvisioner({ dir, template: { fleetUrl: '', agentKey: '', labels: {}, capacity: 2, env: {} } });
    let listed: Array<{ id: string; state: string }> = [];
    await waitFor(async () => (listed = await provisioner.list()).some((p) => p.id === 'proc-orphan'), 'the orphan found by its label', 10_000);
    expect(listed.map((p) => [p.id, p.state])).toEqual([['proc-orphan', 'running']]);
    expect(readFileSync(join(dir, 'proc-orphan.pid'), 'utf8').trim()).toBe(String(orphan.pid));
    expect(readdirSync(dir).sort()).toEqual(['proc-orphan.json', 'proc-orphan.pid']);
    // and it is stopped like any other
    const exited = new Promise((r) => orphan.once('exit', r));
    await provisioner.stop('proc-orphan');
    await exited;
    expect(await provisioner.list()).toEqual([]);
  });
});
