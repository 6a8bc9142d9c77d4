/**
 * The operation log on real SQLite files: the queued → running → succeeded | failed transitions
 * (and the ones refused), durability across a reopen, recovery of a crashed process's unfinished
 * operations as INTERRUPTED, time-sortable ids, listing filters and cursor paging; and
 * runOperation / recordOperation recording each outcome with the error's stable code.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Operation } from '@parlor/squish';
import { afterAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../src/errors.js';
import { openOrchestratorDb } from '../src/operations/db.js';
import { failedOperation, recordOperation, runOperation } from '../src/operations/run.js';
import { INTERRUPTED } from '../src/operations/rows.js';
import { openOperationLog, SqliteOperationLog } from '../src/operations/sqlite-log.js';
import { removeTemps, tempDir } from './catalog-helpers.js';

afterAll(removeTemps);

const pause = { roomId: 'room-a', op: 'pause' as const, source: 'admin' as const, params: { reason: 'maintenance' }, game: 'galaxy', actor: 'fp:1a2b3c4d' };

describe('SQLite operation log', () => {
  it('records queued → running → succeeded durably: a reopen of the file has every field', async () => {
    const dir = tempDir('parlor-ops-');
    const log = openOperationLog(dir);
    const q = await log.queue(pause);
    expect(q).toMatchObject({ roomId: 'room-a', op: 'pause', source: 'admin', state: 'queued', params: { reason: 'maintenance' }, game: 'galaxy', version: null, instanceId: null, actor: 'fp:1a2b3c4d', errorCode: null, errorMessage: null });
    expect(q.id).toMatch(/^op_\d{13}_\d{4}_[0-9a-f]{8}$/);
    expect((await log.start(q.id, 'inst-1')).state).toBe('running');
    const done = await log.succeed(q.id, { version: '1.0.1' });
    expect(done).toMatchObject({ state: 'succeeded', version: '1.0.1', instanceId: 'inst-1' });
    expect(done.updatedAt).toBeGreaterThanOrEqual(done.createdAt);
    await log.close();
    await log.close();
    expect(existsSync(join(dir, 'orchestrator.db'))).toBe(true);
    const again = openOperationLog(dir);
    expect(await again.get(q.id)).toEqual(done);
    await again.close();
  });

  it('uses WAL and synchronous=FULL, and takes no exclusive lock: another connection reads while it is open', async () => {
    const dir = tempDir('parlor-ops-');
    const log = openOperationLog(dir);
    const q = await log.queue(pause);
    const other = new Database(join(dir, 'orchestrator.db'), { readonly: true });
    expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((other.prepare('SELECT id, state FROM operations').all() as Array<{ id: string }>).map((r) => r.id)).toEqual([q.id]);
    other.close();
    const db = openOrchestratorDb(dir);
    expect(db.db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
    await log.close();
  });

  it('refuses transitions that are not allowed, and unknown ids', async () => {
    const log = openOperationLog(':memory:');
    const q = await log.queue(pause);
    await log.start(q.id);
    await expect(log.start(q.id)).rejects.toThrow(/is running: it cannot become running/);
    await log.fail(q.id, 'ROOM_NOT_FOUND', 'no room room-a');
    await expect(log.succeed(q.id)).rejects.toThrow(/is failed: it cannot become succeeded/);
    await expect(log.fail(q.id, 'X', 'y')).rejects.toThrow(/is failed/);
    await expect(log.start('op_nope')).rejects.toThrow(/no operation op_nope/);
    await log.close();
    await expect(log.queue(pause)).rejects.toThrow(/closed/);
  });

  it('marks what a crashed process left queued or running failed INTERRUPTED, once, and leaves finished ones alone', async () => {
    const dir = tempDir('parlor-ops-');
    const crashed = openOperationLog(dir);
    const queued = await crashed.queue(pause);
    const running = await crashed.queue({ ...pause, op: 'restart' });
    await crashed.start(running.id, 'inst-1');
    const finished = await crashed.queue({ ...pause, op: 'resume' });
    await crashed.succeed(finished.id);
    // no close: the process "died" with its rows as they were (every write was committed)
    const next = openOperationLog(dir);
    const recovered = await next.recoverInterrupted();
    expect(recovered.map((o) => o.id)).toEqual([queued.id, running.id]);
    for (const o of recovered) expect(o).toMatchObject({ state: 'failed', errorCode: INTERRUPTED.code, errorMessage: INTERRUPTED.message });
    expect((await next.get(running.id))?.instanceId).toBe('inst-1');
    expect((await next.get(finished.id))?.state).toBe('succeeded');
    expect(await next.recoverInterrupted()).toEqual([]);
    await next.close();
    await crashed.close();
  });

  it('leaves the operations of another live process on the same folder to it, and fails them INTERRUPTED once it is killed', async () => {
    const dir = tempDir('parlor-ops-');
    const logModule = resolve(fileURLToPath(import.meta.url), '../../src/operations/sqlite-log.ts');
    const script = `const { openOperationLog } = await import(${JSON.stringify(logModule)});
      const log = openOperationLog(${JSON.stringify(dir)});
      const op = await log.queue({ roomId: 'room-b', op: 'pause', source: 'admin' });
      await log.start(op.id, 'inst-2');
      console.log(op.id);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise((r) => child.once('close', r));
    try {
      const id = await new Promise<string>((ok, fail) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) ok(out.trim());
        });
        child.once('close', (code) => fail(new Error(`the child exited (${code}) before queueing`)));
      });
      const next = openOperationLog(dir);
      // the child is alive: its running operation is its own
      expect(await next.recoverInterrupted()).toEqual([]);
      expect((await next.get(id))?.state).toBe('running');
      child.kill('SIGKILL');
      await closed;
      const recovered = await next.recoverInterrupted();
      expect(recovered.map((o) => [o.id, o.state, o.errorCode])).toEqual([[id, 'failed', INTERRUPTED.code]]);
      await next.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('ids sort by creation, even within one millisecond and when the clock steps back', async () => {
    let t = 5000;
    const db = openOrchestratorDb(':memory:');
    const log = new SqliteOperationLog(db, { now: () => t });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await log.queue(pause)).id);
    t = 4000;
    ids.push((await log.queue(pause)).id);
    t = 9000;
    ids.push((await log.queue(pause)).id);
    expect([...ids].sort()).toEqual(ids);
    expect((await log.list()).map((o) => o.id)).toEqual([...ids].reverse());
    db.close();
  });

  it('lists newest first with filters (room, state, op, since, until) and pages with the before cursor', async () => {
    let t = 1000;
    const db = openOrchestratorDb(tempDir('parlor-ops-'));
    const log = new SqliteOperationLog(db, { now: () => t });
    const made: Operation[] = [];
    for (let i = 0; i < 12; i++) {
      t = 1000 + i * 10;
      const q = await log.queue({ roomId: i % 2 ? 'odd' : 'even', op: i % 3 ? 'pause' : 'turn', source: i % 3 ? 'admin' : 'schedule' });
      made.push(i % 4 === 0 ? await log.fail(q.id, 'ROOM_NOT_FOUND', 'gone') : await log.succeed(q.id));
    }
    const ids = (ops: Operation[]) => ops.map((o) => o.id);
    const newest = [...made].reverse();
    expect(ids(await log.list())).toEqual(ids(newest));
    expect(ids(await log.list({ roomId: 'odd' }))).toEqual(ids(newest.filter((o) => o.roomId === 'odd')));
    expect(ids(await log.list({ state: 'failed' }))).toEqual(ids(newest.filter((o) => o.state === 'failed')));
    expect(ids(await log.list({ op: 'turn', roomId: 'even' }))).toEqual(ids(newest.filter((o) => o.op === 'turn' && o.roomId === 'even')));
    expect(ids(await log.list({ since: 1030, until: 1070 }))).toEqual(ids(newest.filter((o) => o.createdAt >= 1030 && o.createdAt < 1070)));
    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await log.list({ limit: 5, ...(before ? { before } : {}) });
      if (page.length === 0) break;
      pages.push(ids(page));
      before = page[page.length - 1]!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(ids(newest));
    expect(await log.list({ limit: 10_000 })).toHaveLength(12);
    db.close();
  });
});

describe('runOperation and recordOperation', () => {
  it('records a successful run queued → running → succeeded with what the work reported, and tells onFinished', async () => {
    const log = openOperationLog(':memory:');
    const finished: Operation[] = [];
    let seen: Operation | undefined;
    const run = await runOperation(log, { ...pause, op: 'patch', params: { version: '1.0.1' }, instanceId: 'inst-1' }, async (op) => {
      seen = op;
      expect((await log.get(op.id))?.state).toBe('running');
      return { version: '1.0.1', state: { status: 'running' as const, turn: 3, nextTurnAt: null, reason: '' } };
    }, (op) => finished.push(op));
    expect(seen?.state).toBe('running');
    expect(run.operation).toMatchObject({ op: 'patch', state: 'succeeded', version: '1.0.1', instanceId: 'inst-1' });
    expect(run.result.state.turn).toBe(3);
    expect(finished).toEqual([run.operation]);
    await log.close();
  });

  it('records a failure with the error’s stable code and one-line message, rethrows the same error, and tells onFinished', async () => {
    const log = openOperationLog(':memory:');
    const finished: Operation[] = [];
    const refused = new OrchestratorError('ROOM_NOT_FOUND', 'no room\nroom-a');
    const err = await runOperation(log, pause, async () => {
      throw refused;
    }, (op) => finished.push(op)).catch((e: unknown) => e);
    expect(err).toBe(refused);
    const failed = failedOperation(err);
    expect(failed).toMatchObject({ state: 'failed', errorCode: 'ROOM_NOT_FOUND', errorMessage: 'no room room-a' });
    expect(finished).toEqual([failed]);
    const unknown = await runOperation(log, pause, async () => {
      throw new TypeError('x is not a function');
    }).catch((e: unknown) => e);
    expect(failedOperation(unknown)).toMatchObject({ errorCode: 'INTERNAL', errorMessage: 'x is not a function' });
    expect(failedOperation(new Error('other'))).toBeUndefined();
    // a listener that throws does not change the outcome
    const ok = await runOperation(log, pause, async () => ({}), () => {
      throw new Error('listener');
    });
    expect(ok.operation.state).toBe('succeeded');
    await log.close();
  });

  it('recordOperation writes an operation that finished at once, succeeded or failed', async () => {
    const log = openOperationLog(':memory:');
    const done = await recordOperation(log, { roomId: 'r', op: 'pause', source: 'agent', params: { reason: 'turn 4 generation failed: boom' } }, { outcome: { instanceId: 'inst-2' } });
    expect(done).toMatchObject({ state: 'succeeded', instanceId: 'inst-2', source: 'agent' });
    const refused = await recordOperation(log, { roomId: 'r', op: 'patch', source: 'api' }, { code: 'PATCH_SEMVER_INCOMPATIBLE', message: '1.0.0 → 1.1.0 changes the minor version' });
    expect(refused).toMatchObject({ state: 'failed', errorCode: 'PATCH_SEMVER_INCOMPATIBLE' });
    const thrown = await recordOperation(log, { roomId: 'r', op: 'turn', source: 'schedule' }, { error: new OrchestratorError('NOT_TURN_BASED' as never, 'not turn-based') });
    expect(thrown.errorCode).toBe('NOT_TURN_BASED');
    expect((await log.list({ roomId: 'r' })).map((o) => o.state)).toEqual(['failed', 'failed', 'succeeded']);
    await log.close();
  });
});
