import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import { Group, type Node, Shape, Squisher, SceneMirror, Text, Asset, ShapeUtils, Colors, ViewableGame, type View, nodeBounds } from '../src/index.js';
import { containsText, describe, messageFor } from './helpers.js';

const PLAYERS = [1, 2, 3];
const SPECTATOR = 100;

/** Nodes a viewer may see: what its mirror must hold, and nothing else. */
function visibleIds(layers: readonly Node[], viewer: number | 'public'): Set<number> {
  const out = new Set<number>();
  const walk = (n: Node) => {
    if (n.playerIds && (viewer === 'public' || !n.playerIds.includes(viewer))) return;
    out.add(n.id);
    n.children.forEach(walk);
  };
  layers.forEach(walk);
  return out;
}

// ------------------------------------------------------------------ model-based: edits, joins, flushes

/** The model: who is joined, and who is owed a full frame by the next flush. */
interface Model {
  joined: Set<number>;
  fullDue: Set<number>;
}

/** The real system: a scene, its Squisher, and one SceneMirror per recipient fed its messages. */
interface Real {
  layers: Group[];
  /** Every node made so far (attached or not), in creation order; commands pick by index. */
  all: Node[];
  groups: Group[];
  /** Private texts: `secret-<id>-x`, to look for in other viewers' bytes. */
  secrets: Map<Node, string>;
  sq: Squisher;
  mirrors: Map<number, SceneMirror>;
}

type SquisherCommand = fc.Command<Model, Real>;
const unit = fc.integer({ min: 0, max: 999 }).map((v) => v / 1000);
/** `playerIds` of a new node: public (null) 7 times in 10, else a subset of the players. */
const playerIdsArb = fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: fc.subarray(PLAYERS), weight: 3 });
const pickOf = <T>(a: readonly T[], i: number): T | undefined => (a.length ? a[i % a.length] : undefined);
const attachedOf = (r: { all: Node[] }): Node[] => r.all.filter((n) => n.parent !== null);

class AddNode implements SquisherCommand {
  constructor(readonly parent: number, readonly kind: number, readonly v: number[], readonly playerIds: number[] | null) {}
  check = () => true;
  run(_m: Model, r: Real): void {
    const [a, b, c, d] = this.v;
    const playerIds = this.playerIds;
    const parent = pickOf(r.groups, this.parent)!;
    let n: Node;
    switch (this.kind) {
      case 0: n = new Shape({ points: ShapeUtils.rectangle(a * 100, b * 100, c * 10 + 0.5, d * 10 + 0.5), fill: Colors.RED, playerIds }); break;
      case 1: n = new Shape({ shapeType: 'circle', x: a * 100, y: b * 100, radius: c * 5, stroke: Colors.BLUE, playerIds }); break;
      case 2: n = new Text({ text: 'pending', x: a * 100, y: b * 100, playerIds }); break;
      case 3: n = new Asset({ assetId: 'img', x: a * 100, y: b * 100, crop: c < 0.5 ? { x: 0, y: 0, width: 16, height: 16 } : null, playerIds }); break;
      default: n = new Group({ x: a * 5, playerIds }); r.groups.push(n as Group);
    }
    if (n instanceof Text) {
      n.text = `secret-${n.id}-x`;
      r.secrets.set(n, n.text);
    }
    r.all.push(n);
    parent.addChild(n);
  }
  toString = () => `add(kind ${this.kind} under group #${this.parent}, ${JSON.stringify(this.playerIds)})`;
}

/** What the node commands touch, in both models: every node made so far. */
interface Nodes {
  all: Node[];
}

class RemoveNode<R extends Nodes> implements fc.Command<Model, R> {
  constructor(readonly node: number) {}
  check = () => true;
  run(_m: Model, r: R): void {
    pickOf(attachedOf(r), this.node)?.remove();
  }
  toString = () => `remove(#${this.node})`;
}

class MoveNode implements SquisherCommand {
  constructor(readonly node: number, readonly to: number, readonly at: number) {}
  check = () => true;
  run(_m: Model, r: Real): void {
    const n = pickOf(attachedOf(r), this.node);
    const g = pickOf(r.groups, this.to)!;
    if (!n) return;
    for (let a: Node | null = g; a; a = a.parent) if (a === n) return; // would be a cycle
    n.remove();
    g.insertChild(n, Math.floor(this.at * (g.children.length + 1)));
  }
  toString = () => `move(#${this.node} into group #${this.to} at ${this.at})`;
}

