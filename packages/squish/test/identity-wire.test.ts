import { describe, expect, it } from 'vitest';
import {
  CLOSE_CODES, CloseCode, GameMetadataError, MessageType, PROTOCOL_VERSION, decodeClientMessage, encodeClientMessage, resolveMetadata, type JoinMessage,
} from '@parlor/squish';

const base: JoinMessage = {
  type: 'join', protocolVersion: PROTOCOL_VERSION, game: 'pong', roomId: 'r1', spectate: false, reconnectToken: '', ticket: 't', name: 'Ann', clientInfo: 'test',
};

describe('join identity token on the wire', () => {
  it('round-trips a token, and a join without one encodes as before (no trailing field) and decodes without it', () => {
    const withToken = decodeClientMessage(encodeClientMessage({ ...base, token: 'eyJ.a.b' }));
    expect(withToken).toEqual({ ...base, token: 'eyJ.a.b' });
    const plain = encodeClientMessage(base);
    expect(encodeClientMessage({ ...base, token: '' })).toEqual(plain);
    expect(decodeClientMessage(plain)).toEqual(base);
    expect('token' in decodeClientMessage(plain)).toBe(false);
  });

  it('decodes a join as an older client writes it, byte by byte (protocol 2 layout, nothing after clientInfo)', () => {
    const str = (s: string) => [s.length, ...new TextEncoder().encode(s)];
    const bytes = new Uint8Array([MessageType.JOIN, PROTOCOL_VERSION, ...str('pong'), ...str('r1'), 0, ...str(''), ...str('t'), ...str('Ann'), ...str('test')]);
    expect(decodeClientMessage(bytes)).toEqual(base);
    // a truncated token is malformed, not a silently anonymous join
    expect(() => decodeClientMessage(new Uint8Array([...bytes, 5, 97]))).toThrow();
  });

  it('the identity close codes are in the game range, stop, and say what the player needs', () => {
    for (const code of [CloseCode.AUTH_REQUIRED, CloseCode.ROLE_REQUIRED, CloseCode.TOKEN_REJECTED]) {
      const row = CLOSE_CODES.find((r) => r.code === code);
      expect(row?.retry).toBe('stop');
      expect(code).toBeGreaterThanOrEqual(4400);
      expect(code).toBeLessThanOrEqual(4599);
    }
    expect(CLOSE_CODES.find((r) => r.code === CloseCode.AUTH_REQUIRED)?.meaning).toMatch(/sign in/);
  });
});

describe('metadata().access', () => {
  it('is absent unless declared, and minRole implies requiresAuth', () => {
    expect('access' in resolveMetadata({ name: 'Open' })).toBe(false);
    expect(resolveMetadata({ name: 'A', access: { requiresAuth: true } }).access).toEqual({ requiresAuth: true, minRole: null });
    expect(resolveMetadata({ name: 'B', access: { minRole: 'moderator' } }).access).toEqual({ requiresAuth: true, minRole: 'moderator' });
    expect(resolveMetadata({ name: 'C', access: {} }).access).toEqual({ requiresAuth: false, minRole: null });
  });

  it('refuses bad shapes naming the field', () => {
    const bad: [unknown, string][] = [
      ['yes', 'access'],
      [{ requiresAuth: 'yes' }, 'access.requiresAuth'],
      [{ minRole: '' }, 'access.minRole'],
      [{ minRole: 'has space' }, 'access.minRole'],
      [{ minRole: 7 }, 'access.minRole'],
    ];
    for (const [access, field] of bad) {
      let err: unknown;
      try {
        resolveMetadata({ name: 'X', access } as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(access)).toBeInstanceOf(GameMetadataError);
      expect((err as GameMetadataError).field).toBe(field);
    }
  });
});
