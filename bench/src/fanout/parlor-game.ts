/**
 * The fan-out bench's Parlor game: the scene of `FANOUT_SCENE` (scene.ts) as circles, simulated
 * exactly as the Colyseus room is: 60 Hz ticks moving the scene's entities per step, 20 Hz frames
 * (`frameRate`), the changes of three ticks coalesced into each frame.
 * Counts its ticks and rooms in `globalThis.__fanoutTicks` / `__fanoutRooms` (the inline runtime runs
 * every room in the server process).
 */
import { Game, Group, Shape } from '@parlor/squish';
import { COLYSEUS_SIM_HZ, FRAME_HZ, currentScene, positionOf } from './scene.js';

const SCENE = currentScene();

const counters = globalThis as unknown as { __fanoutTicks?: number; __fanoutRooms?: number };

export default class Fanout extends Game {
  static override metadata() {
    return { name: 'Fan-out bench', aspectRatio: { x: 1, y: 1 }, tickRate: COLYSEUS_SIM_HZ, frameRate: FRAME_HZ, maxPlayers: SCENE.maxPlayers };
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
    for (let c = 0; c < SCENE.colyseusMovesPerStep; c++) {
      const i = this.next;
      this.next = (this.next + 1) % SCENE.entities;
      const p = positionOf(i, ++this.moves[i]);
      this.shapes[i].x = p.x;
      this.shapes[i].y = p.y;
    }
  }
}
