/**
 * Rooms that run catalog versions, placement side: `POST /v1/rooms` by `game` is resolved through
 * the orchestrator's `resolver` before placement, placed only on an instance whose host encodes
 * the artifact's squish version, and the agent's host gets the resolved artifact. Real
 * orchestrator and real agents over sockets; the hosts are in-memory FleetHosts (the host object
 * is the integration point) and the resolver a fixed table, throwing the catalog's typed errors.
 */
import { FleetAgent, FleetAgentErrorCode, FLEET_SUBPROTOCOL, agentSubprotocols, decodeFrame, encodeFrame } from '@parlor/fleet-agent';
import type { ArtifactRef } from '@parlor/squish';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetCause, FleetClient, Orchestrator, OrchestratorError, type GameResolver } from '../src/index.js';
import { recorder } from './contract.js';
import { CatalogHost } from './catalog-room-helpers.js';
import { ADMIN_KEY, AGENT_KEY, MemoryHost, describeContract, http, quietAgentLogger, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const sha = (c: string): string => c.repeat(64);

/** pong 1.2.0 and 1.3.0 (squish 1), pong 2.0.0 (squish 2), comet 1.0.0 (squish 3). */
const VERSIONS: Record<string, Record<string, { sha256: string; squishVersion: number }>> = {
  pong: { '1.2.0': { sha256: sha('a'), squishVersion: 1 }, '1.3.0': { sha256: sha('b'), squishVersion: 1 }, '2.0.0': { sha256: sha('c'), squishVersion: 2 } },
  comet: { '1.0.0': { sha256: sha('d'), squishVersion: 3 } },
};

/**
 * A catalog as room creation sees it: a fixed table of versions and manifests (`dev` follows the
 * latest), throwing what the catalog throws (`OrchestratorError`s with the catalog's causes).
 */
class TableResolver implements GameResolver {
  readonly calls: Array<{ game: string; env: string }> = [];
  manifests: Record<string, Record<string, string>> = { prod: { pong: '1.2.0' }, staging: { pong: '1.3.0', comet: '1.0.0' } };
  down = false;
  async resolve(game: string, env: string): Promise<ArtifactRef> {
    this.calls.push({ game, env });
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const [slug, pinned] = game.split('@');
    const versions = VERSIONS[slug];
    if (!versions) throw new OrchestratorError(FleetCause.UNKNOWN_GAME, `no game ${slug}`);
    let version: string | undefined = pinned;
    if (version === undefined) {
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(env)) throw new OrchestratorError(FleetCause.UNKNOWN_ENV, `no environment ${env}`);
      version = env === 'dev' ? Object.keys(versions).at(-1) : this.manifests[env]?.[slug];
      if (version === undefined) throw new OrchestratorError(FleetCause.NOT_IN_MANIFEST, `${slug} is not in ${env}`);
    }
    const v = versions[version];
    if (!v) throw new OrchestratorError(FleetCause.UNKNOWN_VERSION, `no version ${slug}@${version}`);
    return { slug, version, ...v, url: `http://catalog.invalid/v1/artifacts/${v.sha256}`, access: { requiresAuth: false, minRole: null } };
  }
}

async function agentOn(orch: Orchestrator, name: string, host: CatalogHost, opts: { squishVersions?: number[] } = {}): Promise<FleetAgent> {
  const { agent } = await startAgent(orch, { name, ...opts }, host);
  cleanups.push(() => agent.disconnect());
  return agent;
}

const create = (orch: Orchestrator, body: unknown) => http(orch, 'POST', '/v1/rooms', { body });

