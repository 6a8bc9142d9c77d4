/**
 * The buffer autoscaler over the Docker Swarm provisioner, on the real single-node swarm (skipped,
 * saying why, without a swarm-mode engine): the faults of issue 14 with real services.
 *
 * - An orchestrator restarted mid-scale-up (shut down while the instances it asked for boot; a
 *   new one on the same port and service prefix) counts the services the engine runs and starts
 *   none beside them; filled up, the fleet grows to max and never past it.
 * - kill -9 of a provisioned instance's container with a player in a turn-based room: Swarm
 *   restarts the task (the autoscaler, which counts the service as starting, adds none), the room
 *   comes back from its snapshot with the same id and the player's order, and the player joins again.
 * Instances: capacity 2, buffer 4, min 1, max 3. Every service, secret and volume of the test
 * prefix is removed in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WS_PATH } from '@parlor/squish';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONED_ID_LABEL } from '../src/provisioning/types.js';
import { SwarmProvisioner } from '../src/provisioning/swarm.js';
import type { AutoscalerDecision, Orchestrator, RoomInfo } from '../src/index.js';
import { AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';
import { Player } from './player.js';
import { buildServerImage, gamesFolder, killContainer, removeSwarmObjects, runningContainer, swarmUnavailable } from './swarm-helpers.js';

const skip = swarmUnavailable();
const prefix = `ptest-${randomBytes(3).toString('hex')}`;
const IMAGE = 'parlor-server:test';
const MAX = 3;
const { games, dir } = gamesFolder('adder', fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url)));
let port = 0;
const orchs: Orchestrator[] = [];
const provisioners: SwarmProvisioner[] = [];
const players: Player[] = [];
let services = 0; // the most services seen at once

beforeAll(async () => {
  if (skip) return;
  console.log(`server image ${IMAGE}: ${await buildServerImage(IMAGE)} ms`);
  port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}, 150_000);

afterAll(async () => {
  for (const p of players) p.close();
  for (const o of orchs) await o.shutdown().catch(() => undefined);
  for (const p of provisioners) await p.close();
  await removeSwarmObjects(prefix, dir);
}, 90_000);

/** An orchestrator on `port` with the autoscaler over a Swarm provisioner of the test prefix; its decisions. */
async function orchestrator(): Promise<{ orch: Orchestrator; swarm: SwarmProvisioner; decisions: AutoscalerDecision[] }> {
  const swarm = new SwarmProvisioner({
    template: { image: IMAGE, command: ['serve', '--runtime', 'inline', '--games', '/games'], fleetUrl: `ws://127.0.0.1:${port}`, agentKey: AGENT_KEY, labels: {}, capacity: 2, env: {} },
    service: prefix,
    mounts: [{ source: games, target: '/games' }],
    stopGracePeriodMs: 5_000,
  });
  provisioners.push(swarm);
  const { orch } = await startOrchestrator({ port, autoscaler: { provisioner: swarm, buffer: 4, minInstances: 1, maxInstances: MAX, syncMs: 200, coolDownMs: 600_000 } });
  orchs.push(orch);
  const decisions: AutoscalerDecision[] = [];
  orch.on('autoscaler', (d) => decisions.push(d));
  return { orch, swarm, decisions };
}

/** The services of the prefix now (and the most seen so far). */
async function count(swarm: SwarmProvisioner): Promise<number> {
  const n = (await swarm.list()).length;
  services = Math.max(services, n);
  return n;
}

describe.skipIf(skip !== null)(`buffer autoscaler over Docker Swarm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let orch: Orchestrator;
  let swarm: SwarmProvisioner;

  it('an orchestrator restarted mid-scale-up starts no instance beside the booting ones, and grows to max, never past it', async () => {
    const first = await orchestrator();
    // min 1, then the buffer (4 slots = 2 instances of 2): two scale-ups, the instances still booting
    await waitFor(() => first.decisions.filter((d) => d.action === 'scale_up' && d.ok).reduce((a, d) => a + d.count, 0) === 2, 'two instances asked for', 20_000);
    await first.orch.shutdown();
    expect(await count(first.swarm)).toBe(2);

    let decisions: AutoscalerDecision[];
    ({ orch, swarm, decisions } = await orchestrator());
    await waitFor(async () => (await count(swarm)) >= 0 && orch.autoscaler?.instances.joined === 2, 'the two instances joined the new orchestrator', 40_000);
    expect(decisions.filter((d) => d.action === 'scale_up')).toEqual([]);
    expect(await count(swarm)).toBe(2);

    // 3 rooms: 1 free slot < 4 → a third instance (max), then no more whatever is asked
    for (let i = 0; i < 3; i++) expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'adder', roomId: `${prefix}-r${i}` } })).status).toBe(201);
    await waitFor(async () => (await count(swarm)) === MAX && orch.autoscaler?.instances.joined === MAX, 'the third instance joined', 40_000);
    for (let i = 3; i < 2 * MAX; i++) expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'adder', roomId: `${prefix}-r${i}` } })).status).toBe(201);
    expect((await http(orch, 'POST', '/v1/rooms', { body: { type: 'adder' } })).body.cause).toBe('NO_CANDIDATE');
    await waitFor(() => orch.autoscaler?.buffer.free === 0, 'the autoscaler sees the fleet full');
    const before = decisions.length;
    await waitFor(async () => {
      await count(swarm);
      return orch.autoscaler !== undefined && orch.autoscaler.instances.provisioned === MAX && decisions.length === before;
    }, 'a sync with the fleet full');
    expect(services).toBe(MAX);
  }, 120_000);

  it('kill -9 of an instance with a player: Swarm restarts it, the room comes back with the order, no extra instance', async () => {
    expect(orch, 'the first test ran').toBeDefined();
    const room = orch.fleet.getRoom(`${prefix}-r0`) as RoomInfo;
    const inst = orch.fleet.getInstance(room.instanceId)!;
    const pid = inst.labels[PROVISIONED_ID_LABEL];
    const ann = await Player.join(`${room.endpointUrl.replace('http:', 'ws:')}${WS_PATH}`, 'adder', room.roomId);
    players.push(ann);
    expect((await ann.order({ add: 7 })).accepted).toBe(true);
    await killContainer(await runningContainer(`${prefix}-${pid}`));
    await ann.closed();
    await waitFor(async () => {
      await count(swarm);
      const r = orch.fleet.getRoom(room.roomId);
      return r !== undefined && r.processUid !== inst.processUid && orch.fleet.getInstance(r.instanceId)?.labels[PROVISIONED_ID_LABEL] === pid;
    }, 'the room on the restarted instance', 40_000);
    const again = orch.fleet.getRoom(room.roomId)!;
    const back = await Player.join(`${again.endpointUrl.replace('http:', 'ws:')}${WS_PATH}`, 'adder', room.roomId);
    players.push(back);
    await waitFor(() => back.texts().some((t) => t.includes('total 0 pending 7') && t.endsWith('restored 1')), 'the room restored with the order');
    expect(await count(swarm)).toBe(MAX);
    expect(services).toBe(MAX);
  }, 90_000);
});
