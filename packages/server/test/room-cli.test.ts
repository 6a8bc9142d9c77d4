/**
 * `parlor room …` as real processes (the built CLI) against a real orchestrator on 127.0.0.1 with
 * its operation log in a temporary folder: `--help` with examples, `parlor room operations` (a
 * table, filters, the next-page cursor, `--json`), and one-line errors for a wrong key, no key, an
 * unreachable orchestrator, bad arguments and an unknown room.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orchestrator } from '@parlor/orchestrator';
import type { Operation } from '@parlor/squish';

const repo = resolve(__dirname, '../../..');
const PARLOR_BIN = join(repo, 'packages/server/bin/parlor.js');
const ADMIN = 'admin-key-of-the-room-cli-tests';
const tmp = mkdtempSync(join(tmpdir(), 'parlor-room-cli-'));
let orch: Orchestrator;
const made: Operation[] = [];

beforeAll(async () => {
  orch = new Orchestrator({ host: '127.0.0.1', port: 0, adminKey: ADMIN, agentKey: 'agent-key-of-the-room-cli-tests', logLevel: 'silent', dataDir: join(tmp, 'data') });
  await orch.listen();
  const store = orch.operationStore;
  made.push(await store.record({ roomId: 'galaxy-1', op: 'pause', source: 'admin', params: { reason: 'maintenance' }, game: 'galaxy', version: '1.0.0', actor: 'ops' }, { outcome: { instanceId: 'host-a' } }));
  made.push(await store.record({ roomId: 'galaxy-1', op: 'patch', source: 'admin', params: { version: '1.1.0' }, game: 'galaxy', version: '1.0.0' }, { code: 'PATCH_SEMVER_INCOMPATIBLE', message: '1.0.0 → 1.1.0 changes the minor version' }));
  made.push(await store.record({ roomId: 'galaxy-2', op: 'turn', source: 'schedule' }, { outcome: {} }));
});
afterAll(async () => {
  await orch?.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `parlor` to its end with `env` added (no key or URL variables unless given). */
function parlor(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base.PARLOR_ADMIN_KEY;
  delete base.PARLOR_ORCHESTRATOR_URL;
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [PARLOR_BIN, ...args], { cwd: tmp, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}
const asAdmin = (args: string[]): Promise<Run> => parlor([...args, '--orchestrator', orch.url], { PARLOR_ADMIN_KEY: ADMIN });

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** One line on stderr, `parlor room: …`, exit 1, nothing on stdout. */
function oneLineFailure(r: Run, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^parlor room: /);
  expect(lines[0]).toMatch(pattern);
}

