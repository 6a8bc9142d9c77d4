import { describe, expect, it } from 'vitest';
import { isGameName, isLabel, isRoomId, parsePlayPath, playPath, socketUrlFor, WS_PATH } from '@parlor/squish';

describe('paths and ids', () => {
  it('builds and reads play paths (segments URI-encoded)', () => {
    expect(playPath('pong')).toBe('/play/pong');
    expect(playPath('pong', '')).toBe('/play/pong');
    expect(playPath('pong', 'r1')).toBe('/play/pong/r1');
    expect(playPath('a b', 'x/y')).toBe('/play/a%20b/x%2Fy');
    expect(parsePlayPath(playPath('a b', 'x/y'))).toEqual({ game: 'a b', roomId: 'x/y' });
    expect(parsePlayPath('/play/pong/')).toEqual({ game: 'pong', roomId: '' });
    expect(parsePlayPath('/play/pong')).toEqual({ game: 'pong', roomId: '' });
    expect(parsePlayPath('/play/')).toBeNull();
    expect(parsePlayPath('/play/a/b/c')).toBeNull();
    expect(parsePlayPath('/play/%E0%A4%A')).toBeNull();
    expect(parsePlayPath('/lobby')).toBeNull();
  });

  it('builds the socket URL of a page origin', () => {
    expect(socketUrlFor('http:', 'localhost:8080')).toBe(`ws://localhost:8080${WS_PATH}`);
    expect(socketUrlFor('https:', 'example.com')).toBe('wss://example.com/parlor/ws');
  });

  it('checks room ids, game names and labels', () => {
    expect(isRoomId('a'.repeat(64))).toBe(true);
    expect(isRoomId('a'.repeat(65))).toBe(false);
    expect(isRoomId('')).toBe(false);
    expect(isRoomId('a.b')).toBe(false);
    expect(isRoomId(7)).toBe(false);
    expect(isGameName('pong.v2')).toBe(true);
    expect(isGameName('.hidden')).toBe(false);
    expect(isGameName('..')).toBe(false);
    expect(isLabel('region', 'eu')).toBe(true);
    expect(isLabel('k', 'v'.repeat(64))).toBe(false);
    expect(isLabel('bad key', 'v')).toBe(false);
    expect(isLabel('k', 1)).toBe(false);
  });
});
