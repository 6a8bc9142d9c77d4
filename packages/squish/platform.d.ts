/**
 * The host APIs `@parlor/squish` uses beyond ECMAScript 2022, declared by hand: browsers, Node,
 * Deno and workers all provide them. The package compiles with no DOM lib and no Node types
 * (tsconfig.json), so any other host API (`Buffer`, `process`, `document`...) is a compile error.
 * Only this package's own program sees this file; everyone else gets the full DOM/Node types.
 */

/** WHATWG Encoding: UTF-8 encoder. */
interface TextEncoder {
  encode(input?: string): Uint8Array;
}
declare var TextEncoder: { prototype: TextEncoder; new (): TextEncoder };

/** WHATWG Encoding: decoder; squish only ever uses `'utf-8'` with `fatal: true`. */
interface TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}
declare var TextDecoder: { prototype: TextDecoder; new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder };

/** High Resolution Time: a monotonic clock in ms (the default clock of `TokenBucket`). */
declare var performance: { now(): number };
