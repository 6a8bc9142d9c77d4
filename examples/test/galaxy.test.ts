/**
 * Galaxy (examples/galaxy), the turn-based example, on the server's own room engine with a manual
 * clock: orders and turns go in as the host sends them (`order`, `turn` messages) and the engine's
 * answers (`orderResult`, `turnResult`, `ended`) are what the host would store and announce. The
 * views are the test kit's: decoded from the bytes each player's socket would receive.
 */
import { describe, expect, it } from 'vitest';
import { resolveMetadata, type PlayerId } from '@parlor/squish';
import { RoomEngine, createTestRoom, type EngineToHostMessage } from '@parlor/server/testing';
import Galaxy, { type GalaxySave } from '../galaxy/index.js';

type OrderResult = Extract<EngineToHostMessage, { type: 'orderResult' }>;
type TurnResult = Extract<EngineToHostMessage, { type: 'turnResult' }>;
type Ended = Extract<EngineToHostMessage, { type: 'ended' }>;

/** Planets of the map by name (their numbers in orders). */
const SOL = 0, VEGA = 1, RIGEL = 2, LYRA = 6, DRACO = 8, NOVA = 10;

/** A Galaxy room engine on a manual clock, driven as its host drives it. */
class Host {
  readonly engine: RoomEngine<Galaxy>;
  readonly posted: EngineToHostMessage[] = [];
  private nextOrderId = 1;

  constructor(options: Record<string, unknown>, restore?: { snapshot: string; turn: number; paused: boolean }) {
    this.engine = new RoomEngine<Galaxy>({ gameClass: Galaxy, options, ...(restore ? { restore } : {}) }, { clock: 'manual', post: (m) => void this.posted.push(m) });
    this.engine.start();
    expect(this.errors()).toEqual([]);
  }

  get game(): Galaxy {
    return this.engine.game!;
  }

  join(playerId: PlayerId, name: string, userId?: string): this {
    this.engine.handle({ type: 'join', playerId, name, spectator: false, ...(userId ? { userId } : {}) });
    return this;
  }

  order(playerId: PlayerId, order: unknown): OrderResult {
    const id = this.nextOrderId++;
    this.engine.handle({ type: 'order', playerId, id, order });
    const result = this.posted.find((m): m is OrderResult => m.type === 'orderResult' && m.id === id);
    expect(result, `an orderResult for order ${id}`).toBeDefined();
    return result!;
  }

  /** The cutoff of the open turn. */
  turn(): TurnResult {
    const turn = this.game.turn;
    this.engine.handle({ type: 'turn', turn });
    const result = this.posted.filter((m): m is TurnResult => m.type === 'turnResult').at(-1);
    expect(result).toMatchObject({ turn, ok: true, message: '' });
    expect(this.game.turn).toBe(turn + 1);
    return result!;
  }

  ended(): Ended | undefined {
    return this.posted.find((m): m is Ended => m.type === 'ended');
  }

  errors(): EngineToHostMessage[] {
    return this.posted.filter((m) => m.type === 'error');
  }
}

/** Ann (player 1) on Sol and Bob (player 2) on Vega, on the map of seed 1. */
function twoPlayers(options: Record<string, unknown> = {}): Host {
  return new Host({ seed: 1, ...options }).join(1, 'Ann').join(2, 'Bob');
}

const owner = (h: Host, planet: number) => h.game.state.planets[planet].owner;
const ships = (h: Host, planet: number) => h.game.state.planets[planet].ships;

