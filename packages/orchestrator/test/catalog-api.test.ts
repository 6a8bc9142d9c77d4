/**
 * The catalog's REST API served in-process by a real orchestrator (real sockets, a real SQLite
 * catalog in a temp folder, the real publish gate in the process runtime): every route's answer
 * and typed refusals, key classes (admin / publisher / agent), 202 then polling to PUBLISHED,
 * immutable artifacts and game files, and the OpenAPI document describing every answer provoked.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublishGate } from '@parlor/server/gate';
import { Orchestrator, OrchestratorConfigError } from '../src/index.js';
import { checkContract, fetchOpenApi, recorded, recorder } from './contract.js';
import { gzipFolder, removeTemps, SPRITE, spriteGame, tempDir } from './catalog-helpers.js';
import { ADMIN_KEY, AGENT_KEY, http, startOrchestrator, waitFor } from './helpers.js';

const PUBLISHER_KEY = 'publisher-key-alice-0123456789';
const BARE_PUBLISHER_KEY = 'publisher-key-bare-0123456789';
const UPLOAD_CAP = 256 * 1024;

let orch: Orchestrator;
let v100: Buffer;
beforeAll(async () => {
  const gate = createPublishGate({ runtime: 'process', smokeMs: 800, typeCheck: false });
  ({ orch } = await startOrchestrator({
    catalog: { dir: tempDir(), gate, publishRate: { perMinute: 60, burst: 6 }, uploadLimits: { maxCompressedBytes: UPLOAD_CAP } },
    publisherKey: [`alice=${PUBLISHER_KEY}`, BARE_PUBLISHER_KEY],
    env: 'dev',
  }));
  v100 = await gzipFolder(spriteGame('one'));
});
afterAll(async () => {
  await orch?.shutdown();
  removeTemps();
});

function rejected(res: { status: number; body: any }, status: number, cause: string): void {
  expect({ status: res.status, envelope: res.body?.status, cause: res.body?.cause }).toEqual({ status, envelope: 'rejected', cause });
}

const upload = (path: string, body: Buffer, key = PUBLISHER_KEY) => http(orch, 'POST', path, { key, raw: body, headers: { 'content-type': 'application/gzip' } });

/** Publishes and polls the request until it ends; returns the ended request. */
async function publish(slug: string, version: string, body: Buffer, key = PUBLISHER_KEY): Promise<any> {
  const res = await upload(`/v1/games/${slug}/versions/${version}`, body, key);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.data).toMatchObject({ slug, version, state: 'PENDING', sha256: null, error: null });
  let ended: any;
  await waitFor(
    async () => {
      ended = (await http(orch, 'GET', `/v1/publish-requests/${res.body.data.id}`, { key: AGENT_KEY })).body.data;
      return ended.state === 'PUBLISHED' || ended.state === 'FAILED';
    },
    `${slug}@${version} published`,
    60_000,
  );
  return ended;
}

