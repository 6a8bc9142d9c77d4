/**
 * The reconcile of a host's rooms with what runs and what is recorded (`RoomReconciler`):
 * - in-process, a real server on a real state folder: a recorded room that does not run is
 *   restored from its snapshot; one that cannot be (its game not served) is marked ended after two
 *   passes in a row, with the reason, its last snapshot kept; nothing is done while draining;
 * - with real dockerd (skipped, loudly, without one), a real `parlor serve --runtime docker
 *   --state-dir` host killed with kill -9: at restart the container left of a recorded room is
 *   removed and the room restored from its snapshot (players reconnect, the state is there); a
 *   container of a room not recorded is removed, at start and by the periodic pass.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRoomStateStore, type StoredRoom } from '@parlor/server';
import { DOCKER_LABELS, InlineRuntime, RECONCILE_ENDED_REASON, RoomReconciler, processRunnerPath } from '../src/runtimes.js';
import { captureLogger, logged, startServer } from './helpers.js';
import { STATE_GAMES, cleanUp, repo, startHost, tempDir } from './state-host.js';

const record = (roomId: string, game: string): StoredRoom => ({
  roomId,
  game,
  version: null,
  sha256: null,
  options: {},
  status: 'running',
  turn: 2,
  reason: '',
  createdAt: Date.now(),
  updatedAt: Date.now(),
});

describe('room reconcile with the state store', () => {
  it('restores a recorded room that does not run, marks one that cannot be restored ended after two passes, does nothing while draining', async () => {
    const store = openRoomStateStore(tempDir());
    store.putRoom(record('kept', 'ledger'));
    store.putSnapshot({ roomId: 'kept', turn: 2, snapshot: JSON.stringify({ applied: [{ turn: 1, orders: [] }], pending: ['1:x'], slowMs: 0, pad: 0 }), cause: 'order', version: null, savedAt: Date.now() });
    store.putRoom(record('lost', 'gone-game'));
    store.putSnapshot({ roomId: 'lost', turn: 2, snapshot: '{}', cause: 'order', version: null, savedAt: Date.now() });
    const runtime = new InlineRuntime();
    const { server, logs } = await startServer({ games: { ledger: join(STATE_GAMES, 'ledger.ts') }, runtime, stateStore: store });
    try {
      const reconciler = new RoomReconciler(runtime, { store, host: server, logger: captureLogger().logger });
      const first = await reconciler.pass();
      expect(first).toEqual({ removed: [], restored: ['kept'], waiting: ['lost'], ended: [] });
      expect(server.rooms().find((r) => r.id === 'kept')).toMatchObject({ game: 'ledger', turn: 2, status: 'running' });
      expect(logged(logs, 'room restored', { room: 'kept' })).toBe(true);
      expect(store.liveRooms().map((r) => r.roomId).sort()).toEqual(['kept', 'lost']);

      const second = await reconciler.pass();
      expect(second).toEqual({ removed: [], restored: [], waiting: [], ended: ['lost'] });
      expect(store.liveRooms().map((r) => r.roomId)).toEqual(['kept']);
      expect(store.room('lost')?.reason).toBe(RECONCILE_ENDED_REASON);
      expect(store.lastSnapshot('lost')?.snapshot).toBe('{}');

      // While draining (the server keeps its rooms for the next start), a pass does nothing.
      store.putRoom(record('later', 'ledger'));
      server.drain();
      expect(await reconciler.pass()).toEqual({ removed: [], restored: [], waiting: [], ended: [] });
      expect(server.rooms().map((r) => r.id)).toEqual(['kept']);
    } finally {
      await server.close();
      store.close();
    }
  });
});

/** Real dockerd required (CI starts one); skipped, loudly, where there is none. */
const dockerUp = spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0;
if (!dockerUp && process.env.CI === 'true') throw new Error('CI=true but no Docker engine answers `docker info`: the docker reconcile test must run in CI');
if (!dockerUp) console.warn('docker reconcile test skipped: no Docker engine (docker info failed)');
const IMAGE = 'parlor-runner:state-test';
const INSTANCE = `parlor-state-test-${process.pid}`;

