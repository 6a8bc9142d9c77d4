/**
 * What a bot sees: queries over its decoded scene (the {@link SceneMirror} its frames were applied
 * to, holding only what the server sent this player) and where to click a node.
 */
import { NodeKind, nodeBounds, type Group, type Node, type SceneMirror, type Text } from '@parlor/squish';

/** A node kind by name, as scripts write it. */
export type NodeKindName = 'group' | 'shape' | 'text' | 'asset';

const KIND_NAMES: Record<number, NodeKindName> = {
  [NodeKind.GROUP]: 'group',
  [NodeKind.SHAPE]: 'shape',
  [NodeKind.TEXT]: 'text',
  [NodeKind.ASSET]: 'asset',
};

/** A filter for {@link findNodes}; every field given must match. */
export interface NodeQuery {
  /** Text nodes whose text equals this string, or matches this pattern. */
  text?: string | RegExp;
  /** The node's kind. */
  kind?: NodeKindName;
  /** Only clickable nodes (`true`) or only others (`false`). */
  clickable?: boolean;
  /** The node with this id. */
  id?: number;
}

/** The name of a node's kind. */
export function kindName(node: Node): NodeKindName {
  return KIND_NAMES[node.kind] ?? 'group';
}

/** The nodes of the bot's scene that match `query` (in the mirror's order; none before the first frame). */
export function findNodes(scene: SceneMirror, query: NodeQuery = {}): Node[] {
  const out: Node[] = [];
  for (const node of scene.nodes.values()) {
    if (query.id !== undefined && node.id !== query.id) continue;
    if (query.kind !== undefined && kindName(node) !== query.kind) continue;
    if (query.clickable !== undefined && node.clickable !== query.clickable) continue;
    if (query.text !== undefined) {
      if (node.kind !== NodeKind.TEXT) continue;
      const text = (node as Text).text;
      if (typeof query.text === 'string' ? text !== query.text : !query.text.test(text)) continue;
    }
    if (!attached(scene, node)) continue;
    out.push(node);
  }
  return out;
}

/** The clickable nodes the bot can see (every one the server sent it is visible to it). */
export function clickableNodes(scene: SceneMirror): Node[] {
  return findNodes(scene, { clickable: true });
}

/**
 * The centre of a node's area in plane units (its groups' translation and scale applied), where a
 * player would click it; `null` for a node that covers nothing (an empty group).
 */
export function clickPoint(node: Node): { x: number; y: number } | null {
  const b = nodeBounds(node);
  if (b === null) return null;
  let x = (b[0] + b[2]) / 2;
  let y = (b[1] + b[3]) / 2;
  for (let p = node.parent; p; p = p.parent) {
    if (p.kind !== NodeKind.GROUP) continue;
    const g = p as Group;
    x = g.x + g.scale * x;
    y = g.y + g.scale * y;
  }
  return { x: round(x), y: round(y) };
}

function attached(scene: SceneMirror, node: Node): boolean {
  let n: Node = node;
  while (n.parent) n = n.parent;
  return n === scene.root;
}

/** Hundredths, as the wire carries coordinates. */
function round(v: number): number {
  return Math.round(Math.max(-1e6, Math.min(1e6, v)) * 100) / 100;
}
