import { describe, expect, it } from 'vitest';
import { RedirectRefusedError } from '@parlor/client';
import { checkRedirect } from '../src/net/redirect.js';

const policy = { socketUrl: 'wss://game.example/parlor/ws', pageUrl: 'https://game.example/play/pong' };

describe('checkRedirect: only http(s)/ws(s) URLs of allowed origins', () => {
  it('follows same-origin pages and sockets, and an empty URL rejoins here', () => {
    expect(checkRedirect('/play/pong/abc', policy)).toEqual({ kind: 'page', url: 'https://game.example/play/pong/abc' });
    expect(checkRedirect('wss://game.example/parlor/ws', policy)).toEqual({ kind: 'socket', url: 'wss://game.example/parlor/ws' });
    expect(checkRedirect('  ', policy)).toEqual({ kind: 'socket', url: policy.socketUrl });
  });

  it.each([
    'javascript:alert(1)',
    ' \tJaVaScRiPt:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'blob:https://game.example/uuid',
    'file:///etc/passwd',
    'https://evil.example/',
    '//evil.example/',
    'wss://evil.example/parlor/ws',
    'http://game.example/', // another origin: the scheme differs
    'https://user:pw@game.example/',
    `https://game.example/${'x'.repeat(3000)}`,
  ])('refuses %s', (url) => {
    const r = checkRedirect(url, policy);
    expect(r).toBeInstanceOf(RedirectRefusedError);
    expect((r as RedirectRefusedError).code).toBe('CLIENT_REDIRECT_REFUSED');
  });

  it('refuses non-strings and follows further origins only when allowed', () => {
    expect(checkRedirect({ toString: () => 'https://game.example/' }, policy)).toBeInstanceOf(RedirectRefusedError);
    expect(checkRedirect('wss://eu.example/parlor/ws', policy)).toBeInstanceOf(RedirectRefusedError);
    const more = { ...policy, allowedOrigins: ['https://eu.example', 'not a url'] };
    expect(checkRedirect('wss://eu.example/parlor/ws', more)).toEqual({ kind: 'socket', url: 'wss://eu.example/parlor/ws' });
    expect(checkRedirect('https://eu.example/play/pong', more)).toEqual({ kind: 'page', url: 'https://eu.example/play/pong' });
    expect(checkRedirect('ws://eu.example/parlor/ws', more)).toBeInstanceOf(RedirectRefusedError);
  });
});
