/**
 * The test kit for game authors (`@parlor/server/testing`), through its public API: rooms on the
 * manual clock, members' views decoded from their own bytes, input as the browser sends it, the
 * privacy check, and the typed errors for misuse and for a failing game.
 */
import { describe, expect, it } from 'vitest';
import { Asset, Game, Group, SceneMirror, Shape, ShapeUtils, Text, type GamepadState, type PlayerId, type PlayerInfo } from '@parlor/squish';
import { createTestRoom, TestKitError, type TestPlayer } from '@parlor/server/testing';

/** A small game touching every input: a button, a private note per player, keys, pointer, gamepad. */
class Lab extends Game {
  static override metadata() {
    return { name: 'Lab', tickRate: 20, maxPlayers: 3, aspectRatio: { x: 16, y: 9 } };
  }
  readonly log: string[] = [];
  readonly clicks: Array<[PlayerId, number, number]> = [];
  elapsed = 0;
  readonly title = new Text({ text: 'Lab', x: 50, y: 2, size: 5, align: 'center' });
  readonly button = new Group({
    x: 40,
    y: 40,
    onClick: (pid, x, y) => void this.clicks.push([pid, x, y]),
    children: [new Shape({ points: ShapeUtils.rectangle(0, 0, 20, 10), fill: [0, 0, 255, 255] }), new Text({ text: 'Press me', x: 10, y: 3, size: 4, align: 'center' })],
  });
  readonly plain = new Shape({ points: ShapeUtils.rectangle(0, 80, 10, 90), fill: [0, 255, 0, 255] });
  /** A clickable dot drawn under a big non-clickable cover, and one under a clickable cover. */
  readonly hidden = new Shape({ shapeType: 'circle', x: 80, y: 80, radius: 3, fill: [255, 0, 0, 255], onClick: () => void this.log.push('hidden') });
  readonly cover = new Shape({ points: ShapeUtils.rectangle(70, 70, 30, 30), fill: [9, 9, 9, 255], onClick: () => void this.log.push('cover') });
  readonly notes = new Group();
  readonly root = new Group({ children: [this.title, this.button, this.plain, this.hidden, this.cover, this.notes] });
  override getLayers() {
    return [this.root];
  }
  override onPlayerJoin(p: PlayerInfo) {
    this.log.push(`join ${p.name}`);
    this.notes.addChild(new Text({ text: `secret of ${p.name}`, x: 2, y: 95, size: 3, playerIds: [p.id] }));
  }
  override onPlayerLeave(id: PlayerId) {
    this.log.push(`leave ${id}`);
  }
  override onKeyDown(id: PlayerId, key: string) {
    if (key === 'Escape') throw new Error('no escape');
    this.log.push(`down ${id} ${key}`);
  }
  override onKeyUp(id: PlayerId, key: string) {
    this.log.push(`up ${id} ${key}`);
  }
  override onPointerDown(id: PlayerId, x: number, y: number) {
    this.log.push(`pdown ${id} ${x} ${y}`);
  }
  override onPointerMove(id: PlayerId, x: number, y: number) {
    this.log.push(`pmove ${id} ${x} ${y}`);
  }
  override onPointerUp(id: PlayerId, x: number, y: number) {
    this.log.push(`pup ${id} ${x} ${y}`);
  }
  override onGamepad(id: PlayerId, s: GamepadState) {
    this.log.push(`pad ${id} ${s.index} ${s.buttons.join(',')} ${s.axes.join(',')}`);
  }
  override tick(dt: number) {
    this.elapsed += dt;
  }
}

/** Expects `fn` to throw a TestKitError with this code and a message matching `message`. */
function expectKitError(fn: () => unknown, code: string, message: RegExp): TestKitError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TestKitError);
  expect((caught as TestKitError).code).toBe(code);
  expect((caught as TestKitError).message).toMatch(message);
  return caught as TestKitError;
}

