/**
 * Drives the example games with the test kit (`createTestRoom` from @parlor/server/testing: the
 * server's own room engine on a manual clock, the same join, input, tick and flush code that runs a
 * live room), and checks what each player's view — decoded by squish's SceneMirror from the very
 * bytes their socket would receive — shows. Input goes in as the browser client sends it (keys
 * held and released, clicks resolved by the client's hit test, pointer moves).
 */
import { describe, expect, it } from 'vitest';
import { Group, Shape, ViewableGame, type Node } from '@parlor/squish';
import { createTestRoom, type TestMember, type TestRoom } from '@parlor/server/testing';
import Pong from '../pong/index.js';
import HiddenHand, { cardLabel } from '../hidden-hand/index.js';
import StarField from '../star-field/index.js';

/** `n` ticks of the room's own tick period. */
const ticks = (room: TestRoom, n: number): void => void room.step(n * room.tickMs);

// ------------------------------------------------------------------ pong

describe('pong', () => {
  const paddleTop = (viewer: TestMember, shape: Shape): number => viewer.view.get<Shape>(shape.id)!.bounds()[1];
  const ballAt = (viewer: TestMember, game: Pong): [number, number] => {
    const b = viewer.view.get<Shape>(game.ballShape.id)!;
    return [b.x, b.y];
  };

  it('declares 2 players at 60 Hz on a 16:9 screen', () => {
    expect(Pong.metadata()).toMatchObject({ tickRate: 60, maxPlayers: 2, aspectRatio: { x: 16, y: 9 } });
  });

  it('moves your own paddle while ArrowDown (or s) is held, at paddle speed × time', () => {
    const room = createTestRoom(Pong, { players: ['Ann', 'Bob'], options: { seed: 1 } });
    const [ann, bob] = room.players;
    const game = room.game;
    room.flush();
    const [left, right] = game.paddles;
    expect(ann.view.get<Shape>(left.shape.id)!.bounds()).toEqual([2, 41, 4, 59]);
    expect(ann.view.get<Shape>(right.shape.id)!.bounds()).toEqual([96, 41, 98, 59]);

    ann.hold('ArrowDown');
    ticks(room, 20);
    const moved = paddleTop(ann, left.shape);
    expect(moved).toBeCloseTo(41 + (95 * 20) / 60, 1);
    // Both players see it; the other paddle did not move.
    expect(paddleTop(bob, left.shape)).toBeCloseTo(moved, 2);
    expect(paddleTop(bob, right.shape)).toBe(41);

    ann.release('ArrowDown');
    ticks(room, 10);
    expect(paddleTop(ann, left.shape)).toBeCloseTo(moved, 2);

    // Player 2 uses w/s; a paddle never leaves the screen.
    bob.hold('w');
    room.step(2000);
    expect(paddleTop(ann, right.shape)).toBe(0);
    bob.release('w').hold('s');
    ticks(room, 200);
    expect(paddleTop(bob, right.shape)).toBe(82);
  });

  it('keeps the ball still until a second player joins, then serves; it waits again when one leaves', () => {
    const room = createTestRoom(Pong, { players: ['Ann'], options: { seed: 2 } });
    const [ann] = room.players;
    const game = room.game;
    room.step(2000);
    expect(ballAt(ann, game)).toEqual([50, 50]);
    expect(ann.view.texts()).toContain('Waiting for a second player…');
    expect(ann.view.texts()).toContain('You are the left paddle · ↑/↓ or W/S');

    const bob = room.join('Bob');
    room.step(1000); // serve delay is 1.2 s
    expect(ballAt(bob, game)).toEqual([50, 50]);
    ticks(room, 40);
    const [bx, by] = ballAt(bob, game);
    expect(Math.abs(bx - 50) + Math.abs(by - 50)).toBeGreaterThan(1);
    expect(ballAt(ann, game)).toEqual([bx, by]);
    // Each player sees only their own hint, and nobody was ever sent the other's.
    expect(bob.view.texts()).toContain('You are the right paddle · ↑/↓ or W/S');
    expect(bob.view.has('You are the left paddle · ↑/↓ or W/S')).toBe(false);
    expect(bob.bytesContain('left paddle')).toBe(false);
    room.assertPrivate();

    room.leave(bob);
    room.step(1000);
    expect(ballAt(ann, game)).toEqual([50, 50]);
    expect(ann.view.texts()).toContain('Waiting for a second player…');
    room.step(1000);
    expect(ballAt(ann, game)).toEqual([50, 50]);
  });

  it('bounces off paddles, speeds up on every hit, and scores', () => {
    const room = createTestRoom(Pong, { players: ['Ann', 'Bob'], options: { seed: 3, winScore: 3 } });
    const [ann] = room.players;
    const game = room.game;
    let maxSpeed = 0;
    let hits = 0;
    let last = game.ball.speed;
    // Paddles stay centred: serves near the middle come back, steep ones score.
    for (let i = 0; i < 60 * 60 && game.phase !== 'won'; i++) {
      room.step();
      if (game.ball.speed > last) hits++;
      last = game.ball.speed;
      maxSpeed = Math.max(maxSpeed, game.ball.speed);
    }
    expect(game.phase).toBe('won');
    expect(hits).toBeGreaterThan(0);
    expect(maxSpeed).toBeGreaterThan(70);
    expect(Math.max(...game.scores)).toBe(3);
    const texts = ann.view.texts();
    expect(texts).toContain(String(game.scores[0]));
    expect(texts).toContain(String(game.scores[1]));
    expect(ann.view.has(/ wins 3–\d!$/)).toBe(true);
    room.assertPrivate();
  });
});

