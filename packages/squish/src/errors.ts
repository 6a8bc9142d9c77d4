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
} as const;

/** One of {@link SquishErrorCode}'s values. */
export type SquishErrorCodeValue = (typeof SquishErrorCode)[keyof typeof SquishErrorCode];

/**
 * Base class of every error Parlor throws. `code` is a stable string; `cause` carries the
 * underlying error where there is one. Other Parlor packages subclass it with their own codes.
 */
export class ParlorError extends Error {
  /** Stable, machine-readable code such as `'SQUISH_DECODE'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Thrown by every squish decoder (`unsquish`, `decodeFrame`, `SceneMirror.apply`,
 * `decodeServerMessage`, `decodeClientMessage`) on any byte string that is not valid.
 * Decoders throw nothing else on bad input.
 */
export class SquishDecodeError extends ParlorError {
  /** Byte offset into the input where decoding failed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(SquishErrorCode.DECODE, `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** Thrown by encoders when a value cannot be represented (NaN, Infinity, nesting deeper than {@link MAX_DEPTH}). */
export class SquishEncodeError extends ParlorError {
  constructor(message: string) {
    super(SquishErrorCode.ENCODE, message);
  }
}

/** Thrown by scene-graph mutations that would corrupt the tree (a cycle, a node with two parents). */
export class SceneError extends ParlorError {
  constructor(message: string) {
    super(SquishErrorCode.SCENE, message);
  }
}

/**
 * Deepest node nesting the codec accepts (root = depth 1), on encode and on decode alike.
 * Deeper trees throw {@link SquishEncodeError} / {@link SquishDecodeError}: the bound keeps a
 * hostile frame from overflowing the decoder's stack.
 */
export const MAX_DEPTH = 256;