class SetPlayerIds<R extends Nodes> implements fc.Command<Model, R> {
  constructor(readonly node: number, readonly playerIds: number[] | null) {}
  check = () => true;
  run(_m: Model, r: R): void {
    const n = pickOf(attachedOf(r), this.node);
    if (n) n.playerIds = this.playerIds;
  }
  toString = () => `playerIds(#${this.node}, ${JSON.stringify(this.playerIds)})`;
}

class EditNode implements SquisherCommand {
  constructor(readonly node: number, readonly v: number[], readonly toggleClick: boolean) {}
  check = () => true;
  run(_m: Model, r: Real): void {
    const n = pickOf(attachedOf(r), this.node);
    if (!n) return;
    const [a, b, c] = this.v;
    if (n instanceof Shape) {
      if (a < 0.5) n.translate(b * 2 - 1, c * 2 - 1);
      else n.fill = b < 0.3 ? null : [c * 255, 0, 0, 255];
    } else if (n instanceof Text) {
      if (a < 0.5) { n.x += b - 0.5; n.y += c; } else n.size = b * 10;
    } else if (n instanceof Asset) n.volume = b;
    else if (n instanceof Group) n.scale = 0.5 + b;
    if (this.toggleClick) n.onClick = n.clickable ? null : () => {};
    // the interpolation flag travels as a bare bit that flips it: toggled often, sometimes back within a tick
    if (c > 0.8) n.interpolate = !n.interpolate;
  }
  toString = () => `edit(#${this.node}, ${this.v.join(', ')}${this.toggleClick ? ', toggle click' : ''})`;
}

/** What the player commands touch, in both models (the scene's and the world's). */
interface Players {
  sq: Squisher;
  mirrors: Map<number, SceneMirror>;
}

class Join<R extends Players> implements fc.Command<Model, R> {
  constructor(readonly id: number) {}
  check = (m: Readonly<Model>) => !m.joined.has(this.id);
  run(m: Model, r: R): void {
    r.sq.addPlayer(this.id);
    r.mirrors.set(this.id, new SceneMirror());
    m.joined.add(this.id);
    m.fullDue.add(this.id);
  }
  toString = () => `join(${this.id})`;
}

class Leave<R extends Players> implements fc.Command<Model, R> {
  constructor(readonly id: number) {}
  check = (m: Readonly<Model>) => m.joined.has(this.id);
  run(m: Model, r: R): void {
    r.sq.removePlayer(this.id);
    r.mirrors.delete(this.id);
    m.joined.delete(this.id);
    m.fullDue.delete(this.id);
  }
  toString = () => `leave(${this.id})`;
}

class RequestFull<R extends Players> implements fc.Command<Model, R> {
  constructor(readonly id: number) {}
  check = (m: Readonly<Model>) => m.joined.has(this.id);
  run(m: Model, r: R): void {
    r.sq.requestFull(this.id);
    m.fullDue.add(this.id);
  }
  toString = () => `requestFull(${this.id})`;
}

/** Flushes, applies each recipient's message, and checks every mirror against the scene. */
class Flush implements SquisherCommand {
  check = () => true;
  run(m: Model, r: Real): void {
    const frames = r.sq.flush();
    // A full frame exactly for those added or resynced since the last flush, and marked so.
    expect(frames.sends.filter((s) => s.full).map((s) => s.playerId).sort()).toEqual([...m.fullDue].sort());
    m.fullDue.clear();
    for (const [id, mirror] of r.mirrors) {
      const msg = messageFor(frames, id);
      if (msg) expect(mirror.apply(msg).full).toBe(frames.sends.find((s) => s.playerId === id)!.full);
      const viewer = id === SPECTATOR ? ('public' as const) : id;
      // Structure and every property, as this viewer should see them.
      expect(mirror.root!.children.map((c) => describe(c))).toEqual(r.layers.map((l) => describe(l, viewer)));
      // No node it may not see, by id...
      const allowed = visibleIds(r.layers, viewer);
      for (const nid of mirror.nodes.keys()) if (nid !== 0) expect(allowed.has(nid)).toBe(true);
      // ...and not a byte of another player's private text.
      if (msg) {
        for (const [node, secret] of r.secrets) {
          if (!allowed.has(node.id) && node.playerIds && !(viewer !== 'public' && node.isVisibleTo(viewer))) expect(containsText(msg, secret)).toBe(false);
        }
      }
    }
  }
  toString = () => 'flush()';
}

