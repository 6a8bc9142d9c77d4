import { describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode, closeAction, closeCodeMeaning, Connection, start } from '@parlor/client';
import { CLOSE_CODES, CloseCode, ParlorError } from '@parlor/squish';

describe('close codes', () => {
  it('rejoins on 4401, stops where retrying cannot help, reconnects otherwise', () => {
    expect(closeAction(CloseCode.RECONNECT_REJECTED)).toBe('rejoin');
    for (const c of [1000, 1009, CloseCode.MALFORMED, CloseCode.TICKET_REJECTED, CloseCode.NOT_FOUND, CloseCode.VERSION_MISMATCH, CloseCode.ROOM_FAILED, CloseCode.ROOM_FULL, CloseCode.REPLACED]) {
      expect(closeAction(c)).toBe('stop');
    }
    for (const c of [1001, 1006, CloseCode.CLIENT_RESET, CloseCode.JOIN_TIMEOUT, CloseCode.RATE_LIMITED, CloseCode.SLOW_CLIENT, CloseCode.SERVER_BUSY]) expect(closeAction(c)).toBe('reconnect');
    expect(closeAction(4999)).toBe('reconnect');
    expect(closeCodeMeaning(4404)).toBe('no such game or room');
    expect(closeCodeMeaning(4999)).toContain('4999');
  });

  it('reads its policy and meanings from squish’s one table', () => {
    for (const row of CLOSE_CODES) {
      expect(closeAction(row.code)).toBe(row.retry);
      expect(closeCodeMeaning(row.code)).toBe(row.meaning);
    }
  });
});

describe('client errors', () => {
  it('are typed ParlorErrors with CLIENT_* codes, never a plain TypeError', () => {
    let thrown: unknown;
    try {
      start({} as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClientError);
    expect(thrown).toBeInstanceOf(ParlorError);
    expect(thrown).not.toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ name: 'ClientError', code: ClientErrorCode.OPTIONS });
    // no global WebSocket in this Node test environment, none passed
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    delete g.WebSocket;
    try {
      expect(() => new Connection({ url: 'ws://127.0.0.1:1/ws', game: 'g' } as never)).toThrow(expect.objectContaining({ code: ClientErrorCode.NO_WEBSOCKET }));
    } finally {
      if (saved !== undefined) g.WebSocket = saved;
    }
    for (const code of Object.values(ClientErrorCode)) expect(code).toMatch(/^CLIENT_[A-Z_]+$/);
  });
});