// ------------------------------------------------------------------ hidden-hand

describe('hidden-hand', () => {
  const LABEL = /^(10|[2-9JQKA])[♣♦♥♠]$/;
  const BAND = 70;

  /** Labels of the cards drawn in the bottom band of a member's screen. */
  const bandLabels = (m: TestMember): Set<string> => new Set(m.view.all(LABEL).filter((t) => m.view.box(t).y0 >= BAND).map((t) => t.text));
  /** Labels of the cards drawn on the table (above the band). */
  const tableLabels = (m: TestMember): Set<string> => new Set(m.view.all(LABEL).filter((t) => m.view.box(t).y0 < BAND).map((t) => t.text));
  /** Clickable nodes in the member's band, left to right. */
  const clickableCards = (m: TestMember): Node[] =>
    m.view
      .all({ clickable: true })
      .filter((n) => m.view.box(n).y0 >= BAND)
      .sort((a, b) => m.view.box(a).x0 - m.view.box(b).x0);
  const handOf = (game: HiddenHand, m: TestMember): string[] => game.seats.find((x) => x.id === m.id)!.hand.map(cardLabel);

  it('shows each player only their own hand; opponents see a count, spectators see bare felt', () => {
    const room = createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], spectators: 1, options: { seed: 11 } });
    const [ann, bob] = room.players;
    const [watcher] = room.spectators;
    const game = room.game;
    ticks(room, 3);

    const annHand = handOf(game, ann);
    const bobHand = handOf(game, bob);
    expect(annHand).toHaveLength(5);
    expect(bobHand).toHaveLength(5);
    expect(bandLabels(ann)).toEqual(new Set(annHand));
    expect(bandLabels(bob)).toEqual(new Set(bobHand));
    expect(clickableCards(ann)).toHaveLength(5);
    // Each hand is one private group: only its owner has it.
    const annsHandGroup = game.seats.find((x) => x.id === ann.id)!.handGroup;
    expect(room.seenBy(annsHandGroup)).toEqual([ann]);

    for (const [me, them] of [[ann, bobHand], [bob, annHand], [watcher, [...annHand, ...bobHand]]] as const) {
      for (const label of them) {
        expect(me.view.has(label)).toBe(false);
        expect(me.bytesContain(label)).toBe(false);
      }
      expect(me.view.texts()).toContain('Ann: 5 cards');
      expect(me.view.texts()).toContain('Bob: 5 cards');
    }
    room.assertPrivate();

    // The spectator's bottom band holds only the felt.
    const spectatorBand = watcher.view.all({ where: (n) => !(n instanceof Group) && watcher.view.box(n).y1 > BAND });
    expect(spectatorBand.map((n) => n.id)).toEqual([game.felt.id]);
    expect(watcher.view.get<Shape>(game.felt.id)!.fill).toEqual([21, 101, 61, 255]);
    expect(clickableCards(watcher)).toHaveLength(0);
  });

  it('plays a clicked card face down, reveals when everyone has played, and scores the highest card', () => {
    const room = createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], spectators: 1, options: { seed: 5, revealMs: 1000 } });
    const [ann, bob] = room.players;
    const [watcher] = room.spectators;
    const game = room.game;
    room.flush();

    const annCard = handOf(game, ann)[0];
    ann.click(annCard); // the card's label: the click reaches the card under it
    room.flush();
    // Ann sees her card on the table (and four in hand); Bob and the spectator only see a back.
    expect(bandLabels(ann).size).toBe(4);
    expect(tableLabels(ann)).toEqual(new Set([annCard]));
    expect(tableLabels(bob).size).toBe(0);
    expect(bob.bytesContain(annCard)).toBe(false);
    expect(watcher.bytesContain(annCard)).toBe(false);
    room.assertPrivate();
    expect(bob.view.texts()).toContain('Waiting for Bob');
    expect(bob.view.texts()).toContain('Ann: 4 cards');
    // Ann cannot play twice in a round.
    expect(clickableCards(ann)).toHaveLength(0);

    const bobCards = clickableCards(bob);
    const bobCard = handOf(game, bob)[bobCards.length - 1];
    bob.click(bobCards[bobCards.length - 1]);
    room.flush();
    for (const viewer of [ann, bob, watcher]) expect(tableLabels(viewer)).toEqual(new Set([annCard, bobCard]));
    const winner = game.seats.find((x) => x.score === 1)!;
    expect(game.seats.reduce((n, x) => n + x.score, 0)).toBe(1);
    const winName = winner.id === ann.id ? 'Ann' : 'Bob';
    expect(watcher.view.texts()).toContain(`${winName} wins the round with ${winner.id === ann.id ? annCard : bobCard}!`);

    // After the reveal the next round starts with the cards left.
    ticks(room, 25);
    expect(tableLabels(ann).size).toBe(0);
    expect(bandLabels(ann).size).toBe(4);
    expect(clickableCards(bob)).toHaveLength(4);
    expect(watcher.view.texts()).toContain('Waiting for Ann, Bob');
    room.assertPrivate();
  });

  it('deals a new hand when hands run out, and deals in late joiners at the next round', () => {
    const room = createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], options: { seed: 9, revealMs: 500 } });
    const [ann, bob] = room.players;
    const game = room.game;
    room.flush();
    const playFirst = (m: TestMember & { click(n: Node): unknown }): void => {
      m.click(clickableCards(m)[0]);
      room.flush();
    };
    playFirst(ann);
    const cyd = room.join('Cyd');
    room.flush();
    expect(cyd.view.texts()).toContain('You will be dealt in next round');
    expect(bandLabels(cyd).size).toBe(0);
    playFirst(bob);
    ticks(room, 12);
    // Cyd is dealt as many cards as the others hold.
    expect(bandLabels(cyd).size).toBe(4);
    expect(handOf(game, cyd)).toHaveLength(4);
    for (const label of handOf(game, cyd)) {
      expect(ann.bytesContain(label)).toBe(false);
      expect(bob.bytesContain(label)).toBe(false);
    }
    for (let round = 0; round < 4; round++) {
      for (const m of [ann, bob, cyd]) playFirst(m);
      ticks(room, 12);
    }
    expect(game.roundsPlayed).toBe(5);
    expect(game.seats.reduce((n, x) => n + x.score, 0)).toBe(5);
    for (const m of [ann, bob, cyd]) expect(bandLabels(m).size).toBe(5);
    // Five rounds and two deals: nobody was ever sent a card of another's hand.
    room.assertPrivate();
  });

  it('lifts the card under your pointer, in your view only', () => {
    const room = createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], options: { seed: 6 } });
    const [ann] = room.players;
    room.flush();
    const second = clickableCards(ann)[1];
    const box = ann.view.box(second);
    ann.pointerMove((box.x0 + box.x1) / 2, 85);
    room.flush();
    const lifted = ann.view.box(second.id);
    expect(lifted.y0).toBeCloseTo(box.y0 - 2.2, 5);
    expect(clickableCards(ann).filter((n) => ann.view.box(n).y0 < box.y0)).toHaveLength(1);
    ann.pointerMove(50, 40);
    room.flush();
    expect(clickableCards(ann).every((n) => ann.view.box(n).y0 === box.y0)).toBe(true);
  });

  it('a player leaving mid-round hands the round back to the others', () => {
    const room = createTestRoom(HiddenHand, { players: ['Ann', 'Bob'], options: { seed: 4 } });
    const [ann, bob] = room.players;
    room.flush();
    ann.click(clickableCards(ann)[2]);
    room.flush();
    expect(bandLabels(ann).size).toBe(4);
    room.leave(bob);
    room.flush();
    // Ann takes her card back and waits.
    expect(bandLabels(ann).size).toBe(5);
    expect(ann.view.texts()).toContain('Waiting for players… (1/2)');
    expect(ann.view.has(/^Bob/)).toBe(false);
    const cyd = room.join('Cyd');
    room.flush();
    expect(bandLabels(cyd).size).toBe(5);
    expect(clickableCards(ann)).toHaveLength(5);
    room.assertPrivate();
  });
});

