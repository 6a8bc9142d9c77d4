/**
 * Drives the example games through the server's own room engine on a manual clock
 * (`RoomEngine` with `{ clock: 'manual' }` from @parlor/server/testing: the same join, input, tick and
 * flush code that runs a live room), and checks what each player's SceneMirror — rebuilt from
 * the very bytes their socket would receive — shows.
 */
import { describe, expect, it } from 'vitest';
import { Group, SceneMirror, Shape, Text, ViewableGame, messageFor, type Game, type GameClass, type InputEvent, type Node, type PlayerId } from '@parlor/squish';
import { RoomEngine, type FramesMessage, type HostToEngineMessage } from '@parlor/server/testing';
import Pong from '../pong/index.js';
import HiddenHand, { cardLabel } from '../hidden-hand/index.js';
import StarField from '../star-field/index.js';

// ------------------------------------------------------------------ harness

/**
 * One room on the engine's manual clock, with a SceneMirror per recipient fed the messages the
 * engine produced for it. The engine does everything a room does (players map, held keys and
 * their auto-repeat, hooks, click routing, tick, Squisher flush); this only records what each
 * socket would receive, and fails on any error the game reported.
 */
class TestRoom<G extends Game> {
  readonly engine: RoomEngine<G>;
  readonly game: G;
  readonly mirrors = new Map<PlayerId, SceneMirror>();
  /** Every frame message each recipient was sent (parts concatenated, as on the socket). */
  readonly received = new Map<PlayerId, Uint8Array[]>();
  private readonly errors: string[] = [];

  constructor(gameClass: GameClass & (new (options?: Record<string, unknown>) => G), options: Record<string, unknown>) {
    this.engine = new RoomEngine<G>(
      { gameClass, options },
      { clock: 'manual', post: (m) => void (m.type === 'error' && this.errors.push(`${m.where}: ${m.message}`)) },
    );
    this.engine.start();
    this.check();
    this.game = this.engine.game!;
  }

  join(id: PlayerId, name: string): this {
    this.watch(id);
    return this.send({ type: 'join', playerId: id, name, spectator: false });
  }

  spectate(id: PlayerId): this {
    this.watch(id);
    return this.send({ type: 'join', playerId: id, name: `Spectator ${id}`, spectator: true });
  }

  private watch(id: PlayerId): void {
    this.mirrors.set(id, new SceneMirror());
    this.received.set(id, []);
  }

  leave(id: PlayerId): this {
    this.mirrors.delete(id);
    return this.send({ type: 'leave', playerId: id });
  }

  input(id: PlayerId, event: InputEvent): this {
    return this.send({ type: 'input', playerId: id, event });
  }

  keyDown(id: PlayerId, key: string): this {
    return this.input(id, { kind: 'keydown', key });
  }

  keyUp(id: PlayerId, key: string): this {
    return this.input(id, { kind: 'keyup', key });
  }

  /** A click on a node as the player's client would send it: only on a clickable node it was shown. */
  click(id: PlayerId, nodeId: number): this {
    const node = this.mirror(id).nodes.get(nodeId);
    if (!node?.clickable) throw new Error(`player ${id} was not shown a clickable node ${nodeId}`);
    return this.input(id, { kind: 'click', nodeId, x: 50, y: 85 });
  }

  /** Sends what handlers changed since the last tick: one engine tick of 0 ms. */
  flush(): this {
    return this.run(1, 0);
  }

  /** Runs `n` engine ticks of `dtMs` each, delivering every tick's frames. */
  run(n: number, dtMs: number): this {
    for (let i = 0; i < n; i++) {
      const frames = this.engine.step(dtMs);
      this.check();
      if (frames) this.deliver(frames);
    }
    return this;
  }

  private send(msg: HostToEngineMessage): this {
    this.engine.handle(msg);
    this.check();
    return this;
  }

  private deliver(frames: FramesMessage): void {
    for (const send of frames.sends) {
      const bytes = messageFor(frames, send.playerId)!;
      this.received.get(send.playerId)?.push(bytes);
      const mirror = this.mirrors.get(send.playerId);
      // The engine's full/delta mark is what the bytes are.
      if (mirror) expect(mirror.apply(bytes).full).toBe(send.full);
    }
  }

  private check(): void {
    if (this.errors.length) throw new Error(`the game failed: ${this.errors.join('; ')}`);
  }

