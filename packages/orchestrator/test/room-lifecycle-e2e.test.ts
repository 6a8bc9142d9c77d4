/**
 * Room lifecycle operations end to end: a real orchestrator with its in-process catalog (SQLite,
 * the real publish gate) publishes a small turn-based game in 1.0.0, 1.0.1 and 1.1.0; a real game
 * server with an artifact cache runs the room its fleet agent is given; a real player on a real
 * socket orders and watches. Each operation goes through REST: pause (the player sees the paused
 * state, an order is refused GAME_PAUSED), resume, a forced turn (the orders applied, turn.ready
 * reaching the orchestrator), restart and patch 1.0.0 → 1.0.1 (the game's state kept, the player
 * still connected, the label of the new version), a patch to 1.1.0 refused, stop; a real-time room
 * refuses a forced turn. Every operation is in the log.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache, CatalogVersions, createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { createPublishGate } from '@parlor/server/gate';
import { FleetAgent } from '@parlor/fleet-agent';
import type { RoomEvent } from '@parlor/squish';
import { FleetClient, FleetClientError, type Orchestrator } from '../src/index.js';
import { gzipFolder } from './catalog-helpers.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';
import { Player } from './player.js';

const GAME = fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url));
const TICKER = fileURLToPath(new URL('./fixtures/realtime-game', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parlor-lifecycle-e2e-'));
let orch: Orchestrator;
let server: GameServer;
let agent: FleetAgent;
let cache: ArtifactCache;
let client: FleetClient;
const players: Player[] = [];
const events: RoomEvent[] = [];

/** The game folder of `version`: the fixture with its label saying the version. */
function versionFolder(version: string): string {
  const folder = join(dir, `adder-${version}`);
  cpSync(GAME, folder, { recursive: true });
  writeFileSync(join(folder, 'label.ts'), `export function label(): string {\n  return ${JSON.stringify(`adder ${version}`)};\n}\n`);
  return folder;
}

beforeAll(async () => {
  const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });
  ({ orch } = await startOrchestrator({ catalog: { dir: join(dir, 'catalog'), gate }, env: 'prod', commandTimeoutMs: 10_000 }));
  orch.on('room:event', ({ event }) => events.push(event));
  for (const version of ['1.0.0', '1.0.1', '1.1.0']) {
    const { done } = await orch.catalog!.startPublish('adder', version, await gzipFolder(versionFolder(version)), 'alice');
    const ended = await done;
    expect(ended.state, JSON.stringify(ended.error)).toBe('PUBLISHED');
  }
  await orch.catalog!.promote('adder', '1.0.0', 'prod', 'admin');
  server = await createGameServer({ games: { ticker: TICKER }, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
  cache = new ArtifactCache({ dir: join(dir, 'artifacts'), key: AGENT_KEY });
  agent = new FleetAgent(createFleetHost(server, { versions: new CatalogVersions(server, cache) }), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name: 'host', logger: quietAgentLogger });
  await agent.connect({ connectTimeoutMs: 5000 });
  await waitFor(() => orch.fleet.instances.some((i) => i.roomTypes.includes('ticker')), 'the host in the fleet');
  client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
}, 120_000);

