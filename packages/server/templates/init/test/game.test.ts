import { describe, expect, it } from 'vitest';
import { RoomEngine, type FramesMessage } from '@parlor/server/testing';
import { SceneMirror, Text, messageFor, type Node, type PlayerId } from '@parlor/squish';
import ClickTheDot, { WIN_SCORE } from '../src/index.js';

/**
 * The game on Parlor's own room engine with a manual clock: `handle` applies a join, leave or
 * input at once, `step(ms)` runs one tick and returns what each player's socket would receive,
 * which a SceneMirror per player decodes into the scene that player sees.
 */
function room() {
  const engine = new RoomEngine({ gameClass: ClickTheDot }, { clock: 'manual' });
  engine.start();
  const views = new Map<PlayerId, SceneMirror>();
  const deliver = (frames: FramesMessage | null | undefined): void => {
    for (const send of frames?.sends ?? []) views.get(send.playerId)?.apply(messageFor(frames!, send.playerId)!);
  };
  return {
    game: engine.game as ClickTheDot,
    join(playerId: PlayerId, name: string) {
      views.set(playerId, new SceneMirror());
      engine.handle({ type: 'join', playerId, name, spectator: false });
      deliver(engine.step(50));
    },
    leave(playerId: PlayerId) {
      engine.handle({ type: 'leave', playerId });
      deliver(engine.step(50));
    },
    /** Clicks a node as the player's browser would: only one it was shown, and clickable. */
    click(playerId: PlayerId, nodeId: number) {
      const node = views.get(playerId)?.nodes.get(nodeId);
      if (!node?.clickable) throw new Error(`player ${playerId} sees no clickable node ${nodeId}`);
      engine.handle({ type: 'input', playerId, event: { kind: 'click', nodeId, x: 50, y: 50 } });
      deliver(engine.step(50));
    },
    /** Every text the player sees. */
    texts(playerId: PlayerId): string[] {
      const out: string[] = [];
      const walk = (n: Node): void => {
        if (n instanceof Text) out.push(n.text);
        n.children.forEach(walk);
      };
      const root = views.get(playerId)?.root;
      if (root) walk(root);
      return out;
    },
  };
}

describe('click the dot', () => {
  it('a click on the dot scores a point that every player sees', () => {
    const r = room();
    r.join(1, 'Ann');
    r.join(2, 'Bob');
    expect(r.texts(2)).toContain('Ann: 0   Bob: 0');

    r.click(1, r.game.dot.id);
    expect(r.texts(1)).toContain('Ann: 1   Bob: 0');
    expect(r.texts(2)).toContain('Ann: 1   Bob: 0');
  });

  it(`the first to ${WIN_SCORE} wins the round, and everyone starts again from 0`, () => {
    const r = room();
    r.join(1, 'Ann');
    r.join(2, 'Bob');
    for (let i = 0; i < WIN_SCORE; i++) r.click(2, r.game.dot.id);
    expect(r.texts(1)).toContain('Bob wins the round! Click the dot to play again');
    expect(r.game.scores.get(2)).toBe(0);
  });

  it('a player who leaves is taken off the board', () => {
    const r = room();
    r.join(1, 'Ann');
    r.join(2, 'Bob');
    r.leave(1);
    expect(r.texts(2)).toContain('Bob: 0');
  });
});
