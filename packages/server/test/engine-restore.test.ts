import { describe, expect, it } from 'vitest';
import { resolveMetadata, type GameClass } from '@parlor/squish';
import { InlineRuntime, RoomEngine, type EngineToHostMessage } from '../src/runtimes.js';
import { turnBasedProblem } from '../src/engine/durable.js';
import { waitFor } from './helpers.js';
import { Conquest, Counter, NoRestore, NoTurns, Plain, TurnsOnRealTime } from './turn-games.js';

function start(gameClass: GameClass, restore?: { snapshot: string; turn: number; paused: boolean }, options: Record<string, unknown> = {}) {
  const out: EngineToHostMessage[] = [];
  const engine = new RoomEngine({ gameClass: gameClass as typeof Conquest, options, restore }, { clock: 'manual', post: (m) => out.push(m) });
  engine.start();
  return { engine, out };
}

describe('RoomEngine: start from a snapshot', () => {
  it('round trip: the snapshot after an order and a turn rebuilds the same game, at the same turn, paused when asked', () => {
    const a = start(Conquest);
    a.engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    a.engine.handle({ type: 'order', playerId: 1, id: 1, order: { planet: 'a' } });
    a.engine.handle({ type: 'turn', turn: 1 });
    a.engine.handle({ type: 'order', playerId: 1, id: 2, order: { planet: 'c' } });
    const last = a.out.filter((m) => m.type === 'orderResult').at(-1)!;
    expect(last.type === 'orderResult' && last.accepted).toBe(true);
    const snapshot = (last as Extract<EngineToHostMessage, { type: 'orderResult' }>).snapshot!;

    const b = start(Conquest, { snapshot, turn: 2, paused: true });
    const g = b.engine.game as unknown as Conquest;
    expect(b.out).toEqual([]);
    expect(g).not.toBe(a.engine.game);
    expect(g.owner).toEqual({ a: 1, b: 0, c: 0 });
    expect(g.orders).toEqual([{ playerId: 1, planet: 'c' }]);
    expect(g.history).toEqual(['turn 1: 1 orders']);
    expect(g.turn).toBe(2);
    expect(g.status).toBe('paused');
    b.engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    const frames = b.engine.step(10)!;
    expect(frames.sends).toEqual([expect.objectContaining({ playerId: 1, full: true })]);
    expect(g.ticks).toEqual([]);
    b.engine.handle({ type: 'resume' });
    b.engine.handle({ type: 'turn', turn: 2 });
    expect(g.owner.c).toBe(1);
    expect(g.turn).toBe(3);
    b.engine.handle({ type: 'save', id: 1 });
    const saved = b.out.find((m) => m.type === 'saved');
    expect(saved).toMatchObject({ error: '' });
  });

  it('a real-time game restores too, running unless asked to pause', () => {
    const { engine, out } = start(Counter, { snapshot: '{"count":41}', turn: 1, paused: false });
    expect(out).toEqual([]);
    engine.step(10);
    expect((engine.game as unknown as Counter).count).toBe(42);
  });

  it.each([
    [Plain, '{}', {}, 'Plain has no static restore(snapshot, options), so its room cannot be restored: add one that rebuilds the game from what save() returned'],
    [Conquest, '{"owner":', {}, 'the stored snapshot of Conquest is not JSON, so its room cannot be restored'],
    [Conquest, '{"owner":{},"orders":[],"history":[]}', { failRestore: true }, 'Conquest.restore(snapshot, options) threw: the snapshot is from another galaxy'],
  ])('a failing restore is a fatal start error naming the class (%o)', (cls, snapshot, options, message) => {
    const { engine, out } = start(cls as unknown as GameClass, { snapshot, turn: 1, paused: false }, options);
    expect(engine.game).toBeNull();
    expect(out[0]).toMatchObject({ type: 'error', where: 'restore', fatal: true, message });
    expect(out[1]).toEqual({ type: 'stopped' });
  });

  it('a restore that returns no game is a fatal start error', () => {
    class Bad extends Counter {
      static override restore(): Counter {
        return 42 as unknown as Counter;
      }
    }
    const { out } = start(Bad, { snapshot: '{}', turn: 1, paused: false });
    expect(out[0]).toMatchObject({ type: 'error', where: 'restore', fatal: true, message: 'Bad.restore(snapshot, options) must return the rebuilt game (an instance of Bad)' });
  });

  it('the inline runtime passes RoomSpec.restore through', async () => {
    const channel = new InlineRuntime().start({ roomId: 'r1', game: 'counter', gameClass: Counter, restore: { snapshot: '{"count":100}', turn: 1, paused: true } });
    const out: EngineToHostMessage[] = [];
    channel.onMessage((m) => out.push(m));
    channel.send({ type: 'save', id: 3 });
    await waitFor(() => out.some((m) => m.type === 'saved'), 'saved');
    expect(out.find((m) => m.type === 'saved')).toEqual({ type: 'saved', id: 3, snapshot: '{"count":100}', error: '' });
    await channel.terminate();
  });
});

describe('turn-based consistency', () => {
  it.each([
    [NoTurns, "NoTurns extends TurnBasedGame but its metadata() has no turns: add turns: { everyMs: 30000 } (or { cron: '0 * * * *' }, or {} for turns only when forced)"],
    [TurnsOnRealTime, 'TurnsOnRealTime declares metadata().turns but does not extend TurnBasedGame: extend TurnBasedGame (onOrder, generateTurn, save, static restore) or remove turns'],
    [NoRestore, 'NoRestore extends TurnBasedGame but has no static restore(snapshot, options): add one that rebuilds the game from what save() returned'],
  ])('%o is refused at start with a one-line message', (cls, message) => {
    expect(turnBasedProblem(cls, resolveMetadata(cls.metadata()))).toBe(message);
    const { engine, out } = start(cls as unknown as GameClass);
    expect(engine.game).toBeNull();
    expect(out).toEqual([{ type: 'error', where: 'constructor', fatal: true, message, stack: '' }, { type: 'stopped' }]);
  });

  it('consistent classes pass', () => {
    for (const cls of [Conquest, Counter, Plain]) expect(turnBasedProblem(cls, resolveMetadata(cls.metadata()))).toBeNull();
  });
});
