/**
 * Rooms that last a host's death, end to end with real processes: `parlor serve --state-dir`
 * (the CLI from source, the process runtime), real players over sockets, kill -9 of the host's
 * whole process group and a restart on the same state folder.
 * - turn-based, killed in the middle of a turn's generation: the room comes back with its id, its
 *   last completed turn, every acknowledged order, no turn generated twice; an anonymous player
 *   reconnects with its reconnect token, a signed-in one by identity, and they play on;
 * - a snapshot over the cap fails that save (the order is refused, clearly) and the previous
 *   snapshot is what comes back;
 * - SIGTERM (drain) saves every room; a real-time game comes back from its periodic snapshot;
 * - a second host on the same state folder is refused with one line naming it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { openRoomStateStore } from '../src/index.js';
import { TestClient, waitFor } from './helpers.js';
import { cleanUp, startHost, tempDir, type Host } from './state-host.js';

afterAll(cleanUp);

const SECRET = 'a-test-secret-of-at-least-32-bytes-for-hs256!';
const signIn = (sub: string): Promise<string> => new SignJWT({ roles: ['player'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

interface Ledger {
  applied: Array<{ turn: number; orders: string[] }>;
  pending: string[];
}
/** The ledger game's state as the player sees it (its one text). */
const ledgerOf = (c: TestClient): Ledger => JSON.parse(c.texts().find((t) => t.startsWith('{'))!) as Ledger;
/** The count the tally game shows. */
const countOf = (c: TestClient): number => Number(/count (\d+)/.exec(c.texts().join(' '))?.[1] ?? -1);

async function accepted(c: TestClient, order: unknown): Promise<void> {
  const r = await c.order(order, { timeoutMs: 15_000 });
  expect(r, JSON.stringify(order)).toMatchObject({ accepted: true });
}

async function identityFile(): Promise<string> {
  const file = join(tempDir(), 'identity-secret');
  writeFileSync(file, `${SECRET}\n`);
  return file;
}

