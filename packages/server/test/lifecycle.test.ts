/**
 * Room lifecycle on a host, with real sockets and the inline runtime: a room's `state` reaches
 * every client after `init` and on every change; pause refuses input and orders with an
 * `orderResult` (the socket stays open) and resume lets frames move again; orders are answered
 * (accepted, rejected by the game, not JSON, spectator, not turn-based); forced turns and the
 * game's own `endTurnNow()` generate turns (`turn.ready`); a throwing `generateTurn` pauses the
 * room with the reason; restart keeps the game's state with players connected; `game.end` finishes
 * the room (event with the result, close 1000); turn-based rooms stay when empty, real-time ones
 * do not; the room events come in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ServerErrorCode, type GameServer } from '@parlor/server';
import { CounterGame } from './games.js';
import { TestClient, startServer, waitFor } from './helpers.js';
import { TURNS_GAME, kinds, nextState, order, orderResults, recordEvents, resultOf, shows, states, tickShown } from './lifecycle-bed.js';

const servers: GameServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(more: { reconnectGraceMs?: number } = {}): Promise<{ server: GameServer; events: ReturnType<typeof recordEvents> }> {
  const { server } = await startServer({ games: { turns: TURNS_GAME, counter: { gameClass: CounterGame } }, ...more });
  servers.push(server);
  return { server, events: recordEvents(server) };
}

async function player(server: GameServer, game = 'turns', more: Parameters<TestClient['join']>[1] = {}): Promise<TestClient> {
  const c = await TestClient.connect(server);
  clients.push(c);
  await c.joinAndSync(game, more);
  return c;
}

describe('room state and guards', () => {
  it('sends state after init, before the first frame; pause refuses input and orders without closing, resume lets frames move', async () => {
    const { server, events } = await setup();
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    const initAt = ann.messages.findIndex((m) => m.type === 'init');
    const stateAt = ann.messages.findIndex((m) => m.type === 'state');
    const frameAt = ann.messages.findIndex((m) => m.type === 'frame');
    expect(initAt).toBeLessThan(stateAt);
    expect(stateAt).toBeLessThan(frameAt);
    expect(states(ann)[0]).toMatchObject({ status: 'running', turn: 1, nextTurnAt: null, reason: '' });
    expect(server.rooms()[0]).toMatchObject({ id: roomId, status: 'running', turn: 1, nextTurnAt: null });

    const paused = await server.pauseRoom(roomId, { reason: 'maintenance', source: 'admin' });
    expect(paused).toEqual({ status: 'paused', turn: 1, nextTurnAt: null, reason: 'maintenance' });
    await nextState(ann, (s) => s.status === 'paused' && s.reason === 'maintenance');
    // idempotent: nothing changes, no second event
    expect(await server.pauseRoom(roomId)).toEqual(paused);

    const before = orderResults(ann).length;
    ann.send({ type: 'input', event: { kind: 'keydown', key: 'ArrowUp' } });
    expect(await resultOf(ann, 0, before)).toMatchObject({ accepted: false, code: 'GAME_PAUSED', message: expect.stringContaining('maintenance') });
    expect(await order(ann, 7, { say: 'hello' })).toMatchObject({ id: 7, accepted: false, code: 'GAME_PAUSED', turn: 1 });
    expect(ann.closeInfo).toBeNull();

    const resumed = await server.resumeRoom(roomId);
    expect(resumed).toEqual({ status: 'running', turn: 1, nextTurnAt: null, reason: '' });
    expect(await server.resumeRoom(roomId)).toEqual(resumed);
    await nextState(ann, (s) => s.status === 'running', states(ann).findIndex((s) => s.status === 'paused'));
    const tick = tickShown(ann);
    await waitFor(() => tickShown(ann) > tick + 2, 'ticks after resume');
    expect(await order(ann, 8, { say: 'hi' })).toMatchObject({ id: 8, accepted: true, code: '', turn: 1 });
    await waitFor(() => shows(ann, 'said 1:hi'), 'the accepted order in the scene');
    expect(ann.closeInfo).toBeNull();
    expect(kinds(events, roomId)).toEqual(['room.created', 'player.joined', 'room.paused', 'room.resumed']);
    expect(events.find((e) => e.kind === 'room.paused')).toMatchObject({ roomId, game: 'turns', turn: 1, reason: 'maintenance' });
  });

  it('answers every order: rejected by the game, not JSON, a spectator, a real-time game', async () => {
    const { server } = await setup();
    const ann = await player(server);
    expect(await order(ann, 1, { say: 'bad' })).toMatchObject({ accepted: false, code: 'ORDER_REJECTED', message: 'bad is not a word here' });
    expect(await order(ann, 2, '{not json')).toMatchObject({ accepted: false, code: 'ORDER_INVALID' });
    expect(await order(ann, 3, { say: 'fine' })).toMatchObject({ accepted: true });
    const spectator = await player(server, 'turns', { roomId: ann.init!.roomId, spectate: true });
    expect(await order(spectator, 1, { say: 'me too' })).toMatchObject({ accepted: false, code: 'SPECTATOR' });
    const counter = await player(server, 'counter');
    expect(await order(counter, 1, { say: 'x' })).toMatchObject({ accepted: false, code: 'NOT_TURN_BASED' });
    await expect(server.forceTurn(counter.init!.roomId)).rejects.toMatchObject({ code: ServerErrorCode.NOT_TURN_BASED });
    await expect(server.pauseRoom('nope')).rejects.toMatchObject({ code: ServerErrorCode.ROOM_NOT_FOUND });
    expect(() => server.roomState('nope')).toThrow(expect.objectContaining({ code: ServerErrorCode.ROOM_NOT_FOUND }));
    for (const c of [ann, spectator, counter]) expect(c.closeInfo).toBeNull();
  });
});

describe('turns', () => {
  it('a forced turn and the game’s endTurnNow generate turns: generating, then running with the next turn, then turn.ready', async () => {
    const { server, events } = await setup();
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    expect(await order(ann, 1, { say: 'attack' })).toMatchObject({ accepted: true, turn: 1 });
    const after = states(ann).length;
    expect(await server.forceTurn(roomId)).toEqual({ status: 'running', turn: 2, nextTurnAt: null, reason: '' });
    await nextState(ann, (s) => s.turn === 2, after, 'state of turn 2');
    expect(states(ann).slice(after).map((s) => `${s.status}:${s.turn}`)).toEqual(['generation_in_progress:1', 'running:2']);
    await waitFor(() => shows(ann, 'turn 2 generated 1'), 'turn 2 in the scene');
    // the game asks for the cutoff itself
    expect(await order(ann, 2, { say: 'end' })).toMatchObject({ accepted: true, turn: 2 });
    await nextState(ann, (s) => s.turn === 3 && s.status === 'running');
    await waitFor(() => events.some((e) => e.kind === 'turn.ready' && e.turn === 3), 'turn.ready 3');
    expect(kinds(events, roomId)).toEqual(['room.created', 'player.joined', 'turn.ready', 'turn.ready']);
    expect(events.filter((e) => e.kind === 'turn.ready').map((e) => (e as { turn: number }).turn)).toEqual([2, 3]);
  });

  it('a throwing generateTurn pauses the room with the reason; a forced turn is then refused until resumed', async () => {
    const { server, events } = await setup();
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    await order(ann, 1, { say: 'explode' });
    const state = await server.forceTurn(roomId);
    expect(state).toEqual({ status: 'paused', turn: 1, nextTurnAt: null, reason: 'turn 1 generation failed: the galaxy exploded' });
    await nextState(ann, (s) => s.status === 'paused' && s.reason === state.reason);
    expect(events.find((e) => e.kind === 'room.paused')).toMatchObject({ roomId, turn: 1, reason: state.reason });
    await expect(server.forceTurn(roomId)).rejects.toMatchObject({ code: ServerErrorCode.ROOM_PAUSED });
    expect(await order(ann, 2, { say: 'again' })).toMatchObject({ accepted: false, code: 'GAME_PAUSED' });
    // resume rebuilds the game from the snapshot before the turn (the throw's leftovers are gone): the turn fails the same way again
    const full = ann.fullFrames;
    expect(await server.resumeRoom(roomId)).toMatchObject({ status: 'running', turn: 1 });
    await waitFor(() => ann.fullFrames > full, 'a full frame from the rebuilt game');
    expect(await server.forceTurn(roomId)).toEqual(state);
    expect(ann.closeInfo).toBeNull();
  });

  it('a turn-based game that fails for good pauses its room (not ended); resume starts it again from its last snapshot', async () => {
    const { server, events } = await setup({ reconnectGraceMs: 60_000 });
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    expect(await order(ann, 1, { say: 'crash' })).toMatchObject({ accepted: true });
    const paused = await nextState(ann, (s) => s.status === 'paused', 0, 'paused after the failure');
    expect(paused.reason).toBe('the game failed: the game crashed (10 consecutive failures)');
    expect(events.find((e) => e.kind === 'room.paused')).toMatchObject({ roomId, reason: paused.reason });
    expect(await order(ann, 2, { say: 'hello' })).toMatchObject({ accepted: false, code: 'GAME_PAUSED' });
    const full = ann.fullFrames;
    expect(await server.resumeRoom(roomId)).toEqual({ status: 'running', turn: 1, nextTurnAt: null, reason: '' });
    await waitFor(() => ann.fullFrames > full && shows(ann, 'said 1:crash'), 'the game again, from its snapshot');
    expect(await order(ann, 3, { say: 'again' })).toMatchObject({ accepted: true });
    expect(ann.closeInfo).toBeNull();
    expect(kinds(events, roomId)).toEqual(['room.created', 'player.joined', 'room.paused', 'room.resumed']);
  });

  it('a turn-based room stays when its last player leaves; a real-time room ends', async () => {
    const { server, events } = await setup({ reconnectGraceMs: 50 });
    const ann = await player(server);
    const bob = await player(server, 'counter');
    const [turnsRoom, counterRoom] = [ann.init!.roomId, bob.init!.roomId];
    ann.close();
    bob.close();
    await waitFor(() => kinds(events, turnsRoom).includes('player.left') && kinds(events, counterRoom).includes('room.ended'), 'both players gone');
    expect(server.rooms().map((r) => r.id)).toEqual([turnsRoom]);
    expect(server.roomState(turnsRoom).status).toBe('running');
    expect(kinds(events, counterRoom)).toEqual(['room.created', 'player.joined', 'player.left', 'room.ended']);
    expect(await server.closeRoom(turnsRoom)).toBe(true);
    expect(kinds(events, turnsRoom)).toEqual(['room.created', 'player.joined', 'player.left', 'room.ended']);
  });
});

describe('restart and game end', () => {
  it('restart keeps the game’s state, players stay connected and get a full frame and the same state', async () => {
    const { server } = await setup();
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    await order(ann, 1, { say: 'alpha' });
    await server.forceTurn(roomId);
    await order(ann, 2, { say: 'beta' });
    await server.pauseRoom(roomId, { reason: 'before the restart' });
    const full = ann.fullFrames;
    const after = states(ann).length;
    const state = await server.restartRoom(roomId);
    expect(state).toEqual({ status: 'paused', turn: 2, nextTurnAt: null, reason: 'before the restart' });
    await waitFor(() => ann.fullFrames > full, 'a full frame from the new engine');
    await waitFor(() => shows(ann, 'said 1:alpha 2:beta') && shows(ann, 'generated 1'), 'the state kept');
    expect(states(ann).slice(after).at(-1)).toMatchObject(state);
    await server.resumeRoom(roomId);
    expect(await order(ann, 3, { say: 'gamma' })).toMatchObject({ accepted: true, turn: 2 });
    expect(ann.closeInfo).toBeNull();
    expect(ann.messages.filter((m) => m.type === 'init')).toHaveLength(1);
  });

  it('game.end: finished with the reason, room.ended with the result, clients closed 1000 after the final frame', async () => {
    const { server, events } = await setup();
    const ann = await player(server);
    const roomId = ann.init!.roomId;
    expect(await order(ann, 1, { say: 'win' })).toMatchObject({ accepted: true });
    await nextState(ann, (s) => s.status === 'finished');
    expect(states(ann).at(-1)).toEqual({ type: 'state', status: 'finished', turn: 1, nextTurnAt: null, reason: `player ${ann.init!.playerId} won` });
    expect((await ann.closed()).code).toBe(1000);
    const ended = events.filter((e) => e.kind === 'room.ended');
    expect(ended).toEqual([
      expect.objectContaining({ roomId, reason: `player ${ann.init!.playerId} won`, result: { winners: [`player ${ann.init!.playerId}`], scores: { [`player ${ann.init!.playerId}`]: 1 }, summary: `player ${ann.init!.playerId} won` } }),
    ]);
    expect(server.roomState(roomId).status).toBe('finished');
    await expect(server.pauseRoom(roomId)).rejects.toMatchObject({ code: ServerErrorCode.ROOM_FINISHED });
    expect(server.rooms()).toEqual([]);
  });
});
