import { Reader } from '../codec/bytes.js';
import { readFields, readNode } from '../codec/codec.js';
import { SquishDecodeError } from '../wire/errors.js';
import { FrameKind, OpCode } from '../codec/frame.js';
import { translateNode } from '../codec/generated/field-codec.js';
import { Group, type Node } from '../scene/nodes.js';
import { MessageType } from '../wire/protocol-types.js';

/** What {@link SceneMirror.apply} did. */
export interface ApplyResult {
  full: boolean;
  seq: number;
}

/**
 * The receiving end of a {@link Squisher}: rebuilds the scene from full and delta frames, as
 * real node instances a renderer can read. Used by the browser client, and by tests and bots.
 *
 * A frame that fails to decode throws {@link SquishDecodeError} and leaves the mirror empty
 * (`root === null`) until the next full frame: a half-applied delta is never shown.
 */
export class SceneMirror {
  private _root: Group | null = null;
  private readonly _nodes = new Map<number, Node>();
  /** Sequence number of the last frame applied (0 before any). */
  seq = 0;

  /** Root of the scene (its children are the layers), or `null` before the first full frame. */
  get root(): Group | null {
    return this._root;
  }

  /** Every node in the scene by id. */
  get nodes(): ReadonlyMap<number, Node> {
    return this._nodes;
  }

  /**
   * Applies one `frame` message (the whole message bytes, type byte included).
   * @throws {SquishDecodeError} on malformed bytes, a delta before any full frame, or an op on an unknown node.
   */
  apply(bytes: Uint8Array): ApplyResult {
    try {
      return this.applyUnsafe(bytes);
    } catch (err) {
      this._root = null;
      this._nodes.clear();
      if (err instanceof SquishDecodeError) throw err;
      // Defensive: any other failure on hostile input is still reported as a decode error.
      throw new SquishDecodeError(`frame could not be applied: ${(err as Error)?.message ?? String(err)}`, 0);
    }
  }

  private applyUnsafe(bytes: Uint8Array): ApplyResult {
    const r: Reader = new Reader(bytes);
    const type = r.u8();
    if (type !== MessageType.FRAME) r.fail(`not a frame message (type ${type})`, 0);
    const kindAt = r.pos;
    const kind = r.u8();
    if (kind !== FrameKind.FULL && kind !== FrameKind.DELTA) r.fail(`bad frame kind ${kind}`, kindAt);
    const seq = r.uv();
    const nodes = this._nodes;
    if (kind === FrameKind.FULL) {
      nodes.clear();
      const at = r.pos;
      const root = readNode(r, 1, (n) => nodes.set(n.id, n));
      if (!(root instanceof Group)) r.fail('frame root must be a group', at);
      this._root = root;
    } else if (this._root === null) {
      r.fail('delta frame before any full frame', 1);
    }
    const dropped: Node[] = [];
    while (r.remaining > 0) {
      const at = r.pos;
      const word = r.uv();
      const code = word % 4;
      const id = (word - code) / 4;
      const node = nodes.get(id);
      if (!node) r.fail(`op on unknown node ${id}`, at);
      if (code === OpCode.PROPS) {
        readFields(r, node, r.uv(), at);
      } else if (code === OpCode.TRANSLATE) {
        translateNode(node, r.fq(), r.fq());
      } else if (code === OpCode.CHILDREN) {
        this.setChildren(r, node, dropped, at);
      } else {
        r.fail(`unknown op code ${code}`, at);
      }
    }
    for (const d of dropped) if (d._parent === null) this.forget(d);
    this.seq = seq;
    return { full: kind === FrameKind.FULL, seq };
  }

  private setChildren(r: Reader, parent: Node, dropped: Node[], at: number): void {
    const count = r.count(1);
    let depth = 0;
    for (let a: Node | null = parent; a; a = a._parent) depth++;
    const next: Node[] = [];
    const seen = new Set<Node>();
    for (let i = 0; i < count; i++) {
      const tagAt = r.pos;
      const tag = r.uv();
      let child: Node;
      if (tag === 1) {
        child = readNode(r, depth + 1, (n) => this._nodes.set(n.id, n));
      } else if (tag % 2 === 0) {
        const existing = this._nodes.get(tag / 2);
        if (!existing) r.fail(`unknown child ${tag / 2}`, tagAt);
        for (let a: Node | null = parent; a; a = a._parent) if (a === existing) r.fail(`child ${existing.id} would make a cycle`, tagAt);
        child = existing;
      } else {
        return r.fail(`bad child entry ${tag}`, tagAt);
      }
      if (seen.has(child)) r.fail(`child ${child.id} listed twice`, tagAt);
      seen.add(child);
      const old = child._parent;
      if (old && old !== parent) {
        const i2 = old._children.indexOf(child);
        if (i2 >= 0) old._children.splice(i2, 1);
      }
      next.push(child);
    }
    void at;
    for (const c of parent._children) {
      if (!seen.has(c)) {
        c._parent = null;
        dropped.push(c);
      }
    }
    for (const c of next) c._parent = parent;
    parent._children = next;
  }

  private forget(n: Node): void {
    if (this._nodes.get(n.id) === n) this._nodes.delete(n.id);
    for (const c of n._children) this.forget(c);
  }
}
