/**
 * Stable error codes of `@parlor/squish`. Callers switch on `error.code`, never on messages.
 */
export const SquishErrorCode = {
  /** The bytes handed to a decoder are not a valid squish node, frame or message. */
  DECODE: 'SQUISH_DECODE',
  /** A value cannot be encoded (non-finite number, nesting too deep, wrong type). */
  ENCODE: 'SQUISH_ENCODE',
  /** A scene-graph operation that would corrupt the tree (cycle, second parent). */
  SCENE: 'SQUISH_SCENE',
  /** A game's `metadata()` breaks the schema (`GameMetadataError`, thrown by `resolveMetadata`). */
  METADATA: 'SQUISH_METADATA',
} as const;

/** One of {@link SquishErrorCode}'s values. */
export type SquishErrorCodeValue = (typeof SquishErrorCode)[keyof typeof SquishErrorCode];

const kParlorError: unique symbol = Symbol.for('parlor.error') as never;

/**
 * Base class of every error Parlor throws: `name` is the class name, `code` a stable string with
 * one prefix per package (`SQUISH_*`, `SERVER_*`, `CLIENT_*`, `FLEET_AGENT_*`; the orchestrator's
 * REST causes are bare, see docs/ERRORS.md), `cause` the underlying error where there is one (always
 * kept: an adapter that turns one error into another wraps it, it never rewrites a `code`).
 *
 * `instanceof` works across copies of a package (a CommonJS and an ES module copy loaded side by
 * side, two versions in one `node_modules`), as undici's errors do: each class carries a brand
 * `Symbol.for('parlor.error…')` and `instanceof` checks for the brand, not the prototype chain.
 * A subclass that wants its own cross-copy `instanceof` declares
 * `static override readonly brand = Symbol.for('parlor.error.<Name>')` (its `name` is then read from
 * the brand, so it survives minification); without one it keeps the ordinary prototype check.
 */
export class ParlorError extends Error {
  /** The brand `instanceof` looks for: `Symbol.for('parlor.error')` here; each subclass declares its own. */
  static readonly brand: symbol = kParlorError;

  /**
   * `value instanceof C`: true when `C.prototype` is on `value`'s prototype chain (the ordinary
   * check) or `value` carries `C.brand` (set on the prototypes of `C` and its subclasses when their
   * first instance is made, in whichever copy of the package made `value`).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
    const ordinary = Function.prototype[Symbol.hasInstance].call(this, value) as boolean;
    if (ordinary || !own(this, 'brand')) return ordinary;
    return (value as Record<symbol, unknown>)[(this as typeof ParlorError).brand] === true;
  }

  /** Stable, machine-readable code such as `'SQUISH_DECODE'`. */
  readonly code: string;

  /**
   * @param code a stable code of the thrower's package (its `*ErrorCode` object).
   * @param options.cause the underlying error, kept as `error.cause`.
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = errorName(new.target);
    brandChain(new.target);
  }
}

/**
 * The class's name, read from its own brand's description (`parlor.error.<Name>`) so that it
 * survives minifiers that rename classes (the client's page bundle); the class name otherwise.
 */
function errorName(cls: { name: string }): string {
  if (!own(cls, 'brand')) return cls.name;
  const d = (cls as typeof ParlorError).brand.description ?? '';
  return d.startsWith('parlor.error.') ? d.slice('parlor.error.'.length) : 'ParlorError';
}

/** `Object.hasOwn`, spelled for ES2020 (the client's page bundle targets it). */
function own(o: object, key: PropertyKey): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** Puts each class's brand on its own prototype (once), from `cls` up to {@link ParlorError}. */
function brandChain(cls: unknown): void {
  for (let c = cls as (typeof ParlorError & { prototype: object }) | null; c && c !== (Error as unknown); c = Object.getPrototypeOf(c)) {
    if (!own(c, 'brand')) continue;
    if (own(c.prototype, c.brand)) break;
    // a frozen class (hardened realm): keep the ordinary instanceof rather than throw here
    if (!Object.isExtensible(c.prototype)) continue;
    Object.defineProperty(c.prototype, c.brand, { value: true, enumerable: false, writable: false, configurable: false });
  }
}

/**
 * Thrown by every squish decoder (`unsquish`, `SceneMirror.apply`, `decodeServerMessage`,
 * `decodeClientMessage`) on any byte string that is not valid.
 * Decoders throw nothing else on bad input.
 */
export class SquishDecodeError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.SquishDecodeError');
  /** Byte offset into the input where decoding failed. */
  readonly offset: number;

  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super(SquishErrorCode.DECODE, `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

/** The scene node an encode error is about: what a game author needs to find it. */
export interface EncodeErrorNode {
  /** `'Group'`, `'Shape'`, `'Text'` or `'Asset'`. */
  kind: string;
  /** The node's `id`. */
  id: number;
  /** The node's ancestors and itself, root first, e.g. `'Group #1 › Group #3 › Shape #12'`. */
  path: string;
}

/**
 * Thrown by encoders when a value cannot be represented (NaN, Infinity, a value of the wrong type,
 * nesting deeper than {@link MAX_DEPTH}). When a scene node's field is at fault (`Squisher`,
 * `squish`), the message names the node (kind, id, path), the property and the value, and
 * {@link SquishEncodeError.node} / {@link SquishEncodeError.property} carry them.
 */
export class SquishEncodeError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.SquishEncodeError');
  /** The node whose field could not be encoded, when known. */
  readonly node?: EncodeErrorNode;
  /** The property of {@link SquishEncodeError.node} that could not be encoded, e.g. `'radius'`, when known. */
  readonly property?: string;

  constructor(message: string, options?: { cause?: unknown; node?: EncodeErrorNode; property?: string }) {
    super(SquishErrorCode.ENCODE, message, options);
    if (options?.node) this.node = options.node;
    if (options?.property !== undefined) this.property = options.property;
  }
}

/** Thrown by scene-graph mutations that would corrupt the tree (a cycle, a node with two parents). */
export class SceneError extends ParlorError {
  static override readonly brand: symbol = Symbol.for('parlor.error.SceneError');
  constructor(message: string, options?: { cause?: unknown }) {
    super(SquishErrorCode.SCENE, message, options);
  }
}

/**
 * Deepest node nesting the codec accepts (root = depth 1), on encode and on decode alike.
 * Deeper trees throw {@link SquishEncodeError} / {@link SquishDecodeError}: the bound keeps a
 * hostile frame from overflowing the decoder's stack.
 */
export const MAX_DEPTH = 256;
