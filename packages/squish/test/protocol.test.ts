import { describe as suite, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, type ClientMessage, type InputEvent,
  SquishDecodeError, PROTOCOL_VERSION, type ServerMessage, type FrameMessage,
} from '../src/index.js';

const coord = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((v) => v / 100);
const str = fc.string({ unit: 'grapheme', maxLength: 40 });
const input: fc.Arbitrary<InputEvent> = fc.oneof(
  fc.record({ kind: fc.constantFrom('keydown' as const, 'keyup' as const), key: str }),
  fc.record({ kind: fc.constantFrom('pointerdown' as const, 'pointermove' as const, 'pointerup' as const), x: coord, y: coord }),
  fc.record({ kind: fc.constant('click' as const), nodeId: fc.nat(), x: coord, y: coord }),
  fc.record({ kind: fc.constant('gamepad' as const), index: fc.integer({ min: 0, max: 3 }), buttons: fc.array(fc.integer({ min: 0, max: 255 }).map((v) => v / 255), { maxLength: 17 }), axes: fc.array(fc.integer({ min: -100, max: 100 }).map((v) => v / 100), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('text' as const), text: str }),
);
const clientMsg: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({ type: fc.constant('join' as const), protocolVersion: fc.nat(), game: str, roomId: str, spectate: fc.boolean(), reconnectToken: str, ticket: str, name: str, clientInfo: str }),
  fc.record({ type: fc.constant('input' as const), event: input }),
  fc.record({ type: fc.constant('ping' as const), clientTime: fc.double({ noNaN: true }) }),
);

suite('protocol messages', () => {
  it('every client message round-trips', () => {
    fc.assert(fc.property(clientMsg, (m) => {
      const back = decodeClientMessage(encodeClientMessage(m));
      if (m.type === 'input' && m.event.kind === 'gamepad') {
        const e = back as { event: { buttons: number[] } };
        expect(e.event.buttons.map((b) => Math.round(b * 255))).toEqual(m.event.buttons.map((b) => Math.round(b * 255)));
      } else expect(back).toEqual(m);
    }), { numRuns: 1000 });
  });

  it('every server message round-trips', () => {
    const msgs: Exclude<ServerMessage, FrameMessage>[] = [
      { type: 'init', protocolVersion: PROTOCOL_VERSION, squishVersion: 1, playerId: 7, spectator: true, aspectRatio: { x: 16, y: 9 }, tickRate: 60, reconnectToken: 'abc', roomId: 'S1', game: 'pong', title: 'Pong ✨' },
      { type: 'assets', assets: [{ id: 'cards', type: 'image', hash: '0123abcd', url: '/parlor/assets/x/0123abcd/cards.png' }, { id: 'beep', type: 'audio', hash: 'ff', url: '/b.ogg' }] },
      { type: 'redirect', url: '/play/pong', ticket: 't', reason: 'reloaded' },
      { type: 'error', code: 4500, message: 'game failed 10 times in a row' },
      { type: 'pong', clientTime: 123.5, serverTime: 99999.25 },
    ];
    for (const m of msgs) expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m);
  });

  it('rejects unknown types and trailing bytes with SquishDecodeError', () => {
    expect(() => decodeClientMessage(new Uint8Array([200]))).toThrow(SquishDecodeError);
    const ping = encodeClientMessage({ type: 'ping', clientTime: 1 });
    expect(() => decodeClientMessage(new Uint8Array([...ping, 0]))).toThrow(SquishDecodeError);
    // 18 was protocol 1's `ack`: retired, it is an unknown type like any other (the server closes with 4400).
    expect(() => decodeClientMessage(new Uint8Array([18, 1]))).toThrow(/unknown client message type 18/);
    expect(() => decodeClientMessage(new Uint8Array([18, 1]))).toThrow(SquishDecodeError);
    expect(() => decodeServerMessage(new Uint8Array([]))).toThrow(SquishDecodeError);
  });
});

suite('versions', () => {
  it('a game pinning an unsupported squish version is rejected with a clear error', async () => {
    const { resolveMetadata, SUPPORTED_SQUISH_VERSIONS } = await import('../src/index.js');
    expect(resolveMetadata({ name: 'g' }).squishVersion).toBe(SUPPORTED_SQUISH_VERSIONS[SUPPORTED_SQUISH_VERSIONS.length - 1]);
    expect(() => resolveMetadata({ name: 'g', squishVersion: 999 })).toThrow(/squishVersion 999 is not supported/);
  });
});
