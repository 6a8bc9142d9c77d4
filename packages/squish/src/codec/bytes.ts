import { SquishDecodeError, SquishEncodeError } from '../wire/errors.js';

/** Fixed-point scale of plane coordinates on the wire: 1/100 plane unit. */
export const FIXED_SCALE = 100;
/**
 * Largest magnitude of a fixed-point number, in hundredths: 2^46 (|v| ≤ ~7.03e11 plane units).
 * The one range limit of every number the codec writes as fixed point; it leaves room for a
 * difference of two such numbers (a translate delta) to be zigzag-encoded within 2^53.
 */
const MAX_FIXED = 2 ** 46;

/** Quantizes a number to the wire's 0.01 resolution: exactly what every decoder will see (−0 becomes 0). */
export function quantize(v: number): number {
  return Math.round(v * FIXED_SCALE) / FIXED_SCALE + 0;
}

/**
 * A number as the wire's integer hundredths.
 * @throws {SquishEncodeError} for NaN, ±Infinity or |v| over the fixed-point range (~7.03e11).
 */
export function toFixed(v: number): number {
  const q = Math.round(v * FIXED_SCALE);
  if (!(q <= MAX_FIXED && q >= -MAX_FIXED)) throw new SquishEncodeError(`cannot encode number ${v}: must be finite and within ±${MAX_FIXED / FIXED_SCALE}`);
  return q;
}

/**
 * @internal Growable byte writer. LEB128 varints, zigzag for signed, numbers as
 * fixed-point 1/100 units, strings as UTF-8 with a varint byte length.
 */
export class Writer {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;

  constructor(size = 1024) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint, 0 ≤ v ≤ 2^53 − 1. */
  uv(v: number): void {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    const b = this.buf;
    let p = this.pos;
    if (v < 128) {
      b[p] = v;
      this.pos = p + 1;
      return;
    }
    if (v < 0x80000000) {
      while (v > 127) {
        b[p++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[p++] = v;
    } else {
      while (v > 127) {
        b[p++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      b[p++] = v;
    }
    this.pos = p;
  }

  /** A number as fixed-point hundredths ({@link toFixed}). @throws {SquishEncodeError} for NaN, ±Infinity or |v| over ~7.03e11. */
  fx(v: number): void {
    // toFixed, inlined by hand: this is the codec's hottest line
    const q = Math.round(v * FIXED_SCALE);
    if (!(q <= MAX_FIXED && q >= -MAX_FIXED)) toFixed(v); // throws the one range error
    const z = q >= 0 ? q * 2 : -q * 2 - 1;
    if (z < 16384 && this.pos + 2 <= this.buf.length) {
      // 1- or 2-byte fast path: most plane coordinates (|v| < 81.92) land here.
      if (z < 128) this.buf[this.pos++] = z;
      else {
        this.buf[this.pos++] = (z & 127) | 128;
        this.buf[this.pos++] = z >>> 7;
      }
      return;
    }
    this.uv(z);
  }

  /** An already-quantized fixed-point integer (hundredths). */
  fq(q: number): void {
    this.uv(q >= 0 ? q * 2 : -q * 2 - 1);
  }

  f32(v: number): void {
    if (!Number.isFinite(v)) throw new SquishEncodeError(`cannot encode number ${v}: must be finite`);
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** UTF-8 string with a varint byte-length prefix. Lone surrogates become U+FFFD. */
  str(s: string): void {
    const n = s.length;
    // Fast path: short ASCII.
    let ascii = n < 128;
    if (ascii) {
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 127) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      this.ensure(n + 1);
      const b = this.buf;
      let p = this.pos;
      b[p++] = n;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const enc = textEncoder.encode(s);
    this.uv(enc.length);
    this.bytes(enc);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * @internal Bounds-checked reader over hostile bytes: every failure is a {@link SquishDecodeError}
 * with the offset.
 */
export class Reader {
  pos: number;
  private view: DataView;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string, at = this.pos): never {
    throw new SquishDecodeError(message, at);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end of input');
    return this.buf[this.pos++];
  }

  /** Unsigned varint; at most 8 bytes (values < 2^56, checked ≤ 2^53 − 1). */
  uv(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    if (p >= this.end) this.fail('unexpected end of input');
    let byte = b[p++];
    if (byte < 128) {
      this.pos = p;
      return byte;
    }
    let result = byte & 127;
    let mul = 128;
    for (let i = 1; i < 8; i++) {
      if (p >= this.end) this.fail('unexpected end of input in varint', start);
      byte = b[p++];
      result += (byte & 127) * mul;
      if (byte < 128) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('varint out of range', start);
        this.pos = p;
        return result;
      }
      mul *= 128;
    }
    return this.fail('varint too long', start);
  }

  /** Fixed-point hundredths → number. */
  fx(): number {
    const z = this.uv();
    const q = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    return q / FIXED_SCALE;
  }

  /** Fixed-point, kept as the integer number of hundredths. */
  fq(): number {
    const z = this.uv();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f32(): number {
    if (this.pos + 4 > this.end) this.fail('unexpected end of input');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    if (!Number.isFinite(v)) this.fail('non-finite number', this.pos - 4);
    return v;
  }

  f64(): number {
    if (this.pos + 8 > this.end) this.fail('unexpected end of input');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A count of items each at least `minBytes` long: rejects counts the input cannot hold. */
  count(minBytes = 1): number {
    const at = this.pos;
    const n = this.uv();
    if (n * minBytes > this.end - this.pos) this.fail(`count ${n} exceeds the remaining input`, at);
    return n;
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail('unexpected end of input');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    const at = this.pos;
    const n = this.uv();
    if (n > this.end - this.pos) this.fail(`string length ${n} exceeds the remaining input`, at);
    const b = this.buf;
    const p = this.pos;
    if (n < 64) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (b[p + i] > 127) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.pos = p + n;
        return n === 0 ? '' : String.fromCharCode.apply(null, b.subarray(p, p + n) as unknown as number[]);
      }
    }
    try {
      const s = textDecoder.decode(b.subarray(p, p + n));
      this.pos = p + n;
      return s;
    } catch {
      return this.fail('invalid UTF-8 in string', p);
    }
  }
}
