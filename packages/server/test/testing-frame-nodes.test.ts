/**
 * squish's `frameNodes` (what the test kit's privacy check reads from each frame): it lists what a
 * frame carries, node by node, exactly as the mirror then applies it, and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { Group, SceneMirror, Shape, ShapeUtils, Squisher, Text, frameNodes, messageFor, type Node } from '@parlor/squish';

describe('frameNodes', () => {
  it('lists a full frame’s tree, then each delta’s field updates, moves, child lists and new children', () => {
    const label = new Text({ text: 'a', x: 1, y: 1, size: 3 });
    const box = new Shape({ points: ShapeUtils.rectangle(0, 0, 5, 5) });
    const layer = new Group({ children: [label, box] });
    const squisher = new Squisher({ layers: () => [layer] });
    squisher.addPlayer(1);
    const mirror = new SceneMirror();
    const next = (): ReturnType<typeof frameNodes> => {
      const bytes = messageFor(squisher.flush(), 1)!;
      const before = new Map([...mirror.nodes].map(([id, n]) => [id, snapshot(n)]));
      const entries = frameNodes(bytes, mirror.nodes);
      // read without changing the recipient's scene
      expect(new Map([...mirror.nodes].map(([id, n]) => [id, snapshot(n)]))).toEqual(before);
      mirror.apply(bytes);
      return entries;
    };

    const full = next();
    expect(full.every((e) => e.op === 'node')).toBe(true);
    expect(full.map((e) => e.id).sort()).toEqual([...mirror.nodes.keys()].sort());

    label.text = 'b';
    expect(next()).toEqual([{ id: label.id, op: 'props' }]);

    box.translate(10, 0);
    expect(next()).toEqual([{ id: box.id, op: 'translate' }]);

    const extra = new Text({ text: 'new', x: 2, y: 2, size: 3 });
    layer.addChild(extra);
    const added = next();
    expect(added).toContainEqual({ id: layer.id, op: 'children' });
    expect(added).toContainEqual({ id: extra.id, op: 'node' });
    expect(mirror.nodes.has(extra.id)).toBe(true);
  });

  it('refuses what is not a frame, and a delta naming a node nobody has', () => {
    expect(() => frameNodes(new Uint8Array([0]), new Map())).toThrow(/not a frame message/);
    const layer = new Group({ children: [new Text({ text: 'x' })] });
    const squisher = new Squisher({ layers: () => [layer] });
    squisher.addPlayer(1);
    squisher.flush();
    (layer.children[0] as Text).text = 'y';
    expect(() => frameNodes(messageFor(squisher.flush(), 1)!, new Map())).toThrow(/op on unknown node/);
  });
});

function snapshot(n: Node): string {
  return JSON.stringify({ kind: n.kind, kids: n.children.map((c) => c.id), t: (n as Text).text, p: (n as Shape).points });
}