describe('rooms by catalog game (POST /v1/rooms { game })', () => {
  it('resolves pong in an environment (default the orchestrator’s), pins pong@1.2.0, and hands the host the artifact', async () => {
    const resolver = new TableResolver();
    const { orch } = await startOrchestrator({ resolver, env: 'prod' });
    cleanups.push(() => orch.shutdown());
    const host = new CatalogHost();
    host.types = ['cards']; // serves no local pong: a catalog room does not need the room type
    const agent = await agentOn(orch, 'one', host);

    const prod = await create(orch, { game: 'pong' });
    expect(prod.status).toBe(201);
    expect(resolver.calls.at(-1)).toEqual({ game: 'pong', env: 'prod' });
    expect(prod.body.data).toMatchObject({ type: 'pong', version: '1.2.0', sha256: sha('a'), instanceId: agent.instanceId, provenance: 'fleet' });
    expect(prod.body.data.joinUrl).toMatch(/\/play\/pong\//);
    expect(host.artifacts.get(prod.body.data.roomId)).toEqual({
      slug: 'pong',
      version: '1.2.0',
      sha256: sha('a'),
      squishVersion: 1,
      url: `http://catalog.invalid/v1/artifacts/${sha('a')}`,
      access: { requiresAuth: false, minRole: null },
    });
    expect(host.rooms.get(prod.body.data.roomId)).toMatchObject({ type: 'pong', options: {} });

    const staging = await create(orch, { game: 'pong', env: 'staging', options: { mode: 'ranked' } });
    expect(staging.status).toBe(201);
    expect(resolver.calls.at(-1)).toEqual({ game: 'pong', env: 'staging' });
    expect(staging.body.data).toMatchObject({ version: '1.3.0', sha256: sha('b') });
    expect(host.rooms.get(staging.body.data.roomId)!.options).toEqual({ mode: 'ranked' });

    const pinned = await create(orch, { game: 'pong@1.2.0', roomId: 'pinned-1' });
    expect(pinned.status).toBe(201);
    expect(pinned.body.data).toMatchObject({ roomId: 'pinned-1', version: '1.2.0' });
    // the agent's snapshots carry the version too: the read model keeps it after the next polls
    await waitFor(async () => (await http(orch, 'GET', '/v1/rooms/pinned-1')).body?.data?.version === '1.2.0', 'the version in the read model');
    expect(orch.fleet.findRooms({ type: 'pong' }).map((r) => r.version).sort()).toEqual(['1.2.0', '1.2.0', '1.3.0']);
    // a local game by type still works beside them; its rooms have no version
    const local = await create(orch, { type: 'cards' });
    expect(local.status).toBe(201);
    expect(local.body.data.version).toBeUndefined();
    expect(host.artifacts.has(local.body.data.roomId)).toBe(false);
  });

  it('places a catalog room only on an instance whose host encodes its squish version', async () => {
    const resolver = new TableResolver();
    const { orch } = await startOrchestrator({ resolver });
    cleanups.push(() => orch.shutdown());
    // first to join (the smallest id, least-loaded's pick on a tie): a host that runs no catalog versions
    const bareHost = new CatalogHost([]);
    const bare = await agentOn(orch, 'bare', bareHost);
    expect(orch.fleet.getInstance(bare.instanceId!)!.squishVersions).toEqual([]);
    const v1Host = new CatalogHost([1]);
    const v1 = await agentOn(orch, 'v1', v1Host);
    const v2Host = new CatalogHost();
    const v2 = await agentOn(orch, 'v2', v2Host, { squishVersions: [2] }); // the agent option wins over the host's
    expect(orch.fleet.getInstance(v1.instanceId!)!.squishVersions).toEqual([1]);
    expect(orch.fleet.getInstance(v2.instanceId!)!.squishVersions).toEqual([2]);
    expect((await http(orch, 'GET', `/v1/instances/${v2.instanceId}`)).body.data.squishVersions).toEqual([2]);

    // least-loaded would alternate; the squish version decides instead, every time
    for (let i = 0; i < 3; i++) {
      expect((await create(orch, { game: 'pong@1.2.0' })).body.data.instanceId).toBe(v1.instanceId);
      expect((await create(orch, { game: 'pong@2.0.0' })).body.data.instanceId).toBe(v2.instanceId);
    }
    expect([...v1Host.artifacts.values()].every((a) => a.squishVersion === 1)).toBe(true);
    expect([...v2Host.artifacts.values()].every((a) => a.squishVersion === 2)).toBe(true);
    // a pin to an instance without the version is no candidate either
    expect(await create(orch, { game: 'pong@2.0.0', placement: { instanceId: v1.instanceId } })).toMatchObject({ status: 409, body: { cause: 'NO_CANDIDATE' } });

    // nobody encodes squish 3: NO_CANDIDATE naming it, and no host was asked
    const none = await create(orch, { game: 'comet', env: 'staging' });
    expect(none).toMatchObject({ status: 409, body: { cause: 'NO_CANDIDATE' } });
    expect(none.body.message).toContain('squish version 3');
    expect(none.body.message).toContain('comet@1.0.0');
    // a full instance that encodes it is no candidate, and the message still names the version
    const full = await create(orch, { game: 'pong@2.0.0', placement: { labels: { region: 'mars' } } });
    expect(full).toMatchObject({ status: 409, body: { cause: 'NO_CANDIDATE' } });
    expect(full.body.message).toContain('squish version 2');
    expect(v1Host.rooms.size + v2Host.rooms.size).toBe(6);
    expect(bareHost.rooms.size).toBe(0);
    expect((await create(orch, { type: 'pong' })).body.data.instanceId).toBe(bare.instanceId); // its own games still place
  });

  it('answers the catalog’s refusals as typed errors with their cause, and malformed requests with VALIDATION', async () => {
    const resolver = new TableResolver();
    const { orch } = await startOrchestrator({ resolver });
    cleanups.push(() => orch.shutdown());
    const host = new CatalogHost();
    await agentOn(orch, 'one', host);

    const refused = async (body: unknown): Promise<{ status: number; cause: string; message: string }> => {
      const r = await create(orch, body);
      return { status: r.status, cause: r.body?.cause, message: r.body?.message };
    };
    expect(await refused({ game: 'tetris' })).toEqual({ status: 404, cause: 'UNKNOWN_GAME', message: 'no game tetris' });
    expect(await refused({ game: 'pong@9.9.9' })).toEqual({ status: 404, cause: 'UNKNOWN_VERSION', message: 'no version pong@9.9.9' });
    expect(await refused({ game: 'pong', env: 'qa' })).toEqual({ status: 409, cause: 'NOT_IN_MANIFEST', message: 'pong is not in qa' });
    resolver.down = true;
    expect(await refused({ game: 'pong' })).toMatchObject({ status: 502, cause: 'CATALOG_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    resolver.down = false;
    // an error of a remote catalog carrying a cause as its code (no OrchestratorError) keeps it
    const remote: GameResolver = { resolve: async () => Promise.reject(Object.assign(new Error('no environment Prod'), { code: 'UNKNOWN_ENV' })) };
    const { orch: other } = await startOrchestrator({ resolver: remote });
    cleanups.push(() => other.shutdown());
    expect((await http(other, 'POST', '/v1/rooms', { body: { game: 'pong' } })).body).toEqual({ status: 'rejected', cause: 'UNKNOWN_ENV', message: 'no environment Prod' });
    // a cause that is not a resolution's (here an artifact's) is the catalog failing: CATALOG_UNAVAILABLE, never an undeclared cause
    const odd: GameResolver = { resolve: async () => Promise.reject(new OrchestratorError(FleetCause.UNKNOWN_ARTIFACT, 'no artifact')) };
    const { orch: third } = await startOrchestrator({ resolver: odd });
    cleanups.push(() => third.shutdown());
    expect((await http(third, 'POST', '/v1/rooms', { body: { game: 'pong' } })).body).toMatchObject({ status: 'rejected', cause: 'CATALOG_UNAVAILABLE', message: expect.stringContaining('no artifact') });

    // malformed: both or neither of type and game, env without game, a bad game or env name
    for (const body of [{ type: 'pong', game: 'pong' }, {}, { options: {} }, { type: 'pong', env: 'prod' }, { game: 'Pong' }, { game: 'pong@1.2' }, { game: 'pong@' }, { game: 'pong', env: 'Prod' }, { game: 'pong', env: '' }]) {
      expect((await refused(body)).cause, JSON.stringify(body)).toBe('VALIDATION');
    }
    expect((await refused({ type: 'pong', game: 'pong' })).message).toContain('not both');
    expect((await refused({})).message).toContain('type or game');
    expect(resolver.calls.map((c) => c.game)).toEqual(['tetris', 'pong@9.9.9', 'pong', 'pong']); // nothing malformed reached the catalog
    expect(host.rooms.size).toBe(0);
  });

  it('without a resolver a create by game is NO_CATALOG (409); creates by type work as before', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    await agentOn(orch, 'one', new CatalogHost());
    const r = await create(orch, { game: 'pong', env: 'prod' });
    expect(r).toMatchObject({ status: 409, body: { status: 'rejected', cause: 'NO_CATALOG' } });
    expect(r.body.message).toContain('no catalog');
    expect((await create(orch, { type: 'pong' })).status).toBe(201);
    expect(() => new Orchestrator({ agentKey: AGENT_KEY, adminKey: ADMIN_KEY, env: 'Prod!' })).toThrow(/env must be an environment name/);
  });

  it('FleetClient creates by game, and its safe retry recognises its own catalog room', async () => {
    const resolver = new TableResolver();
    const { orch } = await startOrchestrator({ resolver, env: 'prod' });
    cleanups.push(() => orch.shutdown());
    const host = new CatalogHost();
    await agentOn(orch, 'one', host);
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY, dispatcher: recorder });
    const room = await client.createRoom({ game: 'pong@1.3.0', roomId: 'client-1' });
    expect(room).toMatchObject({ roomId: 'client-1', type: 'pong', version: '1.3.0', sha256: sha('b') });
    expect(await client.createRoom({ game: 'pong' })).toMatchObject({ version: '1.2.0' });
    await expect(client.createRoom({ game: 'pong@1.3.0', roomId: 'client-1' })).rejects.toMatchObject({ code: 'ROOM_EXISTS' });
    await expect(client.createRoom({ game: 'nope' })).rejects.toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
  });

  it('an agent older than protocol 1.2 (hello without squishVersions) counts as [1], serves its types, and gets no catalog room', async () => {
    const resolver = new TableResolver();
    const { orch } = await startOrchestrator({ resolver });
    cleanups.push(() => orch.shutdown());
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    cleanups.push(() => ws.terminate());
    const cmds: any[] = [];
    const rooms: any[] = [];
    let closed: number | null = null;
    ws.on('close', (c) => (closed = c));
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame as any;
      if (f.t === 'poll') ws.send(encodeFrame({ t: 'state', seq: f.seq, hash: `h${rooms.length}`, snapshot: { draining: false, roomTypes: ['pong'], rooms } }));
      if (f.t === 'cmd') {
        cmds.push(f);
        const room = { roomId: f.roomId, type: f.type, clientCount: 0, metadata: {}, provenance: 'fleet' as const, createdAt: Date.now() };
        rooms.push(room);
        ws.send(encodeFrame({ t: 'ack', id: f.id, ok: true, room }));
      }
    });
    await new Promise((r) => ws.on('open', r));
    expect(ws.protocol).toBe(FLEET_SUBPROTOCOL);
    // the 1.1 hello, exactly as an older agent sends it (no squishVersions)
    ws.send(encodeFrame({ t: 'hello', processUid: 'old-agent-0001', name: 'old', endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true }));
    await waitFor(() => orch.fleet.getInstance('old-agent-0001')?.roomTypes.length === 1, 'the old agent in the read model');
    expect(orch.fleet.getInstance('old-agent-0001')!.squishVersions).toEqual([1]);

    expect((await create(orch, { type: 'pong' })).status).toBe(201);
    const catalogRoom = await create(orch, { game: 'pong@1.2.0' });
    expect(catalogRoom).toMatchObject({ status: 409, body: { cause: 'NO_CANDIDATE' } });
    expect(cmds).toHaveLength(1);
    expect(cmds[0].artifact).toBeUndefined();
    // a current agent next to it takes the catalog room
    const host = new CatalogHost();
    const fresh = await agentOn(orch, 'new', host);
    expect((await create(orch, { game: 'pong@1.2.0' })).body.data.instanceId).toBe(fresh.instanceId);
    expect(closed).toBeNull(); // the old agent was never kicked
  });

  it('an agent refuses squishVersions that are not a list of at most 64 integers ≥ 1 at construction', () => {
    const make = (squishVersions: unknown, host = new MemoryHost()) =>
      new FleetAgent(host, { url: 'ws://127.0.0.1:9', key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', logger: quietAgentLogger, squishVersions: squishVersions as number[] });
    for (const bad of [[0], [1.5], ['1'], 1, Array.from({ length: 65 }, (_, i) => i + 1)]) {
      expect(() => make(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: FleetAgentErrorCode.CONFIG, message: expect.stringContaining('squishVersions option') }));
    }
    const host = Object.assign(new MemoryHost(), { squishVersions: () => [0] });
    expect(() => make(undefined, host)).toThrow(expect.objectContaining({ code: FleetAgentErrorCode.CONFIG, message: expect.stringContaining('host.squishVersions()') }));
    expect(() => make([2, 1, 2])).not.toThrow();
    expect(() => make([])).not.toThrow(); // a host that runs no catalog versions
  });

  it('the OpenAPI document shows game and env on the create, squishVersions on instances, version and sha256 on rooms, and the catalog causes', async () => {
    const { orch } = await startOrchestrator();
    cleanups.push(() => orch.shutdown());
    const doc = (await http(orch, 'GET', '/v1/openapi.json', { key: null })).body;
    const post = doc.paths['/v1/rooms'].post;
    const body = post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['type', 'game', 'env', 'roomId', 'options', 'placement']));
    expect(body.required ?? []).not.toContain('type');
    expect(new RegExp(body.properties.game.pattern).test('pong@1.2.0')).toBe(true);
    expect(new RegExp(body.properties.game.pattern).test('pong@latest')).toBe(false);
    const text = JSON.stringify(post.responses);
    for (const cause of ['NO_CATALOG', 'UNKNOWN_GAME', 'UNKNOWN_VERSION', 'UNKNOWN_ENV', 'NOT_IN_MANIFEST', 'CATALOG_UNAVAILABLE', 'NO_CANDIDATE']) expect(text).toContain(cause);
    const room = post.responses['201'].content['application/json'].schema.properties.data;
    expect(Object.keys(room.properties)).toEqual(expect.arrayContaining(['version', 'sha256']));
    const instance = doc.paths['/v1/instances/{id}'].get.responses['200'].content['application/json'].schema.properties.data;
    expect(instance.required).toContain('squishVersions');
  });
});

describeContract();