  mirror(id: PlayerId): SceneMirror {
    const m = this.mirrors.get(id);
    if (!m?.root) throw new Error(`no scene for ${id}`);
    return m;
  }

  node<T extends Node>(id: PlayerId, nodeId: number): T | undefined {
    return this.mirror(id).nodes.get(nodeId) as T | undefined;
  }

  /** Every text string in the player's mirrored scene. */
  texts(id: PlayerId): string[] {
    return drawn(this.mirror(id).root!).filter((d) => d.node instanceof Text).map((d) => (d.node as Text).text);
  }

  /** Whether `needle` appears as UTF-8 anywhere in the bytes this player was ever sent. */
  bytesContain(id: PlayerId, needle: string): boolean {
    const pat = new TextEncoder().encode(needle);
    return this.received.get(id)!.some((buf) => indexOf(buf, pat) >= 0);
  }
}

function indexOf(hay: Uint8Array, pat: Uint8Array): number {
  outer: for (let i = 0; i + pat.length <= hay.length; i++) {
    for (let j = 0; j < pat.length; j++) if (hay[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

/** A drawn leaf with its bounding box on screen (group transforms applied). */
interface Drawn {
  node: Node;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function drawn(root: Node): Drawn[] {
  const out: Drawn[] = [];
  const walk = (n: Node, tx: number, ty: number, s: number): void => {
    if (n instanceof Group) {
      for (const c of n.children) walk(c, tx + s * n.x, ty + s * n.y, s * n.scale);
      return;
    }
    if (n instanceof Shape) {
      const [a, b, c, d] = n.bounds();
      out.push({ node: n, x0: tx + s * a, y0: ty + s * b, x1: tx + s * c, y1: ty + s * d });
    } else if (n instanceof Text) {
      out.push({ node: n, x0: tx + s * n.x, y0: ty + s * n.y, x1: tx + s * n.x, y1: ty + s * (n.y + n.size) });
    }
    for (const c of n.children) walk(c, tx, ty, s);
  };
  walk(root, 0, 0, 1);
  return out;
}

const FRAME_60 = 1000 / 60;
const FRAME_30 = 1000 / 30;
const FRAME_20 = 1000 / 20;

// ------------------------------------------------------------------ pong

describe('pong', () => {
  const paddleTop = (s: TestRoom<Pong>, viewer: PlayerId, shape: Shape): number => s.node<Shape>(viewer, shape.id)!.bounds()[1];
  const ballAt = (s: TestRoom<Pong>, viewer: PlayerId, game: Pong): [number, number] => {
    const b = s.node<Shape>(viewer, game.ballShape.id)!;
    return [b.x, b.y];
  };

  it('declares 2 players at 60 Hz on a 16:9 screen', () => {
    expect(Pong.metadata()).toMatchObject({ tickRate: 60, maxPlayers: 2, aspectRatio: { x: 16, y: 9 } });
  });

  it('moves your own paddle while ArrowDown (or s) is held, at paddle speed × time', () => {
    const s = new TestRoom(Pong, { seed: 1 }).join(1, 'Ann').join(2, 'Bob');
    const game = s.game;
    s.flush();
    const [left, right] = game.paddles;
    expect(s.node<Shape>(1, left.shape.id)!.bounds()).toEqual([2, 41, 4, 59]);
    expect(s.node<Shape>(1, right.shape.id)!.bounds()).toEqual([96, 41, 98, 59]);

    s.keyDown(1, 'ArrowDown').run(20, FRAME_60);
    const moved = paddleTop(s, 1, left.shape);
    expect(moved).toBeCloseTo(41 + (95 * 20) / 60, 1);
    // Both players see it; the other paddle did not move.
    expect(paddleTop(s, 2, left.shape)).toBeCloseTo(moved, 2);
    expect(paddleTop(s, 2, right.shape)).toBe(41);

    s.keyUp(1, 'ArrowDown').run(10, FRAME_60);
    expect(paddleTop(s, 1, left.shape)).toBeCloseTo(moved, 2);

    // Player 2 uses w/s; a paddle never leaves the screen.
    s.keyDown(2, 'w').run(120, FRAME_60);
    expect(paddleTop(s, 1, right.shape)).toBe(0);
    s.keyUp(2, 'w').keyDown(2, 's').run(200, FRAME_60);
    expect(paddleTop(s, 2, right.shape)).toBe(82);
  });

  it('keeps the ball still until a second player joins, then serves; it waits again when one leaves', () => {
    const s = new TestRoom(Pong, { seed: 2 }).join(1, 'Ann');
    const game = s.game;
    s.run(120, FRAME_60);
    expect(ballAt(s, 1, game)).toEqual([50, 50]);
    expect(s.texts(1)).toContain('Waiting for a second player…');
    expect(s.texts(1)).toContain('You are the left paddle · ↑/↓ or W/S');

    s.join(2, 'Bob').run(60, FRAME_60); // serve delay is 1.2 s
    expect(ballAt(s, 2, game)).toEqual([50, 50]);
    s.run(40, FRAME_60);
    const [bx, by] = ballAt(s, 2, game);
    expect(Math.abs(bx - 50) + Math.abs(by - 50)).toBeGreaterThan(1);
    expect(ballAt(s, 1, game)).toEqual([bx, by]);
    // Each player sees only their own hint.
    expect(s.texts(2)).toContain('You are the right paddle · ↑/↓ or W/S');
    expect(s.texts(2)).not.toContain('You are the left paddle · ↑/↓ or W/S');
    expect(s.bytesContain(2, 'left paddle')).toBe(false);

    s.leave(2).run(60, FRAME_60);
    expect(ballAt(s, 1, game)).toEqual([50, 50]);
    expect(s.texts(1)).toContain('Waiting for a second player…');
    s.run(60, FRAME_60);
    expect(ballAt(s, 1, game)).toEqual([50, 50]);
  });

  it('bounces off paddles, speeds up on every hit, and scores', () => {
    const s = new TestRoom(Pong, { seed: 3, winScore: 3 }).join(1, 'Ann').join(2, 'Bob');
    const game = s.game;
    let maxSpeed = 0;
    let hits = 0;
    let last = game.ball.speed;
    // Paddles stay centred: serves near the middle come back, steep ones score.
    for (let i = 0; i < 60 * 60 && game.phase !== 'won'; i++) {
      s.run(1, FRAME_60);
      if (game.ball.speed > last) hits++;
      last = game.ball.speed;
      maxSpeed = Math.max(maxSpeed, game.ball.speed);
    }
    expect(game.phase).toBe('won');
    expect(hits).toBeGreaterThan(0);
    expect(maxSpeed).toBeGreaterThan(70);
    expect(Math.max(...game.scores)).toBe(3);
    const texts = s.texts(1);
    expect(texts).toContain(String(game.scores[0]));
    expect(texts).toContain(String(game.scores[1]));
    expect(texts.some((t) => / wins 3–\d!$/.test(t))).toBe(true);
  });
});

// ------------------------------------------------------------------ hidden-hand

describe('hidden-hand', () => {
  const LABEL = /^(10|[2-9JQKA])[♣♦♥♠]$/;
  const BAND = 70;

  /** Labels of the cards drawn in the bottom band of a player's screen. */
  const bandLabels = (s: TestRoom<HiddenHand>, viewer: PlayerId): Set<string> =>
    new Set(
      drawn(s.mirror(viewer).root!)
        .filter((d) => d.node instanceof Text && d.y0 >= BAND && LABEL.test((d.node as Text).text))
        .map((d) => (d.node as Text).text),
    );
  /** Labels of the cards drawn on the table (above the band). */
  const tableLabels = (s: TestRoom<HiddenHand>, viewer: PlayerId): Set<string> =>
    new Set(
      drawn(s.mirror(viewer).root!)
        .filter((d) => d.node instanceof Text && d.y0 < BAND && LABEL.test((d.node as Text).text))
        .map((d) => (d.node as Text).text),
    );
  /** Clickable nodes in the player's band, left to right. */
  const clickableCards = (s: TestRoom<HiddenHand>, viewer: PlayerId): Drawn[] =>
    drawn(s.mirror(viewer).root!)
      .filter((d) => d.node.clickable && d.y0 >= BAND)
      .sort((a, b) => a.x0 - b.x0);
  const handOf = (game: HiddenHand, id: PlayerId): string[] => game.seats.find((x) => x.id === id)!.hand.map(cardLabel);

  it('shows each player only their own hand; opponents see a count, spectators see bare felt', () => {
    const s = new TestRoom(HiddenHand, { seed: 11 }).join(1, 'Ann').join(2, 'Bob').spectate(99);
    const game = s.game;
    s.run(3, FRAME_20);

    const ann = handOf(game, 1);
    const bob = handOf(game, 2);
    expect(ann).toHaveLength(5);
    expect(bob).toHaveLength(5);
    expect(bandLabels(s, 1)).toEqual(new Set(ann));
    expect(bandLabels(s, 2)).toEqual(new Set(bob));
    expect(clickableCards(s, 1)).toHaveLength(5);

    for (const [me, them] of [[1, bob], [2, ann], [99, [...ann, ...bob]]] as const) {
      const texts = s.texts(me);
      for (const label of them) {
        expect(texts).not.toContain(label);
        expect(s.bytesContain(me, label)).toBe(false);
      }
      expect(texts).toContain('Ann: 5 cards');
      expect(texts).toContain('Bob: 5 cards');
    }

    // The spectator's bottom band holds only the felt.
    const spectatorBand = drawn(s.mirror(99).root!).filter((d) => d.y1 > BAND);
    expect(spectatorBand.map((d) => d.node.id)).toEqual([game.felt.id]);
    expect((s.node<Shape>(99, game.felt.id)!).fill).toEqual([21, 101, 61, 255]);
    expect(clickableCards(s, 99)).toHaveLength(0);
  });

  it('plays a clicked card face down, reveals when everyone has played, and scores the highest card', () => {
    const s = new TestRoom(HiddenHand, { seed: 5, revealMs: 1000 }).join(1, 'Ann').join(2, 'Bob').spectate(99);
    const game = s.game;
    s.flush();

    const annCard = handOf(game, 1)[0];
    s.click(1, clickableCards(s, 1)[0].node.id);
    s.flush();
    // Ann sees her card on the table (and four in hand); Bob and the spectator only see a back.
    expect(bandLabels(s, 1).size).toBe(4);
    expect(tableLabels(s, 1)).toEqual(new Set([annCard]));
    expect(tableLabels(s, 2).size).toBe(0);
    expect(s.bytesContain(2, annCard)).toBe(false);
    expect(s.bytesContain(99, annCard)).toBe(false);
    expect(s.texts(2)).toContain('Waiting for Bob');
    expect(s.texts(2)).toContain('Ann: 4 cards');
    // Ann cannot play twice in a round.
    expect(clickableCards(s, 1)).toHaveLength(0);

    const bobCards = clickableCards(s, 2);
    const bobCard = handOf(game, 2)[bobCards.length - 1];
    s.click(2, bobCards[bobCards.length - 1].node.id);
    s.flush();
    for (const viewer of [1, 2, 99]) expect(tableLabels(s, viewer)).toEqual(new Set([annCard, bobCard]));
    const winner = game.seats.find((x) => x.score === 1)!;
    expect(game.seats.reduce((n, x) => n + x.score, 0)).toBe(1);
    const winName = winner.id === 1 ? 'Ann' : 'Bob';
    expect(s.texts(99)).toContain(`${winName} wins the round with ${winner.id === 1 ? annCard : bobCard}!`);

    // After the reveal the next round starts with the cards left.
    s.run(25, FRAME_20);
    expect(tableLabels(s, 1).size).toBe(0);
    expect(bandLabels(s, 1).size).toBe(4);
    expect(clickableCards(s, 2)).toHaveLength(4);
    expect(s.texts(99)).toContain('Waiting for Ann, Bob');
  });

  it('deals a new hand when hands run out, and deals in late joiners at the next round', () => {
    const s = new TestRoom(HiddenHand, { seed: 9, revealMs: 500 }).join(1, 'Ann').join(2, 'Bob');
    const game = s.game;
    s.flush();
    const playFirst = (id: PlayerId): void => {
      s.click(id, clickableCards(s, id)[0].node.id);
      s.flush();
    };
    playFirst(1);
    s.join(3, 'Cyd').flush();
    expect(s.texts(3)).toContain('You will be dealt in next round');
    expect(bandLabels(s, 3).size).toBe(0);
    playFirst(2);
    s.run(12, FRAME_20);
    // Cyd is dealt as many cards as the others hold.
    expect(bandLabels(s, 3).size).toBe(4);
    expect(handOf(game, 3)).toHaveLength(4);
    for (const label of handOf(game, 3)) {
      expect(s.bytesContain(1, label)).toBe(false);
      expect(s.bytesContain(2, label)).toBe(false);
    }
    for (let round = 0; round < 4; round++) {
      for (const id of [1, 2, 3]) playFirst(id);
      s.run(12, FRAME_20);
    }
    expect(game.roundsPlayed).toBe(5);
    expect(game.seats.reduce((n, x) => n + x.score, 0)).toBe(5);
    for (const id of [1, 2, 3]) expect(bandLabels(s, id).size).toBe(5);
  });

  it('lifts the card under your pointer, in your view only', () => {
    const s = new TestRoom(HiddenHand, { seed: 6 }).join(1, 'Ann').join(2, 'Bob');
    s.flush();
    const cards = clickableCards(s, 1);
    const second = cards[1];
    s.input(1, { kind: 'pointermove', x: (second.x0 + second.x1) / 2, y: 85 });
    s.flush();
    const lifted = clickableCards(s, 1).find((d) => d.node.id === second.node.id)!;
    expect(lifted.y0).toBeCloseTo(second.y0 - 2.2, 5);
    expect(clickableCards(s, 1).filter((d) => d.y0 < second.y0)).toHaveLength(1);
    s.input(1, { kind: 'pointermove', x: 50, y: 40 });
    s.flush();
    expect(clickableCards(s, 1).every((d) => d.y0 === second.y0)).toBe(true);
  });

  it('a player leaving mid-round hands the round back to the others', () => {
    const s = new TestRoom(HiddenHand, { seed: 4 }).join(1, 'Ann').join(2, 'Bob');
    s.flush();
    s.click(1, clickableCards(s, 1)[2].node.id);
    s.flush();
    expect(bandLabels(s, 1).size).toBe(4);
    s.leave(2).flush();
    // Ann takes her card back and waits.
    expect(bandLabels(s, 1).size).toBe(5);
    expect(s.texts(1)).toContain('Waiting for players… (1/2)');
    expect(s.texts(1).some((t) => t.startsWith('Bob'))).toBe(false);
    s.join(3, 'Cyd').flush();
    expect(bandLabels(s, 3).size).toBe(5);
    expect(clickableCards(s, 1)).toHaveLength(5);
  });
});

// ------------------------------------------------------------------ star-field

describe('star-field', () => {
  /** Where a world point lands on a player's screen, through their mirrored camera group. */
  const onScreen = (s: TestRoom<StarField>, viewer: PlayerId, game: StarField, wx: number, wy: number): [number, number] => {
    const cam = s.node<Group>(viewer, game.world.id)!;
    return [cam.x + cam.scale * wx, cam.y + cam.scale * wy];
  };
  const shipPos = (s: TestRoom<StarField>, viewer: PlayerId, game: StarField, id: PlayerId): [number, number] => {
    const g = s.node<Group>(viewer, game.ships.get(id)!.group.id)!;
    return [g.x, g.y];
  };

  it('is a 1000×1000 ViewableGame with a few hundred seeded stars', () => {
    const a = new StarField({ seed: 3 });
    const b = new StarField({ seed: 3 });
    expect(a).toBeInstanceOf(ViewableGame);
    expect([a.worldWidth, a.worldHeight]).toEqual([1000, 1000]);
    const circles = (g: StarField): Array<[number, number]> =>
      drawn(g.world).filter((d) => d.node instanceof Shape && (d.node as Shape).shapeType === 'circle').map((d) => [d.x0, d.y0]);
    expect(circles(a).length).toBeGreaterThan(300);
    expect(circles(a)).toEqual(circles(b));
    expect(circles(new StarField({ seed: 4 }))).not.toEqual(circles(a));
    expect(a.getLayers()[1]).toBe(a.world);
  });

  it("centres each player's camera on their own ship, follows it, and zooms with +/-", () => {
    const s = new TestRoom(StarField, { seed: 1 }).join(1, 'Ann').join(2, 'Bob').spectate(99);
    const game = s.game;
    s.flush();
    for (const id of [1, 2]) {
      const [x, y] = onScreen(s, id, game, ...shipPos(s, id, game, id));
      expect(x).toBeCloseTo(50, 1);
      expect(y).toBeCloseTo(50, 1);
    }
    const bobCamXY = [s.node<Group>(2, game.world.id)!.x, s.node<Group>(2, game.world.id)!.y];

    // Ann flies right for a second: her ship moves, her camera follows, Bob's does not.
    const [ax0, ay0] = shipPos(s, 1, game, 1);
    s.keyDown(1, 'ArrowRight').run(30, FRAME_30).keyUp(1, 'ArrowRight').run(30, FRAME_30);
    const [ax1, ay1] = shipPos(s, 1, game, 1);
    expect(ax1 - ax0).toBeGreaterThan(40);
    expect(ay1).toBeCloseTo(ay0, 5);
    expect(onScreen(s, 1, game, ax1, ay1)[0]).toBeCloseTo(50, 1);
    expect([s.node<Group>(2, game.world.id)!.x, s.node<Group>(2, game.world.id)!.y]).toEqual(bobCamXY);
    // Bob sees Ann's ship where it is.
    expect(shipPos(s, 2, game, 1)).toEqual([ax1, ay1]);

    // Zoom: two '+' presses for Ann only. The second '+' keydown is the browser's auto-repeat
    // of a held key: the engine drops it, so it is not a third step.
    s.keyDown(1, '+').keyDown(1, '+').keyUp(1, '+').keyDown(1, '=').keyUp(1, '=').run(30, FRAME_30);
    expect(s.node<Group>(1, game.world.id)!.scale).toBeCloseTo(1.5625, 3);
    expect(s.node<Group>(2, game.world.id)!.scale).toBe(1);
    const [cx, cy] = onScreen(s, 1, game, ...shipPos(s, 1, game, 1));
    expect(cx).toBeCloseTo(50, 1);
    expect(cy).toBeCloseTo(50, 1);
    expect(s.texts(1).some((t) => t.includes('zoom 1.56×'))).toBe(true);
    expect(s.texts(1).some((t) => t.startsWith(`x ${Math.round(ax1)}  y ${Math.round(ay1)}`))).toBe(true);
    // The coordinates HUD is private.
    expect(s.texts(2).some((t) => t.includes('zoom 1.56×'))).toBe(false);
    expect(s.texts(99).some((t) => /zoom \d/.test(t))).toBe(false);

    // Zoom is clamped to 0.5–3.
    for (let i = 0; i < 10; i++) s.keyDown(1, '-').keyUp(1, '-');
    s.run(40, FRAME_30);
    expect(s.node<Group>(1, game.world.id)!.scale).toBe(0.5);
    for (let i = 0; i < 12; i++) s.keyDown(2, '+').keyUp(2, '+');
    s.run(40, FRAME_30);
    expect(s.node<Group>(2, game.world.id)!.scale).toBe(3);

    // Spectators see the whole world.
    const spec = s.node<Group>(99, game.world.id)!;
    expect([spec.x, spec.y]).toEqual([0, 0]);
    expect(spec.scale).toBeCloseTo(0.1, 6); // the camera's scale travels as a float32
  });

  it('clamps the camera at the edge of the world', () => {
    const s = new TestRoom(StarField, { seed: 2 }).join(1, 'Ann');
    const game = s.game;
    s.keyDown(1, 'a').keyDown(1, 'w').run(30 * 20, FRAME_30);
    expect(shipPos(s, 1, game, 1)).toEqual([0, 0]);
    const cam = s.node<Group>(1, game.world.id)!;
    expect([cam.x, cam.y, cam.scale]).toEqual([0, 0, 1]);
    s.keyUp(1, 'a').keyUp(1, 'w').keyDown(1, 'ArrowRight').keyDown(1, 'ArrowDown').run(30 * 30, FRAME_30);
    expect(shipPos(s, 1, game, 1)).toEqual([1000, 1000]);
    const cam2 = s.node<Group>(1, game.world.id)!;
    expect([cam2.x, cam2.y]).toEqual([-900, -900]);
  });

  it('removes a ship when its pilot leaves', () => {
    const s = new TestRoom(StarField, { seed: 1 }).join(1, 'Ann').join(2, 'Bob');
    const game = s.game;
    s.flush();
    const bobShip = game.ships.get(2)!.group.id;
    expect(s.mirror(1).nodes.has(bobShip)).toBe(true);
    s.leave(2).flush();
    expect(s.mirror(1).nodes.has(bobShip)).toBe(false);
    expect(s.texts(1)).toContain('Star Field · 1 pilot');
  });
});
