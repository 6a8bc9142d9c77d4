/**
 * The fan-out bench's Parlor game: the scene of `FANOUT_SCENE` (scene.ts) as circles. Parlor sends
 * one frame per tick, so it ticks at the frame rate and moves `changesPerFrame` entities per tick
 * (Colyseus moves a third of that at 60 Hz and patches at 20 Hz: the same changes per frame).
 * Counts its ticks and rooms in `globalThis.__fanoutTicks` / `__fanoutRooms` (the inline runtime runs
 * every room in the server process).
 */
import { Game, Group, Shape } from '@parlor/squish';
import { FRAME_HZ, changesPerFrame, currentScene, positionOf } from './scene.js';

const SCENE = currentScene();
const CHANGES_PER_FRAME = changesPerFrame(SCENE);

const counters = globalThis as unknown as { __fanoutTicks?: number; __fanoutRooms?: number };

export default class Fanout extends Game {
  static override metadata() {
    return { name: 'Fan-out bench', aspectRatio: { x: 1, y: 1 }, tickRate: FRAME_HZ, maxPlayers: SCENE.maxPlayers };
  }

  private readonly shapes: Shape[] = [];
  private readonly moves: number[] = [];
  private next = 0;
  private readonly root = new Group();

  constructor() {
    super();
    counters.__fanoutRooms = (counters.__fanoutRooms ?? 0) + 1;
    for (let i = 0; i < SCENE.entities; i++) {
      const p = positionOf(i, 0);
      const s = new Shape({ shapeType: 'circle', x: p.x, y: p.y, radius: 1, fill: [200, 80, 40, 255] });
      this.shapes.push(s);
      this.moves.push(0);
      this.root.addChild(s);
    }
  }

  getLayers() {
    return [this.root];
  }

  override tick() {
    counters.__fanoutTicks = (counters.__fanoutTicks ?? 0) + 1;
    for (let c = 0; c < CHANGES_PER_FRAME; c++) {
      const i = this.next;
      this.next = (this.next + 1) % SCENE.entities;
      const p = positionOf(i, ++this.moves[i]);
      this.shapes[i].x = p.x;
      this.shapes[i].y = p.y;
    }
  }
}
