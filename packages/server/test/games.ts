import { EventEmitter } from 'node:events';
import { Colors, Game, Group, Shape, ShapeUtils, Text, ViewableGame, type GameMetadata, type Node, type PlayerId, type PlayerInfo } from '@parlor/squish';

/** Events the test games report (joins, leaves, keys, clicks). */
export const gameEvents = new EventEmitter();

/**
 * A small game: a tick counter everyone sees (changes every tick, so frames keep flowing), a
 * square per player moved by arrow keys, a private "SECRET-<id>" text per player, and a
 * clickable button.
 */
export class CounterGame extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Counter', description: 'A test game that counts ticks', tickRate: 30, maxPlayers: 2 };
  }
  readonly root = new Group();
  readonly counter = new Text({ text: 'tick 0', x: 1, y: 1, size: 4 });
  readonly secrets = new Group();
  readonly squares = new Map<PlayerId, Shape>();
  ticks = 0;
  readonly button = new Shape({
    points: ShapeUtils.rectangle(80, 80, 10, 10),
    fill: Colors.BLUE,
    onClick: (pid, x, y) => void gameEvents.emit('click', { pid, x, y }),
  });

  constructor(options: Record<string, unknown> = {}) {
    super(options);
    this.root.addChild(this.counter, this.secrets, this.button);
  }
  getLayers(): Node[] {
    return [this.root];
  }
  override onPlayerJoin(p: PlayerInfo): void {
    const sq = new Shape({ points: ShapeUtils.rectangle(10, 10 * p.id, 5, 5), fill: Colors.GREEN });
    this.squares.set(p.id, sq);
    this.root.addChild(sq);
    this.secrets.addChild(new Text({ text: `SECRET-${p.id}`, x: 1, y: 90, playerIds: [p.id] }));
    gameEvents.emit('join', p);
  }
  override onPlayerLeave(id: PlayerId): void {
    this.squares.get(id)?.remove();
    this.squares.delete(id);
    gameEvents.emit('leave', id);
  }
  override onKeyDown(id: PlayerId, key: string): void {
    gameEvents.emit('keydown', { id, key });
    if (key === 'ArrowRight') this.squares.get(id)?.translate(10, 0);
  }
  override onKeyUp(id: PlayerId, key: string): void {
    gameEvents.emit('keyup', { id, key });
  }
  override tick(): void {
    this.ticks++;
    this.counter.text = `tick ${this.ticks}`;
  }
}

/** Throws in `tick` while `options.failing` says so (counted in a shared object). */
export class FlakyGame extends CounterGame {
  static override metadata(): GameMetadata {
    return { name: 'Flaky', tickRate: 60, maxPlayers: 4 };
  }
  static failEvery = 0;
  static alwaysFail = false;
  override tick(): void {
    super.tick();
    if (FlakyGame.alwaysFail) throw new Error('boom in tick');
    if (FlakyGame.failEvery && this.ticks % FlakyGame.failEvery === 0) throw new Error(`flaky tick ${this.ticks}`);
  }
}

/** A game that always throws in tick (for the fatal path). */
export class BrokenGame extends CounterGame {
  static override metadata(): GameMetadata {
    return { name: 'Broken', tickRate: 60 };
  }
  override tick(): void {
    throw new Error('always broken');
  }
}

/** A ViewableGame with a 1000×1000 world; each player's camera starts at (100·id, 50). */
export class WorldGame extends ViewableGame {
  static override metadata(): GameMetadata {
    return { name: 'World', tickRate: 30 };
  }
  constructor() {
    super(1000, 1000);
    this.world.addChild(new Shape({ shapeType: 'circle', x: 500, y: 500, radius: 5, fill: Colors.YELLOW }));
  }
  getView(pid: PlayerId) {
    return { x: 100 * pid, y: 50, zoom: 2 };
  }
}
