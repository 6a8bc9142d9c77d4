/**
 * Room lifecycle with the game in a sandboxed child process (the `process` runtime) and real
 * sockets: while a turn generates (the fixture's `slow` turn keeps the child busy; the host's
 * event loop is free) orders and input are refused `TURN_ALREADY_CLOSED` and the socket stays
 * open; the turn then opens the next one; a restart starts a new child from the snapshot; a child
 * killed with SIGKILL pauses its turn-based room (players stay) and a resume starts a new child
 * from the last snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GameServer } from '@parlor/server';
import { ProcessRuntime } from '../src/runtimes.js';
import { TestClient, captureLogger, startServer, waitFor } from './helpers.js';
import { TURNS_GAME, nextState, order, orderResults, resultOf, shows, states } from './lifecycle-bed.js';

const servers: GameServer[] = [];
const clients: TestClient[] = [];
const runtimes: ProcessRuntime[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const r of runtimes.splice(0)) await r.close();
});

describe('room lifecycle, process runtime', () => {
  it('refuses orders and input while the turn generates (TURN_ALREADY_CLOSED), then opens the next turn; a restart keeps the state', async () => {
    // the slow turn keeps the child busy for 1.5 s: the CPU watchdog is given more than that
    const { server } = await startServer({ games: { turns: TURNS_GAME }, runtime: 'process', processRuntime: { tickTimeoutMs: 5000 } });
    servers.push(server);
    const ann = await TestClient.connect(server);
    clients.push(ann);
    await ann.joinAndSync('turns');
    const roomId = ann.init!.roomId;
    expect(await order(ann, 1, { say: 'slow' })).toMatchObject({ accepted: true, turn: 1 });

    const after = states(ann).length;
    const turn = server.forceTurn(roomId);
    await nextState(ann, (s) => s.status === 'generation_in_progress', after, 'the turn generating');
    expect(await order(ann, 2, { say: 'late' })).toMatchObject({ id: 2, accepted: false, code: 'TURN_ALREADY_CLOSED', turn: 1 });
    const refused = orderResults(ann).length;
    ann.send({ type: 'input', event: { kind: 'keydown', key: 'Space' } });
    expect(await resultOf(ann, 0, refused)).toMatchObject({ accepted: false, code: 'TURN_ALREADY_CLOSED' });
    expect(await turn).toEqual({ status: 'running', turn: 2, nextTurnAt: null, reason: '' });
    expect(await order(ann, 3, { say: 'next' })).toMatchObject({ id: 3, accepted: true, turn: 2 });
    expect(ann.closeInfo).toBeNull();

    const full = ann.fullFrames;
    expect(await server.restartRoom(roomId)).toEqual({ status: 'running', turn: 2, nextTurnAt: null, reason: '' });
    await waitFor(() => ann.fullFrames > full && shows(ann, 'said 1:slow 2:next') && shows(ann, 'turn 2 generated 1'), 'the restarted game with its state');
    expect(ann.closeInfo).toBeNull();

    // a paused room restarted stays paused, and its player gets the new child's full frame all the same
    await server.pauseRoom(roomId, { reason: 'maintenance' });
    const fullPaused = ann.fullFrames;
    expect(await server.restartRoom(roomId)).toMatchObject({ status: 'paused', turn: 2, reason: 'maintenance' });
    await waitFor(() => ann.fullFrames > fullPaused && shows(ann, 'said 1:slow 2:next'), 'the paused restarted game in a full frame');
    expect(ann.closeInfo).toBeNull();
  });

  it('a killed child pauses its turn-based room (players stay); resume starts a new child from the last snapshot', async () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    const { server } = await startServer({ games: { turns: TURNS_GAME }, runtime });
    servers.push(server);
    const ann = await TestClient.connect(server);
    clients.push(ann);
    await ann.joinAndSync('turns');
    const roomId = ann.init!.roomId;
    expect(await order(ann, 1, { say: 'kept' })).toMatchObject({ accepted: true });
    // the room's child is the live one that is not idle in the pool
    const internals = runtime as unknown as { live: Set<{ pid: number }>; pool: Array<{ pid: number }> };
    const busy = [...internals.live].filter((c) => !internals.pool.includes(c));
    expect(busy).toHaveLength(1);
    process.kill(busy[0]!.pid, 'SIGKILL');
    const paused = await nextState(ann, (s) => s.status === 'paused', 0, 'paused after the kill');
    expect(paused.reason).toMatch(/^the game (failed|stopped)/);
    expect(server.rooms()).toEqual([expect.objectContaining({ id: roomId, status: 'paused' })]);
    expect(ann.closeInfo).toBeNull();
    const full = ann.fullFrames;
    expect(await server.resumeRoom(roomId)).toMatchObject({ status: 'running', turn: 1 });
    await waitFor(() => ann.fullFrames > full && shows(ann, 'said 1:kept'), 'a new child with the state');
    expect(await order(ann, 2, { say: 'after' })).toMatchObject({ accepted: true });
  });
});