const nodeIndex = fc.nat(63);
const squisherCommands = fc.commands(
  [
    fc.tuple(nodeIndex, fc.integer({ min: 0, max: 4 }), fc.array(unit, { minLength: 4, maxLength: 4 }), playerIdsArb).map(([p, k, v, ids]) => new AddNode(p, k, v, ids)),
    fc.tuple(nodeIndex, fc.integer({ min: 0, max: 4 }), fc.array(unit, { minLength: 4, maxLength: 4 }), playerIdsArb).map(([p, k, v, ids]) => new AddNode(p, k, v, ids)),
    nodeIndex.map((i) => new RemoveNode<Real>(i)),
    fc.tuple(nodeIndex, nodeIndex, unit).map(([i, g, at]) => new MoveNode(i, g, at)),
    fc.tuple(nodeIndex, playerIdsArb).map(([i, ids]) => new SetPlayerIds<Real>(i, ids)),
    fc.tuple(nodeIndex, fc.array(unit, { minLength: 3, maxLength: 3 }), unit.map((v) => v < 0.1)).map(([i, v, t]) => new EditNode(i, v, t)),
    fc.tuple(nodeIndex, fc.array(unit, { minLength: 3, maxLength: 3 }), fc.constant(false)).map(([i, v, t]) => new EditNode(i, v, t)),
    fc.constantFrom(...PLAYERS).map((id) => new Join<Real>(id)),
    fc.constantFrom(...PLAYERS).map((id) => new Leave<Real>(id)),
    fc.constantFrom(...PLAYERS).map((id) => new RequestFull<Real>(id)),
    fc.constant(new Flush()),
    fc.constant(new Flush()),
  ],
  { maxCommands: 200, size: 'max' },
);

