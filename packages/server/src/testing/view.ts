import {
  NodeKind, SceneMirror, hitTestPlane, nodeScreenBox, nodesAtPoint,
  type Asset, type Group, type Node, type PlaneAspect, type PlaneHitOptions, type ScreenBox, type Shape, type Text,
} from '@parlor/squish';
import { ServerErrorCode } from '../errors.js';
import { misuse, TestKitError } from './errors.js';

/**
 * A node kind by name, as {@link NodeQuery} takes it.
 * @example
 * view.all({ kind: 'asset' satisfies NodeKindName });
 */
export type NodeKindName = 'group' | 'shape' | 'text' | 'asset';

const KINDS: Record<NodeKindName, number> = { group: NodeKind.GROUP, shape: NodeKind.SHAPE, text: NodeKind.TEXT, asset: NodeKind.ASSET };

/**
 * Which nodes of a view a query matches:
 * - a `string`: a `Text` node whose text is exactly that string;
 * - a `RegExp`: a `Text` node whose text matches it;
 * - a `number`: the node with that id;
 * - an object: every given field must hold — `text` (string: exact, RegExp: matches; implies a
 *   `Text`), `id`, `kind` (`'group' | 'shape' | 'text' | 'asset'`), `clickable`, and `where`, any
 *   predicate on the node.
 *
 * @example
 * view.one('Waiting for a second player…');   // a Text, exactly
 * view.all(/^\d+$/);                           // every Text that is a number
 * view.all({ kind: 'shape', clickable: true }); // every clickable Shape
 */
export type NodeQuery =
  | string
  | RegExp
  | number
  | { text?: string | RegExp; id?: number; kind?: NodeKindName; clickable?: boolean; where?: (node: Node) => boolean };

/**
 * The node class a {@link NodeQuery} finds: `Text` for text queries, the kind's class for `kind`, else `Node`.
 * @example
 * const t: NodeOf<{ kind: 'text' }> = view.one({ kind: 'text', text: /^Score/ }); // a Text
 */
export type NodeOf<Q> = Q extends string | RegExp
  ? Text
  : Q extends { kind: 'text' } | { text: string | RegExp }
    ? Text
    : Q extends { kind: 'shape' }
      ? Shape
      : Q extends { kind: 'group' }
        ? Group
        : Q extends { kind: 'asset' }
          ? Asset
          : Node;

/**
 * One member's view of the room: the scene rebuilt by squish's {@link SceneMirror} from exactly
 * the bytes that member's socket would have received, frame by frame, with queries. Coordinates
 * are plane units (0–100 across and down the screen, the game's aspect ratio), after every group
 * transform (a `ViewableGame`'s camera included), as the player's browser draws them. Text widths
 * are estimated (0.55 × size per character) as the client does without a canvas.
 *
 * Reading a view before its member received a first frame (before the first `room.step()`)
 * throws `SERVER_TESTING_MISUSE`.
 *
 * @example
 * const room = createTestRoom(Pong, { players: 2 });
 * room.step();
 * const [ann] = room.players;
 * ann.view.texts();                              // every text Ann sees, in draw order
 * ann.view.one('You are the left paddle · ↑/↓ or W/S');
 * ann.view.at(50, 50);                           // the nodes drawn at the centre, topmost first
 */
export class TestView {
  /** @internal */
  constructor(
    /** The mirror the member's frames are applied to (squish's own decoder). */
    readonly mirror: SceneMirror,
    private readonly aspect: PlaneAspect,
    private readonly owner: string,
    /** The hit test's options: which asset ids are sounds (no area), from `metadata().assets`, as the client learns from `assets`. */
    private readonly hit: PlaneHitOptions = {},
  ) {}

  /** Whether a frame has arrived (the view has a scene). */
  get ready(): boolean {
    return this.mirror.root !== null;
  }

  /** The scene's root group (its children are the game's layers). @throws `SERVER_TESTING_MISUSE` before the first frame */
  get root(): Group {
    const root = this.mirror.root;
    if (!root) throw misuse(`${this.owner} has not received a frame yet: call room.step() (or room.flush()) first`);
    return root;
  }

  /** Every node of the view by id (the root included). */
  get nodes(): ReadonlyMap<number, Node> {
    void this.root;
    return this.mirror.nodes;
  }

  /**
   * The node with this id, or `undefined` when this member was not sent it.
   * @example const paddle = ann.view.get<Shape>(game.paddles[0].shape.id)!;
   */
  get<T extends Node = Node>(id: number): T | undefined {
    return this.nodes.get(id) as T | undefined;
  }

  /**
   * Every node the query matches, in draw order (parents before children, later siblings later).
   * @example ann.view.all({ kind: 'text' }).map((t) => t.text)
   */
  all<Q extends NodeQuery>(query: Q): Array<NodeOf<Q>> {
    const match = matcher(query);
    const out: Node[] = [];
    const walk = (n: Node): void => {
      if (match(n)) out.push(n);
      for (const c of n.children) walk(c);
    };
    walk(this.root);
    return out as Array<NodeOf<Q>>;
  }