// ------------------------------------------------------------------ star-field

describe('star-field', () => {
  /** Where a world point lands on a member's screen, through their decoded camera group. */
  const onScreen = (viewer: TestMember, game: StarField, wx: number, wy: number): [number, number] => {
    const cam = viewer.view.get<Group>(game.world.id)!;
    return [cam.x + cam.scale * wx, cam.y + cam.scale * wy];
  };
  const shipPos = (viewer: TestMember, game: StarField, pilot: TestMember): [number, number] => {
    const g = viewer.view.get<Group>(game.ships.get(pilot.id)!.group.id)!;
    return [g.x, g.y];
  };
  const camera = (viewer: TestMember, game: StarField): Group => viewer.view.get<Group>(game.world.id)!;

  it('is a 1000×1000 ViewableGame with a few hundred seeded stars', () => {
    const a = new StarField({ seed: 3 });
    const b = new StarField({ seed: 3 });
    expect(a).toBeInstanceOf(ViewableGame);
    expect([a.worldWidth, a.worldHeight]).toEqual([1000, 1000]);
    const circles = (g: StarField): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      const walk = (n: Node, tx: number, ty: number): void => {
        if (n instanceof Shape && n.shapeType === 'circle') out.push([tx + n.x, ty + n.y]);
        const [cx, cy] = n instanceof Group && n !== g.world ? [tx + n.x, ty + n.y] : [tx, ty];
        for (const c of n.children) walk(c, cx, cy);
      };
      walk(g.world, 0, 0);
      return out;
    };
    expect(circles(a).length).toBeGreaterThan(300);
    expect(circles(a)).toEqual(circles(b));
    expect(circles(new StarField({ seed: 4 }))).not.toEqual(circles(a));
    expect(a.getLayers()[1]).toBe(a.world);
  });

  it("centres each player's camera on their own ship, follows it, and zooms with +/-", () => {
    const room = createTestRoom(StarField, { players: ['Ann', 'Bob'], spectators: 1, options: { seed: 1 } });
    const [ann, bob] = room.players;
    const [watcher] = room.spectators;
    const game = room.game;
    room.flush();
    for (const m of [ann, bob]) {
      const [x, y] = onScreen(m, game, ...shipPos(m, game, m));
      expect(x).toBeCloseTo(50, 1);
      expect(y).toBeCloseTo(50, 1);
    }
    const bobCamXY = [camera(bob, game).x, camera(bob, game).y];

    // Ann flies right for a second: her ship moves, her camera follows, Bob's does not.
    const [ax0, ay0] = shipPos(ann, game, ann);
    ann.hold('ArrowRight');
    room.step(1000);
    ann.release('ArrowRight');
    room.step(1000);
    const [ax1, ay1] = shipPos(ann, game, ann);
    expect(ax1 - ax0).toBeGreaterThan(40);
    expect(ay1).toBeCloseTo(ay0, 5);
    expect(onScreen(ann, game, ax1, ay1)[0]).toBeCloseTo(50, 1);
    expect([camera(bob, game).x, camera(bob, game).y]).toEqual(bobCamXY);
    // Bob sees Ann's ship where it is.
    expect(shipPos(bob, game, ann)).toEqual([ax1, ay1]);

    // Zoom: two '+' presses for Ann only. A second '+' keydown while it is held is what a
    // browser's auto-repeat would send: the engine drops it, so it is not a third step.
    ann.hold('+').send({ kind: 'keydown', key: '+' }).release('+').press('=');
    room.step(1000);
    expect(camera(ann, game).scale).toBeCloseTo(1.5625, 3);
    expect(camera(bob, game).scale).toBe(1);
    const [cx, cy] = onScreen(ann, game, ...shipPos(ann, game, ann));
    expect(cx).toBeCloseTo(50, 1);
    expect(cy).toBeCloseTo(50, 1);
    expect(ann.view.has(/zoom 1\.56×/)).toBe(true);
    expect(ann.view.has(new RegExp(`^x ${Math.round(ax1)}  y ${Math.round(ay1)}`))).toBe(true);
    // The coordinates HUD is private.
    expect(bob.view.has(/zoom 1\.56×/)).toBe(false);
    expect(watcher.view.has(/zoom \d/)).toBe(false);

    // Zoom is clamped to 0.5–3.
    for (let i = 0; i < 10; i++) ann.press('-');
    ticks(room, 40);
    expect(camera(ann, game).scale).toBe(0.5);
    for (let i = 0; i < 12; i++) bob.press('+');
    ticks(room, 40);
    expect(camera(bob, game).scale).toBe(3);

    // Spectators see the whole world.
    const spec = camera(watcher, game);
    expect([spec.x, spec.y]).toEqual([0, 0]);
    expect(spec.scale).toBeCloseTo(0.1, 6); // the camera's scale travels as a float32
    room.assertPrivate();
  });

  it('clamps the camera at the edge of the world', () => {
    const room = createTestRoom(StarField, { players: ['Ann'], options: { seed: 2 } });
    const [ann] = room.players;
    const game = room.game;
    ann.hold('a').hold('w');
    room.step(20_000);
    expect(shipPos(ann, game, ann)).toEqual([0, 0]);
    const cam = camera(ann, game);
    expect([cam.x, cam.y, cam.scale]).toEqual([0, 0, 1]);
    ann.release('a').release('w').hold('ArrowRight').hold('ArrowDown');
    room.step(30_000);
    expect(shipPos(ann, game, ann)).toEqual([1000, 1000]);
    const cam2 = camera(ann, game);
    expect([cam2.x, cam2.y]).toEqual([-900, -900]);
  });

  it('removes a ship when its pilot leaves', () => {
    const room = createTestRoom(StarField, { players: ['Ann', 'Bob'], options: { seed: 1 } });
    const [ann, bob] = room.players;
    const game = room.game;
    room.flush();
    const bobShip = game.ships.get(bob.id)!.group.id;
    expect(ann.view.nodes.has(bobShip)).toBe(true);
    room.leave(bob);
    room.flush();
    expect(ann.view.nodes.has(bobShip)).toBe(false);
    expect(ann.view.texts()).toContain('Star Field · 1 pilot');
  });
});
