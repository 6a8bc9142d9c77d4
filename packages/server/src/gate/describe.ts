/**
 * Turning untrusted values (anything a game or its sandbox produced) into bounded text, without
 * ever calling `String()`, a template literal, `toString`/`valueOf`/`Symbol.toPrimitive` or a
 * property getter on them: an object whose `toString` is not callable makes `String()` throw, a
 * getter runs the game's code, a 4 MB string bloats every report line.
 */

/** Default cap of {@link describeUntrusted} (characters). */
export const MAX_DESCRIBED_CHARS = 500;

/** `s` cut to `max` characters, with a marker saying how much was cut. */
export function truncate(s: string, max = MAX_DESCRIBED_CHARS): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}… (${s.length - max} more characters)`;
}

/**
 * A bounded, printable description of any value: strings as they are (truncated, control
 * characters escaped), primitives by value, everything else by its kind (`an object`, `an
 * array of 3`, `a function`). Never throws, never runs code of the value.
 */
export function describeUntrusted(value: unknown, max = MAX_DESCRIBED_CHARS): string {
  try {
    switch (typeof value) {
      case 'string': {
        const text = escapeControl(value.length > max ? value.slice(0, max) : value);
        return value.length > max ? `${text}… (${value.length} characters in all)` : text;
      }
      case 'number':
      case 'boolean':
      case 'bigint':
      case 'undefined':
        return `${value as number | boolean | bigint | undefined}`; // primitives: no user code runs
      case 'symbol':
        return 'a symbol';
      case 'function':
        return 'a function';
      case 'object': {
        if (value === null) return 'null';
        if (Array.isArray(value)) return `an array of ${value.length}`;
        if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
        return 'an object';
      }
      default:
        return 'a value of unknown type';
    }
  } catch {
    return 'an unprintable value';
  }
}

/** The string itself when `value` is a string (truncated), else `fallback`. Never throws. */
export function stringOr(value: unknown, fallback: string, max = MAX_DESCRIBED_CHARS): string {
  return typeof value === 'string' ? truncate(value, max) : fallback;
}

/** An own data property of an untrusted object (never a getter, never the prototype chain); `undefined` otherwise. */
export function ownData(obj: unknown, key: string): unknown {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return undefined;
  try {
    const d = Object.getOwnPropertyDescriptor(obj, key);
    return d && 'value' in d ? d.value : undefined;
  } catch {
    return undefined; // a revoked proxy and the like
  }
}

/** The message of something thrown, safely: an Error's own string `message`, a string, or its kind. */
export function errorText(err: unknown, max = MAX_DESCRIBED_CHARS): string {
  if (typeof err === 'string') return truncate(err, max);
  const m = ownData(err, 'message');
  if (typeof m === 'string') return truncate(m, max);
  return `a thrown ${describeUntrusted(m === undefined ? err : m, max)}`;
}

function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
