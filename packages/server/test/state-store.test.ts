/**
 * The host's durable room state (`openRoomStateStore`) on real files: what is stored survives
 * close and reopen; one process owns a state folder (a second opener, in this process or another,
 * is refused naming the folder); a database from a newer parlor is refused; snapshots over the cap
 * fail and keep the previous one; old snapshots are pruned, and ended rooms after 30 days; members keep token hashes; kill -9 of
 * a real child process in the middle of its writes leaves the last committed snapshot readable.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ENDED_ROOM_KEEP_MS, openRoomStateStore, ServerErrorCode, type StoredRoom } from '../src/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/state/writer.ts', import.meta.url));
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'parlor-state-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const room = (roomId: string, over: Partial<StoredRoom> = {}): StoredRoom => ({
  roomId,
  game: 'galaxy',
  version: '1.0.0',
  sha256: 'ab'.repeat(32),
  options: { map: 'small' },
  status: 'running',
  turn: 1,
  reason: '',
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});
const snap = (roomId: string, turn: number, cause = 'order', body: unknown = { turn }) => ({
  roomId,
  turn,
  snapshot: JSON.stringify(body),
  cause,
  version: '1.0.0',
  savedAt: 2000 + turn,
});

/** Runs the writer child; resolves with its stdout lines once it closed. */
function runWriter(dir: string, mode: 'write' | 'open', onLine?: (line: string, kill: () => void) => void): Promise<{ lines: string[]; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, mode], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine?.(line, () => child.kill('SIGKILL'));
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 2) reject(new Error(stderr));
      else resolve({ lines, code, signal });
    });
  });
}

