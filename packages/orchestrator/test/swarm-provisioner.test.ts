/**
 * The Docker Swarm provisioner on the real single-node swarm of this machine (`.ci/run` makes the
 * engine a swarm; without an engine the file is skipped and says why). A real in-process
 * orchestrator; the server image built once from this checkout (build-server-image.sh, cached by
 * the hash of its inputs: about 10 s when it builds, about 2 s when it finds it). The instances
 * serve the turn-based fixture game from a bind-mounted folder.
 *
 * - start(1): a Swarm service whose `parlor serve` joins the fleet with the provisioner's labels;
 *   a room is placed on it and a real WebSocket player orders.
 * - kill -9 of the task's container: Swarm restarts the task (same service, same volume), the host
 *   restores the room from its state folder (same id, the acknowledged order kept), its agent
 *   joins again, and the player, joining again at the instance's new address, sees the room.
 * - stop(id): the service is gone from the engine and from list(), its instance leaves the fleet,
 *   its state volume is removed; a later list() sweeps a volume of its prefix left without service.
 * - An instance started with another agent key is moved to the current key by list() and joins.
 * Every service, secret and volume of the test prefix is removed in afterAll, failed or not.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WS_PATH } from '@parlor/squish';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL } from '../src/provisioning/types.js';
import { SWARM_SERVICE_LABEL, SwarmProvisioner } from '../src/provisioning/swarm.js';
import type { InstanceInfo, Orchestrator, RoomInfo } from '../src/index.js';
import { AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';
import { Player } from './player.js';
import { buildServerImage, createVolume, gamesFolder, killContainer, removeSwarmObjects, runningContainer, swarmUnavailable, volumeExists } from './swarm-helpers.js';

const skip = swarmUnavailable();
const prefix = `ptest-${randomBytes(3).toString('hex')}`;
const IMAGE = 'parlor-server:test';
const { games, dir } = gamesFolder('adder', fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url)));
let orch: Orchestrator;
let swarm: SwarmProvisioner;
const players: Player[] = [];

beforeAll(async () => {
  if (skip) return;
  const ms = await buildServerImage(IMAGE);
  console.log(`server image ${IMAGE}: ${ms} ms`);
  ({ orch } = await startOrchestrator());
  swarm = new SwarmProvisioner({
    template: { image: IMAGE, command: ['serve', '--runtime', 'inline', '--games', '/games'], fleetUrl: `ws://127.0.0.1:${orch.port}`, agentKey: AGENT_KEY, labels: { zone: 'test' }, capacity: 5, env: {} },
    service: prefix,
    mounts: [{ source: games, target: '/games' }],
    stopGracePeriodMs: 5_000,
    advertiseHost: '127.0.0.1',
  });
}, 150_000);

afterAll(async () => {
  for (const p of players) p.close();
  await swarm?.close();
  await orch?.shutdown();
  await removeSwarmObjects(prefix, dir);
}, 90_000);

async function instances(): Promise<InstanceInfo[]> {
  return (await http(orch, 'GET', '/v1/instances')).body.data as InstanceInfo[];
}

async function instanceOf(id: string): Promise<InstanceInfo | undefined> {
  return (await instances()).find((i) => i.labels[PROVISIONED_ID_LABEL] === id);
}

describe('Swarm provisioner without an engine', () => {
  it('says which engine it cannot reach and what to do, in one line', async () => {
    const none = new SwarmProvisioner({ template: { fleetUrl: 'ws://127.0.0.1:1', agentKey: AGENT_KEY, labels: {}, capacity: 1, env: {} }, docker: { socketPath: `${dir}/no-docker.sock` } });
    await expect(none.list()).rejects.toThrow(/^the swarm provisioner cannot reach the Docker engine \(.*\): start dockerd, or point DOCKER_HOST at it$/);
    await expect(none.start(1)).rejects.toThrow(/cannot reach the Docker engine/);
    expect(() => new SwarmProvisioner({ template: { fleetUrl: 'ws://x', agentKey: 'k', labels: {}, capacity: 1, env: {} }, service: 'bad name' })).toThrow(/--swarm-service "bad name": want letters/);
  });
});

describe.skipIf(skip !== null)(`Swarm provisioner on a single-node swarm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let id = '';
  let room: RoomInfo;

  it('start(1) runs a service whose instance joins with its labels; a room placed on it plays', async () => {
    const started = await swarm.start(1);
    expect(started).toHaveLength(1);
    id = started[0].id;
    expect((await swarm.list()).map((i) => i.id)).toEqual([id]);
    // listed from its hello on; its room types come with its first snapshot (the orchestrator's first poll)
    await waitFor(async () => (await instanceOf(id))?.roomTypes.includes('adder') === true, 'the instance in the fleet with its room types', 40_000);
    const inst = (await instanceOf(id))!;
    expect(inst).toMatchObject({ name: `${prefix}-${id}`, status: 'active', roomTypes: ['adder'], capacity: { maxRooms: 5 } });
    expect(inst.labels).toMatchObject({ [PROVISIONER_LABEL]: 'swarm', [PROVISIONED_ID_LABEL]: id, zone: 'test' });
    // the port the kernel gave it on the host network, at the advertised host
    expect(inst.endpointUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor(async () => (await swarm.list())[0]?.state === 'running', 'the task running');

    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'adder', roomId: `${prefix}-room` } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    room = created.body.data;
    expect(room.instanceId).toBe(inst.id);
    const ann = await Player.join(`${inst.endpointUrl.replace('http:', 'ws:')}${WS_PATH}`, 'adder', room.roomId);
    players.push(ann);
    expect((await ann.order({ add: 4 })).accepted).toBe(true);
    await waitFor(() => ann.texts().some((t) => t.includes('total 0 pending 4') && t.endsWith('restored 0')), 'the order shown');
  }, 60_000);

  it('kill -9 of the task: Swarm restarts it, the room comes back from its state folder, the player joins again', async () => {
    expect(id, 'the first test started an instance').not.toBe('');
    const before = (await instanceOf(id))!;
    const container = await runningContainer(`${prefix}-${id}`);
    expect(container).not.toBe('');
    await killContainer(container);
    await players[0].closed();
    // the restarted task is another process: its agent joins with another process uid
    await waitFor(async () => {
      const now = await instanceOf(id);
      return now !== undefined && now.processUid !== before.processUid;
    }, 'the restarted instance in the fleet', 40_000);
    expect(await runningContainer(`${prefix}-${id}`)).not.toBe(container);
    await waitFor(async () => (await http(orch, 'GET', `/v1/rooms/${room.roomId}`)).body.data?.processUid === (await instanceOf(id))!.processUid, 'the room reported by the restarted instance', 20_000);
    const again = (await http(orch, 'GET', `/v1/rooms/${room.roomId}`)).body.data as RoomInfo;
    const ann = await Player.join(`${again.endpointUrl.replace('http:', 'ws:')}${WS_PATH}`, 'adder', room.roomId);
    players.push(ann);
    await waitFor(() => ann.texts().some((t) => t.includes('total 0 pending 4') && t.endsWith('restored 1')), 'the room restored with the order kept');
    expect((await swarm.list()).map((i) => i.id)).toEqual([id]);
  }, 90_000);

  it('stop(id) removes the service: gone from the engine, from list() and from the fleet', async () => {
    expect(id, 'the first test started an instance').not.toBe('');
    await http(orch, 'DELETE', `/v1/rooms/${room.roomId}`);
    await swarm.stop(id);
    await waitFor(async () => (await swarm.list()).length === 0, 'list() empty', 20_000);
    await waitFor(async () => (await instanceOf(id)) === undefined, 'the instance out of the fleet', 30_000);
    await expect(swarm.stop(id)).rejects.toThrow(/no service/);
    // its state volume goes with it (once its container is gone)
    await waitFor(async () => !(await volumeExists(`${prefix}-${id}-data`)), 'the instance volume removed', 30_000);
  }, 60_000);

  it('an instance started with another agent key (an orchestrator restarted with a new key) is moved to the current key and joins', async () => {
    const before = new SwarmProvisioner({
      template: { image: IMAGE, command: ['serve', '--runtime', 'inline', '--games', '/games'], fleetUrl: `ws://127.0.0.1:${orch.port}`, agentKey: 'an-old-agent-key-0123456789', labels: {}, capacity: 5, env: {} },
      service: prefix,
      mounts: [{ source: games, target: '/games' }],
      stopGracePeriodMs: 5_000,
    });
    let old = '';
    try {
      old = (await before.start(1))[0].id;
    } finally {
      await before.close();
    }
    await waitFor(async () => (await swarm.list()).some((i) => i.id === old && i.state === 'running'), 'the moved instance running', 40_000);
    await waitFor(async () => (await instanceOf(old)) !== undefined, 'the instance joined with the current key', 40_000);
    await swarm.stop(old);
  }, 90_000);

  it('list() removes a state volume of its prefix whose service is gone (a stop cut short by an orchestrator exit)', async () => {
    const orphan = `${prefix}-deadbeef00-data`;
    await createVolume(orphan, { [SWARM_SERVICE_LABEL]: prefix, [PROVISIONED_ID_LABEL]: 'deadbeef00' });
    const other = `${prefix}x-deadbeef00-data`; // another prefix's: left alone
    await createVolume(other, { [SWARM_SERVICE_LABEL]: `${prefix}x`, [PROVISIONED_ID_LABEL]: 'deadbeef00' });
    const restarted = new SwarmProvisioner({ template: { image: IMAGE, fleetUrl: `ws://127.0.0.1:${orch.port}`, agentKey: AGENT_KEY, labels: {}, capacity: 5, env: {} }, service: prefix });
    try {
      // (only this prefix's services are listed, and the volume without one is not an instance)
      expect((await restarted.list()).map((i) => i.id)).not.toContain('deadbeef00');
      expect(await volumeExists(orphan)).toBe(false);
      expect(await volumeExists(other)).toBe(true);
    } finally {
      await restarted.close();
    }
  });
});
