import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import { Group, type Node, Shape, Squisher, SceneMirror, Text, Asset, ShapeUtils, Colors, ViewableGame, type View, nodeBounds, seededRandom } from '../src/index.js';
import { containsText, describe, messageFor } from './helpers.js';

const rng = seededRandom;

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

suite('Squisher → SceneMirror', () => {
  it('every player and spectator mirrors exactly its own view of the scene, through random edits', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const r = rng(seed);
      const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
      const layers: Group[] = [new Group(), new Group()];
      const all: Node[] = [...layers];
      const groups: Group[] = [...layers];
      const secrets = new Map<Node, string>();
      const randomIds = () => (r() < 0.3 ? PLAYERS.filter(() => r() < 0.5) : null);
      const make = (): Node => {
        const k = r();
        const playerIds = randomIds();
        let n: Node;
        if (k < 0.3) n = new Shape({ points: ShapeUtils.rectangle(r() * 100, r() * 100, r() * 10 + 0.5, r() * 10 + 0.5), fill: Colors.RED, playerIds });
        else if (k < 0.45) n = new Shape({ shapeType: 'circle', x: r() * 100, y: r() * 100, radius: r() * 5, stroke: Colors.BLUE, playerIds });
        else if (k < 0.75) n = new Text({ text: 'pending', x: r() * 100, y: r() * 100, playerIds });
        else if (k < 0.85) n = new Asset({ assetId: 'img', x: r() * 100, y: r() * 100, crop: r() < 0.5 ? { x: 0, y: 0, width: 16, height: 16 } : null, playerIds });
        else { n = new Group({ x: r() * 5, playerIds }); groups.push(n as Group); }
        if (n instanceof Text) { n.text = `secret-${n.id}-x`; secrets.set(n, n.text); }
        all.push(n);
        return n;
      };
      for (let i = 0; i < 15; i++) pick(groups).addChild(make());

      const sq = new Squisher({ layers: () => layers });
      const mirrors = new Map<number, SceneMirror>();
      const join = (id: number, spectator = false) => { sq.addPlayer(id, { spectator }); mirrors.set(id, new SceneMirror()); };
      PLAYERS.slice(0, 2).forEach((p) => join(p));
      join(SPECTATOR, true);

      for (let step = 0; step < 25; step++) {
        const edits = 1 + Math.floor(r() * 6);
        for (let e = 0; e < edits; e++) {
          const x = r();
          const attached = all.filter((n) => n.parent !== null && !layers.includes(n as Group));
          if (x < 0.2) pick(groups).addChild(make());
          else if (x < 0.3 && attached.length) pick(attached).remove();
          else if (x < 0.4 && attached.length) {
            const n = pick(attached);
            const g = pick(groups);
            let cyc = false;
            for (let a: Node | null = g; a; a = a.parent) if (a === n) cyc = true;
            if (!cyc) { n.remove(); g.insertChild(n, Math.floor(r() * (g.children.length + 1))); }
          } else if (x < 0.5 && attached.length) pick(attached).playerIds = randomIds();
          else if (attached.length) {
            const n = pick(attached);
            if (n instanceof Shape) { if (r() < 0.5) n.translate(r() * 2 - 1, r() * 2 - 1); else n.fill = r() < 0.3 ? null : [r() * 255, 0, 0, 255]; }
            else if (n instanceof Text) { if (r() < 0.5) { n.x += r() - 0.5; n.y += r(); } else n.size = r() * 10; }
            else if (n instanceof Asset) n.volume = r();
            else if (n instanceof Group) n.scale = 0.5 + r();
            if (r() < 0.1) n.onClick = n.clickable ? null : () => {};
          }
        }
        if (r() < 0.1) { const p = pick(PLAYERS); if (mirrors.has(p)) { sq.removePlayer(p); mirrors.delete(p); } else join(p); }
        if (r() < 0.1) { const p = pick([...mirrors.keys()]); sq.requestFull(p); }

        const frames = sq.flush();
        for (const [id, mirror] of mirrors) {
          const msg = messageFor(frames, id);
          if (msg) mirror.apply(msg);
          const viewer = id === SPECTATOR ? 'public' as const : id;
          // Structure and every property, as this viewer should see them.
          expect(mirror.root!.children.map((c) => describe(c))).toEqual(layers.map((l) => describe(l, viewer)));
          // No node it may not see, by id...
          const allowed = visibleIds(layers, viewer);
          for (const nid of mirror.nodes.keys()) if (nid !== 0) expect(allowed.has(nid)).toBe(true);
          // ...and not a byte of another player's private text.
          if (msg) for (const [node, s] of secrets) if (!allowed.has(node.id) && node.playerIds && !(viewer !== 'public' && node.isVisibleTo(viewer))) expect(containsText(msg, s)).toBe(false);
        }
      }
    }), { numRuns: Number(process.env.MODEL_RUNS ?? 100), seed: Number(process.env.MODEL_SEED) || undefined });
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

