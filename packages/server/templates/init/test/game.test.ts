import { describe, expect, it } from 'vitest';
import { createTestRoom } from '@parlor/server/testing';
import ClickTheDot, { WIN_SCORE } from '../src/index.js';

/*
 * The game on Parlor's test kit: a room on the real room engine with a manual clock
 * (`room.step()` runs one tick), players who click as their browser would, and each player's
 * view, decoded from exactly the bytes their socket would receive.
 */
describe('click the dot', () => {
  it('a click on the dot scores a point that every player sees', () => {
    const room = createTestRoom(ClickTheDot);
    const ann = room.join('Ann');
    const bob = room.join('Bob');
    room.step();
    expect(bob.view.texts()).toContain('Ann: 0   Bob: 0');

    ann.click(room.game.dot);
    room.step();
    expect(ann.view.texts()).toContain('Ann: 1   Bob: 0');
    expect(bob.view.texts()).toContain('Ann: 1   Bob: 0');
  });

  it('a click beside the dot scores nothing', () => {
    const room = createTestRoom(ClickTheDot, { players: ['Ann'] });
    room.step();
    const ann = room.players[0]!;
    ann.click({ x: 2, y: 98 });
    room.step();
    expect(ann.view.texts()).toContain('Ann: 0');
  });

  it(`the first to ${WIN_SCORE} points wins the round, and everyone starts again from 0`, () => {
    const room = createTestRoom(ClickTheDot);
    const ann = room.join('Ann');
    const bob = room.join('Bob');
    room.step();
    for (let i = 0; i < WIN_SCORE; i++) {
      bob.click(room.game.dot); // wherever the dot jumped to: Bob's view has it
      room.step();
    }
    expect(ann.view.texts()).toContain('Bob wins the round! Click the dot to play again');
    expect(room.game.scores.get(ann.id)).toBe(0);
    expect(room.game.scores.get(bob.id)).toBe(0);
  });

  it('spectators watch without a score, and a player who leaves is taken off the board', () => {
    const room = createTestRoom(ClickTheDot, { players: ['Ann', 'Bob'], spectators: 1 });
    room.step();
    const [ann] = room.players;
    const watcher = room.spectators[0]!;
    expect(watcher.view.texts()).toContain('Ann: 0   Bob: 0');

    room.leave(ann!);
    room.step();
    expect(watcher.view.texts()).toContain('Bob: 0');
  });
});