suite('Squisher → SceneMirror', () => {
  it('every player and spectator mirrors exactly its own view of the scene, through random edits (model-based: failures shrink)', () => {
    fc.assert(
      fc.property(squisherCommands, (cmds) => {
        const setup = (): { model: Model; real: Real } => {
          const layers = [new Group(), new Group()];
          const sq = new Squisher({ layers: () => layers });
          const real: Real = { layers, all: [], groups: [...layers], secrets: new Map(), sq, mirrors: new Map() };
          const model: Model = { joined: new Set(), fullDue: new Set() };
          for (const id of PLAYERS.slice(0, 2)) new Join<Real>(id).run(model, real);
          sq.addPlayer(SPECTATOR, { spectator: true });
          real.mirrors.set(SPECTATOR, new SceneMirror());
          model.fullDue.add(SPECTATOR);
          return { model, real };
        };
        const env = setup();
        fc.modelRun(() => env, cmds);
        // Whatever the commands, the run ends with a flush, so every state is checked.
        new Flush().run(env.model, env.real);
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 100), seed: Number(process.env.MODEL_SEED) || undefined },
    );
  });

  it('a private node never reaches another player or a spectator, at the byte level', () => {
    const table = new Group();
    const handA = new Group({ playerIds: [1] }).addChild(new Text({ text: 'ACE-OF-SPADES' }));
    const handB = new Group({ playerIds: [2] }).addChild(new Text({ text: 'KING-OF-HEARTS' }));
    table.addChild(new Text({ text: 'public-pot' }), handA, handB);
    const sq = new Squisher({ layers: () => [table] });
    sq.addPlayer(1);
    sq.addPlayer(2);
    sq.addPlayer(9, { spectator: true });
    const check = () => {
      const f = sq.flush();
      const a = messageFor(f, 1), b = messageFor(f, 2), s = messageFor(f, 9);
      for (const m of [b, s]) if (m) expect(containsText(m, 'ACE-OF-SPADES')).toBe(false);
      for (const m of [a, s]) if (m) expect(containsText(m, 'KING-OF-HEARTS')).toBe(false);
      return { a, b, s };
    };
    const first = check();
    expect(containsText(first.a!, 'ACE-OF-SPADES')).toBe(true);
    expect(containsText(first.b!, 'KING-OF-HEARTS')).toBe(true);
    expect(containsText(first.s!, 'public-pot')).toBe(true);
    (handA.children[0] as Text).text = 'ACE-OF-SPADES-2';
    handB.addChild(new Text({ text: 'KING-OF-HEARTS-2' }));
    const second = check();
    expect(second.s).toBeUndefined();
    handA.playerIds = [1, 2];
    const third = sq.flush();
    expect(containsText(messageFor(third, 2)!, 'ACE-OF-SPADES-2')).toBe(true);
    expect(messageFor(third, 9)).toBeUndefined();
    handA.playerIds = [1];
    const fourth = sq.flush();
    expect(messageFor(fourth, 2)).toBeDefined();
    expect(containsText(messageFor(fourth, 2)!, 'ACE-OF-SPADES')).toBe(false);
  });

  it('encodes shared changes once: every in-sync player receives the same buffer', () => {
    const layer = new Group();
    const shapes = Array.from({ length: 50 }, (_, i) => new Shape({ points: ShapeUtils.rectangle(i, i, 2, 2), fill: Colors.GREEN }));
    layer.addChild(...shapes);
    const sq = new Squisher({ layers: () => [layer] });
    for (let p = 1; p <= 100; p++) sq.addPlayer(p);
    sq.flush();
    shapes[7].translate(1, 0);
    const f = sq.flush();
    expect(f.sends).toHaveLength(100);
    expect(f.parts).toHaveLength(1);
    expect(new Set(f.sends.map((s) => s.parts.join()))).toEqual(new Set(['0']));
  });

  it('a change that cannot be encoded names the node and the property in the delta frame too', () => {
    const dot = new Shape({ shapeType: 'circle', x: 50, y: 50, radius: 5 });
    const layer = new Group({ children: [dot] });
    const sq = new Squisher({ layers: () => [layer] });
    sq.addPlayer(1);
    sq.flush();
    dot.x = Number.NaN;
    expect(() => sq.flush()).toThrow(expect.objectContaining({ property: 'x', node: expect.objectContaining({ kind: 'Shape', id: dot.id }) }));
  });

  it('coalesces a tick of edits into one frame, and sends nothing when nothing changed', () => {
    const t = new Text({ text: 'a' });
    const sq = new Squisher({ layers: () => [t] });
    sq.addPlayer(1);
    const m = new SceneMirror();
    m.apply(messageFor(sq.flush(), 1)!);
    expect(sq.flush().sends).toHaveLength(0);
    for (let i = 0; i < 100; i++) t.text = `a${i}`;
    const f = sq.flush();
    expect(f.sends).toHaveLength(1);
    m.apply(messageFor(f, 1)!);
    expect((m.nodes.get(t.id) as Text).text).toBe('a99');
  });

  it('a 1%-moved delta of a 1 000-node scene is under a tenth of the full frame', () => {
    const layer = new Group();
    const shapes = Array.from({ length: 1000 }, (_, i) => new Shape({ points: ShapeUtils.rectangle((i * 7) % 95, (i * 13) % 95, 3, 2), fill: Colors.BLUE }));
    layer.addChild(...shapes);
    const sq = new Squisher({ layers: () => [layer] });
    sq.addPlayer(1);
    const full = messageFor(sq.flush(), 1)!;
    for (let i = 0; i < 10; i++) shapes[i * 97].translate(0.3, -0.2);
    const delta = messageFor(sq.flush(), 1)!;
    expect(delta.length).toBeLessThan(full.length / 10);
  });

  it('gives each player of a ViewableGame its own camera transform', () => {
    class World extends ViewableGame {
      static override metadata() { return { name: 'w' }; }
      views = new Map<number, View>([[1, { x: 100, y: 50, zoom: 2 }], [2, { x: 0, y: 0 }]]);
      constructor() { super(1000, 1000); this.world.addChild(new Shape({ shapeType: 'circle', x: 500, y: 500, radius: 3 })); }
      override getView(p: number) { return this.views.get(p)!; }
    }
    const g = new World();
    const sq = new Squisher({ layers: () => g.getLayers(), camera: { group: g.world, view: (p, s) => (s ? g.getSpectatorView() : g.getView(p)) } });
    sq.addPlayer(1);
    sq.addPlayer(2);
    sq.addPlayer(3, { spectator: true });
    const mirrors = [1, 2, 3].map(() => new SceneMirror());
    let f = sq.flush();
    mirrors.forEach((m, i) => m.apply(messageFor(f, i + 1)!));
    const cam = (i: number) => mirrors[i].nodes.get(g.world.id) as Group;
    expect([cam(0).x, cam(0).y, cam(0).scale]).toEqual([-200, -100, 2]);
    expect([cam(1).x, cam(1).y, cam(1).scale]).toEqual([0, 0, 1]);
    expect(cam(2).scale).toBeCloseTo(0.1, 5);
    g.views.set(2, { x: 10, y: 20 });
    f = sq.flush();
    expect(messageFor(f, 1)).toBeUndefined();
    mirrors[1].apply(messageFor(f, 2)!);
    expect([cam(1).x, cam(1).y]).toEqual([-10, -20]);
  });
});