describe('galaxy', () => {
  it('declares a turn every 30 s, for 2–6 players', () => {
    expect(resolveMetadata(Galaxy.metadata())).toMatchObject({ name: 'Galaxy', maxPlayers: 6, turns: { everyMs: 30_000 } });
  });

  it('gives each player a home planet; a player who comes back as the same user gets the same empire', () => {
    const h = new Host({ seed: 1 }).join(1, 'Ann', 'user-ann').join(2, 'Bob').join(3, 'Cid');
    expect([owner(h, SOL), owner(h, VEGA), owner(h, RIGEL)]).toEqual([0, 1, 2]);
    expect(h.game.state.empires.map((e) => e.name)).toEqual(['Ann', 'Bob', 'Cid']);
    expect(ships(h, SOL)).toBe(10);

    // Ann leaves; days later she signs in again on a new connection (a new room-scoped id)
    h.engine.handle({ type: 'leave', playerId: 1 });
    h.join(7, 'Ann', 'user-ann');
    expect(h.game.state.empires).toHaveLength(3);
    expect(h.game.state.empires[0]).toMatchObject({ id: 7, userId: 'user-ann' });
    expect(h.order(7, { from: SOL, to: LYRA, ships: 2 })).toMatchObject({ accepted: true });
  });

  it('validates each order for the player who sent it, with a message that says what is wrong', () => {
    const h = twoPlayers();
    const refused = (pid: PlayerId, order: unknown) => {
      const r = h.order(pid, order);
      expect(r).toMatchObject({ accepted: false, code: 'ORDER_REJECTED', snapshot: null });
      return r.message;
    };
    expect(refused(1, { from: VEGA, to: SOL, ships: 3 })).toBe('Vega (planet 1) is not your planet');
    expect(refused(2, { from: SOL, to: VEGA, ships: 3 })).toBe('Sol (planet 0) is not your planet');
    expect(refused(1, { from: SOL, to: 42, ships: 3 })).toBe('unknown planet 42 in "to": planets are numbered 0–10');
    expect(refused(1, { from: 'Sol', to: LYRA })).toBe('unknown planet "Sol" in "from": planets are numbered 0–10');
    expect(refused(1, 'attack!')).toMatch(/^unknown planet undefined in "from"/);
    expect(refused(1, { from: SOL, to: SOL, ships: 3 })).toBe('a fleet must fly to another planet than Sol');
    expect(refused(1, { from: SOL, to: LYRA, ships: 0 })).toBe('ships must be a whole number, at least 1');
    expect(refused(1, { from: SOL, to: LYRA, ships: 11 })).toBe('not enough ships: Sol has 10 left to send this turn');

    // accepted: the snapshot the host stores before it answers carries the order
    const ok = h.order(1, { from: SOL, to: LYRA, ships: 6 });
    expect(ok).toMatchObject({ accepted: true, code: '', turn: 1 });
    expect((JSON.parse(ok.snapshot!) as GalaxySave).orders).toEqual([{ empire: 0, from: SOL, to: LYRA, ships: 6 }]);
    // the ships already ordered away this turn are not free any more; no `ships`: half of what is free
    expect(refused(1, { from: SOL, to: DRACO, ships: 5 })).toBe('not enough ships: Sol has 4 left to send this turn');
    expect(h.order(1, { from: SOL, to: DRACO })).toMatchObject({ accepted: true });
    expect(h.game.state.orders.at(-1)).toEqual({ empire: 0, from: SOL, to: DRACO, ships: 2 });
    // Bob's orders are his own
    expect(h.order(2, { from: VEGA, to: NOVA, ships: 10 })).toMatchObject({ accepted: true });
    expect(h.errors()).toEqual([]);
  });

  it('launches orders at the cutoff; a fleet flies one turn per 12 units and lands; owned planets produce', () => {
    const h = twoPlayers();
    expect(h.order(1, { from: SOL, to: LYRA, ships: 10 }).accepted).toBe(true); // Lyra: 9 neutral ships, 2 turns away
    h.turn();
    expect(h.game.state.fleets).toEqual([{ owner: 0, from: SOL, to: LYRA, ships: 10, departed: 1, arrives: 3 }]);
    expect(ships(h, SOL)).toBe(3); // 0 left + production 3
    expect(ships(h, LYRA)).toBe(9); // neutral planets do not produce
    expect(h.game.state.orders).toEqual([]);
    h.turn();
    expect(h.game.state.fleets).toHaveLength(1);
    h.turn(); // the cutoff of turn 3: it lands, 10 against 9
    expect(h.game.state.fleets).toEqual([]);
    expect(owner(h, LYRA)).toBe(0);
    expect(ships(h, LYRA)).toBe(1 + 1); // what was left over the garrison, and Lyra's production
    expect(h.game.turn).toBe(4);
  });

  it('a fight: every force at a planet at once, the largest wins with what it has over the second (the same on the same seed)', () => {
    const play = () => {
      const h = twoPlayers();
      h.order(1, { from: SOL, to: NOVA, ships: 10 }); // 3 turns away, as from Vega: both land at the cutoff of turn 4
      h.order(2, { from: VEGA, to: NOVA, ships: 8 });
      for (let i = 0; i < 4; i++) h.turn();
      return h;
    };
    const h = play();
    // Nova: 7 neutral ships, Ann 10, Bob 8: Ann takes it with 10 − 8 = 2, and it produces 4
    expect(owner(h, NOVA)).toBe(0);
    expect(ships(h, NOVA)).toBe(2 + 4);
    expect(h.game.state.fleets).toEqual([]);
    expect(play().game.save()).toEqual(h.game.save());

    // a tie: nobody wins, the owner keeps an empty planet
    const t = twoPlayers();
    t.order(1, { from: SOL, to: NOVA, ships: 7 });
    for (let i = 0; i < 4; i++) t.turn();
    expect([owner(t, NOVA), ships(t, NOVA)]).toEqual([-1, 0]);
  });

  it('save → restore: the same state (orders of the open turn too), and the same next turn', () => {
    const a = twoPlayers();
    a.order(1, { from: SOL, to: DRACO, ships: 10 });
    a.turn();
    a.order(2, { from: VEGA, to: NOVA, ships: 6 });
    const snapshot = JSON.stringify(a.game.save());
    expect(JSON.parse(snapshot)).toEqual(a.game.save()); // plain JSON, nothing lost

    const b = new Host({ seed: 1 }, { snapshot, turn: a.game.turn, paused: false });
    expect(b.game.save()).toEqual(a.game.save());
    expect(b.game.turn).toBe(2);
    b.join(1, 'Ann').join(2, 'Bob'); // the players reconnect: their empires are waiting
    expect(b.game.state.empires).toHaveLength(2);
    expect(b.order(1, { from: SOL, to: LYRA, ships: 2 }).accepted).toBe(true);
    a.order(1, { from: SOL, to: LYRA, ships: 2 });
    expect(b.turn().snapshot).toBe(a.turn().snapshot);
    expect(b.turn().snapshot).toBe(a.turn().snapshot);

    // the snapshot, not the room's options, is the game: another seed's map does not leak in
    const other = Galaxy.restore(JSON.parse(snapshot), { seed: 99 });
    expect(other.save()).toEqual(JSON.parse(snapshot));
    expect(other.planetNodes.map((n) => n.body.radius)).toEqual(a.game.planetNodes.map((n) => n.body.radius));

    expect(() => Galaxy.restore({ planets: 'none' })).toThrow('not a Galaxy snapshot (version 1)');
  });

  it('ends when one empire owns every planet, with the winner, the scores and a summary', () => {
    const start = new Host({ seed: 1 }).join(1, 'Ann').join(2, 'Bob').game.save();
    // Ann owns every planet but Vega, where her fleet lands at the cutoff of turn 9
    const saved: GalaxySave = {
      ...start,
      turn: 9,
      planets: start.planets.map((p, i) => ({ ...p, owner: i === VEGA ? 1 : 0 })),
      fleets: [{ owner: 0, from: SOL, to: VEGA, ships: 30, departed: 3, arrives: 9 }],
    };
    const h = new Host({}, { snapshot: JSON.stringify(saved), turn: 9, paused: false });
    h.join(1, 'Ann').join(2, 'Bob');
    h.turn();
    expect(h.ended()?.result).toEqual({ winners: ['Ann'], scores: { Ann: 11, Bob: 0 }, summary: 'Ann conquered the galaxy in 9 turns' });
  });

  it('ends after maxTurns: most planets wins', () => {
    const h = twoPlayers({ maxTurns: 3 });
    h.order(1, { from: SOL, to: LYRA, ships: 10 });
    h.turn();
    h.turn();
    expect(h.ended()).toBeUndefined();
    h.turn();
    expect(h.ended()?.result).toEqual({ winners: ['Ann'], scores: { Ann: 2, Bob: 1 }, summary: 'after 3 turns Ann held the most planets (2)' });
  });

  it('a full galaxy: a player who finds no free planet watches, and may not order', () => {
    const start = new Host({ seed: 1 }).join(1, 'Ann').game.save();
    const saved: GalaxySave = { ...start, planets: start.planets.map((p) => ({ ...p, owner: 0 })) };
    const h = new Host({}, { snapshot: JSON.stringify(saved), turn: 1, paused: false });
    h.join(1, 'Ann').join(2, 'Bob');
    expect(h.game.state.empires).toHaveLength(1);
    expect(h.order(2, { from: SOL, to: VEGA })).toMatchObject({ accepted: false, message: 'you have no planets in this galaxy: it was full when you joined' });
  });
});

