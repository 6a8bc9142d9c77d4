/**
 * Naming the node and property behind an encode error. Encoding stays a straight line with no
 * per-field checks; only when it throws does this find which field of which node was at fault,
 * by encoding the node's fields one at a time into a scratch writer (the same generated code, so
 * it finds exactly the field the encoder refused).
 */
import { SquishEncodeError } from '../wire/errors.js';
import type { Node } from '../scene/nodes.js';
import { KIND_FIELDS, KIND_FIELD_KEYS } from '../scene/generated/field-bits.js';
import { Writer } from './bytes.js';
import { writeFields } from './generated/field-codec.js';

const KIND_NAMES = ['Group', 'Shape', 'Text', 'Asset'];
const MAX_PATH = 8;
const probe = new Writer(256);

/** `'Shape #12'`. */
function label(n: Node): string {
  return `${KIND_NAMES[n.kind] ?? 'Node'} #${n.id}`;
}

/** The node's ancestors and itself, root first (the middle elided past {@link MAX_PATH} levels). */
function pathOf(n: Node): string {
  const chain: string[] = [];
  for (let at: Node | null = n; at; at = at._parent) chain.push(label(at));
  chain.reverse();
  if (chain.length > MAX_PATH) chain.splice(2, chain.length - MAX_PATH + 1, '…');
  return chain.join(' › ');
}

/** A value as an author wrote it, short: `"big" (a string)`, `NaN`, `[object]`. */
function show(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (a string)`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a ${typeof v}`;
}

/** The reason part of a low-level encode message (`cannot encode number x: must be finite` → `must be finite`). */
function reasonOf(err: SquishEncodeError): string {
  const i = err.message.indexOf(': ');
  return i >= 0 ? err.message.slice(i + 2) : err.message;
}

/**
 * Re-throws an error raised while encoding node `n`'s own fields (`mask`, default every field of
 * its kind) as a {@link SquishEncodeError} that names the node, its path and the property. Errors
 * that already name a node, and errors other than {@link SquishEncodeError}, are re-thrown as they are.
 * @throws always
 */
export function rethrowWithNode(err: unknown, n: Node, mask: number = KIND_FIELDS[n.kind]): never {
  if (!(err instanceof SquishEncodeError) || err.node) throw err;
  let property: string | undefined;
  for (let bit = 0; bit < 14 && property === undefined; bit++) {
    if (!(mask & (1 << bit))) continue;
    try {
      writeFields(probe.reset(), n, 1 << bit);
    } catch {
      property = KIND_FIELD_KEYS[n.kind]?.[bit] || undefined;
    }
  }
  const node = { kind: KIND_NAMES[n.kind] ?? 'Node', id: n.id, path: pathOf(n) };
  const value = property === undefined ? '' : ` = ${show((n as unknown as Record<string, unknown>)[property])}`;
  const what = property === undefined ? '' : ` property ${property}${value}`;
  throw new SquishEncodeError(`cannot encode ${label(n)}${what}: ${reasonOf(err)} (at ${node.path})`, { cause: err, node, property });
}