// ------------------------------------------------------------------ model-based: a camera group

/** The real system of the camera test: a world group culled per player by its moving view. */
interface WorldReal {
  world: Group;
  hud: Group;
  all: Node[];
  groups: Group[];
  views: Map<number, View>;
  sq: Squisher;
  mirrors: Map<number, SceneMirror>;
}

type WorldCommand = fc.Command<Model, WorldReal>;
/** `playerIds` of a new world node: public 4 times in 5. */
const worldIdsArb = fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: fc.subarray(PLAYERS), weight: 1 });
const SPECTATOR_VIEW: View = { x: 0, y: 0, zoom: 0.3 };
const viewArb = fc.tuple(unit, unit, unit).map(([x, y, z]): View => ({ x: x * 250 - 20, y: y * 250 - 20, zoom: 0.5 + z * 2.5 }));

class AddWorldNode implements WorldCommand {
  constructor(readonly parent: number, readonly kind: number, readonly v: number[], readonly playerIds: number[] | null) {}
  check = () => true;
  run(_m: Model, r: WorldReal): void {
    const [a, b, c, d] = this.v;
    const playerIds = this.playerIds;
    const parent = pickOf(r.groups, this.parent)!;
    let n: Node;
    switch (this.kind) {
      case 0: n = new Shape({ points: ShapeUtils.rectangle(a * 300, b * 300, c * 20 + 1, d * 20 + 1), fill: Colors.RED, playerIds }); break;
      case 1: n = new Shape({ shapeType: 'circle', x: a * 300, y: b * 300, radius: c * 5, playerIds }); break;
      case 2: n = new Text({ text: `w${c.toFixed(3)}`, x: a * 300, y: b * 300, playerIds }); break;
      default: n = new Group({ x: a * 200, y: b * 200, playerIds }); r.groups.push(n as Group);
    }
    r.all.push(n);
    parent.addChild(n);
  }
  toString = () => `add(kind ${this.kind} under group #${this.parent}, ${JSON.stringify(this.playerIds)})`;
}

/** Moves a node by up to ±30 (shapes) or ±20 (texts, groups' x) world units: in and out of views. */
class MoveWorldNode implements WorldCommand {
  constructor(readonly node: number, readonly dx: number, readonly dy: number) {}
  check = () => true;
  run(_m: Model, r: WorldReal): void {
    const n = pickOf(attachedOf(r), this.node);
    if (n instanceof Shape) n.translate(this.dx * 60 - 30, this.dy * 60 - 30);
    else if (n instanceof Text) { n.x += this.dx * 40 - 20; n.y += this.dy * 40 - 20; }
    else if (n instanceof Group) n.x += this.dx * 40 - 20;
  }
  toString = () => `move(#${this.node}, ${this.dx}, ${this.dy})`;
}

class SetView implements WorldCommand {
  constructor(readonly id: number, readonly view: View) {}
  check = () => true;
  run(_m: Model, r: WorldReal): void {
    r.views.set(this.id, this.view);
  }
  toString = () => `view(${this.id}, ${JSON.stringify(this.view)})`;
}

const rectOf = (v: View): number[] => {
  const z = v.zoom ?? 1;
  const m = 10 / z;
  return [v.x - m, v.y - m, v.x + 100 / z + m, v.y + 100 / z + m];
};

