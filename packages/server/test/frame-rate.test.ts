import { describe, expect, it } from 'vitest';
import { Game, GameMetadataError, Group, SceneMirror, Shape, messageFor, resolveMetadata, type GameMetadata, type Node } from '@parlor/squish';
import { RoomEngine } from '../src/testing.js';

/** Simulates at 60 Hz and sends at 20 Hz: a dot moves one unit every tick. */
class Runner extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Runner', tickRate: 60, frameRate: 20 };
  }
  ticks = 0;
  readonly dot = new Shape({ shapeType: 'circle', x: 0, y: 50, radius: 1 });
  readonly root = new Group({ children: [this.dot] });
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.ticks++;
    this.dot.x = this.ticks;
  }
}

describe('frame rate apart from tick rate', () => {
  it('a 60 Hz game with frameRate 20 ticks every step and sends every third, the ticks between coalesced', () => {
    const engine = new RoomEngine({ gameClass: Runner }, { clock: 'manual' });
    engine.start();
    engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
    const mirror = new SceneMirror();
    const sent: number[] = [];
    for (let step = 1; step <= 9; step++) {
      const frames = engine.step();
      expect(frames).not.toBeNull();
      const bytes = messageFor(frames!, 1);
      if (bytes) {
        sent.push(step);
        mirror.apply(bytes);
        const dot = [...mirror.nodes.values()].find((n) => n.kind === engine.game!.dot.kind && n.id === engine.game!.dot.id) as Shape;
        expect(dot.x).toBe(step); // every tick's move up to this one, in one frame
      }
    }
    expect(engine.game!.ticks).toBe(9);
    expect(sent).toEqual([1, 4, 7]);
  });

  it('step(0) always flushes, whatever the frame rate', () => {
    const engine = new RoomEngine({ gameClass: Runner }, { clock: 'manual' });
    engine.start();
    engine.step(); // frame 1
    engine.handle({ type: 'join', playerId: 2, name: 'Bo', spectator: false });
    expect(messageFor(engine.step(0)!, 2)).toBeDefined();
  });

  it('frameRate defaults to tickRate and may not exceed it', () => {
    expect(resolveMetadata({ name: 'g', tickRate: 30 }).frameRate).toBe(30);
    expect(resolveMetadata({ name: 'g', tickRate: 60, frameRate: 20 }).frameRate).toBe(20);
    expect(() => resolveMetadata({ name: 'g', tickRate: 20, frameRate: 30 })).toThrow(GameMetadataError);
    expect(() => resolveMetadata({ name: 'g', tickRate: 20, frameRate: 30 })).toThrow(/frameRate must be at most tickRate \(20 Hz\)/);
    expect(() => resolveMetadata({ name: 'g', frameRate: 0 })).toThrow(/frameRate/);
  });
});
