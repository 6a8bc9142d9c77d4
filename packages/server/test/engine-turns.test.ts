import { describe, expect, it } from 'vitest';
import { SceneMirror, messageFor, type Game, type GameClass, type Group, type Text } from '@parlor/squish';
import { ENGINE_MESSAGE_LIMITS, RoomEngine, type EngineToHostMessage, type FramesMessage } from '../src/runtimes.js';
import { waitFor } from './helpers.js';
import { Conquest, Counter, Plain, type ConquestState } from './turn-games.js';

type Msg<T extends EngineToHostMessage['type']> = Extract<EngineToHostMessage, { type: T }>;

function engineOf(gameClass: GameClass, options: Record<string, unknown> = {}) {
  const out: EngineToHostMessage[] = [];
  const engine = new RoomEngine<Game>({ gameClass, options }, { clock: 'manual', post: (m) => out.push(m) });
  engine.start();
  const of = <T extends EngineToHostMessage['type']>(type: T): Msg<T>[] => out.filter((m): m is Msg<T> => m.type === type);
  return { engine, out, of };
}

function conquest(options: Record<string, unknown> = {}) {
  const r = engineOf(Conquest, options);
  const game = r.engine.game as unknown as Conquest;
  r.engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
  r.engine.handle({ type: 'join', playerId: 2, name: 'Bob', spectator: false });
  r.engine.handle({ type: 'join', playerId: 9, name: 'Spec', spectator: true });
  return { ...r, game };
}

describe('RoomEngine: pause and resume', () => {
  it('stops game.tick while paused, still flushes frames (a join gets its full frame), and the status follows', () => {
    const { engine, game } = conquest();
    engine.step(10);
    expect(game.ticks).toEqual([10]);
    engine.handle({ type: 'pause' });
    expect(game.status).toBe('paused');
    engine.handle({ type: 'join', playerId: 3, name: 'Cy', spectator: false });
    const frames = engine.step(10)!;
    expect(game.ticks).toEqual([10]);
    const send = frames.sends.find((s) => s.playerId === 3);
    expect(send?.full).toBe(true);
    const mirror = new SceneMirror();
    mirror.apply(messageFor(frames, 3)!);
    expect(mirror.root?.children.length).toBe(1);
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'win' } });
    expect(game._result).toBeNull(); // input never reaches a paused game
    engine.handle({ type: 'resume' });
    expect(game.status).toBe('running');
    engine.step(10);
    expect(game.ticks).toEqual([10, 10]);
  });

  it('real clock: ticks keep flushing while paused and the first dt after resume leaves the paused time out', async () => {
    const out: EngineToHostMessage[] = [];
    const engine = new RoomEngine({ gameClass: Counter }, (m) => out.push(m));
    engine.start();
    const game = engine.game as unknown as Counter;
    await waitFor(() => game.count >= 2, 'two ticks');
    engine.handle({ type: 'pause' });
    const countAtPause = game.count;
    const pausedAt = performance.now();
    const framesAtPause = out.filter((m) => m.type === 'frames').length;
    await waitFor(() => out.filter((m) => m.type === 'frames').length >= framesAtPause + 20, 'twenty frames while paused');
    const pausedMs = performance.now() - pausedAt;
    expect(game.count).toBe(countAtPause);
    const dts: number[] = [];
    game.tick = (dt: number) => void dts.push(dt);
    engine.handle({ type: 'resume' });
    await waitFor(() => dts.length >= 1, 'a tick after resume');
    engine.stop();
    expect(dts[0]).toBeGreaterThan(0);
    expect(dts[0]).toBeLessThan(pausedMs);
  });
});