afterAll(async () => {
  for (const p of players) p.close();
  await client?.close();
  await agent?.disconnect();
  await server?.close();
  cache?.closeSync();
  await orch?.shutdown();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** A player in `roomId` (of `game`), synced. */
async function player(game: string, roomId: string): Promise<Player> {
  const p = await Player.join(server.wsUrl, game, roomId);
  players.push(p);
  return p;
}

/** The game's one line of text as the player sees it. */
const line = (p: Player): string => p.texts().find((t) => t.startsWith('adder')) ?? '';

async function refused(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FleetClientError);
  return { status: (err as FleetClientError).status, code: (err as FleetClientError).code };
}

describe('room lifecycle operations on a real host', () => {
  it('pause, resume, turn, restart, patch within 1.0.x (state kept, player connected), patch to 1.1.0 refused, stop', async () => {
    const room = await client.createRoom({ game: 'adder', env: 'prod' });
    expect(room.version).toBe('1.0.0');
    const ann = await player('adder', room.roomId);
    await ann.waitForState((s) => s.status === 'running' && s.turn === 1, 'turn 1 open');
    expect((await ann.order({ add: 2 })).accepted).toBe(true);
    expect((await ann.order({ add: 3 })).accepted).toBe(true);
    await waitFor(() => line(ann) === 'adder 1.0.0 total 0 pending 2,3 generated  restored 0', `the orders shown (${line(ann)})`);

    const paused = await client.pauseRoom(room.roomId, { reason: 'maintenance' });
    expect(paused.state).toMatchObject({ status: 'paused', turn: 1, reason: 'maintenance' });
    expect(paused.operation).toMatchObject({ op: 'pause', state: 'succeeded', source: 'admin', version: '1.0.0' });
    await ann.waitForState((s) => s.status === 'paused' && s.reason === 'maintenance', 'the player sees the pause');
    expect(await ann.order({ add: 4 })).toMatchObject({ accepted: false, code: 'GAME_PAUSED' });
    expect((await refused(client.forceTurn(room.roomId)))).toEqual({ status: 409, code: 'ROOM_PAUSED' });
    await waitFor(() => orch.fleet.getRoom(room.roomId)?.status === 'paused', 'paused in the read model');

    expect((await client.resumeRoom(room.roomId)).state).toMatchObject({ status: 'running', reason: '' });
    await ann.waitForState((s) => s.status === 'running', 'the player sees the resume');

    const turned = await client.forceTurn(room.roomId);
    expect(turned.state).toMatchObject({ status: 'running', turn: 2 });
    await waitFor(() => line(ann) === 'adder 1.0.0 total 5 pending  generated 1 restored 0', `turn 1 generated (${line(ann)})`);
    await waitFor(() => events.some((e) => e.kind === 'turn.ready' && e.roomId === room.roomId && e.turn === 2), 'turn.ready at the orchestrator');
    expect((await ann.order({ add: 1 })).accepted).toBe(true);

    const restarted = await client.restartRoom(room.roomId);
    expect(restarted.state).toMatchObject({ status: 'running', turn: 2 });
    await waitFor(() => line(ann) === 'adder 1.0.0 total 5 pending 1 generated 1 restored 1', `restored on the same version (${line(ann)})`);

    const patched = await client.patchRoom(room.roomId, '1.0.1');
    expect(patched.operation).toMatchObject({ op: 'patch', state: 'succeeded', version: '1.0.1', params: { version: '1.0.1' } });
    expect(patched.state).toMatchObject({ status: 'running', turn: 2 });
    await waitFor(() => line(ann) === 'adder 1.0.1 total 5 pending 1 generated 1 restored 2', `patched with its state (${line(ann)})`);
    expect(ann.closeInfo, 'the player stayed connected through restart and patch').toBeNull();
    expect((await ann.order({ add: 9 })).accepted).toBe(true);
    await waitFor(() => orch.fleet.getRoom(room.roomId)?.version === '1.0.1', 'the new version in the read model');

    expect(await refused(client.patchRoom(room.roomId, '1.1.0'))).toEqual({ status: 409, code: 'PATCH_SEMVER_INCOMPATIBLE' });
    await waitFor(() => line(ann).startsWith('adder 1.0.1 total 5 pending 1,9'), `still 1.0.1 (${line(ann)})`);

    const stopped = await client.destroyRoom(room.roomId);
    expect(stopped).toMatchObject({ ok: true, destroyed: true, state: null, operation: { op: 'stop', state: 'succeeded' } });
    await ann.closed();

    const ops = (await client.operations({ roomId: room.roomId })).operations.map((o) => `${o.op}:${o.state}${o.errorCode ? `:${o.errorCode}` : ''}`);
    expect(ops).toEqual(['stop:succeeded', 'patch:failed:PATCH_SEMVER_INCOMPATIBLE', 'patch:succeeded', 'restart:succeeded', 'turn:succeeded', 'resume:succeeded', 'turn:failed:ROOM_PAUSED', 'pause:succeeded', 'start:succeeded']);
    // the host's own events reached the orchestrator, in the order it emitted them
    await waitFor(() => events.some((e) => e.roomId === room.roomId && e.kind === 'room.ended'), 'room.ended at the orchestrator');
    const mine = events.filter((e) => e.roomId === room.roomId);
    expect(mine.map((e) => e.kind)).toEqual(['room.created', 'player.joined', 'room.paused', 'room.resumed', 'turn.ready', 'room.ended']);
    expect(mine[2]).toMatchObject({ turn: 1, reason: 'maintenance', game: 'adder' });
    expect(mine[4]).toMatchObject({ turn: 2 });
    expect(mine.every((e, i) => i === 0 || e.at >= mine[i - 1].at)).toBe(true);
  }, 60_000);

  it('a real-time room refuses a forced turn (409 NOT_TURN_BASED from its host) and a patch (409 NOT_VERSIONED)', async () => {
    const room = await client.createRoom({ type: 'ticker' });
    expect(await refused(client.forceTurn(room.roomId))).toEqual({ status: 409, code: 'NOT_TURN_BASED' });
    expect(await refused(client.patchRoom(room.roomId, '1.0.1'))).toEqual({ status: 409, code: 'NOT_VERSIONED' });
    expect((await client.pauseRoom(room.roomId)).state).toMatchObject({ status: 'paused', turn: 0, reason: 'paused by admin' });
    const { operations } = await client.operations({ roomId: room.roomId });
    expect(operations.map((o) => `${o.op}:${o.errorCode ?? o.state}`)).toEqual(['pause:succeeded', 'patch:NOT_VERSIONED', 'turn:NOT_TURN_BASED', 'start:succeeded']);
  });
});