/** Flushes, applies each recipient's message, and checks its world children against its own view. */
class FlushWorld implements WorldCommand {
  check = () => true;
  run(m: Model, r: WorldReal): void {
    const frames = r.sq.flush();
    expect(frames.sends.filter((s) => s.full).map((s) => s.playerId).sort()).toEqual([...m.fullDue].sort());
    m.fullDue.clear();
    for (const [id, mirror] of r.mirrors) {
      const msg = messageFor(frames, id);
      if (msg) expect(mirror.apply(msg).full).toBe(frames.sends.find((s) => s.playerId === id)!.full);
      const viewer = id === SPECTATOR ? ('public' as const) : id;
      const v = id === SPECTATOR ? SPECTATOR_VIEW : r.views.get(id)!;
      const rect = rectOf(v);
      const expected = r.world.children
        .filter((c) => c.playerIds === null || (viewer !== 'public' && c.playerIds.includes(viewer)))
        .filter((c) => {
          const b = nodeBounds(c);
          return b === null || (b[0] <= rect[2] && b[2] >= rect[0] && b[1] <= rect[3] && b[3] >= rect[1]);
        })
        .map((c) => describe(c, viewer));
      const mw = mirror.nodes.get(r.world.id)!;
      expect(mw.children.map((c) => describe(c))).toEqual(expected);
      expect((mw as Group).scale).toBeCloseTo(v.zoom ?? 1, 5);
      expect((mw as Group).x).toBeCloseTo(-v.x * (v.zoom ?? 1), 1);
      expect(mirror.root!.children[1].children.map((c) => describe(c))).toEqual(r.hud.children.map((c) => describe(c)));
    }
  }
  toString = () => 'flush()';
}

const worldCommands = fc.commands(
  [
    fc.tuple(nodeIndex, fc.integer({ min: 0, max: 3 }), fc.array(unit, { minLength: 4, maxLength: 4 }), worldIdsArb).map(([p, k, v, ids]) => new AddWorldNode(p, k, v, ids)),
    fc.tuple(nodeIndex, fc.integer({ min: 0, max: 3 }), fc.array(unit, { minLength: 4, maxLength: 4 }), worldIdsArb).map(([p, k, v, ids]) => new AddWorldNode(p, k, v, ids)),
    nodeIndex.map((i) => new RemoveNode<WorldReal>(i)),
    fc.tuple(nodeIndex, fc.option(fc.constantFrom(...PLAYERS).map((p) => [p]), { freq: 2 })).map(([i, ids]) => new SetPlayerIds<WorldReal>(i, ids)),
    fc.tuple(nodeIndex, unit, unit).map(([i, dx, dy]) => new MoveWorldNode(i, dx, dy)),
    fc.tuple(nodeIndex, unit, unit).map(([i, dx, dy]) => new MoveWorldNode(i, dx, dy)),
    fc.tuple(fc.constantFrom(...PLAYERS), viewArb).map(([id, v]) => new SetView(id, v)),
    fc.constantFrom(...PLAYERS).map((id) => new Join<WorldReal>(id)),
    fc.constantFrom(...PLAYERS).map((id) => new Leave<WorldReal>(id)),
    fc.constantFrom(...PLAYERS).map((id) => new RequestFull<WorldReal>(id)),
    fc.constant(new FlushWorld()),
    fc.constant(new FlushWorld()),
  ],
  { maxCommands: 160, size: 'max' },
);

suite('camera culling (ViewableGame)', () => {
  it('each player mirrors exactly the world nodes near its own moving camera, through random edits (model-based: failures shrink)', () => {
    fc.assert(
      fc.property(worldCommands, fc.array(viewArb, { minLength: PLAYERS.length, maxLength: PLAYERS.length }), (cmds, firstViews) => {
        const world = new Group();
        const hud = new Group().addChild(new Text({ text: 'hud' }));
        const views = new Map<number, View>(PLAYERS.map((p, i) => [p, firstViews[i]]));
        const sq = new Squisher({ layers: () => [world, hud], camera: { group: world, view: (p, s) => (s ? SPECTATOR_VIEW : views.get(p)!) } });
        const real: WorldReal = { world, hud, all: [], groups: [world], views, sq, mirrors: new Map() };
        const model: Model = { joined: new Set(), fullDue: new Set() };
        for (const id of PLAYERS) new Join<WorldReal>(id).run(model, real);
        sq.addPlayer(SPECTATOR, { spectator: true });
        real.mirrors.set(SPECTATOR, new SceneMirror());
        model.fullDue.add(SPECTATOR);
        fc.modelRun(() => ({ model, real }), cmds);
        new FlushWorld().run(model, real);
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 60), seed: Number(process.env.MODEL_SEED) || undefined },
    );
  });
});