describe('galaxy in the players\' views', () => {
  it('orders by clicks: your planet, then a target; only you see your orders', () => {
    const room = createTestRoom(Galaxy, { players: ['Ann', 'Bob'], options: { seed: 1 } });
    room.step();
    const [ann, bob] = room.players;
    const planet = (name: string) => room.game.planetNodes[room.game.state.planets.findIndex((p) => p.name === name)].body;
    expect(ann.view.texts()).toContain('Turn 1 of 50');
    expect(ann.view.texts()).toContain('Click one of your planets, then a target: half of its ships fly there at the cutoff.');

    ann.click(planet('Vega')); // Bob's
    room.step();
    expect(ann.view.texts()).toContain('Vega is not yours: click one of your planets first');
    ann.click(planet('Sol'));
    room.step();
    expect(ann.view.texts()).toContain('Sol selected (10 ships free): click the target, or Sol again to cancel.');
    ann.click(planet('Draco'));
    room.step();
    expect(room.game.state.orders).toEqual([{ empire: 0, from: SOL, to: DRACO, ships: 5 }]);
    expect(ann.view.texts()).toEqual(expect.arrayContaining(['Your orders for turn 1:', 'Sol → Draco: 5 ships']));
    expect(bob.view.texts()).toContain('No orders yet for turn 1');
    expect(bob.view.has('Sol → Draco: 5 ships')).toBe(false);

    // the click's order was answered like any order (id 0: made by the game from a click)
    expect(ann.orderResults.at(-1)).toMatchObject({ id: 0, accepted: true, turn: 1 });

    // the cutoff (as GameServer.forceTurn): the fleet is in flight, for everyone to see
    expect(room.turn()).toMatchObject({ status: 'running', turn: 2 });
    for (const p of [ann, bob]) expect(p.view.texts()).toEqual(expect.arrayContaining(['Turn 2 of 50', '5 → Draco, turn 3', 'Ann: 1 planet, 13 ships']));
    expect(ann.view.texts()).toContain('No orders yet for turn 2');
    room.assertPrivate();
  });

  it('a turn every 30 s of game time; a paused room refuses orders and clicks, and the turn waits', () => {
    const room = createTestRoom(Galaxy, { players: ['Ann', 'Bob'], options: { seed: 1 } });
    const [ann] = room.players;
    expect(room.state).toMatchObject({ status: 'running', turn: 1, nextTurnAt: 30_000 });
    expect(ann.order({ from: SOL, to: LYRA, ships: 4 })).toMatchObject({ accepted: true, turn: 1 });
    room.step(30_000);
    expect(room.state).toMatchObject({ status: 'running', turn: 2 });
    expect(room.game.state.fleets).toHaveLength(1);
    expect(ann.view.texts()).toContain('Turn 2 of 50');

    room.pause('maintenance');
    expect(ann.order({ from: SOL, to: LYRA, ships: 1 })).toMatchObject({ accepted: false, code: 'GAME_PAUSED' });
    ann.click(room.game.planetNodes[SOL].body);
    expect(ann.orderResults.at(-1)).toMatchObject({ id: 0, accepted: false, code: 'GAME_PAUSED' });
    room.step(60_000);
    expect(room.state).toMatchObject({ status: 'paused', turn: 2, reason: 'maintenance' });
    room.resume();
    expect(ann.order({ from: SOL, to: LYRA, ships: 1 })).toMatchObject({ accepted: true, turn: 2 });
  });
});
