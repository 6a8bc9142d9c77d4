// Exactly-once room creation with real processes and real signals: an agent in a child process is
// stopped (SIGSTOP) with a create in flight, the caller retries, the agent is woken (SIGCONT).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient, type Orchestrator, type OrchestratorOptions } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Line = Record<string, unknown>;

/** The stoppable agent fixture in its own process; `lines` are its stdout JSON lines. */
async function childAgent(orch: Orchestrator, name: string): Promise<{ child: ChildProcess; lines: Line[]; processUid: string }> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/orchestrator/test/fixtures/stoppable-agent.ts', orch.agentUrl, AGENT_KEY, name], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    return new Promise((r) => child.once('exit', r));
  });
  const lines: Line[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const s = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(s) as Line);
      } catch {
        // not a JSON line
      }
    }
  });
  await waitFor(() => lines.some((l) => l.ev === 'ready'), `child agent ${name} up`, 20_000);
  const processUid = String(lines.find((l) => l.ev === 'ready')!.processUid);
  await waitFor(() => orch.fleet.getInstance(processUid)?.roomTypes.length === 1, 'child first snapshot');
  return { child, lines, processUid };
}

async function setup(opts: OrchestratorOptions) {
  const { orch, logs } = await startOrchestrator(opts);
  cleanups.push(() => orch.shutdown());
  const a = await childAgent(orch, 'stoppable');
  const b = await startAgent(orch, { name: 'other' });
  cleanups.push(() => b.agent.disconnect());
  b.host.addLocal('busy-b', 'pong', 500); // least-loaded placement picks the child first
  await waitFor(() => orch.fleet.getRoom('busy-b') !== undefined, 'b loaded');
  const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY, retries: 200, retryDelayMs: 20, retryMaxDelayMs: 100 });
  cleanups.push(() => client.close());
  return { orch, logs, a, b, client };
}

/** How many hosts really hold `roomId`: the child's creates minus its destroys, plus the in-process host. */
function copies(a: { lines: Line[] }, b: { host: { rooms: Map<string, unknown> } }, roomId: string): number {
  const made = a.lines.filter((l) => l.ev === 'created' && l.roomId === roomId).length - a.lines.filter((l) => l.ev === 'destroyed' && l.roomId === roomId).length;
  return made + (b.host.rooms.has(roomId) ? 1 : 0);
}

describe('stale commands never run', () => {
  it('SIGSTOP past the deadline, SIGCONT before eviction: the agent refuses the expired create (COMMAND_EXPIRED), the retry gets exactly one room', async () => {
    // pollMs 600: stale after 2 missed polls, evicted only at the 3rd (600 ms later); the command's deadline is 100 ms
    const { orch, logs, a, b, client } = await setup({ pollMs: 600, commandTimeoutMs: 100 });
    a.child.kill('SIGSTOP');
    const created = client.createRoom({ type: 'pong', roomId: 'stopped-1' });
    await waitFor(() => logs.some((l) => l.msg === 'create outcome unknown: room id reserved until the agent tells' && l.room === 'stopped-1'), 'first attempt timed out');
    // wake it once stale: well past the deadline (the agent's clock mapping may be late by a one-way delay), before eviction
    await waitFor(() => orch.fleet.getInstance(a.processUid)?.stale === true, 'stopped agent stale');
    a.child.kill('SIGCONT');
    const room = await created;
    expect(room.roomId).toBe('stopped-1');
    // the woken agent read the create after its deadline and never ran it
    await waitFor(() => a.lines.some((l) => l.msg === 'command refused, not run' && l.room === 'stopped-1' && l.code === 'COMMAND_EXPIRED'), 'expired create refused');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'create outcome known', room: 'stopped-1', created: false }));
    expect(copies(a, b, 'stopped-1')).toBe(1);
    expect(orch.fleet.findRooms().filter((r) => r.roomId === 'stopped-1')).toHaveLength(1);
    expect(logs.some((l) => l.msg === 'room id on two instances, keeping the first')).toBe(false);
  }, 40_000);

  it('SIGSTOP until evicted, retries meanwhile, SIGCONT: the id stays reserved until the agent is back, then exactly one room and no orphan', async () => {
    const { orch, logs, a, b, client } = await setup({ pollMs: 100, commandTimeoutMs: 150 });
    a.child.kill('SIGSTOP');
    const created = client.createRoom({ type: 'pong', roomId: 'stopped-2' });
    await waitFor(() => orch.fleet.getInstance(a.processUid) === undefined, 'stopped agent evicted');
    // while the agent is away, retries wait (504) instead of placing a second copy on the other host
    await waitFor(() => logs.filter((l) => l.msg === 'create outcome unknown: room id reserved until the agent tells' && l.room === 'stopped-2').length >= 1, 'outcome unknown');
    expect(b.host.rooms.has('stopped-2')).toBe(false);
    a.child.kill('SIGCONT');
    const room = await created;
    expect(room.roomId).toBe('stopped-2');
    await waitFor(() => orch.fleet.getInstance(a.processUid) !== undefined, 'agent back');
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'create outcome known', room: 'stopped-2' }));
    expect(copies(a, b, 'stopped-2')).toBe(1);
    expect(orch.fleet.findRooms().filter((r) => r.roomId === 'stopped-2')).toHaveLength(1);
    expect(logs.some((l) => l.msg === 'room id on two instances, keeping the first')).toBe(false);
  }, 40_000);
});

