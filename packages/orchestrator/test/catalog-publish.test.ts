/**
 * The catalog service on real SQLite files and the real publish gate (`@parlor/server/gate`, the
 * process runtime's sandbox): the publish pipeline, immutability, concurrency, dedupe, rate
 * limits, manifests (promote, rollback, dev follows latest) and resolution.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { list as listTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublishGate } from '@parlor/server/gate';
import { CatalogError } from '../src/catalog/errors.js';
import { createCatalog, type PublishStage } from '../src/catalog/service.js';
import type { Catalog } from '../src/catalog/types.js';
import { forbiddenGame, gzipFolder, rawUpload, removeTemps, spriteGame, tempDir } from './catalog-helpers.js';

// The gate's scan, sandboxed load and metadata/asset checks; its smoke run and type check are
// tested with the gate itself (packages/server/test), and only slow these tests down.
const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });
const URL_BASE = 'http://catalog.test:7000';
const refusal = async (p: Promise<unknown>): Promise<CatalogError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CatalogError);
  return err as CatalogError;
};
const artifactFiles = (dir: string): string[] => readdirSync(join(dir, 'artifacts'), { recursive: true }).map(String).filter((f) => f.endsWith('.tar'));

let dir: string;
let catalog: Catalog;
const stages: PublishStage[] = [];
let v1: Buffer;
beforeAll(async () => {
  dir = tempDir();
  catalog = await createCatalog({ dir, gate, publicUrl: `${URL_BASE}/`, logger: 'silent', publishRate: { perMinute: 100 }, onStage: (s) => stages.push(s) });
  v1 = await gzipFolder(spriteGame('one'));
});
afterAll(async () => {
  await catalog?.close();
  removeTemps();
});

describe('publish pipeline', () => {
  it('records PENDING, then PUBLISHED with the version, its artifact and the gate report', async () => {
    const { request, done } = await catalog.startPublish('sprite', '1.0.0', v1, 'alice');
    expect(request).toMatchObject({ slug: 'sprite', version: '1.0.0', state: 'PENDING', publisher: 'alice', error: null, sha256: null });
    const ended = await done;
    expect(ended, JSON.stringify(ended.error)).toMatchObject({ id: request.id, state: 'PUBLISHED', error: null });
    expect(stages).toEqual(['recorded', 'processing', 'gated', 'stored', 'published']);
    const v = await catalog.getVersion('sprite', '1.0.0');
    expect(v).toMatchObject({ slug: 'sprite', version: '1.0.0', sha256: ended.sha256, squishVersion: 1, publishedBy: 'alice', gate: { passed: true, runtime: 'process' } });
    expect(v).not.toHaveProperty('sourceSha256');
    expect(v.size).toBeGreaterThan(1000);
    expect(v.gate.text).toContain('PASS');
    expect(catalog.artifactPath(v.sha256)).toBe(join(dir, 'artifacts', v.sha256.slice(0, 2), `${v.sha256}.tar`));
    expect(await catalog.getGame('sprite')).toMatchObject({ slug: 'sprite', name: 'Sprite', show: true, access: { requiresAuth: false, minRole: null } });
    expect(await catalog.getPublishRequest(request.id)).toEqual(ended);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('the same content again is the PUBLISHED request (200, no new run); other content is 409 VERSION_EXISTS before recording', async () => {
    const before = (await catalog.listPublishRequests('sprite')).length;
    const again = await catalog.startPublish('sprite', '1.0.0', await gzipFolder(spriteGame('one')), 'bob');
    expect(again.request).toMatchObject({ state: 'PUBLISHED', publisher: 'alice' });
    expect(await again.done).toEqual(again.request);
    const err = await refusal(catalog.startPublish('sprite', '1.0.0', await gzipFolder(spriteGame('changed')), 'bob'));
    expect(err).toMatchObject({ code: 'VERSION_EXISTS', status: 409 });
    expect(err.message).toMatch(/sprite@1\.0\.0 is published with other content/);
    expect((await catalog.listPublishRequests('sprite')).length).toBe(before);
  });

  it('a game the gate refuses ends FAILED GATE_FAILED with the report at file:line', async () => {
    const ended = await catalog.publish('evil', '0.1.0', await gzipFolder(forbiddenGame()), 'mallory');
    expect(ended.state).toBe('FAILED');
    expect(ended.error).toMatchObject({ code: 'GATE_FAILED', report: { passed: false } });
    expect(ended.error!.message).toMatch(/^the publish gate failed: index\.ts:2:\d+: /);
    expect(ended.error!.report!.findings).toEqual(expect.arrayContaining([expect.objectContaining({ severity: 'error', rule: 'builtin-import', at: expect.stringMatching(/^index\.ts:2:\d+$/) })]));
    expect(await refusal(catalog.getGame('evil'))).toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
  });

  it('concurrent publishes of one slug@version with different content: exactly one wins', async () => {
    const uploads = await Promise.all(['a', 'b', 'c'].map((l) => gzipFolder(spriteGame(`race-${l}`))));
    const started = await Promise.all(uploads.map((u, i) => catalog.startPublish('race', '1.0.0', u, `p${i}`)));
    const ended = await Promise.all(started.map((s) => s.done));
    expect(ended.filter((r) => r.state === 'PUBLISHED')).toHaveLength(1);
    expect(ended.filter((r) => r.state === 'FAILED').map((r) => r.error!.code)).toEqual(['VERSION_EXISTS', 'VERSION_EXISTS']);
    expect(await catalog.listVersions('race')).toHaveLength(1);
    expect((await catalog.getVersion('race', '1.0.0')).sha256).toBe(ended.find((r) => r.state === 'PUBLISHED')!.sha256);
    // the same content twice at once: one version, both requests PUBLISHED with it
    const same = await gzipFolder(spriteGame('race-same'));
    const twice = await Promise.all([0, 1].map(async (i) => (await catalog.startPublish('race', '2.0.0', same, `q${i}`)).done));
    expect(twice.map((r) => r.state)).toEqual(['PUBLISHED', 'PUBLISHED']);
    expect(twice[1]!.sha256).toBe(twice[0]!.sha256);
    expect((await catalog.listVersions('race')).map((v) => v.version)).toEqual(['2.0.0', '1.0.0']);
  });

  it('an artifact is stored once however many publishes, versions and environments point at it', async () => {
    const before = artifactFiles(dir).length;
    const a = await catalog.publish('twin', '1.0.0', await gzipFolder(spriteGame('twin')), 'alice');
    expect(artifactFiles(dir).length).toBe(before + 1);
    const again = await catalog.publish('twin', '1.0.0', await gzipFolder(spriteGame('twin')), 'bob');
    expect(again).toEqual(a);
    for (const env of ['staging', 'qa', 'demo']) await catalog.promote('twin', '1.0.0', env, 'admin');
    expect(artifactFiles(dir).length).toBe(before + 1);
    // the same files as another version: an artifact is its content, so the new version points at the same one
    const b = await catalog.publish('twin', '1.0.1', await gzipFolder(spriteGame('twin')), 'alice');
    expect(b.state).toBe('PUBLISHED');
    expect(b.sha256).toBe(a.sha256);
    expect(artifactFiles(dir).length).toBe(before + 1);
    expect((await catalog.listVersions('twin')).map((v) => [v.version, v.sha256])).toEqual([['1.0.1', a.sha256], ['1.0.0', a.sha256]]);
    const entries: Record<string, string> = {};
    await listTar({ file: catalog.artifactPath(b.sha256!)!, onReadEntry: (e) => e.on('data', (c: Buffer) => (entries[e.path] = (entries[e.path] ?? '') + c.toString())) });
    expect(Object.keys(entries).sort()).toEqual(['index.cjs', 'parlor-artifact.json', 'star.svg']);
    expect(JSON.parse(entries['parlor-artifact.json']!)).toEqual({ name: 'Sprite', squishVersion: 1, entry: 'index.cjs', assets: ['star.svg'] });
    expect(entries['index.cjs']).toContain('sourceMappingURL=data:application/json');
  });

  it('refuses malformed slugs and versions (400), bad uploads (400) and oversized ones (413) before recording', async () => {
    const before = (await catalog.listPublishRequests()).length;
    expect(await refusal(catalog.startPublish('Bad Slug', '1.0.0', v1, 'a'))).toMatchObject({ code: 'VALIDATION', status: 400 });
    expect(await refusal(catalog.startPublish('ok', '1.0', v1, 'a'))).toMatchObject({ code: 'VALIDATION', status: 400 });
    expect(await refusal(catalog.startPublish('ok', '1.0.0', rawUpload([{ path: '../x', body: 'x' }]), 'a'))).toMatchObject({ code: 'BAD_UPLOAD', status: 400 });
    const small = await createCatalog({ dir: tempDir(), gate, publicUrl: URL_BASE, logger: 'silent', uploadLimits: { maxCompressedBytes: 64 } });
    expect(await refusal(small.startPublish('ok', '1.0.0', v1, 'a'))).toMatchObject({ code: 'UPLOAD_TOO_LARGE', status: 413 });
    await small.close();
    expect((await catalog.listPublishRequests()).length).toBe(before);
  });

  it('a gate slower than gateTimeoutMs ends the request FAILED GATE_TIMEOUT; a close mid-publish ends it FAILED INTERRUPTED', async () => {
    const own = tempDir();
    const slow = await createCatalog({ dir: own, gate, publicUrl: URL_BASE, logger: 'silent', gateTimeoutMs: 1 });
    const timedOut = await slow.publish('slow', '1.0.0', v1, 'alice');
    expect(timedOut).toMatchObject({ state: 'FAILED', error: { code: 'GATE_TIMEOUT', message: 'the publish gate took over 1 ms' } });
    await slow.close();

    let closing: Promise<void> | undefined;
    const closed = await createCatalog({
      dir: own, gate, publicUrl: URL_BASE, logger: 'silent',
      onStage: (s) => void (s === 'processing' && (closing = closed.close())),
    });
    const { request, done } = await closed.startPublish('late', '1.0.0', v1, 'alice');
    expect(await done).toMatchObject({ id: request.id, state: 'FAILED', error: { code: 'INTERRUPTED' } });
    await closing;
    const reopened = await createCatalog({ dir: own, gate, publicUrl: URL_BASE, logger: 'silent' });
    expect(await reopened.getPublishRequest(request.id)).toMatchObject({ state: 'FAILED', error: { code: 'INTERRUPTED' } });
    expect(await refusal(reopened.getGame('late'))).toMatchObject({ code: 'UNKNOWN_GAME' });
    expect(readdirSync(join(own, 'tmp'))).toEqual([]);
    await reopened.close();
  });

  it('rate-limits each publisher (429 RATE_LIMITED with retryAfterSeconds); others are not affected', async () => {
    const limited = await createCatalog({ dir: tempDir(), gate, publicUrl: URL_BASE, logger: 'silent', publishRate: { perMinute: 2, burst: 2 } });
    const junk = Buffer.from('junk');
    for (let i = 0; i < 2; i++) expect((await refusal(limited.startPublish('g', '1.0.0', junk, 'eve'))).code).toBe('BAD_UPLOAD');
    const err = await refusal(limited.startPublish('g', '1.0.0', junk, 'eve'));
    expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 30 });
    expect((await refusal(limited.startPublish('g', '1.0.0', junk, 'frank'))).code).toBe('BAD_UPLOAD');
    await limited.close();
  });
});

describe('manifests and resolution', () => {
  it('dev follows the latest version (semver order) unless pinned; other environments list only their pins', async () => {
    // twin has 1.0.0 and 1.0.1; sprite 1.0.0; race 1.0.0 and 2.0.0
    const dev = await catalog.manifest('dev');
    expect(dev.games.map((g) => `${g.slug}@${g.version}`)).toEqual(['race@2.0.0', 'sprite@1.0.0', 'twin@1.0.1']);
    expect(dev.games.find((g) => g.slug === 'sprite')).toMatchObject({
      name: 'Sprite', src: `${URL_BASE}/v1/game-files/sprite/1.0.0/`, url_path: '/play/sprite', squish_version: 1,
      access_control: { requires_auth: false, min_role: null }, tags: [], show: true,
    });
    expect(await catalog.manifest('nobody-here')).toMatchObject({ env: 'nobody-here', games: [] });
    await catalog.promote('twin', '1.0.0', 'dev', 'admin');
    expect((await catalog.manifest('dev')).games.find((g) => g.slug === 'twin')!.version).toBe('1.0.0');
    expect(await refusal(catalog.manifest('Prod!'))).toMatchObject({ code: 'UNKNOWN_ENV', status: 404 });
  });

  it('promote pins a published version; rollback walks the history back; NOTHING_TO_ROLL_BACK at its start', async () => {
    expect(await refusal(catalog.promote('twin', '9.0.0', 'prod', 'admin'))).toMatchObject({ code: 'UNKNOWN_VERSION', status: 404 });
    expect(await refusal(catalog.promote('nope', '1.0.0', 'prod', 'admin'))).toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
    expect(await refusal(catalog.rollback('twin', 'prod', 'admin'))).toMatchObject({ code: 'NOTHING_TO_ROLL_BACK', status: 409 });
    expect(await catalog.promote('twin', '1.0.0', 'prod', 'admin')).toMatchObject({ env: 'prod', slug: 'twin', version: '1.0.0', previous: null, action: 'promote', by: 'admin' });
    expect(await catalog.promote('twin', '1.0.1', 'prod', 'ops')).toMatchObject({ version: '1.0.1', previous: '1.0.0' });
    expect((await catalog.manifest('prod')).games.map((g) => `${g.slug}@${g.version}`)).toEqual(['twin@1.0.1']);
    expect(await catalog.rollback('twin', 'prod', 'ops')).toMatchObject({ version: '1.0.0', previous: '1.0.1', action: 'rollback' });
    expect((await catalog.resolve('twin', 'prod')).version).toBe('1.0.0');
    expect(await refusal(catalog.rollback('twin', 'prod', 'ops'))).toMatchObject({ code: 'NOTHING_TO_ROLL_BACK' });
    expect((await catalog.manifestHistory('prod', 'twin')).map((c) => `${c.action} ${c.version}`)).toEqual(['promote 1.0.0', 'promote 1.0.1', 'rollback 1.0.0']);
    expect(await catalog.manifestHistory('prod', 'sprite')).toEqual([]);
  });

  it('resolves pong and pong@1.2.0 to an ArtifactRef with the game config access; typed 404/409 otherwise', async () => {
    await catalog.updateGame('sprite', { access: { minRole: 'member' }, tags: ['demo'] }, 'admin');
    const ref = await catalog.resolve('sprite', 'dev');
    const v = await catalog.getVersion('sprite', '1.0.0');
    expect(ref).toEqual({ slug: 'sprite', version: '1.0.0', sha256: v.sha256, squishVersion: 1, url: `${URL_BASE}/v1/artifacts/${v.sha256}`, access: { requiresAuth: true, minRole: 'member' } });
    expect((await catalog.resolve('twin@1.0.1', 'prod')).version).toBe('1.0.1');
    expect(await refusal(catalog.resolve('sprite', 'prod'))).toMatchObject({ code: 'NOT_IN_MANIFEST', status: 409 });
    expect(await refusal(catalog.resolve('ghost', 'dev'))).toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
    expect(await refusal(catalog.resolve('sprite@2.0.0', 'dev'))).toMatchObject({ code: 'UNKNOWN_VERSION', status: 404 });
    expect(await refusal(catalog.resolve('sprite', 'NOPE'))).toMatchObject({ code: 'UNKNOWN_ENV', status: 404 });
    expect(await refusal(catalog.resolve('sprite@latest', 'dev'))).toMatchObject({ code: 'VALIDATION', status: 400 });
    expect(await refusal(catalog.updateGame('sprite', { name: '' }, 'admin'))).toMatchObject({ code: 'VALIDATION' });
    expect(await refusal(catalog.getPublishRequest('no-such-id'))).toMatchObject({ code: 'UNKNOWN_PUBLISH_REQUEST', status: 404 });
  });

  it('a reopened catalog keeps every version, request, pin and history entry', async () => {
    const before = { games: await catalog.listGames(), prod: (await catalog.manifest('prod')).games, history: await catalog.manifestHistory('prod'), requests: await catalog.listPublishRequests() };
    await catalog.close();
    catalog = await createCatalog({ dir, gate, publicUrl: URL_BASE, logger: 'silent' });
    expect(await catalog.listGames()).toEqual(before.games);
    expect((await catalog.manifest('prod')).games).toEqual(before.prod);
    expect(await catalog.manifestHistory('prod')).toEqual(before.history);
    expect(await catalog.listPublishRequests()).toEqual(before.requests);
    for (const v of await catalog.listVersions('twin')) expect(catalog.artifactPath(v.sha256)).toBeDefined();
  });
});