describe('RoomEngine: turns', () => {
  it('generates a turn: generation_in_progress during it, then turn + 1, running, turnResult ok with the snapshot, and a frame', () => {
    const { engine, game, out, of } = conquest();
    engine.handle({ type: 'order', playerId: 1, id: 5, order: { planet: 'a' } });
    const before = out.length;
    engine.handle({ type: 'turn', turn: 1 });
    expect(game.statusInTurn).toEqual(['generation_in_progress']);
    expect(game.turn).toBe(2);
    expect(game.status).toBe('running');
    const [result] = of('turnResult');
    expect(result).toMatchObject({ turn: 1, ok: true, message: '', stack: '' });
    const saved = JSON.parse(result.snapshot!) as ConquestState;
    expect(saved.owner.a).toBe(1);
    expect(saved.history).toEqual(['turn 1: 1 orders']);
    const after = out.slice(before);
    expect(after.map((m) => m.type)).toEqual(['turnResult', 'frames']);
    const frames = after[1] as FramesMessage;
    const mirror = new SceneMirror();
    mirror.apply(messageFor(frames, 1)!);
    expect(((mirror.root!.children[0] as Group).children[0] as Text).text).toBe('turn 2');
  });

  it('a throwing generateTurn: turnResult not ok with the error, the turn stays open, the engine pauses itself', () => {
    const { engine, game, of } = conquest();
    game.throwInTurn = true;
    engine.handle({ type: 'turn', turn: 1 });
    const [result] = of('turnResult');
    expect(result).toMatchObject({ turn: 1, ok: false, snapshot: null, message: 'the turn 1 engine broke' });
    expect(result.stack).toContain('generateTurn');
    expect(game.turn).toBe(1);
    expect(game.status).toBe('paused');
    engine.step(10);
    expect(game.ticks).toEqual([]);
    engine.handle({ type: 'turn', turn: 1 }); // paused: refused without running game code
    expect(of('turnResult')[1]).toMatchObject({ ok: false, message: expect.stringMatching(/^GAME_PAUSED: /) });
    expect(game.statusInTurn.length).toBe(1);
    engine.handle({ type: 'resume' });
    game.throwInTurn = false;
    engine.handle({ type: 'turn', turn: 1 });
    expect(of('turnResult')[2]).toMatchObject({ turn: 1, ok: true });
    expect(game.turn).toBe(2);
  });

  it('a turn whose snapshot is over the cap is a failed turn (SNAPSHOT_TOO_LARGE): not announced, the turn stays open', () => {
    const { engine, game, of } = conquest();
    game.saveBytes = ENGINE_MESSAGE_LIMITS.snapshotBytes;
    engine.handle({ type: 'turn', turn: 1 });
    const [result] = of('turnResult');
    expect(result.ok).toBe(false);
    expect(result.snapshot).toBeNull();
    expect(result.message).toMatch(/^SNAPSHOT_TOO_LARGE: save\(\) returned \d+ bytes of JSON, over the 1048576-byte cap/);
    expect(result.message).toContain('after turn 1');
    expect(game.turn).toBe(1);
    expect(game.status).toBe('paused');
  });

  it('endTurnNow posts one turnRequest per tick; a real-time game answers turn NOT_TURN_BASED', () => {
    const { engine, of } = conquest();
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'done' } });
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'text', text: 'done' } });
    expect(of('turnRequest').length).toBe(1);
    engine.step(10);
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'text', text: 'done' } });
    expect(of('turnRequest').length).toBe(2);

    const plain = engineOf(Counter);
    plain.engine.handle({ type: 'turn', turn: 1 });
    expect(plain.of('turnResult')[0]).toMatchObject({ ok: false, message: expect.stringMatching(/^NOT_TURN_BASED: /) });
  });
});

describe('RoomEngine: orders', () => {
  it('accepts an order with the snapshot after it; refuses with the game message, a crash, a spectator, a real-time game', () => {
    const { engine, game, of, out } = conquest();
    engine.handle({ type: 'order', playerId: 1, id: 7, order: { planet: 'b' } });
    const [ok] = of('orderResult');
    expect(ok).toMatchObject({ playerId: 1, id: 7, accepted: true, code: '', message: '', turn: 1 });
    expect((JSON.parse(ok.snapshot!) as ConquestState).orders).toEqual([{ playerId: 1, planet: 'b' }]);

    engine.handle({ type: 'order', playerId: 2, id: 8, order: { planet: 'z' } });
    expect(of('orderResult')[1]).toEqual({
      type: 'orderResult', playerId: 2, id: 8, accepted: false, code: 'ORDER_REJECTED', message: 'no planet z: pick a, b or c', turn: 1, snapshot: null,
    });

    game.crashInOrder = true;
    engine.handle({ type: 'order', playerId: 2, id: 9, order: { planet: 'a' } });
    expect(of('orderResult')[2]).toMatchObject({ id: 9, accepted: false, code: 'ORDER_REJECTED', message: 'the game could not take this order' });
    expect(out.at(-2)).toMatchObject({ type: 'error', where: 'onOrder', message: 'cannot read properties of undefined', fatal: false });
    game.crashInOrder = false;

    engine.handle({ type: 'order', playerId: 9, id: 10, order: { planet: 'a' } });
    expect(of('orderResult')[3]).toMatchObject({ id: 10, accepted: false, code: 'SPECTATOR' });

    const plain = engineOf(Counter);
    plain.engine.handle({ type: 'order', playerId: 1, id: 1, order: {} });
    expect(plain.of('orderResult')[0]).toMatchObject({ accepted: false, code: 'NOT_TURN_BASED', turn: 0, snapshot: null });
  });

  it('a long refusal message is cut to orderMessageChars; a snapshot over the cap after an order is NOT_STORED and reported', () => {
    const { engine, game, of, out } = conquest();
    engine.handle({ type: 'order', playerId: 1, id: 1, order: { planet: 'q'.repeat(5000) } });
    const refused = of('orderResult')[0];
    expect(refused.code).toBe('ORDER_REJECTED');
    expect(refused.message.length).toBe(ENGINE_MESSAGE_LIMITS.orderMessageChars);

    game.saveBytes = ENGINE_MESSAGE_LIMITS.snapshotBytes;
    engine.handle({ type: 'order', playerId: 1, id: 2, order: { planet: 'a' } });
    const notStored = of('orderResult')[1];
    expect(notStored).toMatchObject({ id: 2, accepted: false, code: 'NOT_STORED', snapshot: null });
    expect(notStored.message).toMatch(/^SNAPSHOT_TOO_LARGE: /);
    expect(out.find((m) => m.type === 'error')).toMatchObject({ where: 'save', fatal: false, message: expect.stringMatching(/^SNAPSHOT_TOO_LARGE: .*player 1/) });

    game.saveBytes = 0;
    game.throwInSave = true;
    engine.handle({ type: 'order', playerId: 1, id: 3, order: { planet: 'a' } });
    expect(of('orderResult')[2]).toMatchObject({ id: 3, accepted: false, code: 'NOT_STORED', message: expect.stringMatching(/^SAVE_FAILED: .*disk of the mind is full/) });
  });

  it("the game's own submitOrder (from a hook) takes the same path and is answered with id 0; guards refuse while generating or paused", () => {
    const { engine, game, of } = conquest();
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'text', text: 'claim c' } });
    expect(of('orderResult')[0]).toMatchObject({ playerId: 2, id: 0, accepted: true, turn: 1 });
    expect(game.orders).toEqual([{ playerId: 2, planet: 'c' }]);
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'text', text: 'claim x' } });
    expect(of('orderResult')[1]).toMatchObject({ id: 0, accepted: false, code: 'ORDER_REJECTED' });

    game.submitOrder(42, { planet: 'a' }); // not in the room: reported, not answered
    expect(of('orderResult').length).toBe(2);
    expect(of('error').at(-1)).toMatchObject({ where: 'submitOrder', message: 'submitOrder() for player 42, who is not in the room', fatal: false });

    game.generateTurn = function (this: Conquest) {
      this.submitOrder(1, { planet: 'a' });
    };
    engine.handle({ type: 'turn', turn: 1 });
    expect(of('orderResult')[2]).toMatchObject({ playerId: 1, id: 0, accepted: false, code: 'TURN_ALREADY_CLOSED' });
    engine.handle({ type: 'pause' });
    engine.handle({ type: 'order', playerId: 1, id: 4, order: { planet: 'a' } });
    expect(of('orderResult')[3]).toMatchObject({ id: 4, accepted: false, code: 'GAME_PAUSED', turn: 2 });
  });
});

