import { Game, Group, OrderRejectedError, Text, TurnBasedGame, type GameMetadata, type Node, type PlayerId } from '@parlor/squish';

/** What {@link Conquest} saves. */
export interface ConquestState {
  owner: Record<string, number>;
  orders: Array<{ playerId: number; planet: string }>;
  history: string[];
  padding?: string;
}

/**
 * A small turn-based game for the engine's tests: orders claim planets, a turn applies them.
 * Knobs on the instance make it misbehave on purpose (a throwing turn, an oversized or
 * throwing save, a crashing `onOrder`).
 */
export class Conquest extends TurnBasedGame {
  static override metadata(): GameMetadata {
    return { name: 'Conquest', tickRate: 100, turns: { everyMs: 30_000 } };
  }
  static last: Conquest | null = null;
  static restore(s: ConquestState, options: Record<string, unknown>): Conquest {
    if (options.failRestore) throw new Error('the snapshot is from another galaxy');
    const g = new Conquest(options);
    g.owner = { ...s.owner };
    g.orders = [...s.orders];
    g.history = [...s.history];
    return g;
  }
  owner: Record<string, number> = { a: 0, b: 0, c: 0 };
  orders: Array<{ playerId: number; planet: string }> = [];
  history: string[] = [];
  ticks: number[] = [];
  statusInTurn: string[] = [];
  throwInTurn = false;
  crashInOrder = false;
  saveBytes = 0;
  throwInSave = false;
  readonly label = new Text({ text: 'turn 1' });
  readonly root = new Group({ children: [this.label] });
  constructor(options: Record<string, unknown> = {}) {
    super(options);
    Conquest.last = this;
  }
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(dt: number): void {
    this.ticks.push(dt);
  }
  onOrder(playerId: PlayerId, order: unknown): void {
    if (this.crashInOrder) throw new TypeError('cannot read properties of undefined');
    const planet = (order as { planet?: unknown } | null)?.planet;
    if (typeof planet !== 'string' || !(planet in this.owner)) throw new OrderRejectedError(`no planet ${String(planet)}: pick a, b or c`);
    this.orders.push({ playerId, planet });
  }
  generateTurn(turn: number): void {
    this.statusInTurn.push(this.status);
    if (this.throwInTurn) throw new Error(`the turn ${turn} engine broke`);
    for (const o of this.orders) this.owner[o.planet] = o.playerId;
    this.history.push(`turn ${turn}: ${this.orders.length} orders`);
    this.orders = [];
    this.label.text = `turn ${turn + 1}`;
  }
  save(): ConquestState {
    if (this.throwInSave) throw new Error('disk of the mind is full');
    const s: ConquestState = { owner: this.owner, orders: this.orders, history: this.history };
    if (this.saveBytes) s.padding = 'x'.repeat(this.saveBytes);
    return s;
  }
  override onText(playerId: PlayerId, text: string): void {
    if (text.startsWith('claim ')) this.submitOrder(playerId, { planet: text.slice(6) });
    else if (text === 'done') this.endTurnNow();
    else if (text === 'win') this.end({ winners: [String(playerId)], scores: { [String(playerId)]: 3 }, summary: 'took the galaxy' });
  }
}

/** A real-time game that can save and restore (a counter). */
export class Counter extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Counter', tickRate: 100 };
  }
  static last: Counter | null = null;
  static restore(s: { count: number }): Counter {
    const g = new Counter();
    g.count = s.count;
    return g;
  }
  count = 0;
  saveValue: unknown = undefined;
  readonly root = new Group();
  constructor(options: Record<string, unknown> = {}) {
    super(options);
    Counter.last = this;
  }
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(_dt: number): void {
    this.count++;
  }
  override onText(_p: PlayerId, text: string): void {
    if (text === 'end') {
      // a hand-made, oversized and partly invalid result: the engine bounds it
      this._result = {
        winners: [...Array.from({ length: 100 }, (_, i) => `w${i}`), 7 as unknown as string],
        scores: { a: 1, b: Number.NaN, c: Infinity, ['k'.repeat(300)]: 2 },
        summary: 's'.repeat(600),
      };
    }
  }
  override save(): unknown {
    return this.saveValue === undefined ? { count: this.count } : this.saveValue;
  }
}

/** A real-time game without save or restore. */
export class Plain extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Plain' };
  }
  getLayers(): Node[] {
    return [];
  }
}

/** TurnBasedGame without `turns` in its metadata. */
export class NoTurns extends Conquest {
  static override metadata(): GameMetadata {
    return { name: 'NoTurns' };
  }
}

/** `turns` on a real-time game. */
export class TurnsOnRealTime extends Plain {
  static override metadata(): GameMetadata {
    return { name: 'TurnsOnRealTime', turns: {} };
  }
}

/** A TurnBasedGame without a static restore. */
export class NoRestore extends TurnBasedGame {
  static override metadata(): GameMetadata {
    return { name: 'NoRestore', turns: {} };
  }
  getLayers(): Node[] {
    return [];
  }
  onOrder(): void {}
  generateTurn(): void {}
  save(): unknown {
    return {};
  }
}
