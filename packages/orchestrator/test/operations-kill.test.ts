// kill -9 of a real orchestrator process between recording an operation and finishing it: a real
// `parlor-orchestrator` (its operation log in a temporary --data-dir) and a real `parlor serve`
// host. The host is stopped (SIGSTOP), so a pause sent to it stays `running` in the log; the
// orchestrator is killed with SIGKILL then. Restarted on the same --data-dir, the operation is
// there, failed INTERRUPTED — never silently dropped — and the `parlor room` CLI shows it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Operation } from '@parlor/squish';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, AGENT_KEY, waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Proc {
  proc: ChildProcess;
  out: () => string;
  closed: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_ENV: 'development', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  cleanups.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await closed;
  });
  return { proc, out: () => out, closed };
}

/** A real parlor-orchestrator on `port` with its log in `dataDir`; polls every 2 s, so a stopped host is evicted only after 6 s. */
async function orchestrator(port: number, dataDir: string): Promise<Proc & { url: string }> {
  const p = start(
    ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--port', String(port), '--no-catalog', '--data-dir', dataDir, '--poll', '2000', '--command-timeout', '60000', '--log-level', 'info'],
    { PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY },
  );
  await waitFor(() => /REST: {3}(http:\/\/\S+)\/v1/.test(p.out()), 'orchestrator listening', 30_000);
  return { ...p, url: /REST: {3}(http:\/\/\S+)\/v1/.exec(p.out())![1]! };
}

async function call(url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('kill -9 of the orchestrator mid-operation', () => {
  it('the operation it was running is failed INTERRUPTED at the next start on the same --data-dir, and parlor room operations shows it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parlor-ops-kill-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const first = await orchestrator(port, dataDir);
    const host = start([PARLOR_BIN, 'serve', '--games', join(root, 'examples'), '--host', '127.0.0.1', '--port', '0', '--fleet-url', `ws://127.0.0.1:${port}/v1/agent`, '--name', 'stopped-host', '--drain-timeout', '0'], { PARLOR_FLEET_KEY: AGENT_KEY });
    await waitFor(async () => ((await call(first.url, 'GET', '/v1/instances')).body.data as Array<{ roomTypes: string[] }>).some((i) => i.roomTypes.includes('pong')), 'the host attached with its games', 60_000);
    const created = await call(first.url, 'POST', '/v1/rooms', { type: 'pong', roomId: 'held-room' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // the host stops answering: the pause is sent and waits for its ack
    host.proc.kill('SIGSTOP');
    const pausing = call(first.url, 'POST', '/v1/rooms/held-room/pause', { reason: 'maintenance' }).catch((err: unknown) => err);
    let running: Operation | undefined;
    await waitFor(async () => {
      const list = (await call(first.url, 'GET', '/v1/rooms/held-room/operations?op=pause')).body.data.operations as Operation[];
      running = list.find((o) => o.state === 'running');
      return running !== undefined;
    }, 'the pause recorded running', 20_000);
    expect(running).toMatchObject({ roomId: 'held-room', op: 'pause', params: { reason: 'maintenance' }, errorCode: null });

    first.proc.kill('SIGKILL');
    await first.closed;
    // the caller lost its answer with the process (a dropped connection, never a 200)
    const lost = await pausing;
    expect(lost).toBeInstanceOf(Error);

    const second = await orchestrator(port, dataDir);
    await waitFor(() => /marked failed INTERRUPTED/.test(second.out()), 'the recovery logged');
    const after = (await call(second.url, 'GET', '/v1/rooms/held-room/operations?op=pause')).body.data.operations as Operation[];
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: running!.id, state: 'failed', errorCode: 'INTERRUPTED', errorMessage: "the orchestrator stopped before this operation finished; check the room's state", instanceId: running!.instanceId });
    expect((await call(second.url, 'GET', '/v1/operations?state=running')).body.data.operations).toEqual([]);
    expect((await call(second.url, 'GET', '/v1/operations?state=queued')).body.data.operations).toEqual([]);

    const cli = start([PARLOR_BIN, 'room', 'operations', 'held-room', '--orchestrator', second.url], { PARLOR_ADMIN_KEY: ADMIN_KEY });
    expect(await cli.closed).toBe(0);
    expect(cli.out()).toMatch(new RegExp(`${running!.id}\\s.*held-room\\s+pause\\s.*failed\\s+INTERRUPTED: the orchestrator stopped before this operation finished`));
  }, 180_000);
});