describe('RoomEngine: save and end', () => {
  it('save answers saved with the JSON text, or NOT_SAVABLE / SAVE_FAILED / SNAPSHOT_TOO_LARGE', () => {
    const { engine, of } = engineOf(Counter);
    const game = engine.game as unknown as Counter;
    engine.step(10);
    engine.handle({ type: 'save', id: 1 });
    expect(of('saved')[0]).toEqual({ type: 'saved', id: 1, snapshot: '{"count":1}', error: '' });
    game.saveValue = { n: 10n };
    engine.handle({ type: 'save', id: 2 });
    expect(of('saved')[1]).toMatchObject({ id: 2, snapshot: null, error: expect.stringMatching(/^SAVE_FAILED: .*BigInt/) });
    game.saveValue = () => 1;
    engine.handle({ type: 'save', id: 3 });
    expect(of('saved')[2]).toMatchObject({ id: 3, snapshot: null, error: expect.stringMatching(/^SAVE_FAILED: /) });
    game.saveValue = 'é'.repeat(ENGINE_MESSAGE_LIMITS.snapshotBytes / 2); // 1 MiB of UTF-8 plus the quotes
    engine.handle({ type: 'save', id: 4 });
    expect(of('saved')[3]).toMatchObject({ id: 4, snapshot: null, error: expect.stringMatching(/^SNAPSHOT_TOO_LARGE: save\(\) returned 1048578 bytes/) });

    const plain = engineOf(Plain);
    plain.engine.handle({ type: 'save', id: 5 });
    expect(plain.of('saved')[0]).toEqual({ type: 'saved', id: 5, snapshot: null, error: 'NOT_SAVABLE: the game has no save()' });
  });

  it('game.end posts ended once with the result; the game stops running but frames flush', () => {
    const { engine, game, of } = conquest();
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'win' } });
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'text', text: 'win' } });
    expect(of('ended')).toEqual([{ type: 'ended', result: { winners: ['1'], scores: { '1': 3 }, summary: 'took the galaxy' } }]);
    expect(game.status).toBe('finished');
    const frames = engine.step(10);
    expect(frames).not.toBeNull();
    expect(game.ticks).toEqual([]);
    engine.handle({ type: 'order', playerId: 1, id: 3, order: { planet: 'a' } });
    expect(of('orderResult')[0]).toMatchObject({ accepted: false, code: 'GAME_FINISHED' });
    engine.handle({ type: 'turn', turn: 1 });
    expect(of('turnResult')[0]).toMatchObject({ ok: false, message: expect.stringMatching(/^GAME_FINISHED: /) });
  });

  it('a hand-made result is bounded: 64 string winners of ≤ 256 characters, finite scores, a summary of ≤ 500', () => {
    const { engine, of } = engineOf(Counter);
    engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'end' } });
    const [ended] = of('ended');
    expect(ended.result.winners.length).toBe(64);
    expect(ended.result.winners.every((w) => typeof w === 'string')).toBe(true);
    expect(ended.result.scores).toEqual({ a: 1, ['k'.repeat(256)]: 2 });
    expect(ended.result.summary.length).toBe(500);
  });
});
