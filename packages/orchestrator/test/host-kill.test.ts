// kill -9 of a real host process: two `parlor serve --fleet-url` hosts (built CLI) under an
// orchestrator; one with rooms is killed with SIGKILL. The kernel closes its socket, so the
// orchestrator drops it at once: its rooms leave the read model (room:destroy each, then
// instance:leave over SSE), placement never chooses it, and a create meanwhile lands on the other.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient, type FleetEvent } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A real `parlor serve` host of the examples, attached to `agentUrl` as `name`. */
function serve(agentUrl: string, name: string): ChildProcess {
  const proc = spawn(process.execPath, [PARLOR_BIN, 'serve', '--games', join(root, 'examples'), '--host', '127.0.0.1', '--port', '0', '--fleet-url', agentUrl, '--name', name, '--drain-timeout', '0'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'development', PARLOR_FLEET_KEY: AGENT_KEY },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => proc.once('exit', r));
  cleanups.push(() => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    return exited;
  });
  return proc;
}

describe('kill -9 of a real host process', () => {
  it('its rooms leave the read model (room:destroy each, then instance:leave), placement never chooses it, a create meanwhile lands on the other host', async () => {
    const { orch } = await startOrchestrator({ pollMs: 200 });
    cleanups.push(() => orch.shutdown());
    const victim = serve(orch.agentUrl, 'victim');
    serve(orch.agentUrl, 'survivor');
    // attached, and each has sent its first snapshot (the game types it serves)
    const ready = async (): Promise<boolean> => {
      const list = (await http(orch, 'GET', '/v1/instances')).body.data as Array<{ roomTypes: string[] }>;
      return list.length === 2 && list.every((i) => i.roomTypes.includes('pong'));
    };
    await waitFor(ready, 'both hosts attached with their games', 30_000);
    const ids = Object.fromEntries(((await http(orch, 'GET', '/v1/instances')).body.data as Array<{ id: string; name: string }>).map((i) => [i.name, i.id]));

    for (const roomId of ['doomed-1', 'doomed-2']) {
      const r = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId, placement: { instanceId: ids.victim } } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const kept = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', roomId: 'kept-1', placement: { instanceId: ids.survivor } } });
    expect(kept.status).toBe(201);

    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const events: FleetEvent[] = [];
    const stream = client.events((e) => events.push(e));
    cleanups.push(() => stream.close());
    await waitFor(() => events.some((e) => e.name === 'sync'), 'SSE sync');

    victim.kill('SIGKILL');
    await waitFor(() => events.some((e) => e.name === 'instance:leave'), 'instance:leave over SSE', 20_000);
    const after = events.slice(events.findIndex((e) => e.name === 'sync') + 1);
    // rooms and instances coming and going (instance:update load changes aside)
    const names = after.filter((e) => e.name !== 'instance:update' && !e.name.startsWith('player:')).map((e) => `${e.name}:${(e.data as any).room?.roomId ?? (e.data as any).instance?.name}`);
    // each of its rooms is destroyed, then the instance leaves; nothing of the survivor moves
    expect(names.slice(0, 3).sort()).toEqual(['instance:leave:victim', 'room:destroy:doomed-1', 'room:destroy:doomed-2'].sort());
    expect(names.indexOf('instance:leave:victim')).toBe(2);
    expect(names.filter((n) => n.endsWith('kept-1') || n.endsWith(':survivor'))).toEqual([]);
    // dropped when its socket closed, not after missed polls: never seen stale
    expect(names.filter((n) => n.startsWith('instance:stale'))).toEqual([]);
    expect(orch.fleet.getInstance(ids.victim)).toBeUndefined();
    expect(((await http(orch, 'GET', '/v1/rooms')).body.data as Array<{ roomId: string }>).map((r) => r.roomId)).toEqual(['kept-1']);
    expect((await http(orch, 'GET', '/v1/rooms/doomed-1')).status).not.toBe(200);

    // placement never chooses it: unpinned creates land on the survivor, a pin to it is refused
    for (let i = 0; i < 3; i++) {
      const r = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
      expect(r.status).toBe(201);
      expect(r.body.data.instanceId).toBe(ids.survivor);
    }
    const pinned = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong', placement: { instanceId: ids.victim } } });
    expect(pinned.body).toMatchObject({ status: 'rejected', cause: 'INSTANCE_NOT_FOUND' });
  }, 90_000);
});
