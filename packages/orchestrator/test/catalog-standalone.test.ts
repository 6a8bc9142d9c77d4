/**
 * The catalog on its own, as real processes: `parlor-catalog` (from source) serving a catalog
 * folder published into beforehand, and `parlor-orchestrator --catalog-url` resolving room creates
 * by game through it (`GET /v1/resolve`), with the same keys. Also the remote resolver's refusals,
 * and `--no-catalog`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublishGate } from '@parlor/server/gate';
import { createRemoteResolver } from '../src/catalog/remote-resolver.js';
import { createCatalog } from '../src/catalog/service.js';
import { OrchestratorError } from '../src/index.js';
import { gzipFolder, removeTemps, repo, spriteGame, tempDir } from './catalog-helpers.js';
import { ADMIN_KEY, AGENT_KEY, waitFor } from './helpers.js';

const PUBLISHER_KEY = 'publisher-key-bob-0123456789';
const KEYS = { PARLOR_ADMIN_KEYS: ADMIN_KEY, PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_PUBLISHER_KEYS: `bob=${PUBLISHER_KEY}`, NODE_ENV: 'development' };

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}
const procs: Proc[] = [];

/** Runs a CLI from source (`node --import tsx <file> …`) in the repository. */
function run(file: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(process.execPath, ['--import', 'tsx', `packages/orchestrator/src/${file}`, ...args], { cwd: repo, env: { ...process.env, ...KEYS, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const p = { proc, out: () => out, exited: new Promise<number | null>((r) => proc.on('exit', (code) => r(code))) };
  procs.push(p);
  return p;
}

/** The REST URL a CLI printed (`REST:   http://127.0.0.1:<port>/v1`). */
async function restUrl(p: Proc): Promise<string> {
  let url = '';
  await waitFor(() => {
    const m = /REST:\s+(http:\/\/\S+)\/v1/.exec(p.out());
    if (m) url = m[1]!;
    return url !== '' || p.proc.exitCode !== null;
  }, 'the CLI listening', 60_000);
  if (!url) throw new Error(`the CLI exited: ${p.out()}`);
  return url;
}

async function get(url: string, key: string | null = AGENT_KEY, init: { method?: 'GET' | 'POST'; body?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await request(url, { method: init.method ?? 'GET', headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) }, body: init.body });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

let dir: string;
let sha: string;
beforeAll(async () => {
  // a catalog folder with sprite 1.0.0 published and promoted to prod
  dir = tempDir();
  const catalog = await createCatalog({ dir, gate: createPublishGate({ runtime: 'process', smokeMs: 800, typeCheck: false }), publicUrl: 'http://unused.test', logger: 'silent' });
  const ended = await catalog.publish('sprite', '1.0.0', await gzipFolder(spriteGame('standalone')), 'alice');
  expect(ended.state).toBe('PUBLISHED');
  sha = ended.sha256!;
  await catalog.promote('sprite', '1.0.0', 'prod', 'admin');
  await catalog.close();
}, 90_000);
afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  removeTemps();
});

describe('parlor-catalog on its own, and an orchestrator using it', () => {
  it('--help names the flags; a bad --env is one line and exit 1', async () => {
    const help = run('catalog-cli.ts', ['--help']);
    expect(await help.exited).toBe(0);
    expect(help.out()).toMatch(/--catalog-dir[\s\S]*--publisher-key-file[\s\S]*--public-url/);
    const bad = run('catalog-cli.ts', ['--port', '0', '--catalog-dir', tempDir(), '--env', 'Not An Env']);
    expect(await bad.exited).toBe(1);
    expect(bad.out().trim().split('\n').at(-1)).toMatch(/^parlor-catalog: env must be an environment name .*fix --env \[ORCHESTRATOR_CONFIG\]$/);
  }, 60_000);

  it('serves the catalog routes with the same keys; an orchestrator with --catalog-url resolves room creates through it', async () => {
    const catalog = run('catalog-cli.ts', ['--host', '127.0.0.1', '--port', '0', '--catalog-dir', dir, '--log-level', 'warn']);
    const catalogUrl = await restUrl(catalog);
    expect((await get(`${catalogUrl}/healthz`, null)).status).toBe(200);
    expect((await get(`${catalogUrl}/readyz`, null)).status).toBe(200);
    expect((await get(`${catalogUrl}/v1/games`, null)).status).toBe(401);
    expect((await get(`${catalogUrl}/v1/games`, 'wrong-key-0123456789abcdef')).body).toEqual({ status: 'rejected', cause: 'UNAUTHORIZED' });
    expect((await get(`${catalogUrl}/v1/manifests/prod`)).body.data.games).toEqual([expect.objectContaining({ slug: 'sprite', version: '1.0.0', sha256: sha })]);
    const ref = await get(`${catalogUrl}/v1/resolve?game=sprite&env=prod`);
    expect(ref.body.data).toMatchObject({ slug: 'sprite', version: '1.0.0', sha256: sha, url: `${catalogUrl}/v1/artifacts/${sha}` });
    expect((await get(`${catalogUrl}/v1/manifests/prod/promote`, PUBLISHER_KEY, { method: 'POST', body: JSON.stringify({ slug: 'sprite', version: '1.0.0' }) })).body.cause).toBe('FORBIDDEN');
    const doc = (await get(`${catalogUrl}/v1/openapi.json`, null)).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/v1/games', '/v1/resolve', '/v1/artifacts/{sha256}']));
    expect(Object.keys(doc.paths)).not.toContain('/v1/rooms');
    expect((await get(`${catalogUrl}/v1/rooms`)).status).toBe(404);

    // the resolver the orchestrator uses: refusals pass through, a wrong key is CATALOG_UNAVAILABLE
    const resolver = createRemoteResolver({ url: catalogUrl, key: AGENT_KEY });
    expect(await resolver.resolve('sprite@1.0.0', 'dev')).toMatchObject({ sha256: sha, squishVersion: 1 });
    const refusal = async (p: Promise<unknown>): Promise<OrchestratorError> => (await p.then(() => undefined, (e: unknown) => e)) as OrchestratorError;
    expect(await refusal(resolver.resolve('sprite', 'staging'))).toMatchObject({ code: 'NOT_IN_MANIFEST', status: 409 });
    expect(await refusal(resolver.resolve('nope', 'prod'))).toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
    expect(await refusal(createRemoteResolver({ url: catalogUrl, key: 'wrong-key-0123456789abcdef' }).resolve('sprite', 'prod'))).toMatchObject({ code: 'CATALOG_UNAVAILABLE', status: 502 });

    // parlor-orchestrator --catalog-url: rooms by game resolve there (no agent: resolved, then no candidate)
    const orch = run('cli.ts', ['--host', '127.0.0.1', '--port', '0', '--catalog-url', catalogUrl, '--env', 'prod', '--log-level', 'warn']);
    const orchUrl = await restUrl(orch);
    expect(orch.out()).toContain(`Catalog: ${catalogUrl} (remote)`);
    const placed = await get(`${orchUrl}/v1/rooms`, ADMIN_KEY, { method: 'POST', body: JSON.stringify({ game: 'sprite' }) });
    expect(placed).toMatchObject({ status: 409, body: { cause: 'NO_CANDIDATE', message: expect.stringContaining('sprite@1.0.0') } });
    expect((await get(`${orchUrl}/v1/rooms`, ADMIN_KEY, { method: 'POST', body: JSON.stringify({ game: 'sprite', env: 'staging' }) })).body.cause).toBe('NOT_IN_MANIFEST');
    expect((await get(`${orchUrl}/v1/rooms`, ADMIN_KEY, { method: 'POST', body: JSON.stringify({ game: 'nope' }) })).body.cause).toBe('UNKNOWN_GAME');
    // the catalog is not served by this orchestrator
    expect((await get(`${orchUrl}/v1/games`, ADMIN_KEY)).status).toBe(404);

    catalog.proc.kill('SIGTERM');
    expect(await catalog.exited).toBe(0);
    expect((await get(`${orchUrl}/v1/rooms`, ADMIN_KEY, { method: 'POST', body: JSON.stringify({ game: 'sprite' }) })).body.cause).toBe('CATALOG_UNAVAILABLE');
    orch.proc.kill('SIGTERM');
    expect(await orch.exited).toBe(0);
  }, 120_000);

  it('parlor-orchestrator runs the catalog in-process in --catalog-dir; --publisher-key-file is re-read on SIGHUP', async () => {
    const keyDir = tempDir();
    const keyFile = join(keyDir, 'publisher.keys');
    writeFileSync(keyFile, `# publishers\ncarol=${PUBLISHER_KEY}\n`);
    const catalogDir = join(tempDir(), 'catalog');
    const orch = run('cli.ts', ['--host', '127.0.0.1', '--port', '0', '--catalog-dir', catalogDir, '--publisher-key-file', keyFile, '--log-level', 'warn'], { PARLOR_PUBLISHER_KEYS: '' });
    const orchUrl = await restUrl(orch);
    expect(orch.out()).toContain(`Catalog: ${orchUrl}/v1/games (${catalogDir})`);
    expect(existsSync(join(catalogDir, 'catalog.db'))).toBe(true);
    expect((await get(`${orchUrl}/v1/games`, PUBLISHER_KEY)).body).toEqual({ status: 'OK', data: [] });
    expect((await get(`${orchUrl}/v1/manifests/prod/rollback`, PUBLISHER_KEY, { method: 'POST', body: JSON.stringify({ slug: 'sprite' }) })).body.cause).toBe('FORBIDDEN');
    const next = 'publisher-key-carol-NEW-0123456789';
    writeFileSync(keyFile, `carol=${next}\n`);
    orch.proc.kill('SIGHUP');
    await waitFor(async () => (await get(`${orchUrl}/v1/games`, next)).status === 200, 'the new publisher key accepted', 10_000);
    expect((await get(`${orchUrl}/v1/games`, PUBLISHER_KEY)).status).toBe(401);
    orch.proc.kill('SIGTERM');
    expect(await orch.exited).toBe(0);
  }, 60_000);

  it('parlor-orchestrator --no-catalog: no catalog routes, rooms by game refused NO_CATALOG', async () => {
    const orch = run('cli.ts', ['--host', '127.0.0.1', '--port', '0', '--no-catalog', '--log-level', 'warn']);
    const orchUrl = await restUrl(orch);
    expect((await get(`${orchUrl}/v1/games`, ADMIN_KEY)).status).toBe(404);
    expect((await get(`${orchUrl}/v1/rooms`, ADMIN_KEY, { method: 'POST', body: JSON.stringify({ game: 'sprite' }) })).body.cause).toBe('NO_CATALOG');
    orch.proc.kill('SIGTERM');
    expect(await orch.exited).toBe(0);
  }, 60_000);
});
