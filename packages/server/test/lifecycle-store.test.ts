/**
 * Rooms that last across a host restart, on a real SQLite state folder (`openRoomStateStore`) and
 * real sockets: an accepted order is stored before the player is told, a turn before it is
 * announced; members are recorded with the sha256 of their reconnect token only; a store that
 * fails refuses the order (`NOT_STORED`); a server that closes keeps its rooms, and a new server
 * on the same folder brings them back (same id, paused if they were, from the last snapshot), where
 * a player reconnects with their token and a signed-in player by their user id; a stopped room is
 * recorded ended.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Game, Group, Text, type GameMetadata, type Node } from '@parlor/squish';
import { openRoomStateStore, type GameServer, type GameServerOptions, type RoomStateStore } from '@parlor/server';
import { CounterGame } from './games.js';
import { TestClient, startServer, waitFor } from './helpers.js';
import { TURNS_GAME, kinds, nextState, order, recordEvents, shows, states } from './lifecycle-bed.js';

const root = mkdtempSync(join(tmpdir(), 'parlor-lifecycle-store-'));
const servers: GameServer[] = [];
const clients: TestClient[] = [];
const stores: RoomStateStore[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const s of stores.splice(0)) s.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function host(dir: string, more: Partial<GameServerOptions> = {}): Promise<{ server: GameServer; store: RoomStateStore; events: ReturnType<typeof recordEvents> }> {
  const store = openRoomStateStore(dir);
  stores.push(store);
  const { server } = await startServer({ games: { turns: TURNS_GAME }, stateStore: store, ...more });
  servers.push(server);
  return { server, store, events: recordEvents(server) };
}

async function connect(server: GameServer, game: string, more: Parameters<TestClient['join']>[1] = {}): Promise<TestClient> {
  const c = await TestClient.connect(server);
  clients.push(c);
  await c.joinAndSync(game, more);
  return c;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A real-time game that saves: it counts ticks, and a restored one counts on from its snapshot. */
class Saver extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Saver', tickRate: 30, maxPlayers: 2 };
  }
  static restore(s: { count: number }): Saver {
    const g = new Saver();
    g.count = s.count;
    return g;
  }
  count = 0;
  readonly text = new Text({ text: 'count 0', x: 1, y: 1, size: 4 });
  readonly root = new Group({ children: [this.text] });
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.count++;
    this.text.text = `count ${this.count}`;
  }
  override save(): { count: number } {
    return { count: this.count };
  }
}

/** The count a Saver client shows, or -1. */
function countShown(c: TestClient): number {
  const t = c.texts().find((x) => x.startsWith('count '));
  return t ? Number(t.slice(6)) : -1;
}

