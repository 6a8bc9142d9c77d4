/**
 * Turn schedules: a cron expression (through `croner`, seconds field included) arms its next
 * match and fires once per arming, a disarmed schedule never fires, a bad expression is one
 * `SERVER_CONFIG` line; a room of a game with a turn every second generates turns by itself,
 * shows the next cutoff in its state, and stops its cutoffs while paused.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerErrorCode, type GameServer } from '@parlor/server';
import { TurnSchedule } from '../src/rooms/turn-schedule.js';
import { TestClient, startServer, waitFor } from './helpers.js';
import { nextState, recordEvents, states } from './lifecycle-bed.js';

const SCHEDULED = fileURLToPath(new URL('./fixtures/lifecycle/scheduled.cjs', import.meta.url));
const servers: GameServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('TurnSchedule', () => {
  it('arms a cron expression’s next match and fires once; disarmed, it never fires; a bad expression is refused', async () => {
    let fired = 0;
    const every = new TurnSchedule({ cron: '* * * * * *', timezone: 'Europe/Paris' }, () => fired++);
    const from = Date.now();
    const at = every.arm(from)!;
    expect(at).toBeGreaterThan(from);
    expect(at % 1000).toBe(0);
    expect(every.nextAt).toBe(at);
    await waitFor(() => fired === 1, 'the cron cutoff');
    expect(every.nextAt).toBeNull();

    let never = 0;
    const disarmed = new TurnSchedule({ everyMs: 1000 }, () => never++);
    disarmed.arm(Date.now() - 2000); // due already
    disarmed.disarm();
    const other = new TurnSchedule({ everyMs: 1000 }, () => fired++);
    other.armAt(Date.now()); // due now: fires on the next turn of the event loop
    await waitFor(() => fired === 2, 'the second schedule');
    expect(never).toBe(0);
    expect(new TurnSchedule({}, () => undefined).arm()).toBeNull();
    expect(() => new TurnSchedule({ cron: '61 * * * *' }, () => undefined)).toThrow(expect.objectContaining({ code: ServerErrorCode.CONFIG }));
  });
});

describe('a scheduled room', () => {
  it('generates a turn every second by itself, shows the next cutoff, and stops cutting off while paused', async () => {
    const { server } = await startServer({ games: { scheduled: SCHEDULED } });
    servers.push(server);
    const events = recordEvents(server);
    const ann = await TestClient.connect(server);
    clients.push(ann);
    await ann.joinAndSync('scheduled');
    const roomId = ann.init!.roomId;
    const first = states(ann)[0]!;
    expect(first).toMatchObject({ status: 'running', turn: 1 });
    expect(first.nextTurnAt).toBeGreaterThan(Date.now() - 1000);
    await waitFor(() => events.some((e) => e.kind === 'turn.ready' && e.turn === 2), 'the scheduled turn', 10_000);
    const ready = await nextState(ann, (s) => s.status === 'running' && s.turn === 2);
    expect(ready.nextTurnAt).toBeGreaterThan(first.nextTurnAt!);

    const paused = await server.pauseRoom(roomId);
    expect(paused.nextTurnAt).toBeNull();
    const turn = paused.turn;
    const resumed = await server.resumeRoom(roomId);
    expect(resumed.nextTurnAt).toBeGreaterThan(Date.now());
    await waitFor(() => events.some((e) => e.kind === 'turn.ready' && e.turn === turn + 1), 'a turn after resume', 10_000);
  });
});