describe('createTestRoom: members and the manual clock', () => {
  it('joins players (by count or by name) and spectators; only players are shown to the game', () => {
    const room = createTestRoom(Lab, { players: 2, spectators: 1 });
    expect(room.players.map((p) => [p.id, p.name, p.spectator])).toEqual([[1, 'Player 1', false], [2, 'Player 2', false]]);
    expect(room.spectators.map((s) => [s.id, s.name, s.spectator])).toEqual([[3, 'Spectator 1', true]]);
    expect([...room.game.players.values()].map((p) => p.name)).toEqual(['Player 1', 'Player 2']);
    const named = createTestRoom(Lab, { players: ['Ann', 'Bob'] });
    expect(named.game.log).toEqual(['join Ann', 'join Bob']);
    const cyd = named.join('Cyd');
    expect([cyd.id, named.players.length]).toEqual([3, 3]);
    named.leave(named.players[1]);
    expect(named.game.log.at(-1)).toBe('leave 2');
    expect(named.players.map((p) => p.name)).toEqual(['Ann', 'Cyd']);
  });

  it('step() runs one tick; step(ms) runs the whole ticks that fit, carrying the rest; flush() a 0 ms tick', () => {
    const room = createTestRoom(Lab, { players: 1 });
    expect(room.tickMs).toBe(50);
    room.step();
    expect([room.ticks, room.timeMs, room.game.elapsed]).toEqual([1, 50, 50]);
    room.step(1000);
    expect([room.ticks, room.game.elapsed]).toEqual([21, 1050]);
    room.step(30);
    expect(room.ticks).toBe(21);
    room.step(30); // 60 ms carried: one more tick, 10 ms left
    expect(room.ticks).toBe(22);
    room.flush();
    expect([room.ticks, room.game.elapsed]).toEqual([23, 1100]);
    const fast = createTestRoom(Lab, { players: 1, tickMs: 10 });
    fast.step(100);
    expect(fast.ticks).toBe(10);
  });

  it('each view is decoded from exactly the bytes the member was sent, starting with a full frame', () => {
    const room = createTestRoom(Lab, { players: ['Ann', 'Bob'], spectators: 1 });
    const [ann] = room.players;
    expectKitError(() => ann.view.texts(), 'SERVER_TESTING_MISUSE', /Ann has not received a frame yet: call room.step\(\)/);
    room.step();
    room.game.title.text = 'Lab, later';
    room.step(500);
    for (const m of [...room.players, ...room.spectators]) {
      const mirror = new SceneMirror();
      const kinds = m.received.map((bytes) => mirror.apply(bytes).full);
      expect(kinds[0]).toBe(true);
      expect(kinds.slice(1).every((full) => !full)).toBe(true);
      expect([...mirror.nodes.keys()].sort()).toEqual([...m.view.nodes.keys()].sort());
      expect(m.view.texts()).toContain('Lab, later');
    }
    // a late joiner's first frame is full too
    const cyd = room.join('Cyd');
    room.step();
    expect(new SceneMirror().apply(cyd.received[0]).full).toBe(true);
  });
});

