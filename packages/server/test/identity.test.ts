/**
 * Player identity over real sockets: signed tokens (HS256, and a JWKS served by a real local HTTP
 * server), the `authenticate` hook, the games' access (`requiresAuth`, `minRole` on the role
 * ladder) and what reaches the game (`player.userId`, `player.roles`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, type GameMetadata, type JoinMessage } from '@parlor/squish';
import { loadGame, type GameServer, type GameServerOptions } from '@parlor/server';
import { TestClient, startServer, waitFor } from './helpers.js';

const whoami = fileURLToPath(new URL('./fixtures/identity/whoami.ts', import.meta.url));
const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes!';
const key = new TextEncoder().encode(SECRET);

let server: GameServer | null = null;
let clients: TestClient[] = [];
let jwksServer: Server | null = null;

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
  server = null;
  await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()));
  jwksServer = null;
});

/** An HS256 token for `sub` with `claims`, expiring in `expSec` seconds (negative: already expired). */
function hs256(sub: string, claims: Record<string, unknown> = {}, expSec = 600, secret: Uint8Array = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + expSec).sign(secret);
}

/** `whoami` under several names, each with its own access in its metadata. */
async function games(access: Record<string, GameMetadata['access'] | undefined>): Promise<GameServerOptions['games']> {
  const base = await loadGame('open', whoami);
  const out: GameServerOptions['games'] = {};
  for (const [name, a] of Object.entries(access)) {
    out[name] = { ...base, name, metadata: { ...base.metadata, ...(a ? { access: { requiresAuth: a.requiresAuth ?? false, minRole: a.minRole ?? null } } : {}) } };
  }
  return out;
}

async function start(options: Omit<GameServerOptions, 'port' | 'host' | 'logger'>): Promise<GameServer> {
  server = (await startServer(options)).server;
  return server;
}

async function join(game: string, more: Partial<JoinMessage> = {}): Promise<TestClient> {
  const c = await TestClient.connect(server!);
  clients.push(c);
  c.join(game, more);
  await waitFor(() => c.closeInfo !== null || (c.init !== null && c.fullFrames > 0), `join ${game} answered`);
  return c;
}

/** What the game showed this client about itself. */
function who(c: TestClient): string | undefined {
  return c.texts().find((t) => t.startsWith('who '));
}