describe('durable room state', () => {
  it('stores an accepted order before acknowledging it and a turn before announcing it; members by token hash only', async () => {
    const { server, store, events } = await host(join(root, 'ack'));
    const ann = await connect(server, 'turns', { name: 'Ann' });
    const roomId = ann.init!.roomId;
    expect(store.room(roomId)).toMatchObject({ roomId, game: 'turns', version: null, status: 'running', turn: 1 });
    expect(store.members(roomId)).toEqual([expect.objectContaining({ playerId: ann.init!.playerId, name: 'Ann', tokenHash: sha256(ann.init!.reconnectToken) })]);
    expect(JSON.stringify(store.members(roomId))).not.toContain(ann.init!.reconnectToken);

    expect(await order(ann, 1, { say: 'north' })).toMatchObject({ accepted: true });
    // acknowledged = durable: the snapshot with the order is in the store when the player hears "accepted"
    expect(store.lastSnapshot(roomId)).toMatchObject({ turn: 1, cause: 'order' });
    expect(JSON.parse(store.lastSnapshot(roomId)!.snapshot)).toMatchObject({ said: ['1:north'] });

    let storedAtTurnReady: unknown = null;
    server.events.on('room', (e) => {
      if (e.kind === 'turn.ready') storedAtTurnReady = { room: store.room(roomId)?.turn, snapshot: store.lastSnapshot(roomId)?.turn };
    });
    expect(await server.forceTurn(roomId)).toMatchObject({ status: 'running', turn: 2 });
    expect(storedAtTurnReady).toEqual({ room: 2, snapshot: 2 });
    expect(store.lastSnapshot(roomId)).toMatchObject({ turn: 2, cause: 'turn' });
    expect(kinds(events, roomId)).toEqual(['room.created', 'player.joined', 'turn.ready']);
  });

  it('refuses an order it cannot store (NOT_STORED), the socket open', async () => {
    const { server, store } = await host(join(root, 'broken'));
    const ann = await connect(server, 'turns');
    store.close(); // the database is gone under the host: every write now throws
    expect(await order(ann, 1, { say: 'lost' })).toMatchObject({ accepted: false, code: 'NOT_STORED' });
    expect(ann.closeInfo).toBeNull();
  });

  it('a closing server keeps its rooms; a new one on the same folder restores them: same id, paused, last snapshot, reconnect by token and by user id', async () => {
    const dir = join(root, 'restore');
    const identity = { authenticate: (j: { token: string | undefined }) => (j.token ? { userId: `user-${j.token}`, roles: [] } : null) };
    const first = await host(dir, { identity, reconnectGraceMs: 60_000 });
    const ann = await connect(first.server, 'turns', { name: 'Ann' });
    const roomId = ann.init!.roomId;
    const bob = await connect(first.server, 'turns', { name: 'Bob', roomId, token: 'bob' });
    expect(await order(ann, 1, { say: 'alpha' })).toMatchObject({ accepted: true });
    await first.server.forceTurn(roomId);
    expect(await order(bob, 1, { say: 'beta' })).toMatchObject({ accepted: true, turn: 2 });
    await first.server.pauseRoom(roomId, { reason: 'host maintenance' });
    expect(first.store.lastSnapshot(roomId)).toMatchObject({ turn: 2, cause: 'pause' });
    const annToken = ann.init!.reconnectToken;
    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    expect(first.store.liveRooms().map((r) => r.roomId)).toEqual([roomId]);
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);

    const second = await host(dir, { identity, reconnectGraceMs: 60_000 });
    const restored = await second.server.restoreRooms();
    expect(restored).toEqual([expect.objectContaining({ id: roomId, game: 'turns', status: 'paused', turn: 2, players: 2, connectedPlayers: 0 })]);
    expect(second.events.map((e) => e.kind)).toEqual(['room.restored']);
    expect(second.events[0]).toMatchObject({ kind: 'room.restored', roomId, turn: 2, version: null });

    // Ann comes back with her reconnect token: the same player, the game's state as it was stored
    const ann2 = await TestClient.connect(second.server);
    clients.push(ann2);
    await ann2.joinAndSync('turns', { roomId, reconnectToken: annToken });
    expect(ann2.init).toMatchObject({ roomId, playerId: ann.init!.playerId, reconnectToken: annToken });
    expect(states(ann2)[0]).toMatchObject({ status: 'paused', turn: 2, reason: 'host maintenance' });
    await waitFor(() => shows(ann2, 'said 1:alpha 2:beta') && shows(ann2, 'generated 1'), 'the restored game');
    // Bob signs in again: his seat by user id, with a new reconnect token
    const bob2 = await connect(second.server, 'turns', { roomId, token: 'bob' });
    expect(bob2.init).toMatchObject({ roomId, playerId: bob.init!.playerId });
    expect(second.store.members(roomId).find((m) => m.playerId === bob.init!.playerId)?.tokenHash).toBe(sha256(bob2.init!.reconnectToken));
    expect(second.server.rooms()[0]).toMatchObject({ players: 2, connectedPlayers: 2 });

    await second.server.resumeRoom(roomId);
    await nextState(ann2, (s) => s.status === 'running');
    expect(await order(ann2, 2, { say: 'gamma' })).toMatchObject({ accepted: true, turn: 2 });
    expect(await second.server.forceTurn(roomId)).toMatchObject({ status: 'running', turn: 3 });

    // a stop is the end: recorded ended, not brought back
    await second.server.closeRoom(roomId);
    expect(second.store.liveRooms()).toEqual([]);
    expect(second.store.room(roomId)?.roomId).toBe(roomId);
    expect(await second.server.restoreRooms()).toEqual([]);
  });

  it('snapshots a real-time game that saves every snapshotIntervalMs (not one without save); a restart counts on from the snapshot', async () => {
    const { server, store } = await host(join(root, 'periodic'), { games: { saver: { gameClass: Saver }, counter: { gameClass: CounterGame } }, snapshotIntervalMs: 100 });
    const ann = await connect(server, 'saver');
    const bob = await connect(server, 'counter');
    const [saverRoom, counterRoom] = [ann.init!.roomId, bob.init!.roomId];
    await waitFor(() => store.lastSnapshot(saverRoom)?.cause === 'periodic' && JSON.parse(store.lastSnapshot(saverRoom)!.snapshot).count > 0, 'a periodic snapshot');
    const first = JSON.parse(store.lastSnapshot(saverRoom)!.snapshot).count as number;
    await waitFor(() => JSON.parse(store.lastSnapshot(saverRoom)!.snapshot).count > first, 'a later periodic snapshot');
    expect(store.lastSnapshot(counterRoom)).toBeUndefined();
    expect(store.room(saverRoom)).toMatchObject({ status: 'running', turn: 0 });

    const before = countShown(ann);
    const full = ann.fullFrames;
    expect(await server.restartRoom(saverRoom)).toEqual({ status: 'running', turn: 0, nextTurnAt: null, reason: '' });
    expect(store.lastSnapshot(saverRoom)?.cause).toBe('restart');
    await waitFor(() => ann.fullFrames > full && countShown(ann) > before, 'the restarted game counting on');
    // a game without save() restarts from its constructor
    const ticks = (): number => Number(bob.texts().find((t) => t.startsWith('tick '))?.slice(5) ?? -1);
    await waitFor(() => ticks() > 20, 'the counter past 20');
    const counted = ticks();
    const bobFull = bob.fullFrames;
    await server.restartRoom(counterRoom);
    await waitFor(() => bob.fullFrames > bobFull && ticks() >= 0 && ticks() < counted, 'a fresh counter');
    expect(ann.closeInfo).toBeNull();
    expect(bob.closeInfo).toBeNull();
  });
});