describe('catalog REST API (in-process)', () => {
  it('publish: 202 PENDING, then PUBLISHED on polling; the same content again is 200; other content 409', async () => {
    const ended = await publish('sprite', '1.0.0', v100);
    expect(ended).toMatchObject({ state: 'PUBLISHED', publisher: 'alice', error: null });
    expect(ended.sha256).toMatch(/^[0-9a-f]{64}$/);

    const again = await upload('/v1/games/sprite/versions/1.0.0', v100, BARE_PUBLISHER_KEY);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ id: ended.id, state: 'PUBLISHED' });
    rejected(await upload('/v1/games/sprite/versions/1.0.0', await gzipFolder(spriteGame('other'))), 409, 'VERSION_EXISTS');

    const list = await http(orch, 'GET', '/v1/publish-requests?slug=sprite', { key: AGENT_KEY });
    expect(list.body.data.map((r: any) => r.id)).toContain(ended.id);
    rejected(await http(orch, 'GET', '/v1/publish-requests/nope', { key: AGENT_KEY }), 404, 'UNKNOWN_PUBLISH_REQUEST');
  }, 90_000);

  it('a bare publisher key publishes as its fingerprint; a gate failure ends FAILED with the report', async () => {
    const dir = spriteGame('broken');
    const index = join(dir, 'index.ts');
    const src = readFileSync(index, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(index, src.replace("from '@parlor/squish';", "from '@parlor/squish';\nimport { execSync } from 'node:child_process';\nvoid execSync;"));
    const failed = await publish('broken', '0.1.0', await gzipFolder(dir), BARE_PUBLISHER_KEY);
    expect(failed).toMatchObject({ state: 'FAILED', publisher: expect.stringMatching(/^fp:[0-9a-f]{8}$/), error: { code: 'GATE_FAILED' } });
    expect(failed.error.report.passed).toBe(false);
  }, 90_000);

  it('upload refusals before recording: 400 BAD_UPLOAD, 413 UPLOAD_TOO_LARGE, 400 VALIDATION', async () => {
    rejected(await upload('/v1/games/sprite/versions/2.0.0', Buffer.from('not a gzip at all')), 400, 'BAD_UPLOAD');
    rejected(await http(orch, 'POST', '/v1/games/sprite/versions/2.0.0', { key: PUBLISHER_KEY, body: { not: 'a tar' } }), 400, 'BAD_UPLOAD');
    const big = gzipSync(Buffer.alloc(UPLOAD_CAP * 4, 7), { level: 0 });
    expect(big.length).toBeGreaterThan(UPLOAD_CAP);
    const res = await request(`${orch.url}/v1/games/sprite/versions/2.0.0`, { method: 'POST', headers: { authorization: `Bearer ${PUBLISHER_KEY}`, 'content-type': 'application/gzip' }, body: big, dispatcher: recorder });
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as any).cause).toBe('UPLOAD_TOO_LARGE');
    rejected(await upload('/v1/games/Not_A_Slug/versions/1.0.0', v100), 400, 'VALIDATION');
    rejected(await upload('/v1/games/sprite/versions/v1', v100), 400, 'VALIDATION');
  });

  it('keys: none or wrong → 401; agent reads but cannot publish (403); publisher cannot promote, roll back or edit (403)', async () => {
    rejected(await http(orch, 'GET', '/v1/games', { key: null }), 401, 'UNAUTHORIZED');
    rejected(await http(orch, 'GET', '/v1/games', { key: 'wrong-key-0123456789abcdef' }), 401, 'UNAUTHORIZED');
    expect((await http(orch, 'GET', '/v1/games', { key: AGENT_KEY })).status).toBe(200);
    expect((await http(orch, 'GET', '/v1/games', { key: PUBLISHER_KEY })).status).toBe(200);
    rejected(await upload('/v1/games/sprite/versions/1.0.0', v100, AGENT_KEY), 403, 'FORBIDDEN');
    rejected(await http(orch, 'POST', '/v1/manifests/prod/promote', { key: PUBLISHER_KEY, body: { slug: 'sprite', version: '1.0.0' } }), 403, 'FORBIDDEN');
    rejected(await http(orch, 'POST', '/v1/manifests/prod/rollback', { key: AGENT_KEY, body: { slug: 'sprite' } }), 403, 'FORBIDDEN');
    rejected(await http(orch, 'PUT', '/v1/games/sprite', { key: PUBLISHER_KEY, body: { name: 'Mine' } }), 403, 'FORBIDDEN');
    // a publisher or agent key opens nothing outside the catalog
    rejected(await http(orch, 'GET', '/v1/rooms', { key: PUBLISHER_KEY }), 401, 'UNAUTHORIZED');
    rejected(await http(orch, 'GET', '/v1/stats', { key: AGENT_KEY }), 401, 'UNAUTHORIZED');
    rejected(await http(orch, 'DELETE', '/v1/games/sprite'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('wrong keys on the catalog routes meet the same throttle as the rest of /v1 (429 AUTH_THROTTLED); valid keys of every class still pass', async () => {
    const wrong = 'wrong-key-for-the-throttle-0123456789';
    let res: Awaited<ReturnType<typeof http>> | undefined;
    for (let i = 0; i < 25 && res?.status !== 429; i++) res = await http(orch, 'GET', '/v1/manifests/dev', { key: wrong });
    rejected(res!, 429, 'AUTH_THROTTLED');
    expect(Number(res!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    for (const key of [AGENT_KEY, PUBLISHER_KEY, ADMIN_KEY]) expect((await http(orch, 'GET', '/v1/manifests/dev', { key })).status).toBe(200);
  });

  it('games and versions: list, get, edit (admin), typed 404s, ETag/304', async () => {
    const games = await http(orch, 'GET', '/v1/games', { key: AGENT_KEY });
    expect(games.body.data.map((g: any) => g.slug)).toContain('sprite');
    expect((await http(orch, 'GET', '/v1/games', { key: AGENT_KEY, headers: { 'if-none-match': games.headers.etag as string } })).status).toBe(304);
    expect((await http(orch, 'GET', '/v1/games/sprite', { key: AGENT_KEY })).body.data).toMatchObject({ slug: 'sprite', name: 'Sprite', show: true });
    const edited = await http(orch, 'PUT', '/v1/games/sprite', { body: { name: 'Sprite Deluxe', tags: ['demo'], access: { requiresAuth: true } } });
    expect(edited.status).toBe(200);
    expect(edited.body.data).toMatchObject({ name: 'Sprite Deluxe', tags: ['demo'], access: { requiresAuth: true, minRole: null } });
    rejected(await http(orch, 'PUT', '/v1/games/sprite', { body: { show: 'yes' } }), 400, 'VALIDATION');
    rejected(await http(orch, 'PUT', '/v1/games/sprite', { body: { description: 'x'.repeat(70 * 1024) } }), 413, 'PAYLOAD_TOO_LARGE');
    rejected(await http(orch, 'GET', '/v1/games/nope', { key: AGENT_KEY }), 404, 'UNKNOWN_GAME');

    const versions = await http(orch, 'GET', '/v1/games/sprite/versions', { key: AGENT_KEY });
    expect(versions.body.data.map((v: any) => v.version)).toEqual(['1.0.0']);
    expect((await http(orch, 'GET', '/v1/games/sprite/versions/1.0.0', { key: AGENT_KEY })).body.data).toMatchObject({ slug: 'sprite', version: '1.0.0', publishedBy: 'alice', gate: { passed: true } });
    rejected(await http(orch, 'GET', '/v1/games/sprite/versions/9.9.9', { key: AGENT_KEY }), 404, 'UNKNOWN_VERSION');
    rejected(await http(orch, 'GET', '/v1/games/nope/versions', { key: AGENT_KEY }), 404, 'UNKNOWN_GAME');
    await http(orch, 'PUT', '/v1/games/sprite', { body: { name: 'Sprite', tags: [], access: { requiresAuth: false } } });
  });

  it('manifests: dev follows the latest, prod lists only pins, promote, rollback, history, resolve with the artifact URL', async () => {
    const dev = await http(orch, 'GET', '/v1/manifests/dev', { key: AGENT_KEY });
    expect(dev.body.data.games).toEqual([expect.objectContaining({ slug: 'sprite', version: '1.0.0', url_path: '/play/sprite' })]);
    expect((await http(orch, 'GET', '/v1/manifests/prod', { key: AGENT_KEY })).body.data).toMatchObject({ env: 'prod', games: [] });
    rejected(await http(orch, 'GET', '/v1/manifests/NOT%20AN%20ENV', { key: AGENT_KEY }), 404, 'UNKNOWN_ENV');
    rejected(await http(orch, 'GET', '/v1/resolve?game=sprite&env=prod', { key: AGENT_KEY }), 409, 'NOT_IN_MANIFEST');

    const promoted = await http(orch, 'POST', '/v1/manifests/prod/promote', { body: { slug: 'sprite', version: '1.0.0' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body.data).toMatchObject({ env: 'prod', slug: 'sprite', version: '1.0.0', previous: null, action: 'promote' });
    rejected(await http(orch, 'POST', '/v1/manifests/prod/promote', { body: { slug: 'sprite', version: '3.0.0' } }), 404, 'UNKNOWN_VERSION');
    rejected(await http(orch, 'POST', '/v1/manifests/prod/rollback', { body: { slug: 'sprite' } }), 409, 'NOTHING_TO_ROLL_BACK');

    const ref = await http(orch, 'GET', '/v1/resolve?game=sprite&env=prod', { key: AGENT_KEY });
    expect(ref.body.data).toMatchObject({ slug: 'sprite', version: '1.0.0', squishVersion: 1, url: `${orch.url}/v1/artifacts/${ref.body.data.sha256}` });
    expect((await http(orch, 'GET', '/v1/resolve?game=sprite@1.0.0', { key: AGENT_KEY })).body.data.sha256).toBe(ref.body.data.sha256);
    // the orchestrator's env (dev) is the default
    expect((await http(orch, 'GET', '/v1/resolve?game=sprite', { key: AGENT_KEY })).body.data.version).toBe('1.0.0');
    rejected(await http(orch, 'GET', '/v1/resolve?game=nope', { key: AGENT_KEY }), 404, 'UNKNOWN_GAME');
    rejected(await http(orch, 'GET', '/v1/resolve', { key: AGENT_KEY }), 400, 'VALIDATION');

    const v110 = await publish('sprite', '1.1.0', await gzipFolder(spriteGame('eleven')));
    expect(v110.state).toBe('PUBLISHED');
    expect((await http(orch, 'GET', '/v1/manifests/dev', { key: AGENT_KEY })).body.data.games[0].version).toBe('1.1.0');
    await http(orch, 'POST', '/v1/manifests/prod/promote', { body: { slug: 'sprite', version: '1.1.0' } });
    const back = await http(orch, 'POST', '/v1/manifests/prod/rollback', { body: { slug: 'sprite' } });
    expect(back.body.data).toMatchObject({ version: '1.0.0', previous: '1.1.0', action: 'rollback' });
    const history = await http(orch, 'GET', '/v1/manifests/prod/history?slug=sprite', { key: AGENT_KEY });
    expect(history.body.data.map((c: any) => c.action)).toEqual(['promote', 'promote', 'rollback']);
    expect((await http(orch, 'GET', '/v1/games/sprite/versions', { key: AGENT_KEY })).body.data.map((v: any) => v.version)).toEqual(['1.1.0', '1.0.0']);
  }, 90_000);

  it('artifacts: the bytes hash to their address, immutable caching, 304 on If-None-Match, typed 404', async () => {
    const ref = (await http(orch, 'GET', '/v1/resolve?game=sprite@1.0.0', { key: AGENT_KEY })).body.data;
    const res = await request(ref.url, { headers: { authorization: `Bearer ${AGENT_KEY}` }, dispatcher: recorder });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(ref.sha256);
    expect(res.headers).toMatchObject({ 'content-type': 'application/x-tar', etag: `"${ref.sha256}"`, 'cache-control': 'public, max-age=31536000, immutable', 'content-length': String(bytes.length) });
    const again = await http(orch, 'GET', `/v1/artifacts/${ref.sha256}`, { key: AGENT_KEY, headers: { 'if-none-match': `"${ref.sha256}"` } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    rejected(await http(orch, 'GET', `/v1/artifacts/${'0'.repeat(64)}`, { key: AGENT_KEY }), 404, 'UNKNOWN_ARTIFACT');
    rejected(await http(orch, 'GET', '/v1/artifacts/not-a-hash', { key: AGENT_KEY }), 400, 'VALIDATION');
  });

  it("game files: one file of a version with its content type, immutable, 304; a missing file is 404 UNKNOWN_FILE", async () => {
    const star = await request(`${orch.url}/v1/game-files/sprite/1.0.0/star.svg`, { headers: { authorization: `Bearer ${AGENT_KEY}` }, dispatcher: recorder });
    const body = Buffer.from(await star.body.arrayBuffer());
    expect(star.statusCode).toBe(200);
    expect(body.equals(readFileSync(join(SPRITE, 'star.svg')))).toBe(true);
    expect(star.headers).toMatchObject({ 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=31536000, immutable' });
    expect((await http(orch, 'GET', '/v1/game-files/sprite/1.0.0/star.svg', { key: AGENT_KEY, headers: { 'if-none-match': star.headers.etag as string } })).status).toBe(304);
    const meta = await http(orch, 'GET', '/v1/game-files/sprite/1.0.0/parlor-artifact.json', { key: AGENT_KEY });
    expect(meta.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(meta.body).toMatchObject({ name: 'Sprite', entry: 'index.cjs', assets: ['star.svg'] });
    rejected(await http(orch, 'GET', '/v1/game-files/sprite/1.0.0/nope.png', { key: AGENT_KEY }), 404, 'UNKNOWN_FILE');
    rejected(await http(orch, 'GET', '/v1/game-files/sprite/7.0.0/star.svg', { key: AGENT_KEY }), 404, 'UNKNOWN_VERSION');
  });

  it('rate limit per publisher: 429 RATE_LIMITED with Retry-After', async () => {
    let res: Awaited<ReturnType<typeof upload>> | undefined;
    for (let i = 0; i < 10; i++) {
      res = await upload('/v1/games/sprite/versions/1.0.0', v100, BARE_PUBLISHER_KEY);
      if (res.status === 429) break;
    }
    rejected(res!, 429, 'RATE_LIMITED');
    expect(Number(res!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // another publisher is not held back
    expect((await upload('/v1/games/sprite/versions/1.0.0', v100, ADMIN_KEY)).status).toBe(200);
  });

  it('publisher key rules: not also an agent or admin key; 16+ characters in production; rotated with setKeys', async () => {
    const base = { host: '127.0.0.1', port: 0, agentKey: AGENT_KEY, adminKey: ADMIN_KEY, logger: 'silent' as const };
    expect(() => new Orchestrator({ ...base, publisherKey: ADMIN_KEY })).toThrow(OrchestratorConfigError);
    expect(() => new Orchestrator({ ...base, publisherKey: `dave=${AGENT_KEY}` })).toThrow(/publisher key cannot also be an agent or admin key/);
    expect(() => new Orchestrator({ ...base, nodeEnv: 'production', publisherKey: 'eve=short' })).toThrow(/under 16 characters/);
    const next = 'publisher-key-alice-NEXT-0123456789';
    orch.setKeys({ publisherKey: [`alice=${PUBLISHER_KEY}`, `alice=${next}`, BARE_PUBLISHER_KEY] });
    expect((await http(orch, 'GET', '/v1/games', { key: next })).status).toBe(200);
    expect(() => orch.setKeys({ publisherKey: [ADMIN_KEY] })).toThrow(OrchestratorConfigError);
    orch.setKeys({ publisherKey: [`alice=${PUBLISHER_KEY}`, BARE_PUBLISHER_KEY] });
    rejected(await http(orch, 'GET', '/v1/games', { key: next }), 401, 'UNAUTHORIZED');
  });

  it('the OpenAPI document lists the catalog routes and describes every answer this file provoked', async () => {
    const doc = await fetchOpenApi(orch.url);
    for (const path of ['/v1/games', '/v1/games/{slug}', '/v1/games/{slug}/versions', '/v1/games/{slug}/versions/{version}', '/v1/publish-requests', '/v1/publish-requests/{id}', '/v1/manifests/{env}', '/v1/manifests/{env}/history', '/v1/manifests/{env}/promote', '/v1/manifests/{env}/rollback', '/v1/resolve', '/v1/artifacts/{sha256}', '/v1/game-files/{slug}/{version}/{*}']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(recorded.length).toBeGreaterThan(40);
    expect(checkContract(doc, recorded)).toEqual([]);
  });
});