describe('views: queries', () => {
  const room = createTestRoom(Lab, { players: ['Ann', 'Bob'], spectators: 1 });
  room.step();
  const [ann, bob] = room.players;
  const [watcher] = room.spectators;

  it('finds nodes by text, RegExp, id, kind and clickability; one() names what is there when it fails', () => {
    expect(ann.view.one('Press me').text).toBe('Press me');
    expect(ann.view.all(/^secret of /).map((t) => t.text)).toEqual(['secret of Ann']);
    expect(ann.view.one(room.game.button.id).id).toBe(room.game.button.id);
    expect(ann.view.all({ kind: 'shape', clickable: true }).map((n) => n.id)).toEqual([room.game.hidden.id, room.game.cover.id]);
    expect(ann.view.has({ kind: 'group', clickable: true })).toBe(true);
    expect(ann.view.texts()).toEqual(['Lab', 'Press me', 'secret of Ann']);
    expect(watcher.view.texts()).toEqual(['Lab', 'Press me']);
    expectKitError(() => bob.view.one('secret of Ann'), 'SERVER_TESTING_QUERY', /Bob's view has no node matching the text "secret of Ann"; its texts: "Lab", "Press me", "secret of Bob"/);
    expectKitError(() => ann.view.one({ kind: 'shape' }), 'SERVER_TESTING_QUERY', /Ann's view has 4 nodes matching \{ kind shape \}/);
  });

  it('answers what is at a point (topmost first), what a click there reaches, and where a node is drawn', () => {
    const g = room.game;
    const [shape, label] = g.button.children;
    expect(ann.view.at(50, 45).map((n) => n.id)).toEqual([label.id, shape.id]);
    expect(ann.view.clickableAt(50, 45)?.id).toBe(g.button.id);
    expect(ann.view.clickableAt(5, 85)).toBeNull();
    expect(ann.view.at(80, 80).map((n) => n.id)).toEqual([g.cover.id, g.hidden.id]);
    expect(ann.view.box(g.button)).toEqual({ x0: 40, y0: 40, x1: 60, y1: 50 });
    expectKitError(() => watcher.view.box(g.notes.children[0]), 'SERVER_TESTING_MISUSE', /Spectator 1 was not shown node \d+ \(Text \d+ "secret of Ann"\)/);
  });

  it('sounds have no area, images do: asset types come from metadata().assets, as the client learns them', () => {
    class Sounds extends Game {
      static override metadata() {
        return { name: 'Sounds', assets: { beep: { type: 'audio' as const, path: 'beep.mp3' }, logo: { type: 'image' as const, path: 'logo.png' } } };
      }
      readonly beep = new Asset({ assetId: 'beep', x: 0, y: 0, width: 50, height: 50, onClick: () => {} });
      readonly logo = new Asset({ assetId: 'logo', x: 50, y: 0, width: 50, height: 50, onClick: () => {} });
      readonly root = new Group({ children: [this.beep, this.logo] });
      override getLayers() {
        return [this.root];
      }
    }
    const sounds = createTestRoom(Sounds, { players: 1 });
    sounds.step();
    const [p] = sounds.players;
    expect(p.view.at(10, 10)).toEqual([]);
    expect(p.view.clickableAt(60, 10)?.id).toBe(sounds.game.logo.id);
    expectKitError(() => p.click(sounds.game.beep), 'SERVER_TESTING_MISUSE', /cannot click Asset \d+/);
  });

  it('tells who sees a node', () => {
    const [annNote, bobNote] = room.game.notes.children;
    expect(room.seenBy(annNote)).toEqual([ann]);
    expect(room.seenBy(bobNote.id)).toEqual([bob]);
    expect(room.seenBy(room.game.title).map((m) => m.name)).toEqual(['Ann', 'Bob', 'Spectator 1']);
  });
});

describe('players: input as the browser sends it', () => {
  const fresh = (): { room: ReturnType<typeof createTestRoom<Lab>>; ann: TestPlayer; game: Lab } => {
    const room = createTestRoom(Lab, { players: ['Ann'] });
    room.step();
    room.game.log.length = 0;
    return { room, ann: room.players[0], game: room.game };
  };

  it('press, hold and release keys; the game sees held keys; misuse is refused by name', () => {
    const { ann, game } = fresh();
    ann.hold('ArrowDown');
    expect([...game.keysDown(ann.id)]).toEqual(['ArrowDown']);
    expect([...ann.held]).toEqual(['ArrowDown']);
    ann.press('a').release('ArrowDown');
    expect(game.log).toEqual(['down 1 ArrowDown', 'down 1 a', 'up 1 a', 'up 1 ArrowDown']);
    expect(game.keysDown(ann.id).size).toBe(0);
    expectKitError(() => ann.release('b'), 'SERVER_TESTING_MISUSE', /Ann does not hold "b" \(held: nothing\)/);
    ann.hold('x');
    expectKitError(() => ann.hold('x'), 'SERVER_TESTING_MISUSE', /Ann already holds "x"/);
    ann.hold('y').releaseAll();
    expect(ann.held.size).toBe(0);
    // a raw auto-repeat keydown reaches the engine, which drops it
    ann.hold('z').send({ kind: 'keydown', key: 'z' });
    expect(game.log.filter((l) => l === 'down 1 z')).toHaveLength(1);
  });

  it('clicks a node by id, node, text or position with pointerdown, click and pointerup, at a point where the client’s hit test reaches it', () => {
    const { ann, game } = fresh();
    ann.click(game.button.id);
    ann.click('Press me');
    ann.click(game.button.children[0]);
    ann.click({ x: 55, y: 48 });
    expect(game.clicks.map(([pid]) => pid)).toEqual([1, 1, 1, 1]);
    expect(game.clicks[3]).toEqual([1, 55, 48]);
    for (const [, x, y] of game.clicks) expect(x >= 40 && x <= 60 && y >= 40 && y <= 50).toBe(true);
    expect(game.log.slice(-2)).toEqual(['pdown 1 55 48', 'pup 1 55 48']);
    // a click on nothing clickable still presses and releases the pointer
    ann.click({ x: 5, y: 85 });
    expect(game.clicks).toHaveLength(4);
    expect(game.log.slice(-2)).toEqual(['pdown 1 5 85', 'pup 1 5 85']);
    // the covered dot: every point of it reaches the clickable cover instead
    expectKitError(() => ann.click(game.hidden), 'SERVER_TESTING_MISUSE', /Ann cannot click Shape \d+: it is off the screen or other clickable nodes cover it everywhere/);
    expectKitError(() => ann.click(game.plain), 'SERVER_TESTING_MISUSE', /neither it, a group around it, nor anything under it is clickable/);
    expectKitError(() => ann.click({ x: 101, y: 50 }), 'SERVER_TESTING_MISUSE', /outside the game area/);
    expectKitError(() => ann.click('Nope'), 'SERVER_TESTING_QUERY', /no node matching the text "Nope"/);
  });

  it('pointer moves, presses and releases in plane units; a gamepad rounded as the client rounds it', () => {
    const { ann, game } = fresh();
    ann.pointerMove(10.123, 20).pointerDown(10, 20).pointerMove(120, 20).pointerUp(120, 20);
    expect(game.log).toEqual(['pmove 1 10.12 20', 'pdown 1 10 20', 'pmove 1 120 20', 'pup 1 120 20']);
    expectKitError(() => ann.pointerMove(-1, 5), 'SERVER_TESTING_MISUSE', /outside the game area/);
    expectKitError(() => ann.pointerUp(1, 1), 'SERVER_TESTING_MISUSE', /pointer is not down/);
    ann.gamepad({ buttons: [1, 0.333, 2], axes: [0.05, -0.5, -3] });
    // buttons travel as bytes (0–255) on the wire: 0.333 → 0.33 → 84/255
    expect(game.log.at(-1)).toBe(`pad 1 0 1,${84 / 255},1 0,-0.5,-1`);
    expectKitError(() => ann.send({ kind: 'pointermove', x: Number.NaN, y: 0 }), 'SERVER_TESTING_MISUSE', /cannot be sent/);
  });

  it('refuses input from a player who left, and a join into a full room', () => {
    const room = createTestRoom(Lab, { players: 3 });
    const [, bob] = room.players;
    expectKitError(() => room.join(), 'SERVER_TESTING_MISUSE', /the room is full: 3 players .*4409/);
    room.leave(bob);
    expectKitError(() => bob.press('a'), 'SERVER_TESTING_MISUSE', /Player 2 left the room and cannot hold "a"/);
    expectKitError(() => room.leave(bob), 'SERVER_TESTING_MISUSE', /Player 2 is not in this room \(they left already\)/);
    const dan = room.join();
    expect([dan.id, dan.name]).toEqual([4, 'Player 4']); // a new name, not the name of the player who left
  });
});

describe('a failing game', () => {
  it('throws SERVER_TESTING_GAME_FAILED from the call that ran it, naming where, with the stack as cause', () => {
    const room = createTestRoom(Lab, { players: 1 });
    const err = expectKitError(() => room.players[0].press('Escape'), 'SERVER_TESTING_GAME_FAILED', /the game threw in onKeyDown: no escape/);
    expect(err.where).toBe('onKeyDown');
    expect(String((err.cause as Error).stack)).toContain('onKeyDown');
  });

  it('a constructor that throws fails createTestRoom; a room stopped by failures refuses further calls', () => {
    class Broken extends Lab {
      constructor() {
        super();
        throw new Error('cannot build');
      }
    }
    expectKitError(() => createTestRoom(Broken), 'SERVER_TESTING_GAME_FAILED', /the game threw in constructor: cannot build \(the room stopped\)/);

    class Crashing extends Lab {
      override tick() {
        throw new Error('tick broke');
      }
    }
    const room = createTestRoom(Crashing, { players: 1 });
    for (let i = 0; i < 9; i++) expectKitError(() => room.step(), 'SERVER_TESTING_GAME_FAILED', /the game threw in tick: tick broke$/);
    expectKitError(() => room.step(), 'SERVER_TESTING_GAME_FAILED', /10 consecutive failures\) \(the room stopped\)/);
    expectKitError(() => room.step(), 'SERVER_TESTING_MISUSE', /the room has stopped: the game threw in tick/);
  });
});

describe('assertPrivate', () => {
  it('passes when every private node reached only its players, over every tick', () => {
    const room = createTestRoom(Lab, { players: 3, spectators: 2 });
    room.step(2000);
    room.leave(room.players[0]);
    room.join('Dan');
    room.step(1000);
    room.assertPrivate();
    expect(room.leaks).toEqual([]);
  });

  /**
   * A scene that says a node is private while its frames carried it in public: what a Squisher
   * bug would send. The game swaps two nodes that share an id between the flush (which reads
   * `getLayers()` once) and the kit's check (which reads it again after the flush).
   */
  class Leaky extends Game {
    static override metadata() {
      return { name: 'Leaky', tickRate: 10 };
    }
    readonly sent = new Group({ children: [new Text({ text: 'the secret plan', x: 10, y: 10, size: 4 })] });
    readonly truth = new Group({ playerIds: [1], children: [new Text({ text: 'the secret plan', x: 10, y: 10, size: 4 }, this.sent.children[0].id)] }, this.sent.id);
    private reads = 0;
    override getLayers() {
      return [this.reads++ % 2 === 0 ? this.sent : this.truth];
    }
  }

  it('fails naming the tick, the member, the node, its path and whose it is: found in the frames, the decoded view and the raw bytes', () => {
    const room = createTestRoom(Leaky, { players: ['Ann', 'Bob'], spectators: 1 });
    room.step();
    const err = expectKitError(() => room.assertPrivate(), 'SERVER_TESTING_LEAK', /^private nodes reached members who may not see them \(10 findings\):\n/);
    const group = room.game.truth;
    const text = group.children[0] as Text;
    // (the paths start at the group: the scene the check read is not the one the room attached)
    expect(err.message).toContain(`tick 1: player Bob (id 2) was sent, whole, in its frame, Text ${text.id} "the secret plan" at Group ${group.id} > Text ${text.id}, private to player [1] (playerIds on Group ${group.id})`);
    expect(err.message).toContain(`tick 1: player Bob (id 2) was sent, whole, in its frame, Group ${group.id} at Group ${group.id}, private to player [1] (playerIds on the node itself)`);
    expect(err.message).toContain(`tick 1: player Bob (id 2) has in its decoded view Text ${text.id} "the secret plan"`);
    expect(err.message).toContain(`tick 1: player Bob (id 2) was sent the text, in that tick's raw bytes, of Text ${text.id} "the secret plan"`);
    expect(err.message).toContain('… and 5 more');
    expect(room.leaks.filter((l) => l.memberName === 'Bob').map((l) => [l.via, l.nodeId])).toEqual([
      ['frame', text.id], ['frame', group.id], ['view', text.id], ['view', group.id], ['text', text.id],
    ]);
    expect(room.leaks.filter((l) => l.memberName === 'Spectator 1')).toHaveLength(5);
    expect(room.leaks.some((l) => l.memberName === 'Ann')).toBe(false);

    // a later change travels as a delta: its field update is found in that tick's frame
    (room.game.sent.children[0] as Text).text = 'plan B';
    (room.game.truth.children[0] as Text).text = 'plan B';
    room.step();
    const later = room.leaks.filter((l) => l.tick === 2 && l.memberName === 'Bob');
    expect(later.map((l) => [l.via, l.nodeId])).toEqual([['frame', text.id]]);
    expect(later[0].message).toMatch(/^tick 2: player Bob \(id 2\) was sent new field values of Text \d+ "plan B"/);
  });
});
