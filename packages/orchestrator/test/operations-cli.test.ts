// `parlor room …` end to end: the built CLI as real processes against a real orchestrator (its
// operation log in a temporary dataDir) and a real `parlor serve` host attached to it. Each
// lifecycle command prints its short line (or JSON) and is recorded in the log; refusals are one
// line with the cause; `parlor room operations` shows them all, newest first.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orchestrator } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const dataDir = mkdtempSync(join(tmpdir(), 'parlor-ops-cli-'));
let orch: Orchestrator;
let host: ChildProcess;
let hostClosed: Promise<unknown>;

beforeAll(async () => {
  orch = (await startOrchestrator({ dataDir, commandTimeoutMs: 20_000 })).orch;
  host = spawn(process.execPath, [PARLOR_BIN, 'serve', '--games', join(root, 'examples'), '--host', '127.0.0.1', '--port', '0', '--fleet-url', orch.agentUrl, '--name', 'cli-host', '--drain-timeout', '0'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'development', PARLOR_FLEET_KEY: AGENT_KEY },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  hostClosed = new Promise((r) => host.once('close', r));
  await waitFor(async () => ((await http(orch, 'GET', '/v1/instances')).body.data as Array<{ roomTypes: string[] }>).some((i) => i.roomTypes.includes('pong')), 'the host attached', 60_000);
  const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'cli-room' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}, 90_000);
afterAll(async () => {
  if (host && host.exitCode === null && host.signalCode === null) {
    host.kill('SIGKILL');
    await hostClosed;
  }
  await orch?.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function room(args: string[], key = ADMIN_KEY): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLOR_ADMIN_KEY: key };
  delete env.PARLOR_ORCHESTRATOR_URL;
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [PARLOR_BIN, 'room', ...args, '--orchestrator', orch.url], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function refused(r: Run, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(pattern);
}

describe('parlor room against a real orchestrator and host', () => {
  it('pause, resume, restart and stop print their line with the operation; refusals are one line; operations lists them all', async () => {
    const pause = await room(['pause', 'cli-room', '--reason', 'maintenance']);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout.trim()).toMatch(/^paused room cli-room \(operation op_\d{13}_\d{4}_[0-9a-f]{8}\): now paused, maintenance$/);

    const resume = await room(['resume', 'cli-room', '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    const resumed = JSON.parse(resume.stdout) as { operation: Operation; state: { status: string } };
    expect(resumed.operation).toMatchObject({ roomId: 'cli-room', op: 'resume', state: 'succeeded' });
    expect(resumed.state.status).toBe('running');

    const restart = await room(['restart', 'cli-room']);
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout.trim()).toMatch(/^restarted room cli-room \(operation op_\S+\): now running$/);

    refused(await room(['turn', 'cli-room']), /^parlor room: 409 NOT_TURN_BASED: /);
    refused(await room(['patch', 'cli-room', '1.0.1']), /^parlor room: 409 NOT_VERSIONED: /);
    refused(await room(['pause', 'no-such-room']), /^parlor room: 404 ROOM_NOT_FOUND: .*no room no-such-room/);
    refused(await room(['pause', 'cli-room'], 'wrong-admin-key-0123456789'), /^parlor room: 401: the orchestrator at http:\/\/127\.0\.0\.1:\d+ refused the key \(PARLOR_ADMIN_KEY\)/);

    const stop = await room(['stop', 'cli-room']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toMatch(/^stopped room cli-room \(operation op_\S+\)$/);
    await waitFor(async () => (await http(orch, 'GET', '/v1/rooms/cli-room')).status === 404, 'the room gone');

    const list = await room(['operations', 'cli-room', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const ops = (JSON.parse(list.stdout) as { operations: Operation[] }).operations;
    expect(ops.map((o) => `${o.op} ${o.state} ${o.errorCode ?? ''}`.trim())).toEqual(['stop succeeded', 'patch failed NOT_VERSIONED', 'turn failed NOT_TURN_BASED', 'restart succeeded', 'resume succeeded', 'pause succeeded', 'start succeeded']);
    expect(ops.find((o) => o.op === 'pause')).toMatchObject({ params: { reason: 'maintenance' }, game: 'pong' });
    // the refusal of an unknown room is in the log too, under that room
    const unknown = await room(['operations', 'no-such-room', '--json']);
    expect((JSON.parse(unknown.stdout) as { operations: Operation[] }).operations.map((o) => o.errorCode)).toEqual(['ROOM_NOT_FOUND']);
  }, 180_000);
});