describe('identity tokens', () => {
  it('an HS256 token is verified and the game sees its sub as userId and its roles claim as roles', async () => {
    await start({ games: await games({ open: undefined }), identity: { secrets: [SECRET] } });
    const c = await join('open', { token: await hs256('user-42', { roles: ['member', 'beta-tester'] }) });
    expect(c.closeInfo).toBeNull();
    await waitFor(() => who(c) !== undefined, 'the game shows the identity');
    expect(who(c)).toBe(`who ${c.init!.playerId}: user-42 [member,beta-tester]`);
    // anonymous play keeps working where the game allows it
    const anon = await join('open');
    await waitFor(() => who(anon) !== undefined, 'anonymous identity shown');
    expect(who(anon)).toBe(`who ${anon.init!.playerId}: anonymous []`);
  });

  it('refuses expired, badly signed, wrong-audience and malformed tokens with 4498 TOKEN_REJECTED, whatever the game', async () => {
    await start({ games: await games({ open: undefined }), identity: { secrets: [SECRET], audience: 'parlor', issuer: 'https://id.example' } });
    const good = (sub: string, claims: Record<string, unknown> = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('https://id.example').setAudience('parlor').setExpirationTime('10m');
    const ok = await join('open', { token: await good('u1').sign(key) });
    expect(ok.closeInfo).toBeNull();
    const cases: [string, string, RegExp][] = [
      ['expired', await good('u1').setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key), /expired/],
      ['bad signature', await good('u1').sign(new TextEncoder().encode('another-secret-that-is-long-enough-to-use')), /signature/],
      ['wrong audience', await good('u1').setAudience('elsewhere').sign(key), /aud/],
      ['wrong issuer', await good('u1').setIssuer('https://evil.example').sign(key), /iss/],
      ['no sub', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setAudience('parlor').setExpirationTime('10m').sign(key), /sub/],
      ['malformed', 'not.a.jwt', /malformed/],
    ];
    for (const [what, token, reason] of cases) {
      const c = await join('open', { token });
      expect(c.closeInfo?.code, what).toBe(CloseCode.TOKEN_REJECTED);
      expect(c.closeInfo?.reason, what).toMatch(reason);
      expect(c.init, what).toBeNull();
    }
  });

  it('accepts any secret of a rotation and allows clock tolerance', async () => {
    const older = 'the-previous-secret-still-accepted-for-now';
    await start({ games: await games({ open: undefined }), identity: { secrets: [SECRET, older], clockToleranceSec: 120 } });
    const a = await join('open', { token: await hs256('old-key-user', {}, 600, new TextEncoder().encode(older)) });
    expect(a.closeInfo).toBeNull();
    const b = await join('open', { token: await hs256('late-user', {}, -60) }); // expired a minute ago, within 120 s
    expect(b.closeInfo).toBeNull();
    await waitFor(() => who(b) !== undefined, 'identity shown');
    expect(who(b)).toContain('late-user');
  });

  it('verifies asymmetric tokens against a JWKS served over HTTP', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    let fetched = 0;
    jwksServer = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwksServer!.listen(0, '127.0.0.1', r));
    const port = (jwksServer.address() as AddressInfo).port;
    await start({ games: await games({ open: undefined }), identity: { jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
    const token = await new SignJWT({ roles: 'admin member' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('jw-1').setExpirationTime('5m').sign(privateKey);
    const c = await join('open', { token });
    expect(c.closeInfo).toBeNull();
    await waitFor(() => who(c) !== undefined, 'identity shown');
    expect(who(c)).toBe(`who ${c.init!.playerId}: jw-1 [admin,member]`);
    expect(fetched).toBeGreaterThan(0);
    // a key the JWKS does not hold, and an HS256 token when no secret is configured
    const other = await generateKeyPair('ES256');
    const stranger = await join('open', { token: await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).setSubject('x').setExpirationTime('5m').sign(other.privateKey) });
    expect(stranger.closeInfo?.code).toBe(CloseCode.TOKEN_REJECTED);
    const hs = await join('open', { token: await hs256('x') });
    expect(hs.closeInfo?.code).toBe(CloseCode.TOKEN_REJECTED);
    expect(hs.closeInfo?.reason).toMatch(/HS256/);
  });

  it('the authenticate hook decides from the join (headers, token): identity, anonymous, or refused', async () => {
    const seen: string[] = [];
    await start({
      games: await games({ open: undefined, members: { requiresAuth: true } }),
      identity: {
        authenticate: async (j) => {
          seen.push(`${j.game}:${j.remoteAddress}:${j.spectate}`);
          if (j.token === 'deny') throw new Error('that session was revoked');
          if (j.token) return { userId: `hook-${j.token}`, roles: ['member'] };
          const cookie = String(j.headers.cookie ?? '');
          return cookie.includes('session=') ? { userId: cookie.split('session=')[1], roles: [] } : null;
        },
      },
    });
    const a = await join('members', { token: 'ann' });
    await waitFor(() => who(a) !== undefined, 'identity shown');
    expect(who(a)).toContain('hook-ann [member]');
    const cookie = new TestClient(server!.wsUrl, { headers: { cookie: 'session=bob' } });
    await cookie.opened;
    clients.push(cookie);
    cookie.join('members');
    await waitFor(() => who(cookie) !== undefined, 'cookie identity shown');
    expect(who(cookie)).toContain(': bob []');
    const anon = await join('members');
    expect(anon.closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    const denied = await join('open', { token: 'deny' });
    expect(denied.closeInfo).toMatchObject({ code: CloseCode.TOKEN_REJECTED, reason: 'that session was revoked' });
    expect(seen).toContain('members:127.0.0.1:false');
  });
});

describe('access at join', () => {
  it('requiresAuth refuses anonymous players and spectators with 4402 and admits signed ones', async () => {
    await start({ games: await games({ locked: { requiresAuth: true } }), identity: { secrets: [SECRET] } });
    const anon = await join('locked');
    expect(anon.closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    expect(anon.closeInfo?.reason).toBe('This game needs you to sign in');
    const spectator = await join('locked', { spectate: true });
    expect(spectator.closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    const signed = await join('locked', { token: await hs256('alice') });
    expect(signed.closeInfo).toBeNull();
    const signedSpectator = await join('locked', { token: await hs256('carol'), spectate: true });
    expect(signedSpectator.closeInfo).toBeNull();
    expect(signedSpectator.init?.spectator).toBe(true);
  });

  it('minRole ranks roles on the ladder: lower roles get 4407, higher ones pass; a custom ladder too', async () => {
    await start({ games: await games({ mods: { minRole: 'moderator' }, members: { minRole: 'member' } }), identity: { secrets: [SECRET] } });
    const player = await join('mods', { token: await hs256('p', { roles: ['player', 'member'] }) });
    expect(player.closeInfo).toMatchObject({ code: CloseCode.ROLE_REQUIRED, reason: 'This game needs the role moderator' });
    const anon = await join('mods');
    expect(anon.closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
    const admin = await join('mods', { token: await hs256('a', { roles: ['admin'] }) });
    expect(admin.closeInfo).toBeNull();
    const mod = await join('members', { token: await hs256('m', { roles: ['unknown-role', 'moderator'] }) });
    expect(mod.closeInfo).toBeNull();
    const noRoles = await join('members', { token: await hs256('n') });
    expect(noRoles.closeInfo?.code).toBe(CloseCode.ROLE_REQUIRED);
    await server!.close();

    await start({ games: await games({ vip: { minRole: 'gold' }, typo: { minRole: 'goldd' } }), identity: { secrets: [SECRET], roleLadder: ['bronze', 'silver', 'gold'] } });
    expect((await join('vip', { token: await hs256('s', { roles: ['silver'] }) })).closeInfo?.code).toBe(CloseCode.ROLE_REQUIRED);
    expect((await join('vip', { token: await hs256('g', { roles: ['gold'] }) })).closeInfo).toBeNull();
    // a minRole not on the ladder admits nobody (fail closed)
    expect((await join('typo', { token: await hs256('g', { roles: ['gold'] }) })).closeInfo?.code).toBe(CloseCode.ROLE_REQUIRED);
  });

  it('a LoadedGame.access (a catalog game’s) takes precedence over the metadata’s', async () => {
    const loaded = await loadGame('cat', whoami);
    await start({ games: { cat: { ...loaded, access: { requiresAuth: false, minRole: 'admin' } } }, identity: { secrets: [SECRET] } });
    expect((await join('cat', { token: await hs256('m', { roles: ['moderator'] }) })).closeInfo?.code).toBe(CloseCode.ROLE_REQUIRED);
    expect((await join('cat', { token: await hs256('a', { roles: ['admin'] }) })).closeInfo).toBeNull();
  });

  it('without identity options a token is ignored (anonymous) and games needing sign-in admit nobody', async () => {
    await start({ games: await games({ open: undefined, locked: { requiresAuth: true } }) });
    const c = await join('open', { token: await hs256('ignored') });
    await waitFor(() => who(c) !== undefined, 'identity shown');
    expect(who(c)).toContain('anonymous []');
    expect((await join('locked', { token: await hs256('ignored') })).closeInfo?.code).toBe(CloseCode.AUTH_REQUIRED);
  });
});

describe('test kit', () => {
  it('a test room player may join signed in: the game sees userId and roles; anonymous by default', async () => {
    const { createTestRoom } = await import('@parlor/server/testing');
    const { default: WhoAmI } = await import('./fixtures/identity/whoami.js');
    const room = createTestRoom(WhoAmI);
    const mod = room.join('Mo', { userId: 'u-7', roles: ['moderator'] });
    const anon = room.join();
    room.step();
    expect(mod.view.texts()).toContain(`who ${mod.id}: u-7 [moderator]`);
    expect(anon.view.texts()).toContain(`who ${anon.id}: anonymous []`);
  });
});
