import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GameLoadError, ServerErrorCode, loadGame } from '@parlor/server';
import { ProcessRuntime, type EngineToHostMessage, type RoomChannel, type RoomSpec } from '../src/runtimes.js';
import { captureLogger, waitFor } from './helpers.js';

/** Turn-based games and durable state through a real sandboxed room process (the `process` runtime). */

const fixture = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
type Msg<T extends EngineToHostMessage['type']> = Extract<EngineToHostMessage, { type: T }>;

const runtime = new ProcessRuntime({ logger: captureLogger().logger, poolSize: 0 });
const channels: RoomChannel[] = [];

afterEach(async () => {
  for (const c of channels.splice(0)) await c.terminate();
});
afterAll(async () => {
  await runtime.close();
});

async function room(file: string, extra: Partial<RoomSpec> = {}) {
  const game = await loadGame('g', fixture(file));
  const channel = runtime.start({ roomId: `r${channels.length}`, game: 'g', gameClass: game.gameClass, bundle: game.bundle!, tickRate: 20, ...extra });
  channels.push(channel);
  const out: EngineToHostMessage[] = [];
  channel.onMessage((m) => out.push(m));
  const of = <T extends EngineToHostMessage['type']>(type: T): Msg<T>[] => out.filter((m): m is Msg<T> => m.type === type);
  const next = async <T extends EngineToHostMessage['type']>(type: T, n: number): Promise<Msg<T>> => {
    await waitFor(() => of(type).length >= n, `${type} #${n}`);
    return of(type)[n - 1];
  };
  return { channel, out, of, next };
}

describe('process runtime: turns, orders and snapshots', () => {
  it('an order, a turn and a save cross the sandbox; a new room process restores from the snapshot, paused, at the same turn', async () => {
    const a = await room('turns/conquest.ts');
    a.channel.send({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    a.channel.send({ type: 'order', playerId: 1, id: 11, order: { planet: 'b' } });
    expect(await a.next('orderResult', 1)).toMatchObject({ playerId: 1, id: 11, accepted: true, code: '', turn: 1 });
    a.channel.send({ type: 'order', playerId: 1, id: 12, order: { planet: 'nowhere' } });
    expect(await a.next('orderResult', 2)).toMatchObject({ id: 12, accepted: false, code: 'ORDER_REJECTED', message: 'pick planet a or b', snapshot: null });
    a.channel.send({ type: 'turn', turn: 1 });
    const turn = await a.next('turnResult', 1);
    expect(turn).toMatchObject({ turn: 1, ok: true });
    expect(JSON.parse(turn.snapshot!)).toEqual({ owner: { a: 0, b: 1 }, orders: [], turns: 1 });
    a.channel.send({ type: 'order', playerId: 1, id: 13, order: { planet: 'a' } });
    const last = await a.next('orderResult', 3);
    expect(last).toMatchObject({ accepted: true, turn: 2 });

    const b = await room('turns/conquest.ts', { restore: { snapshot: last.snapshot!, turn: 2, paused: true } });
    b.channel.send({ type: 'save', id: 1 });
    const saved = await b.next('saved', 1);
    expect(JSON.parse(saved.snapshot!)).toEqual({ owner: { a: 0, b: 1 }, orders: [{ playerId: 1, planet: 'a' }], turns: 1 });
    b.channel.send({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    b.channel.send({ type: 'order', playerId: 1, id: 1, order: { planet: 'b' } });
    expect(await b.next('orderResult', 1)).toMatchObject({ accepted: false, code: 'GAME_PAUSED', turn: 2 });
    b.channel.send({ type: 'resume' });
    b.channel.send({ type: 'turn', turn: 2 });
    expect(JSON.parse((await b.next('turnResult', 1)).snapshot!)).toEqual({ owner: { a: 1, b: 1 }, orders: [], turns: 2 });
    expect(b.of('error')).toEqual([]);
  });

  it('a failing turn is answered, not fatal; a restore that cannot run is a fatal start error naming the class', async () => {
    const a = await room('turns/conquest.ts', { options: { failTurn: true } });
    a.channel.send({ type: 'turn', turn: 1 });
    expect(await a.next('turnResult', 1)).toMatchObject({ turn: 1, ok: false, snapshot: null, message: 'turn 1 failed on purpose' });
    a.channel.send({ type: 'save', id: 2 });
    expect(await a.next('saved', 1)).toMatchObject({ id: 2, error: '' });

    const b = await room('turns/conquest.ts', { restore: { snapshot: 'not json', turn: 1, paused: false } });
    expect(await b.next('error', 1)).toMatchObject({ fatal: true, where: 'restore', message: expect.stringMatching(/^the stored snapshot of _?Conquest is not JSON, so its room cannot be restored$/) });
    await b.next('stopped', 1);
  });

  it('a hostile game that sends a snapshot over the cap ends its room: the snapshot never reaches the host', async () => {
    const a = await room('turns/oversized.ts');
    a.channel.send({ type: 'save', id: 1 });
    const err = await a.next('error', 1);
    expect(err).toMatchObject({ fatal: true, where: 'channel', message: 'protocol violation: a snapshot over 1048576 bytes' });
    await a.next('stopped', 1);
    expect(a.of('saved')).toEqual([]);
  });

  it('a turn whose generation keeps the room process busy past the tick timeout is not killed: a turn gets its own allowance', async () => {
    // the runtime's tickTimeoutMs is the default 1000 ms; the turn stays busy for 2.5 s of wall time
    const a = await room('turns/conquest.ts', { options: { slowTurnMs: 2500 } });
    a.channel.send({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    await a.next('frames', 1);
    a.channel.send({ type: 'turn', turn: 1 });
    expect(await a.next('turnResult', 1)).toMatchObject({ turn: 1, ok: true });
    expect(a.of('error')).toEqual([]);
    // and the loop is watched again after it: the room keeps ticking
    const frames = a.of('frames').length;
    await a.next('frames', frames + 3);
  });

  it('turn-based consistency is checked at load, in this process and in the sandbox (parlor validate, parlor dev)', async () => {
    // the bundle keeps the author's class names (esbuild would otherwise rename a class that refers to itself: `_Forgetful`)
    const message = "Forgetful extends TurnBasedGame but its metadata() has no turns: add turns: { everyMs: 30000 } (or { cron: '0 * * * *' }, or {} for turns only when forced)";
    for (const inspect of [undefined, runtime.inspect.bind(runtime)]) {
      const err = await loadGame('forgetful', fixture('turns/no-turns.ts'), { inspect }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GameLoadError);
      expect(err).toMatchObject({ code: ServerErrorCode.GAME_BAD_METADATA, field: 'turns' });
      expect((err as Error).message).toBe(`${fixture('turns/no-turns.ts')}: ${message}`);
    }
  });
});
