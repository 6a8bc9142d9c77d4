/**
 * Rooms by catalog game end to end on the placement side: a real in-process catalog (SQLite in a
 * temp folder, the real publish gate) publishes a small game in two versions; a real orchestrator
 * resolves creates through it and places them over real agents; the hosts receive the exact
 * artifact the catalog stored (its bytes hash to the sha256 they are given). A promotion changes
 * what new rooms run, never a running room.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublishGate } from '@parlor/server/gate';
import { createCatalog } from '../src/catalog/service.js';
import type { Catalog } from '../src/catalog/types.js';
import type { Orchestrator } from '../src/index.js';
import { gzipFolder, removeTemps, spriteGame, tempDir } from './catalog-helpers.js';
import { CatalogHost } from './catalog-room-helpers.js';
import { http, startAgent, startOrchestrator, waitFor } from './helpers.js';

// The gate's scan, sandboxed load and metadata checks (its smoke run is tested with the gate itself).
const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });

let catalog: Catalog;
let orch: Orchestrator;
const stops: Array<() => unknown> = [];
const v1Host = new CatalogHost([1]);
const v2Host = new CatalogHost([2]);
let v1Id: string;

beforeAll(async () => {
  catalog = await createCatalog({ dir: tempDir(), gate, publicUrl: 'http://catalog.test:7000', logger: 'silent' });
  for (const [version, label] of [['1.0.0', 'one'], ['1.0.1', 'two']]) {
    const { done } = await catalog.startPublish('sprite', version, await gzipFolder(spriteGame(label)), 'alice');
    const ended = await done;
    expect(ended.state, JSON.stringify(ended.error)).toBe('PUBLISHED');
  }
  await catalog.promote('sprite', '1.0.0', 'prod', 'admin');
  ({ orch } = await startOrchestrator({ resolver: catalog, env: 'prod' }));
  stops.push(() => orch.shutdown());
  // the host that encodes squish 2 joins first: least-loaded would pick it on a tie
  for (const [name, host] of [['squish2', v2Host], ['squish1', v1Host]] as const) {
    host.types = [];
    const { agent } = await startAgent(orch, { name }, host);
    stops.push(() => agent.disconnect());
    if (name === 'squish1') v1Id = agent.instanceId!;
  }
}, 60_000);
afterAll(async () => {
  while (stops.length) await stops.pop()!();
  await catalog?.close();
  removeTemps();
});

/** Creates a room by `body`; expects 201 and returns its RoomInfo. */
async function created(body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await http(orch, 'POST', '/v1/rooms', { body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data;
}

describe('rooms of a published game, through a real catalog', () => {
  it('a create by game and env reaches a host that encodes its squish version, with the artifact the catalog stored', async () => {
    const room = await created({ game: 'sprite' });
    const published = await catalog.getVersion('sprite', '1.0.0');
    expect(room).toMatchObject({ type: 'sprite', version: '1.0.0', sha256: published.sha256, instanceId: v1Id });
    const artifact = v1Host.artifacts.get(room.roomId)!;
    expect(artifact).toEqual(await catalog.resolve('sprite', 'prod'));
    expect(artifact).toMatchObject({ slug: 'sprite', version: '1.0.0', squishVersion: published.squishVersion, url: `http://catalog.test:7000/v1/artifacts/${published.sha256}` });
    // the bytes behind the reference are the ones the host will verify
    const bytes = readFileSync(catalog.artifactPath(artifact.sha256)!);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256);
    expect(v2Host.rooms.size).toBe(0);
  });

  it('promote: new rooms run the new version while a running room keeps its own; a pin and dev ignore prod; rollback', async () => {
    const running = await created({ game: 'sprite', roomId: 'running-one' });
    expect(running.version).toBe('1.0.0');
    await catalog.promote('sprite', '1.0.1', 'prod', 'admin');
    const next = await created({ game: 'sprite' });
    const v101 = await catalog.getVersion('sprite', '1.0.1');
    expect(next).toMatchObject({ version: '1.0.1', sha256: v101.sha256 });
    expect(v1Host.artifacts.get(next.roomId)!.sha256).toBe(v101.sha256);
    // the running room is untouched: the host still has it with its version, the read model says so
    expect(v1Host.rooms.get('running-one')).toMatchObject({ version: '1.0.0' });
    await waitFor(() => orch.fleet.getRoom('running-one')?.version === '1.0.0' && orch.fleet.getRoom(next.roomId)?.version === '1.0.1', 'both versions in the read model');

    expect(await created({ game: 'sprite@1.0.0' })).toMatchObject({ version: '1.0.0' });
    expect(await created({ game: 'sprite', env: 'dev' })).toMatchObject({ version: '1.0.1' }); // dev follows the latest
    await catalog.rollback('sprite', 'prod', 'admin');
    expect(await created({ game: 'sprite' })).toMatchObject({ version: '1.0.0' });
    expect(v2Host.rooms.size).toBe(0);
  });

  it("the catalog's refusals come back typed: unknown game or version (404), not in the environment (409)", async () => {
    const refusal = async (body: unknown) => {
      const r = await http(orch, 'POST', '/v1/rooms', { body });
      return { status: r.status, cause: r.body?.cause as string };
    };
    expect(await refusal({ game: 'nope' })).toEqual({ status: 404, cause: 'UNKNOWN_GAME' });
    expect(await refusal({ game: 'sprite@9.0.0' })).toEqual({ status: 404, cause: 'UNKNOWN_VERSION' });
    expect(await refusal({ game: 'sprite', env: 'staging' })).toEqual({ status: 409, cause: 'NOT_IN_MANIFEST' });
  });
});
