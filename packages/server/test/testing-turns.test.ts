/**
 * The test kit plays a turn-based game as a host would: orders and their refusals, the `everyMs`
 * schedule on the kit's clock, forced turns, pause and resume, a failing turn pausing the room,
 * endTurnNow, the game's end, snapshots and restore.
 */
import { describe, expect, it } from 'vitest';
import { Colors, Game, Group, OrderRejectedError, Shape, ShapeUtils, Text, TurnBasedGame, type PlayerId } from '@parlor/squish';
import { createTestRoom, TestKitError } from '@parlor/server/testing';

interface Saved { ships: Record<string, number>; pending: Array<[number, number]>; log: string[] }

/** Each turn, every player's pending orders add ships; clicking the button orders one ship. */
class Fleet extends TurnBasedGame {
  static override metadata() {
    return { name: 'Fleet', tickRate: 10, maxPlayers: 4, turns: { everyMs: 30_000 } };
  }

  static restore(s: Saved, options: Record<string, unknown>): Fleet {
    const g = new Fleet(options);
    g.ships = { ...s.ships };
    g.pending = s.pending.map(([p, n]) => [p, n] as [number, number]);
    g.log = [...s.log];
    g.show();
    return g;
  }

  ships: Record<string, number> = {};
  pending: Array<[number, number]> = [];
  log: string[] = [];
  explodeAt = 0;
  lastTurn = 0;
  private readonly text = new Text({ text: '', x: 5, y: 5, size: 4, color: Colors.WHITE });
  private readonly root: Group;

  constructor(options?: Record<string, unknown>) {
    super(options);
    const button = new Shape({ points: ShapeUtils.rectangle(40, 70, 20, 10), fill: Colors.GREEN, onClick: (pid: PlayerId) => this.submitOrder(pid, { ships: 1 }) });
    this.root = new Group({ children: [this.text, button] });
    this.show();
  }

  getLayers() {
    return [this.root];
  }

  onOrder(playerId: PlayerId, order: unknown): void {
    const ships = (order as { ships?: unknown })?.ships;
    if (typeof ships !== 'number' || !Number.isInteger(ships) || ships < 1) throw new OrderRejectedError('order a whole number of ships, at least 1');
    if (ships === 99) this.endTurnNow();
    if (ships === 42) this.end({ winners: [`p${playerId}`], scores: {}, summary: `p${playerId} found the answer` });
    this.pending.push([playerId, ships]);
  }

  generateTurn(turn: number): void {
    if (turn === this.explodeAt) throw new Error('the fleet exploded');
    if (turn === this.lastTurn) this.end({ winners: [], scores: {}, summary: `the war ended after turn ${turn}` });
    for (const [p, n] of this.pending) this.ships[p] = (this.ships[p] ?? 0) + n;
    this.log.push(`turn ${turn}: ${this.pending.length} orders`);
    this.pending = [];
    this.show(turn + 1); // the open turn once this one is generated
  }

  save(): Saved {
    return { ships: this.ships, pending: this.pending, log: this.log };
  }

  show(turn = this.turn): void {
    this.text.text = `turn ${turn} ships ${JSON.stringify(this.ships)}`;
  }
}