  /**
   * The one node the query matches.
   * @throws {TestKitError} `SERVER_TESTING_QUERY` when none or several match (the message lists what the view has)
   * @example ann.view.one('Ann: 5 cards')
   */
  one<Q extends NodeQuery>(query: Q): NodeOf<Q> {
    const found = this.all(query);
    if (found.length === 1) return found[0];
    const texts = this.texts();
    const shown = texts.length ? `; its texts: ${texts.slice(0, 20).map((t) => JSON.stringify(t)).join(', ')}${texts.length > 20 ? ', …' : ''}` : '';
    throw new TestKitError(
      ServerErrorCode.TESTING_QUERY,
      `${this.owner}'s view has ${found.length === 0 ? 'no node' : `${found.length} nodes`} matching ${describeQuery(query)}${found.length === 0 ? shown : ` (ids ${found.map((n) => n.id).join(', ')})`}`,
    );
  }

  /** Whether the query matches at least one node. @example expect(bob.view.has('A♠')).toBe(false) */
  has(query: NodeQuery): boolean {
    return this.all(query).length > 0;
  }

  /** Every text this member sees, in draw order. @example expect(ann.view.texts()).toContain('Ann: 5 cards') */
  texts(): string[] {
    return this.all({ kind: 'text' }).map((t) => t.text);
  }

  /**
   * Every node drawn at plane point (`x`, `y`), topmost first, clickable or not (groups have no
   * area of their own and are never listed), by the browser client's hit-test rules.
   * @example const [top] = ann.view.at(50, 85);
   */
  at(x: number, y: number): Node[] {
    return nodesAtPoint(this.root, x, y, this.aspect, this.hit);
  }

  /**
   * The node a click at (`x`, `y`) would reach, as the browser client finds it (the topmost node
   * there that is clickable or has a clickable ancestor, resolved to that clickable node), or `null`.
   * @example ann.view.clickableAt(50, 85)?.id
   */
  clickableAt(x: number, y: number): Node | null {
    return hitTestPlane(this.root, x, y, this.aspect, this.hit);
  }

  /**
   * Where a node is drawn: its box in plane units (`x0` ≤ `x1`, `y0` ≤ `y1`) after every group
   * transform; a group's box is its subtree's.
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` when this member was not sent that node, or it covers nothing
   * @example const { y0 } = ann.view.box(card);
   */
  box(node: Node | number): ScreenBox {
    const n = this.resolve(node);
    const b = nodeScreenBox(n, this.aspect);
    if (!b) throw misuse(`${describeNode(n)} in ${this.owner}'s view covers nothing (an empty group)`);
    return b;
  }

  /** @internal the view's own copy of a node (by id, or the node with the same id) */
  resolve(node: Node | number): Node {
    const id = typeof node === 'number' ? node : node.id;
    const n = this.nodes.get(id);
    if (!n) throw misuse(`${this.owner} was not shown node ${id}${typeof node === 'number' ? '' : ` (${describeNode(node)})`}`);
    return n;
  }
}

/** A node in a message: its kind, id and, for text, the text. */
export function describeNode(n: Node): string {
  const kind = n.kind === NodeKind.TEXT ? 'Text' : n.kind === NodeKind.SHAPE ? 'Shape' : n.kind === NodeKind.ASSET ? 'Asset' : 'Group';
  return n.kind === NodeKind.TEXT ? `${kind} ${n.id} ${JSON.stringify((n as Text).text)}` : `${kind} ${n.id}`;
}

function describeQuery(q: NodeQuery): string {
  if (typeof q === 'string') return `the text ${JSON.stringify(q)}`;
  if (q instanceof RegExp) return `the text ${q}`;
  if (typeof q === 'number') return `the id ${q}`;
  const parts: string[] = [];
  if (q.kind) parts.push(`kind ${q.kind}`);
  if (q.id !== undefined) parts.push(`id ${q.id}`);
  if (q.text !== undefined) parts.push(`text ${typeof q.text === 'string' ? JSON.stringify(q.text) : q.text}`);
  if (q.clickable !== undefined) parts.push(q.clickable ? 'clickable' : 'not clickable');
  if (q.where) parts.push('a predicate');
  return `{ ${parts.join(', ')} }`;
}

function textMatches(n: Node, t: string | RegExp): boolean {
  if (n.kind !== NodeKind.TEXT) return false;
  const s = (n as Text).text;
  return typeof t === 'string' ? s === t : (t.lastIndex = 0, t.test(s));
}

function matcher(q: NodeQuery): (n: Node) => boolean {
  if (typeof q === 'string' || q instanceof RegExp) return (n) => textMatches(n, q);
  if (typeof q === 'number') return (n) => n.id === q;
  if (q.kind !== undefined && !(q.kind in KINDS)) throw misuse(`unknown node kind ${JSON.stringify(q.kind)} in a query (group, shape, text or asset)`);
  const kind = q.kind === undefined ? undefined : KINDS[q.kind];
  return (n) =>
    (kind === undefined || n.kind === kind) &&
    (q.id === undefined || n.id === q.id) &&
    (q.text === undefined || textMatches(n, q.text)) &&
    (q.clickable === undefined || n.clickable === q.clickable) &&
    (q.where === undefined || q.where(n));
}