describe('parlor serve --state-dir', () => {
  it('kill -9 mid-turn: the room comes back with its id, last completed turn and every acknowledged order; no turn twice; players reconnect and play on', async () => {
    const stateDir = tempDir();
    const secretFile = await identityFile();
    const args = ['--runtime', 'process', '--identity-secret-file', secretFile];
    let host: Host = await startHost(stateDir, args);

    const annToken = await signIn('u-ann');
    const ann = await host.client();
    const annInit = await ann.joinAndSync('ledger', { token: annToken, name: 'Ann' });
    const bob = await host.client();
    const bobInit = await bob.joinAndSync('ledger', { roomId: annInit.roomId, name: 'Bob' });
    const roomId = annInit.roomId;
    await ann.waitForState((s) => s.status === 'running' && s.turn === 1, 'turn 1 open');

    await accepted(ann, { note: 'a1' });
    await accepted(bob, { note: 'b1' });
    await accepted(ann, { endTurn: true });
    await ann.waitForState((s) => s.status === 'running' && s.turn === 2, 'turn 2 open');
    await accepted(ann, { note: 'a2' });
    await accepted(bob, { note: 'b2' });
    await accepted(ann, { slowMs: 500 });
    // The cutoff of turn 2: killed as soon as players see it generating.
    ann.send({ type: 'order', id: 1000, order: JSON.stringify({ endTurn: true }) });
    await ann.waitForState((s) => s.status === 'generation_in_progress', 'turn 2 generating', 15_000);
    await host.kill9();
    ann.close();
    bob.close();

    host = await startHost(stateDir, args);
    await host.waitForLog((l) => l.msg === 'room restored' && l.room === roomId, 'the room restored');
    // Ann by identity (no reconnect token), Bob by his reconnect token.
    const ann2 = await host.client();
    const ann2Init = await ann2.joinAndSync('ledger', { roomId, token: annToken });
    const bob2 = await host.client();
    const bob2Init = await bob2.joinAndSync('ledger', { roomId, reconnectToken: bobInit.reconnectToken });
    expect([ann2Init.roomId, ann2Init.playerId]).toEqual([roomId, annInit.playerId]);
    expect([bob2Init.roomId, bob2Init.playerId]).toEqual([roomId, bobInit.playerId]);

    const state = await ann2.waitForState((s) => s.status === 'running', 'the restored room running', 15_000);
    const a = annInit.playerId;
    const b = bobInit.playerId;
    const turn1 = { turn: 1, orders: [`${a}:a1`, `${b}:b1`] };
    const ledger = ledgerOf(ann2);
    if (state.turn === 2) {
      // Killed before turn 2 was stored: it comes back open, with its acknowledged orders, to be generated once.
      expect(ledger).toEqual({ applied: [turn1], pending: [`${a}:a2`, `${b}:b2`] });
    } else {
      // Turn 2 was stored before the kill: it is not generated again.
      expect(state.turn).toBe(3);
      expect(ledger).toEqual({ applied: [turn1, { turn: 2, orders: [`${a}:a2`, `${b}:b2`] }], pending: [] });
    }

    // They play on.
    const open = state.turn;
    await accepted(ann2, { slowMs: 0 });
    await accepted(bob2, { note: 'b3' });
    await accepted(ann2, { endTurn: true });
    await ann2.waitForState((s) => s.status === 'running' && s.turn === open + 1, `turn ${open + 1} open`, 15_000);
    // The frame showing the generated turn follows the state.
    await waitFor(() => ledgerOf(ann2).applied.some((t) => t.turn === open), `the frame showing turn ${open}`, 15_000);
    const after = ledgerOf(ann2);
    expect(after.applied.map((t) => t.turn)).toEqual(Array.from({ length: open }, (_, i) => i + 1));
    expect(after.applied.flatMap((t) => t.orders).sort()).toEqual([`${a}:a1`, `${a}:a2`, `${b}:b1`, `${b}:b2`, `${b}:b3`].sort());
    expect(after.pending).toEqual([]);
    expect(ann2.errors).toEqual([]);
    ann2.close();
    bob2.close();
    await host.kill9();
  }, 180_000);

  it('a snapshot over the cap fails that save with a clear error and the previous snapshot is kept', async () => {
    const stateDir = tempDir();
    let host = await startHost(stateDir, ['--runtime', 'process']);
    const ann = await host.client();
    const init = await ann.joinAndSync('ledger', { name: 'Ann' });
    await accepted(ann, { note: 'kept' });
    const refused = await ann.order({ pad: 1_200_000 }, { timeoutMs: 15_000 });
    expect(refused.accepted).toBe(false);
    expect(refused.message).toMatch(/cap|too large/i);
    await host.kill9();
    ann.close();

    const store = openRoomStateStore(stateDir);
    const last = store.lastSnapshot(init.roomId)!;
    expect(JSON.parse(last.snapshot)).toMatchObject({ pending: [`${init.playerId}:kept`], pad: 0 });
    store.close();

    host = await startHost(stateDir, ['--runtime', 'process']);
    const again = await host.client();
    await again.joinAndSync('ledger', { roomId: init.roomId, reconnectToken: init.reconnectToken });
    expect(ledgerOf(again)).toEqual({ applied: [], pending: [`${init.playerId}:kept`] });
    await accepted(again, { note: 'more' });
    again.close();
    await host.kill9();
  }, 180_000);

  it('SIGTERM saves every room; a real-time game comes back from its periodic snapshot after kill -9', async () => {
    const stateDir = tempDir();
    const args = ['--runtime', 'process', '--snapshot-interval', '200'];
    let host = await startHost(stateDir, args);
    const p1 = await host.client();
    const ledgerInit = await p1.joinAndSync('ledger', { name: 'Ann' });
    await accepted(p1, { note: 'n1' });
    const p2 = await host.client();
    const tallyInit = await p2.joinAndSync('tally', { name: 'Bob' });
    await p2.moreFrames(10, 15_000);

    // SIGTERM: a drain that keeps every room in the store.
    expect(await host.term()).toBe(0);
    let store = openRoomStateStore(stateDir);
    expect(store.liveRooms().map((r) => r.roomId).sort()).toEqual([ledgerInit.roomId, tallyInit.roomId].sort());
    expect(store.lastSnapshot(ledgerInit.roomId)?.cause).toBe('drain');
    const drained = store.lastSnapshot(tallyInit.roomId)!;
    expect(drained.cause).toBe('drain');
    const countAtDrain = (JSON.parse(drained.snapshot) as { count: number }).count;
    expect(countAtDrain).toBeGreaterThan(0);
    store.close();

    host = await startHost(stateDir, args);
    const q2 = await host.client();
    await q2.joinAndSync('tally', { roomId: tallyInit.roomId, reconnectToken: tallyInit.reconnectToken });
    expect(countOf(q2)).toBeGreaterThanOrEqual(countAtDrain);
    const q1 = await host.client();
    await q1.joinAndSync('ledger', { roomId: ledgerInit.roomId, reconnectToken: ledgerInit.reconnectToken });
    expect(ledgerOf(q1).pending).toEqual([`${ledgerInit.playerId}:n1`]);

    // Periodic snapshots of the real-time room: kill -9, and it comes back from the last one.
    const seen = countOf(q2);
    await waitFor(() => countOf(q2) > seen + 20, 'the tally counting on', 15_000);
    await host.kill9();
    store = openRoomStateStore(stateDir);
    const periodic = store.lastSnapshot(tallyInit.roomId)!;
    expect(periodic.cause).toBe('periodic');
    const countAtKill = (JSON.parse(periodic.snapshot) as { count: number }).count;
    expect(countAtKill).toBeGreaterThan(countAtDrain);
    store.close();
    host = await startHost(stateDir, args);
    const r2 = await host.client();
    const r2Init = await r2.joinAndSync('tally', { roomId: tallyInit.roomId, reconnectToken: tallyInit.reconnectToken });
    expect(r2Init.playerId).toBe(tallyInit.playerId);
    expect(countOf(r2)).toBeGreaterThanOrEqual(countAtKill);
    for (const c of [p1, p2, q1, q2, r2]) c.close();
    await host.kill9();
  }, 180_000);

  it('a second host on the same state folder is refused with one line naming it', async () => {
    const stateDir = tempDir();
    const host = await startHost(stateDir, ['--runtime', 'inline']);
    const second = await startHost(stateDir, ['--runtime', 'inline']).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(second).toMatch(new RegExp(`parlor: --state-dir: the state folder ${stateDir} is in use by another process \\(each host needs its own --state-dir\\) \\[SERVER_STATE\\]`));
    await host.kill9();
  }, 120_000);
});
