import { Packr } from 'msgpackr';
import { ServerError, ServerErrorCode } from '../errors.js';

/**
 * The wire format of out-of-process runtimes (child process, container): each message is a
 * 4-byte big-endian length followed by that many bytes of msgpack (msgpackr, no records, so no
 * code generation is needed on either side). Byte arrays travel as msgpack `bin` and arrive as
 * `Buffer`s.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Size of the length prefix of a channel frame, in bytes. */
export const CHANNEL_HEADER_BYTES = 4;

/** Default largest channel message accepted by a {@link ChannelDecoder}: 8 MiB. */
export const DEFAULT_MAX_CHANNEL_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Thrown by {@link ChannelDecoder.push} when the peer violates the framing (too large,
 * undecodable): a {@link ServerError} with code `SERVER_CHANNEL`.
 */
export class ChannelError extends ServerError {
  static override readonly brand: symbol = Symbol.for('parlor.error.ChannelError');
  constructor(
    message: string,
    /** `'too_large'` or `'malformed'`. */
    readonly reason: 'too_large' | 'malformed',
    options?: { cause?: unknown },
  ) {
    super(ServerErrorCode.CHANNEL, message, options);
  }
}

/** Encodes one message as a length-prefixed msgpack frame. */
export function encodeChannelMessage(msg: unknown): Buffer {
  const body = packr.pack(msg);
  const out = Buffer.allocUnsafe(CHANNEL_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, CHANNEL_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into channel messages. Feed it every chunk read from the peer; it returns
 * the complete messages in order and keeps the incomplete tail.
 */
export class ChannelDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  /** @param maxMessageBytes largest message body accepted (bytes); default 8 MiB. */
  constructor(private readonly maxMessageBytes = DEFAULT_MAX_CHANNEL_MESSAGE_BYTES) {}

  /**
   * Adds a chunk; returns the messages it completed.
   * @throws {ChannelError} when a frame announces more than `maxMessageBytes` or does not decode.
   */
  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < CHANNEL_HEADER_BYTES) return out;
        const head = this.take(CHANNEL_HEADER_BYTES);
        this.need = head.readUInt32BE(0);
        if (this.need > this.maxMessageBytes) {
          throw new ChannelError(`channel message of ${this.need} bytes exceeds the limit of ${this.maxMessageBytes} bytes`, 'too_large');
        }
      }
      if (this.buffered < this.need) return out;
      const body = this.take(this.need);
      this.need = -1;
      try {
        out.push(packr.unpack(body));
      } catch (err) {
        throw new ChannelError(`undecodable channel message: ${(err as Error).message}`, 'malformed', { cause: err });
      }
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }
}
