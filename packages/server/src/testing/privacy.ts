import { NodeKind, type FrameNodeEntry, type Node, type PlayerId, type Text } from '@parlor/squish';
import { describeNode } from './view.js';

/**
 * One place where a member was sent a node it may not see (`room.leaks`).
 * @example
 * for (const leak of room.leaks) console.log(leak.tick, leak.memberName, leak.nodeId, leak.via);
 */
export interface Leak {
  /** The tick (1, 2, 3… since the room was made) whose frame carried it. */
  tick: number;
  /** The member's id and name. */
  memberId: PlayerId;
  memberName: string;
  /** The node's id. */
  nodeId: number;
  /**
   * How it was found: `'frame'` — the frame's bytes carried the node (the whole node, new values of
   * its fields, a move, or its child list: squish's `frameNodes`); `'view'` — the node is in the
   * member's view decoded from its bytes; `'text'` — the node's text appears in the frame's raw bytes.
   */
  via: 'frame' | 'view' | 'text';
  /** One line naming the tick, the member, the node, its path and whose it is. */
  message: string;
}

/** How many leaks are kept (all are counted). */
const KEEP = 50;
/** Private texts shorter than this many UTF-8 bytes are not searched for in raw bytes (too likely to occur by chance in numbers). */
export const MIN_TEXT_BYTES = 4;

/**
 * Checks, after every tick, each member that received a frame against the game's own scene at
 * that tick. A node is hidden from a member when `playerIds` on it or an ancestor leave the
 * member out; then: the frame's bytes may carry nothing of it (read op by op with squish's
 * `frameNodes`), the member's decoded view may not hold it, and its text (of
 * {@link MIN_TEXT_BYTES} or more UTF-8 bytes) may not appear in the frame's raw bytes unless the
 * member sees that same text in a node it may see. Each (member, node, way) is reported once, at its first tick.
 */
export class PrivacyWatch {
  readonly leaks: Leak[] = [];
  count = 0;

  /**
   * @param layers the game's layer roots at this tick
   * @param receivers who received a frame this tick, with that frame's bytes
   * @param names every member's name by id (for messages)
   */
  check(
    tick: number,
    layers: readonly Node[],
    receivers: ReadonlyArray<{
      id: PlayerId;
      name: string;
      spectator: boolean;
      /** The member's view after this frame. */
      nodes: ReadonlyMap<number, Node>;
      rootId: number;
      /** This tick's frame message. */
      bytes: Uint8Array;
      /** What that frame carried, node by node. */
      carried: readonly FrameNodeEntry[];
    }>,
  ): void {
    if (receivers.length === 0) return;
    const scene = new Map<number, Node>();
    const privateTexts: Array<{ node: Text; pat: Uint8Array }> = [];
    const enc = new TextEncoder();
    const walk = (n: Node, restricted: boolean): void => {
      scene.set(n.id, n);
      const r = restricted || n.playerIds !== null;
      if (r && n.kind === NodeKind.TEXT) {
        const pat = enc.encode((n as Text).text);
        if (pat.length >= MIN_TEXT_BYTES) privateTexts.push({ node: n as Text, pat });
      }
      for (const c of n.children) walk(c, r);
    };
    for (const l of layers) walk(l, false);

    for (const m of receivers) {
      const hidden = (id: number): Node | null => {
        const n = scene.get(id);
        return n && !n.isVisibleTo(m.id) ? n : null;
      };
      for (const { id, op } of m.carried) {
        const n = hidden(id);
        if (n) this.add(tick, m, n, 'frame', OPS[op]);
      }
      for (const id of m.nodes.keys()) {
        const n = id === m.rootId ? null : hidden(id);
        if (n) this.add(tick, m, n, 'view', 'has in its decoded view');
      }
      let ownTexts: string[] | null = null;
      for (const { node, pat } of privateTexts) {
        if (node.isVisibleTo(m.id) || indexOf(m.bytes, pat) < 0) continue;
        // texts the member legitimately sees (a card revealed on the table): not a leak of this node
        ownTexts ??= [...m.nodes.values()].filter((n) => n.kind === NodeKind.TEXT && !hidden(n.id)).map((n) => (n as Text).text);
        if (ownTexts.some((t) => t.includes(node.text))) continue;
        this.add(tick, m, node, 'text', "was sent the text, in that tick's raw bytes, of");
      }
    }
  }

  private readonly reported = new Set<string>();

  private add(tick: number, m: { id: PlayerId; name: string; spectator: boolean }, n: Node, via: Leak['via'], how: string): void {
    const key = `${m.id}:${n.id}:${how}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.count++;
    if (this.leaks.length < KEEP) this.leaks.push({ tick, memberId: m.id, memberName: m.name, nodeId: n.id, via, message: describeLeak(tick, m, n, how) });
  }
}

/** How each op of a frame is named in a leak's message. */
const OPS: Record<FrameNodeEntry['op'], string> = {
  node: 'was sent, whole, in its frame,',
  props: 'was sent new field values of',
  translate: 'was sent a move of',
  children: 'was sent the child list of',
};

function describeLeak(tick: number, m: { id: PlayerId; name: string; spectator: boolean }, n: Node, how: string): string {
  const path: string[] = [];
  for (let a: Node | null = n; a; a = a.parent) path.unshift(a.parent === null && a.id === 0 ? 'root' : describeNode(a).replace(/ ".*"$/, ''));
  let owner: Node | null = null;
  for (let a: Node | null = n; a; a = a.parent) {
    if (a.playerIds && !a.playerIds.includes(m.id)) {
      owner = a;
      break;
    }
  }
  const whose = owner ? `private to player${owner.playerIds!.length === 1 ? '' : 's'} [${owner.playerIds!.join(', ')}] (playerIds on ${owner === n ? 'the node itself' : describeNode(owner)})` : 'private';
  return `tick ${tick}: ${m.spectator ? 'spectator' : 'player'} ${m.name} (id ${m.id}) ${how} ${describeNode(n)} at ${path.join(' > ')}, ${whose}`;
}

function indexOf(hay: Uint8Array, pat: Uint8Array): number {
  outer: for (let i = 0; i + pat.length <= hay.length; i++) {
    for (let j = 0; j < pat.length; j++) if (hay[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}