describe('test kit: turn-based rooms', () => {
  it('takes orders, answers refusals from the game, and generates turns on the everyMs schedule of its clock', () => {
    const room = createTestRoom(Fleet, { players: ['Ann', 'Bob'] });
    const [ann, bob] = room.players;
    room.step();
    expect(room.state).toEqual({ status: 'running', turn: 1, nextTurnAt: 30_000, reason: '' });
    expect(ann.order({ ships: 3 })).toEqual({ id: 1, accepted: true, code: '', message: '', turn: 1 });
    expect(JSON.parse(room.snapshot!)).toMatchObject({ pending: [[ann.id, 3]] });
    expect(bob.order({ ships: 0 })).toEqual({ id: 1, accepted: false, code: 'ORDER_REJECTED', message: 'order a whole number of ships, at least 1', turn: 1 });
    expect(bob.order('x'.repeat(5000))).toMatchObject({ id: 2, accepted: false, code: 'ORDER_INVALID' });
    room.step(29_000);
    expect(room.state.turn).toBe(1);
    room.step(1_000);
    expect(room.state).toEqual({ status: 'running', turn: 2, nextTurnAt: 60_000, reason: '' });
    expect(room.game.ships).toEqual({ [ann.id]: 3 });
    // the new turn's frame reached the players
    expect(bob.view.texts()).toContain(`turn 2 ships {"${ann.id}":3}`);
    expect(ann.orderResults.map((r) => r.id)).toEqual([1]);
  });

  it('refuses orders and input while paused (GAME_PAUSED, id 0 for input), resumes, and forces turns', () => {
    const room = createTestRoom(Fleet, { players: ['Ann'] });
    const [ann] = room.players;
    room.step();
    expect(room.pause('maintenance')).toEqual({ status: 'paused', turn: 1, nextTurnAt: null, reason: 'maintenance' });
    expect(ann.order({ ships: 2 })).toMatchObject({ accepted: false, code: 'GAME_PAUSED', message: 'the game is paused: maintenance', turn: 1 });
    ann.click({ x: 50, y: 75 });
    expect(ann.orderResults.filter((r) => r.id === 0).every((r) => r.code === 'GAME_PAUSED')).toBe(true);
    expect(ann.orderResults.some((r) => r.id === 0)).toBe(true);
    expect(room.game.pending).toEqual([]);
    room.step(60_000);
    expect(room.state.turn).toBe(1); // no turn while paused
    expect(() => room.turn()).toThrow(TestKitError);
    expect(room.resume()).toEqual({ status: 'running', turn: 1, nextTurnAt: room.timeMs + 30_000, reason: '' });
    ann.click({ x: 50, y: 75 }); // the game's own submitOrder: id 0, accepted
    expect(ann.orderResults.at(-1)).toEqual({ id: 0, accepted: true, code: '', message: '', turn: 1 });
    expect(room.turn()).toMatchObject({ status: 'running', turn: 2 });
    expect(room.game.ships).toEqual({ [ann.id]: 1 });
  });

  it('a throwing generateTurn pauses the room with the reason; endTurnNow cuts off at once; end finishes it', () => {
    const room = createTestRoom(Fleet, { players: ['Ann'] });
    const [ann] = room.players;
    room.game.explodeAt = 1;
    expect(room.turn()).toEqual({ status: 'paused', turn: 1, nextTurnAt: null, reason: 'turn 1 generation failed: the fleet exploded' });
    room.game.explodeAt = 0;
    room.resume();
    expect(ann.order({ ships: 99 })).toMatchObject({ accepted: true, turn: 1 });
    expect(room.state.turn).toBe(2); // the game asked for the cutoff
    ann.order({ ships: 42 });
    expect(room.state).toEqual({ status: 'finished', turn: 2, nextTurnAt: null, reason: 'p1 found the answer' });
    expect(room.result).toEqual({ winners: ['p1'], scores: {}, summary: 'p1 found the answer' });
    expect(ann.order({ ships: 1 })).toMatchObject({ accepted: false, code: 'GAME_FINISHED' });
  });

  it('a game that ends itself in generateTurn is finished on the turn after it', () => {
    const room = createTestRoom(Fleet, { players: ['Ann'] });
    room.game.lastTurn = 2;
    room.turn();
    expect(room.turn()).toEqual({ status: 'finished', turn: 3, nextTurnAt: null, reason: 'the war ended after turn 2' });
    expect(() => room.turn()).toThrow(/has finished/);
    room.step(60_000); // no schedule runs after the end
    expect(room.state.turn).toBe(3);
  });

  it('saves, and restores a room from its snapshot at its turn', () => {
    const room = createTestRoom(Fleet, { players: ['Ann'] });
    room.players[0].order({ ships: 5 });
    room.turn();
    room.players[0].order({ ships: 2 });
    const snapshot = room.save();
    const again = createTestRoom(Fleet, { restore: { snapshot, turn: room.state.turn }, players: ['Ann'] });
    expect(again.state).toMatchObject({ status: 'running', turn: 2 });
    expect(again.game.ships).toEqual({ 1: 5 });
    again.turn();
    expect(again.game.ships).toEqual({ 1: 7 });
    const paused = createTestRoom(Fleet, { restore: { snapshot, turn: 2, paused: true } });
    expect(paused.state.status).toBe('paused');
  });

  it('a real-time game has no turns: orders refused NOT_TURN_BASED, turn() is a misuse, pause still refuses input', () => {
    class Dot extends Game {
      static override metadata() {
        return { name: 'Dot', tickRate: 10 };
      }
      getLayers() {
        return [];
      }
    }
    const room = createTestRoom(Dot, { players: 1 });
    const [p] = room.players;
    expect(room.state).toEqual({ status: 'running', turn: 0, nextTurnAt: null, reason: '' });
    expect(p.order({ a: 1 })).toMatchObject({ accepted: false, code: 'NOT_TURN_BASED' });
    expect(() => room.turn()).toThrow(/not turn-based/);
    expect(() => p.order(undefined)).toThrow(TestKitError);
    room.pause();
    p.press('a');
    expect(p.orderResults.at(-1)).toMatchObject({ id: 0, code: 'GAME_PAUSED', message: 'the game is paused: paused by admin' });
  });
});
