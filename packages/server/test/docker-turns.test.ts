import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGame } from '@parlor/server';
import { DockerRuntime, type EngineToHostMessage, type RoomChannel } from '../src/runtimes.js';
import { captureLogger, waitFor } from './helpers.js';
import { buildRunnerImage, dockerUp, fixture, requireDockerInCi } from './hostile-bed.js';

/** Turns, orders and a restore through a real room container (the `docker` runtime). */

const IMAGE = `parlor-runner:turns-test-${process.pid}`;
requireDockerInCi('the docker turns test');

let runtime: DockerRuntime | null = null;
const channels: RoomChannel[] = [];

beforeAll(async () => {
  if (!dockerUp) return;
  buildRunnerImage(IMAGE);
  runtime = await DockerRuntime.connect({ image: IMAGE, instanceId: `parlor-turns-test-${process.pid}`, logger: captureLogger().logger });
}, 150_000);

afterAll(async () => {
  for (const c of channels) await c.terminate();
  if (runtime) {
    await runtime.reconcile();
    await runtime.close();
  }
  if (dockerUp) spawnSync('docker', ['rmi', '-f', IMAGE]);
});

describe.skipIf(!dockerUp)('docker runtime: turns and snapshots (real dockerd)', () => {
  it('starts a room container from a snapshot, paused at its turn; takes a resume, an order, a turn and a save', async () => {
    const game = await loadGame('conquest', fixture('turns/conquest.ts'));
    const snapshot = JSON.stringify({ owner: { a: 7, b: 0 }, orders: [], turns: 4 });
    const channel = runtime!.start({ roomId: 'turns-1', game: 'conquest', gameClass: game.gameClass, bundle: game.bundle!, tickRate: 20, restore: { snapshot, turn: 5, paused: true } });
    channels.push(channel);
    const out: EngineToHostMessage[] = [];
    channel.onMessage((m) => out.push(m));
    const nth = async <T extends EngineToHostMessage['type']>(type: T, n = 1) => {
      await waitFor(() => out.filter((m) => m.type === type).length >= n, `${type} #${n}`, 30_000);
      return out.filter((m): m is Extract<EngineToHostMessage, { type: T }> => m.type === type)[n - 1];
    };
    channel.send({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    channel.send({ type: 'order', playerId: 1, id: 1, order: { planet: 'b' } });
    expect(await nth('orderResult')).toMatchObject({ id: 1, accepted: false, code: 'GAME_PAUSED', turn: 5 });
    channel.send({ type: 'resume' });
    channel.send({ type: 'order', playerId: 1, id: 2, order: { planet: 'b' } });
    expect(await nth('orderResult', 2)).toMatchObject({ id: 2, accepted: true, turn: 5 });
    channel.send({ type: 'turn', turn: 5 });
    const turn = await nth('turnResult');
    expect(turn).toMatchObject({ turn: 5, ok: true });
    expect(JSON.parse(turn.snapshot!)).toEqual({ owner: { a: 7, b: 1 }, orders: [], turns: 5 });
    channel.send({ type: 'save', id: 9 });
    expect(await nth('saved')).toMatchObject({ id: 9, error: '', snapshot: turn.snapshot });
    expect(out.filter((m) => m.type === 'error')).toEqual([]);
  }, 90_000);
});
