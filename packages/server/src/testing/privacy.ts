import { NodeKind, type Node, type PlayerId, type Text } from '@parlor/squish';
import { describeNode } from './view.js';

/** One place where a member was sent a node it may not see. */
export interface Leak {
  /** The tick (1, 2, 3… since the room was made) whose frame carried it. */
  tick: number;
  /** The member's id and name. */
  memberId: PlayerId;
  memberName: string;
  /** The node's id. */
  nodeId: number;
  /**
   * How it was found: `'decoded'` — the node is in the member's view decoded from its bytes;
   * `'bytes'` — the private node's text appears in the bytes of that tick's frame.
   */
  via: 'decoded' | 'bytes';
  /** One line naming the tick, the member, the node, its path and whose it is. */
  message: string;
}

/** How many leaks are kept (all are counted). */
const KEEP = 50;
/** Private texts shorter than this many UTF-8 bytes are not searched for in raw bytes (too likely to occur by chance in numbers). */
export const MIN_TEXT_BYTES = 4;

/**
 * Checks, after every tick, each member that received a frame against the game's own scene at
 * that tick: no node in the member's decoded view may be hidden from it by `playerIds` (on the
 * node or an ancestor), and no private text (of {@link MIN_TEXT_BYTES} or more UTF-8 bytes) of a
 * node hidden from it may appear in the frame's bytes, unless the member legitimately sees that
 * same text in a node it may see.
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
    receivers: ReadonlyArray<{ id: PlayerId; name: string; spectator: boolean; nodes: ReadonlyMap<number, Node>; rootId: number; bytes: Uint8Array }>,
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
      for (const id of m.nodes.keys()) {
        if (id === m.rootId) continue;
        const n = scene.get(id);
        if (n && !n.isVisibleTo(m.id)) this.add({ tick, memberId: m.id, memberName: m.name, nodeId: id, via: 'decoded', message: describeLeak(tick, m, n, 'decoded') });
      }
      let ownTexts: string[] | null = null;
      for (const { node, pat } of privateTexts) {
        if (node.isVisibleTo(m.id) || indexOf(m.bytes, pat) < 0) continue;
        // texts the member legitimately sees (a card revealed on the table): not a leak of this node
        ownTexts ??= [...m.nodes.values()]
          .filter((n) => n.kind === NodeKind.TEXT && (scene.get(n.id)?.isVisibleTo(m.id) ?? true))
          .map((n) => (n as Text).text);
        if (ownTexts.some((t) => t.includes(node.text))) continue; // the member sees that text legitimately
        this.add({ tick, memberId: m.id, memberName: m.name, nodeId: node.id, via: 'bytes', message: describeLeak(tick, m, node, 'bytes') });
      }
    }
  }

  private add(leak: Leak): void {
    this.count++;
    if (this.leaks.length < KEEP) this.leaks.push(leak);
  }
}

function describeLeak(tick: number, m: { id: PlayerId; name: string; spectator: boolean }, n: Node, via: 'decoded' | 'bytes'): string {
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
  const how = via === 'decoded' ? 'has in its decoded view' : "was sent the text of, in that tick's bytes,";
  return `tick ${tick}: ${m.spectator ? 'spectator' : 'player'} ${m.name} (id ${m.id}) ${how} ${describeNode(n)} at ${path.join(' > ')}, ${whose}`;
}

function indexOf(hay: Uint8Array, pat: Uint8Array): number {
  outer: for (let i = 0; i + pat.length <= hay.length; i++) {
    for (let j = 0; j < pat.length; j++) if (hay[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}
