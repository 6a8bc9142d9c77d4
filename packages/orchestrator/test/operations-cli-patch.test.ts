// `parlor room turn` and `parlor room patch` end to end: the built CLI as real processes against a
// real orchestrator with its in-process catalog (a small turn-based game published as 1.0.0, 1.0.1
// and 1.1.0 through the real publish gate) and a real game server attached by its fleet agent. A
// forced turn prints the new turn; a patch within 1.0.x prints the version; a patch to 1.1.0 is one
// line naming the rule; the log holds all three.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactCache, CatalogVersions, createFleetHost, createGameServer, type GameServer } from '@parlor/server';
import { createPublishGate } from '@parlor/server/gate';
import { FleetAgent } from '@parlor/fleet-agent';
import type { Operation } from '@parlor/squish';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orchestrator } from '../src/index.js';
import { gzipFolder } from './catalog-helpers.js';
import { ADMIN_KEY, AGENT_KEY, captureLogger, http, quietAgentLogger, startOrchestrator, waitFor } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const GAME = fileURLToPath(new URL('./fixtures/lifecycle-game', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parlor-ops-cli-patch-'));
let orch: Orchestrator;
let server: GameServer;
let agent: FleetAgent;
let cache: ArtifactCache;

beforeAll(async () => {
  const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });
  ({ orch } = await startOrchestrator({ catalog: { dir: join(dir, 'catalog'), gate }, env: 'prod', dataDir: join(dir, 'data'), commandTimeoutMs: 20_000 }));
  for (const version of ['1.0.0', '1.0.1', '1.1.0']) {
    const folder = join(dir, `adder-${version}`);
    cpSync(GAME, folder, { recursive: true });
    writeFileSync(join(folder, 'label.ts'), `export function label(): string {\n  return ${JSON.stringify(`adder ${version}`)};\n}\n`);
    const { done } = await orch.catalog!.startPublish('adder', version, await gzipFolder(folder), 'alice');
    const ended = await done;
    expect(ended.state, JSON.stringify(ended.error)).toBe('PUBLISHED');
  }
  await orch.catalog!.promote('adder', '1.0.0', 'prod', 'admin');
  server = await createGameServer({ games: {}, port: 0, host: '127.0.0.1', logger: captureLogger().logger });
  cache = new ArtifactCache({ dir: join(dir, 'artifacts'), key: AGENT_KEY });
  agent = new FleetAgent(createFleetHost(server, { versions: new CatalogVersions(server, cache) }), { url: orch.agentUrl, key: AGENT_KEY, endpointUrl: server.url, name: 'host', logger: quietAgentLogger });
  await agent.connect({ connectTimeoutMs: 5000 });
  await waitFor(() => orch.fleet.instances.length === 1, 'the host in the fleet');
}, 120_000);

afterAll(async () => {
  await agent?.disconnect();
  await server?.close();
  cache?.closeSync();
  await orch?.shutdown();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function room(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLOR_ADMIN_KEY: ADMIN_KEY };
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

describe('parlor room turn and patch on a catalog room', () => {
  it('a forced turn prints the new turn, a patch within 1.0.x the version, a patch to 1.1.0 is refused in one line; the log has all three', async () => {
    const created = await http(orch, 'POST', '/v1/rooms', { body: { game: 'adder', env: 'prod' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const roomId = created.body.data.roomId as string;

    const turn = await room(['turn', roomId]);
    expect(turn.code, turn.stderr).toBe(0);
    expect(turn.stdout.trim()).toMatch(new RegExp(`^generated the next turn of room ${roomId} \\(operation op_\\S+\\): now running, turn 2$`));

    const patch = await room(['patch', roomId, '1.0.1']);
    expect(patch.code, patch.stderr).toBe(0);
    expect(patch.stdout.trim()).toMatch(new RegExp(`^patched room ${roomId} to 1\\.0\\.1 \\(operation op_\\S+\\): now running, turn 2$`));

    const refused = await room(['patch', roomId, '1.1.0']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr.trim()).toMatch(/^parlor room: 409 PATCH_SEMVER_INCOMPATIBLE: .*\(a patch stays within the room's major\.minor: stop the room and start one on the new version\)$/);

    const list = await room(['operations', roomId]);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s+/).slice(3, 4)[0])).toEqual(['patch', 'patch', 'turn', 'start']);
    expect(rows[0]).toMatch(/failed\s+PATCH_SEMVER_INCOMPATIBLE: /);
    expect(rows[1]).toMatch(/succeeded\s+adder@1\.0\.1, on /);
    const ops = (await http(orch, 'GET', `/v1/rooms/${roomId}/operations`)).body.data.operations as Operation[];
    expect(ops.map((o) => `${o.op}:${o.state}:${o.version}`)).toEqual(['patch:failed:1.0.1', 'patch:succeeded:1.0.1', 'turn:succeeded:1.0.0', 'start:succeeded:1.0.0']);
  }, 120_000);
});