suite('camera culling (ViewableGame)', () => {
  it('each player mirrors exactly the world nodes near its own moving camera, through random edits', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const r = rng(seed);
      const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
      const world = new Group();
      const hud = new Group();
      const all: Node[] = [];
      const groups: Group[] = [world];
      const make = (): Node => {
        const k = r();
        const playerIds = r() < 0.2 ? PLAYERS.filter(() => r() < 0.5) : null;
        let n: Node;
        if (k < 0.4) n = new Shape({ points: ShapeUtils.rectangle(r() * 300, r() * 300, r() * 20 + 1, r() * 20 + 1), fill: Colors.RED, playerIds });
        else if (k < 0.6) n = new Shape({ shapeType: 'circle', x: r() * 300, y: r() * 300, radius: r() * 5, playerIds });
        else if (k < 0.8) n = new Text({ text: `w${r().toFixed(3)}`, x: r() * 300, y: r() * 300, playerIds });
        else { n = new Group({ x: r() * 200, y: r() * 200, playerIds }); groups.push(n as Group); }
        all.push(n);
        return n;
      };
      for (let i = 0; i < 25; i++) pick(groups).addChild(make());
      hud.addChild(new Text({ text: 'hud' }));
      const views = new Map<number, View>();
      const newView = (): View => ({ x: r() * 250 - 20, y: r() * 250 - 20, zoom: 0.5 + r() * 2.5 });
      const sq = new Squisher({
        layers: () => [world, hud],
        camera: { group: world, view: (p, s) => (s ? { x: 0, y: 0, zoom: 0.3 } : views.get(p)!) },
      });
      const mirrors = new Map<number, SceneMirror>();
      const join = (id: number, spectator = false) => { views.set(id, newView()); sq.addPlayer(id, { spectator }); mirrors.set(id, new SceneMirror()); };
      PLAYERS.forEach((p) => join(p));
      join(SPECTATOR, true);
      const rectOf = (v: View) => { const z = v.zoom ?? 1; const m = 10 / z; return [v.x - m, v.y - m, v.x + 100 / z + m, v.y + 100 / z + m]; };

      for (let step = 0; step < 20; step++) {
        for (let e = 0; e < 1 + Math.floor(r() * 5); e++) {
          const x = r();
          const attached = all.filter((n) => n.parent !== null);
          if (x < 0.25) pick(groups).addChild(make());
          else if (x < 0.35 && attached.length) pick(attached).remove();
          else if (x < 0.45 && attached.length) pick(attached).playerIds = r() < 0.5 ? null : [pick(PLAYERS)];
          else if (attached.length) {
            const n = pick(attached);
            if (n instanceof Shape) n.translate(r() * 60 - 30, r() * 60 - 30);
            else if (n instanceof Text) { n.x += r() * 40 - 20; n.y += r() * 40 - 20; }
            else if (n instanceof Group) n.x += r() * 40 - 20;
          }
        }
        for (const p of PLAYERS) if (r() < 0.4) views.set(p, newView());
        if (r() < 0.1) sq.requestFull(pick(PLAYERS));
        const frames = sq.flush();
        for (const [id, mirror] of mirrors) {
          const msg = messageFor(frames, id);
          if (msg) mirror.apply(msg);
          const viewer = id === SPECTATOR ? 'public' as const : id;
          const rect = rectOf(id === SPECTATOR ? { x: 0, y: 0, zoom: 0.3 } : views.get(id)!);
          const expected = world.children
            .filter((c) => (c.playerIds === null || (viewer !== 'public' && c.playerIds.includes(viewer))))
            .filter((c) => { const b = nodeBounds(c); return b === null || (b[0] <= rect[2] && b[2] >= rect[0] && b[1] <= rect[3] && b[3] >= rect[1]); })
            .map((c) => describe(c, viewer));
          const mw = mirror.nodes.get(world.id)!;
          expect(mw.children.map((c) => describe(c))).toEqual(expected);
          const v = id === SPECTATOR ? { x: 0, y: 0, zoom: 0.3 } : views.get(id)!;
          expect((mw as Group).scale).toBeCloseTo(v.zoom ?? 1, 5);
          expect((mw as Group).x).toBeCloseTo(-v.x * (v.zoom ?? 1), 1);
          expect(mirror.root!.children[1].children.map((c) => describe(c))).toEqual(hud.children.map((c) => describe(c)));
        }
      }
    }), { numRuns: Number(process.env.MODEL_RUNS ?? 60) });
  });
});
