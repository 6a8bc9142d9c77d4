/**
 * Identity across a room's life, over real sockets: seat tickets bound to a user, reconnects
 * keeping the identity, a signed-in player getting their seat back by identity, and the identity
 * reaching a game that runs in a sandboxed child process.
 */
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CloseCode, type JoinMessage } from '@parlor/squish';
import type { GameServer, GameServerOptions } from '@parlor/server';
import { ProcessRuntime } from '../src/runtimes.js';
import { TestClient, captureLogger, startServer, waitFor } from './helpers.js';

const whoami = fileURLToPath(new URL('./fixtures/identity/whoami.ts', import.meta.url));
const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes!';
const key = new TextEncoder().encode(SECRET);

let server: GameServer | null = null;
let clients: TestClient[] = [];
const runtimes: ProcessRuntime[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close();
  server = null;
});
afterAll(async () => {
  for (const r of runtimes) await r.close();
});

function token(sub: string, roles: string[] = []): Promise<string> {
  return new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(key);
}

async function start(more: Partial<GameServerOptions> = {}): Promise<GameServer> {
  server = (await startServer({ games: { who: whoami }, identity: { secrets: [SECRET] }, reconnectGraceMs: 60_000, ...more })).server;
  return server;
}

async function join(more: Partial<JoinMessage> = {}): Promise<TestClient> {
  const c = await TestClient.connect(server!);
  clients.push(c);
  c.join('who', more);
  await waitFor(() => c.closeInfo !== null || (c.init !== null && c.fullFrames > 0), 'join answered');
  return c;
}

function who(c: TestClient): string | undefined {
  return c.texts().find((t) => t.startsWith('who '));
}

describe('seat tickets bound to users', () => {
  it('a ticket bound to a userId admits that user only: another user or an anonymous join gets 4403 with the reason', async () => {
    await start();
    const first = await join({ token: await token('host-user') });
    const roomId = first.init!.roomId;
    const { tickets } = server!.reserveSeats(roomId, 2, 60_000, ['ann', 'bob']);
    const mallory = await join({ roomId, ticket: tickets[0], token: await token('mallory') });
    expect(mallory.closeInfo?.code).toBe(CloseCode.TICKET_REJECTED);
    expect(mallory.closeInfo?.reason).toMatch(/this join ticket is for another signed-in player/);
    const anon = await join({ roomId, ticket: tickets[0] });
    expect(anon.closeInfo?.code).toBe(CloseCode.TICKET_REJECTED);
    expect(anon.closeInfo?.reason).toMatch(/sign in as that player/);
    // the refusals did not spend the ticket: its user still gets the seat
    const ann = await join({ roomId, ticket: tickets[0], token: await token('ann') });
    expect(ann.closeInfo).toBeNull();
    expect(ann.init?.roomId).toBe(roomId);
    // ann's ticket is spent, bob's is bob's
    const spent = await join({ roomId, ticket: tickets[0], token: await token('carl') });
    expect(spent.closeInfo?.code).toBe(CloseCode.TICKET_REJECTED);
    expect(spent.closeInfo?.reason).toMatch(/missing, unknown, used or expired/);
    expect((await join({ roomId, ticket: tickets[1], token: await token('bob') })).closeInfo).toBeNull();
  });

  it('refuses userIds that do not match the count', async () => {
    await start();
    const first = await join({ token: await token('x') });
    expect(() => server!.reserveSeats(first.init!.roomId, 2, 60_000, ['only-one'])).toThrow(/userIds must be 2 user ids/);
    expect(() => server!.reserveSeats(first.init!.roomId, 1, 60_000, [''])).toThrow(/userIds/);
  });
});

describe('identity across reconnects', () => {
  it('a reconnect keeps the identity, even once the token expired, and the game keeps the same player', async () => {
    await start();
    const tok = await token('ria', ['member']);
    const a = await join({ token: tok });
    await waitFor(() => who(a) !== undefined, 'identity shown');
    const { roomId, playerId, reconnectToken } = a.init!;
    a.close();
    await a.closed();
    // reconnect with the reconnect token and a token that no longer verifies: the seat, not the JWT, is what counts
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('ria').setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key);
    const b = await join({ roomId, reconnectToken, token: expired });
    expect(b.closeInfo).toBeNull();
    expect(b.init?.playerId).toBe(playerId);
    await waitFor(() => who(b) !== undefined, 'identity shown again');
    expect(who(b)).toBe(`who ${playerId}: ria [member]`);
  });

  it('a signed-in player joining a room where their seat is held gets it back (same player id); others get new seats', async () => {
    await start();
    const a = await join({ token: await token('sam') });
    const { roomId, playerId } = a.init!;
    a.close();
    await a.closed();
    // a fresh join (another tab or device: no reconnect token) by the same user
    const again = await join({ roomId, token: await token('sam') });
    expect(again.closeInfo).toBeNull();
    expect(again.init?.playerId).toBe(playerId);
    // while connected, the same user elsewhere takes the seat over; the older socket gets 4411
    const third = await join({ roomId, token: await token('sam') });
    expect(third.init?.playerId).toBe(playerId);
    expect((await again.closed()).code).toBe(CloseCode.REPLACED);
    const other = await join({ roomId, token: await token('tom') });
    expect(other.init?.playerId).not.toBe(playerId);
    const anon = await join({ roomId });
    expect(anon.init?.playerId).not.toBe(playerId);
  });
});

describe('identity in a sandboxed runtime', () => {
  it('the userId and roles reach a game running in a child process', async () => {
    const runtime = new ProcessRuntime({ logger: captureLogger().logger });
    runtimes.push(runtime);
    await start({ runtime });
    const c = await join({ token: await token('proc-user', ['admin']) });
    expect(c.closeInfo).toBeNull();
    await waitFor(() => who(c) !== undefined, 'identity shown from the child process');
    expect(who(c)).toBe(`who ${c.init!.playerId}: proc-user [admin]`);
    const anon = await join();
    await waitFor(() => who(anon) !== undefined, 'anonymous identity from the child process');
    expect(who(anon)).toBe(`who ${anon.init!.playerId}: anonymous []`);
  });
});
