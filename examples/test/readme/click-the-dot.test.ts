import { describe, expect, it } from 'vitest';
import { createTestRoom } from '@parlor/server/testing';
import ClickTheDot from './click-the-dot.js';

describe('click the dot', () => {
  it('scores a click on the dot and moves it, for everyone to see', () => {
    const room = createTestRoom(ClickTheDot, { players: ['Ann', 'Bob'] });
    room.step(); // one tick: each player's first frame
    const [ann, bob] = room.players;
    expect(bob.view.texts()).toContain('Ann: 0   Bob: 0');

    const dot = ann.view.one({ kind: 'shape', clickable: true });
    const before = bob.view.box(dot);
    ann.click(dot); // pressed where Ann's browser would find the dot
    room.step();

    expect(bob.view.texts()).toContain('Ann: 1   Bob: 0');
    expect(bob.view.box(dot)).not.toEqual(before);
    room.assertPrivate(); // no frame carried a node hidden from its receiver
  });
});