describe('parlor room', () => {
  it('--help lists the operations with examples, and each operation has its own help', async () => {
    const top = await parlor(['room', '--help']);
    expect(top.code).toBe(0);
    for (const op of ['pause', 'resume', 'restart', 'turn', 'stop', 'patch', 'operations']) expect(top.stdout).toContain(op);
    expect(top.stdout).toMatch(/Examples:\n\s+parlor room pause 3kTq9/);
    expect(top.stdout).toContain('PARLOR_ORCHESTRATOR_URL');
    const patch = await parlor(['room', 'patch', '--help']);
    expect(patch.code).toBe(0);
    expect(patch.stdout).toMatch(/Usage: parlor room patch \[options\] <roomId> <version>/);
    expect(patch.stdout).toContain('parlor room patch 3kTq9 1.0.1');
    const pause = await parlor(['room', 'pause', '--help']);
    expect(pause.stdout).toContain('--reason <text>');
    expect(pause.stdout).toContain('--key-file <path>');
    const all = await parlor(['--help']);
    expect(all.stdout).toMatch(/room \[options\] \[command\]|room\s+lifecycle operations/);
  });

  it('operations: the log as a table, newest first, with filters and the cursor of the next page', async () => {
    const r = await asAdmin(['room', 'operations']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CREATED\s+ROOM\s+OP\s+SOURCE\s+ACTOR\s+STATE\s+DETAIL$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([...made].reverse().map((o) => o.id));
    expect(r.stdout).toMatch(/galaxy-1\s+patch\s+admin\s+-\s+failed\s+PATCH_SEMVER_INCOMPATIBLE: 1\.0\.0 → 1\.1\.0 changes the minor version/);
    expect(r.stdout).toMatch(/galaxy-1\s+pause\s+admin\s+ops\s+succeeded\s+galaxy@1\.0\.0, reason: maintenance, on host-a/);

    const room = await asAdmin(['room', 'operations', 'galaxy-1', '--state', 'failed', '--json']);
    expect(room.code, room.stderr).toBe(0);
    const page = JSON.parse(room.stdout) as { operations: Operation[]; next: string | null };
    expect(page.operations.map((o) => o.id)).toEqual([made[1]!.id]);
    expect(page.next).toBeNull();

    const first = await asAdmin(['room', 'operations', '--limit', '2']);
    const cursor = /more: parlor room operations --before (\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBe(made[1]!.id);
    const second = await asAdmin(['room', 'operations', '--limit', '2', '--before', cursor!]);
    expect(second.stdout).toContain(made[0]!.id);
    expect(second.stdout).not.toContain('more:');

    const none = await asAdmin(['room', 'operations', 'nobody']);
    expect(none.stdout.trim()).toBe(`no operations of room nobody in the orchestrator at ${orch.url}`);
    const since = await asAdmin(['room', 'operations', '--since', new Date(Date.now() + 60_000).toISOString()]);
    expect(since.stdout).toMatch(/^no operations matching/);
  });

  it('a wrong key, no key, an unreadable key file: one line naming the key and the fix', async () => {
    oneLineFailure(await parlor(['room', 'pause', 'galaxy-1', '--orchestrator', orch.url], { PARLOR_ADMIN_KEY: 'not-the-key' }), /401: the orchestrator at http:\/\/127\.0\.0\.1:\d+ refused the key \(PARLOR_ADMIN_KEY\): use one of its admin keys/);
    oneLineFailure(await parlor(['room', 'operations', '--orchestrator', orch.url]), /no key: give --key-file <path>, or set PARLOR_ADMIN_KEY/);
    oneLineFailure(await parlor(['room', 'operations', '--orchestrator', orch.url, '--key-file', join(tmp, 'missing.key')]), /--key-file .*missing\.key: no such file/);
    const keyFile = join(tmp, 'admin.key');
    writeFileSync(keyFile, `# the fleet's admin key\n${ADMIN}\n`);
    const ok = await parlor(['room', 'operations', '--orchestrator', orch.url, '--key-file', keyFile, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const json = await parlor(['room', 'operations', '--orchestrator', orch.url, '--json'], { PARLOR_ADMIN_KEY: 'not-the-key' });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'UNAUTHORIZED', status: 401 } });
  });

  it('an unreachable orchestrator, bad arguments: one line', async () => {
    const closed = await freePort();
    oneLineFailure(await parlor(['room', 'resume', 'galaxy-1', '--orchestrator', `http://127.0.0.1:${closed}`], { PARLOR_ADMIN_KEY: ADMIN }), /cannot reach the orchestrator at http:\/\/127\.0\.0\.1:\d+ \(POST \/v1\/rooms\/galaxy-1\/resume: ECONNREFUSED\): is parlor-orchestrator running there\? Set --orchestrator or PARLOR_ORCHESTRATOR_URL/);
    oneLineFailure(await asAdmin(['room', 'patch', 'galaxy-1', 'latest']), /latest: not a version; want semver MAJOR\.MINOR\.PATCH/);
    oneLineFailure(await parlor(['room', 'stop', 'galaxy-1', '--orchestrator', 'ftp://x'], { PARLOR_ADMIN_KEY: ADMIN }), /--orchestrator ftp:\/\/x: want http:\/\/ or https:\/\//);
    oneLineFailure(await asAdmin(['room', 'operations', '--since', 'last tuesday']), /--since last tuesday: want an ISO date\/time/);
    const usage = await asAdmin(['room', 'operations', '--state', 'done']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/error: option '--state <state>' argument 'done' is invalid/);
  });
});
