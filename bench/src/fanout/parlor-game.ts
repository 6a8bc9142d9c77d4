/**
 * The fan-out bench's Parlor game: the shared scene (scene.ts) as circles. Parlor sends one frame
 * per tick, so it ticks at the frame rate and moves {@link CHANGES_PER_FRAME} entities per tick
 * (Colyseus moves a third of that at 60 Hz and patches at 20 Hz: the same changes per frame).
 * Counts its ticks in `globalThis.__fanoutTicks` (the inline runtime runs it in the server process).
 */
import { Game, Group, Shape } from '@parlor/squish';
import { CHANGES_PER_FRAME, ENTITIES, FRAME_HZ, positionOf } from './scene.js';

const counters = globalThis as unknown as { __fanoutTicks?: number };

export default class Fanout extends Game {
  static override metadata() {
    return { name: 'Fan-out bench', aspectRatio: { x: 1, y: 1 }, tickRate: FRAME_HZ, maxPlayers: 5000 };
  }

  private readonly shapes: Shape[] = [];
  private readonly moves: number[] = [];
  private next = 0;
  private readonly root = new Group();

  constructor() {
    super();
    for (let i = 0; i < ENTITIES; i++) {
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
      this.next = (this.next + 1) % ENTITIES;
      const p = positionOf(i, ++this.moves[i]);
      this.shapes[i].x = p.x;
      this.shapes[i].y = p.y;
    }
  }
}