const docker = (...args: string[]): string => {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
/** Ids of this test's containers (running or not) carrying `parlor.room=<roomId>`. */
const containersOf = (roomId: string): string[] => docker('ps', '-aq', '--no-trunc', '--filter', `label=${DOCKER_LABELS.instance}=${INSTANCE}`, '--filter', `label=${DOCKER_LABELS.room}=${roomId}`).split('\n').filter(Boolean);
/** A container of this instance for a room nobody recorded (what a crashed host may leave). */
const strayContainer = (roomId: string): string =>
  docker('create', '--label', `${DOCKER_LABELS.instance}=${INSTANCE}`, '--label', `${DOCKER_LABELS.room}=${roomId}`, '--label', `${DOCKER_LABELS.game}=ledger`, '--network', 'none', IMAGE);

describe.skipIf(!dockerUp)('docker reconcile of a parlor serve --state-dir host', () => {
  beforeAll(() => {
    const r = spawnSync('bash', [join(repo, 'packages/server/docker/build-runner-image.sh'), IMAGE, processRunnerPath()], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
  }, 150_000);
  afterAll(() => {
    const left = docker('ps', '-aq', '--filter', `label=${DOCKER_LABELS.instance}=${INSTANCE}`).split('\n').filter(Boolean);
    if (left.length) docker('rm', '-f', ...left);
    cleanUp();
  });

  it('after kill -9, the container of a recorded room is removed and the room restored from its snapshot; stray containers are removed at start and periodically', async () => {
    const stateDir = tempDir();
    const args = ['--runtime', 'docker', '--image', IMAGE, '--instance-id', INSTANCE, '--reconcile-interval', '1000'];
    let host = await startHost(stateDir, args);
    const ann = await host.client();
    const init = await ann.joinAndSync('ledger', { name: 'Ann' });
    expect(await ann.order({ note: 'd1' }, { timeoutMs: 20_000 })).toMatchObject({ accepted: true });
    const [before] = containersOf(init.roomId);
    expect(before).toBeTruthy();
    await host.kill9();
    ann.close();
    // What the dead host left: its room's container, and one of a room it never recorded.
    expect(containersOf(init.roomId)).toEqual([before]);
    const stray = strayContainer('ghost');

    host = await startHost(stateDir, args);
    await host.waitForLog((l) => l.room === init.roomId && /removed the container of a room recorded live/.test(l.msg), 'the recorded room\u2019s container removed');
    await host.waitForLog((l) => l.room === 'ghost' && /removed a stale room container/.test(l.msg), 'the stray container removed');
    await host.waitForLog((l) => l.msg === 'room restored' && l.room === init.roomId, 'the room restored');
    expect(containersOf('ghost')).toEqual([]);
    expect(containersOf(init.roomId)).not.toContain(before);
    expect(docker('ps', '-aq', '--no-trunc').split('\n')).not.toContain(stray);

    const again = await host.client();
    const again2 = await again.joinAndSync('ledger', { roomId: init.roomId, reconnectToken: init.reconnectToken });
    expect(again2.playerId).toBe(init.playerId);
    expect(JSON.parse(again.texts().find((t) => t.startsWith('{'))!)).toEqual({ applied: [], pending: [`${init.playerId}:d1`] });
    expect(await again.order({ note: 'd2' }, { timeoutMs: 20_000 })).toMatchObject({ accepted: true });
    expect(containersOf(init.roomId)).toHaveLength(1);

    // The periodic pass (every second here) removes a stray container while the host runs, once it is 10 s old.
    strayContainer('ghost-2');
    await host.waitForLog((l) => l.room === 'ghost-2' && /removed a stale room container/.test(l.msg), 'the periodic pass removing a stray container', 40_000);
    expect(containersOf('ghost-2')).toEqual([]);
    // The live room's container is its runtime's: every pass left it alone, and the room plays on.
    expect(containersOf(init.roomId)).toHaveLength(1);
    expect(await again.order({ note: 'd3' }, { timeoutMs: 20_000 })).toMatchObject({ accepted: true });
    again.close();
    await host.kill9();
  }, 240_000);
});