describe('room state store', () => {
  it('keeps rooms, snapshots and members across close and reopen', () => {
    const dir = join(tempDir(), 'nested', 'state');
    const store = openRoomStateStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700); // created for the host alone
    store.putRoom(room('a', { createdAt: 1 }));
    store.putRoom(room('b', { createdAt: 2, status: 'paused', reason: 'paused by admin', version: null, sha256: null }));
    store.putSnapshot(snap('a', 1, 'order', { planets: [1, 2, 3] }));
    store.putSnapshot(snap('a', 2, 'turn', { planets: [4] }));
    store.putMember({ roomId: 'a', playerId: 1, name: 'Ann', userId: 'u-ann', roles: ['player'], spectator: false, tokenHash: 'h1' });
    store.putMember({ roomId: 'a', playerId: 2, name: 'Bob', userId: null, roles: [], spectator: true, tokenHash: 'h2' });
    store.putMember({ roomId: 'a', playerId: 1, name: 'Ann B.', userId: 'u-ann', roles: ['player'], spectator: false, tokenHash: 'h1' });
    store.close();
    store.close(); // idempotent

    const again = openRoomStateStore(dir);
    expect(again.liveRooms().map((r) => r.roomId)).toEqual(['a', 'b']);
    expect(again.room('b')).toEqual(room('b', { createdAt: 2, status: 'paused', reason: 'paused by admin', version: null, sha256: null }));
    expect(again.lastSnapshot('a')).toEqual(snap('a', 2, 'turn', { planets: [4] }));
    expect(again.lastSnapshot('b')).toBeUndefined();
    expect(again.members('a')).toEqual([
      { roomId: 'a', playerId: 1, name: 'Ann B.', userId: 'u-ann', roles: ['player'], spectator: false, tokenHash: 'h1' },
      { roomId: 'a', playerId: 2, name: 'Bob', userId: null, roles: [], spectator: true, tokenHash: 'h2' },
    ]);
    again.removeMember('a', 2);
    expect(again.members('a').map((m) => m.playerId)).toEqual([1]);

    // Ended: not live any more, record kept with why and its last snapshot (older ones dropped), members forgotten.
    again.endRoom('a', 'stopped by admin', { winners: ['u-ann'], scores: {}, summary: '' });
    expect(again.liveRooms().map((r) => r.roomId)).toEqual(['b']);
    expect(again.room('a')?.reason).toBe('stopped by admin');
    expect(again.lastSnapshot('a')).toEqual(snap('a', 2, 'turn', { planets: [4] }));
    const db = (again as unknown as { db: Database.Database }).db;
    expect(db.prepare("SELECT COUNT(*) AS n FROM snapshots WHERE room_id = 'a'").get()).toEqual({ n: 1 });
    expect(again.members('a')).toEqual([]);
    // A late update of the same room leaves it ended; a new room with the id is live again.
    again.putRoom(room('a', { createdAt: 1, turn: 9 }));
    expect(again.liveRooms().map((r) => r.roomId)).toEqual(['b']);
    again.putRoom(room('a', { createdAt: 5 }));
    expect(again.liveRooms().map((r) => r.roomId)).toEqual(['b', 'a']);
    again.close();
    expect(() => again.liveRooms()).toThrow(/closed/);
  });

  it('prunes snapshots to the latest of the last few turns', () => {
    const store = openRoomStateStore(tempDir(), { keepTurns: 2 });
    store.putRoom(room('a'));
    store.putRoom(room('b'));
    for (let turn = 1; turn <= 4; turn++) for (let order = 0; order < 3; order++) store.putSnapshot(snap('a', turn, 'order', { turn, order }));
    store.putSnapshot(snap('b', 1));
    const db = (store as unknown as { db: Database.Database }).db;
    const rows = db.prepare('SELECT room_id, turn, snapshot FROM snapshots ORDER BY id').all();
    expect(rows).toEqual([
      { room_id: 'a', turn: 3, snapshot: JSON.stringify({ turn: 3, order: 2 }) },
      { room_id: 'a', turn: 4, snapshot: JSON.stringify({ turn: 4, order: 2 }) },
      { room_id: 'b', turn: 1, snapshot: JSON.stringify({ turn: 1 }) },
    ]);
    store.close();
  });

  it('refuses a snapshot over the cap and keeps the previous one; refuses one for an unrecorded room', () => {
    const store = openRoomStateStore(tempDir(), { maxSnapshotBytes: 1000 });
    store.putRoom(room('a'));
    store.putSnapshot(snap('a', 1, 'turn', { ok: true }));
    let error: unknown;
    try {
      store.putSnapshot(snap('a', 2, 'turn', { big: 'é'.repeat(500) }));
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ServerErrorCode.STATE, message: expect.stringMatching(/room a: snapshot of 1010 bytes is over the cap of 1000 .*previous snapshot is kept/) });
    expect(store.lastSnapshot('a')).toEqual(snap('a', 1, 'turn', { ok: true }));
    expect(() => store.putSnapshot(snap('ghost', 1))).toThrow(/room ghost: a snapshot for a room that is not recorded/);
    expect(() => store.putMember({ roomId: 'ghost', playerId: 1, name: 'x', userId: null, roles: [], spectator: false, tokenHash: 'h' })).toThrow(/not recorded/);
    store.close();
  });

  it('one process owns a state folder: a second opener (here or in another process) is refused naming it; free again after close', async () => {
    const dir = tempDir();
    const first = openRoomStateStore(dir);
    expect(() => openRoomStateStore(dir)).toThrow(new RegExp(`^the state folder ${dir} is in use by another process \\(each host needs its own --state-dir\\)$`));
    const other = await runWriter(dir, 'open');
    expect(other.code).toBe(3);
    expect(other.lines).toEqual([`refused the state folder ${dir} is in use by another process (each host needs its own --state-dir)`]);
    first.close();
    expect((await runWriter(dir, 'open')).lines).toEqual(['opened']);
  });

  it('forgets rooms ended over 30 days ago at open, with their last snapshot', () => {
    const dir = tempDir();
    const store = openRoomStateStore(dir);
    for (const id of ['old', 'recent', 'live']) {
      store.putRoom(room(id));
      store.putSnapshot(snap(id, 1));
    }
    store.endRoom('old', 'stopped', null);
    store.endRoom('recent', 'stopped', null);
    const db = (store as unknown as { db: Database.Database }).db;
    db.prepare("UPDATE rooms SET ended_at = ? WHERE room_id = 'old'").run(Date.now() - ENDED_ROOM_KEEP_MS - 1000);
    store.close();
    const again = openRoomStateStore(dir);
    expect(again.room('old')).toBeUndefined();
    expect(again.lastSnapshot('old')).toBeUndefined();
    expect(again.room('recent')?.reason).toBe('stopped');
    expect(again.lastSnapshot('recent')).toEqual(snap('recent', 1));
    expect(again.liveRooms().map((r) => r.roomId)).toEqual(['live']);
    again.close();
  });

  it('a state folder whose database is not one is refused with one line naming it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rooms.db'), 'not a database, but long enough to have a header '.repeat(40));
    expect(() => openRoomStateStore(dir)).toThrow(new RegExp(`^cannot open the state folder ${dir}: file is not a database$`));
  });

  it('refuses a database written by a newer parlor', () => {
    const dir = tempDir();
    openRoomStateStore(dir).close();
    const db = new Database(join(dir, 'rooms.db'));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run('future');
    db.close();
    expect(() => openRoomStateStore(dir)).toThrow(/^cannot open the state folder .*: it has schema migration 99, newer than this parlor knows \(1\): run a newer parlor on it$/);
  });

  it('kill -9 of a real process mid-write leaves the last committed snapshot readable', async () => {
    const dir = tempDir();
    let lastCommitted = 0;
    // Kill at a varying point after the 5th commit: the child writes continuously, so the signal
    // lands inside a write most of the time.
    const run = await runWriter(dir, 'write', (line, kill) => {
      const m = /^committed (\d+)$/.exec(line);
      if (!m) return;
      lastCommitted = Number(m[1]);
      if (lastCommitted === 5) setTimeout(kill, Math.floor(Math.random() * 20));
    });
    expect(run.signal).toBe('SIGKILL');
    expect(lastCommitted).toBeGreaterThanOrEqual(5);

    const store = openRoomStateStore(dir);
    const last = store.lastSnapshot('r1')!;
    expect(last.turn).toBeGreaterThanOrEqual(lastCommitted);
    expect(JSON.parse(last.snapshot)).toMatchObject({ turn: last.turn });
    // The room record is written after its snapshot: it names that turn's successor or, killed between the two, that turn.
    expect([last.turn, last.turn + 1]).toContain(store.room('r1')!.turn);
    expect(store.liveRooms().map((r) => r.roomId)).toEqual(['r1']);
    store.close();
  });
});