describe('FleetClient waits for an attempt still in flight', () => {
  it('a first attempt lost to the client timeout while the create runs: the retry meets ROOM_EXISTS, waits, and returns the room (no ROOM_EXISTS thrown, no second copy)', async () => {
    const { orch } = await startOrchestrator({ commandTimeoutMs: 5000 });
    cleanups.push(() => orch.shutdown());
    const a = await startAgent(orch, { name: 'slow' });
    cleanups.push(() => a.agent.disconnect());
    a.host.delayMs = 450; // longer than the client's request timeout, shorter than the command timeout
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY, timeoutMs: 300, retries: 1, retryDelayMs: 20, retryMaxDelayMs: 50 });
    cleanups.push(() => client.close());
    const room = await client.createRoom({ type: 'pong', roomId: 'in-flight' });
    expect(room).toMatchObject({ roomId: 'in-flight', instanceId: a.agent.instanceId });
    expect(a.host.rooms.has('in-flight')).toBe(true);
    expect(orch.fleet.findRooms()).toHaveLength(1);
  });
});

describe('orchestrator killed mid-create (kill -9, a new one on the same port)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));

  async function orchestratorProcess(port: number): Promise<{ proc: ChildProcess; url: string }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--no-catalog', '--port', String(port), '--poll', '100', '--log-level', 'info'], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await waitFor(() => /REST: {3}(http:\/\/\S+)\/v1/.test(out), 'orchestrator listening', 20_000);
    return { proc, url: /REST: {3}(http:\/\/\S+)\/v1/.exec(out)![1] };
  }

  it('the create lands once: the retry on the new orchestrator returns the room the agent made, or the later copy is ended', async () => {
    const first = await orchestratorProcess(0);
    const port = Number(new URL(first.url).port);
    const { FleetAgent } = await import('@parlor/fleet-agent');
    const { MemoryHost, quietAgentLogger } = await import('./helpers.js');
    const start = async (name: string) => {
      const host = new MemoryHost();
      const agent = new FleetAgent(host, { url: first.url.replace(/^http/, 'ws'), key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', name, minBackoffMs: 50, maxBackoffMs: 200, logger: quietAgentLogger });
      cleanups.push(() => agent.disconnect());
      await agent.connect({ connectTimeoutMs: 5000 });
      return { host, agent };
    };
    const a = await start('a');
    const b = await start('b');
    b.host.addLocal('busy-b', 'pong', 500); // least-loaded placement picks a
    const client = new FleetClient({ baseUrl: first.url, adminKey: ADMIN_KEY, retries: 500, retryDelayMs: 20, retryMaxDelayMs: 100 });
    cleanups.push(() => client.close());
    await waitFor(async () => (await client.rooms()).some((r) => r.roomId === 'busy-b'), 'b loaded');
    a.host.delayMs = 800; // the create is running on a when the orchestrator dies
    const created = client.createRoom({ type: 'pong', roomId: 'crash-1' });
    await waitFor(() => (a.agent.snapshot().creating ?? []).includes('crash-1'), 'create running on a');
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    await orchestratorProcess(port);
    const room = await created;
    expect(room.roomId).toBe('crash-1');
    const copies = (): number => (a.host.rooms.has('crash-1') ? 1 : 0) + (b.host.rooms.has('crash-1') ? 1 : 0);
    // both agents back and reporting; a second copy, if the retry made one before a came back, is ended
    await waitFor(async () => (await client.instances()).length === 2 && copies() === 1, 'exactly one copy', 10_000);
    const rooms = (await client.rooms()).filter((r) => r.roomId === 'crash-1');
    expect(rooms).toHaveLength(1);
    expect((rooms[0].instanceId === a.agent.instanceId ? a : b).host.rooms.has('crash-1')).toBe(true);
  }, 60_000);
});
