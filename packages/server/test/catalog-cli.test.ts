/**
 * `parlor publish`, `parlor promote`, `parlor rollback` and `parlor games` as real processes (the
 * built CLI) against a real catalog: an orchestrator serving its catalog in-process on 127.0.0.1,
 * SQLite in a temporary folder, and the real publish gate (the process runtime's sandbox; its
 * smoke run and type check are the gate's own tests' business and would only slow these down).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orchestrator } from '@parlor/orchestrator';
import { CatalogClient, CatalogClientError } from '@parlor/server/catalog';
import { createPublishGate } from '@parlor/server/gate';

const repo = resolve(__dirname, '../../..');
const PARLOR_BIN = join(repo, 'packages/server/bin/parlor.js');
const PONG = join(repo, 'examples/pong');
const ADMIN = 'admin-key-of-the-catalog-cli-tests';
const PUBLISHER = 'publisher-key-of-the-catalog-cli-tests';
const tmp = mkdtempSync(join(tmpdir(), 'parlor-catalog-cli-'));
let orch: Orchestrator;
let url: string;

beforeAll(async () => {
  orch = new Orchestrator({
    host: '127.0.0.1',
    port: 0,
    adminKey: ADMIN,
    agentKey: 'agent-key-of-the-catalog-cli-tests',
    publisherKey: `ci=${PUBLISHER}`,
    logLevel: 'silent',
    catalog: { dir: join(tmp, 'catalog'), gate: createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false }), publishRate: { perMinute: 100 } },
  });
  await orch.listen();
  url = orch.url;
});
afterAll(async () => {
  await orch?.shutdown();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `parlor` to its end with `env` added (no key variables unless given). */
function parlor(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base.PARLOR_PUBLISHER_KEY;
  delete base.PARLOR_ADMIN_KEY;
  delete base.PARLOR_CATALOG_URL;
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [PARLOR_BIN, ...args], { cwd: tmp, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}
const asPublisher = (args: string[]): Promise<Run> => parlor([...args, '--catalog-url', url], { PARLOR_PUBLISHER_KEY: PUBLISHER });
const asAdmin = (args: string[]): Promise<Run> => parlor([...args, '--catalog-url', url], { PARLOR_ADMIN_KEY: ADMIN });

/** A copy of examples/pong whose display name is `name` (so its content differs). */
function pongCopy(name: string): string {
  const dir = mkdtempSync(join(tmp, 'pong-'));
  cpSync(PONG, dir, { recursive: true });
  const src = join(dir, 'index.ts');
  writeFileSync(src, readFileSync(src, 'utf8').replace("name: 'Pong'", `name: ${JSON.stringify(name)}`));
  return dir;
}

/** A game the gate refuses: it imports a forbidden built-in on line 2 of index.ts. */
function forbiddenGame(): string {
  const dir = mkdtempSync(join(tmp, 'evil-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"@acme/Evil_Game"}\n');
  writeFileSync(
    join(dir, 'index.ts'),
    [
      "import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';",
      "import { execSync } from 'node:child_process';",
      'export default class Evil extends Game {',
      "  static override metadata(): GameMetadata { return { name: 'Evil' }; }",
      '  getLayers(): Node[] { execSync("true"); return [new Group()]; }',
      '}',
      '',
    ].join('\n'),
  );
  return dir;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

describe('parlor publish / promote / rollback / games against a real catalog', () => {
  it('publishes examples/pong: packing, uploaded, PENDING, then PUBLISHED with its sha256', async () => {
    const r = await asPublisher(['publish', PONG, '--version', '1.2.0']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(new RegExp(`^packing 2 files \\(\\d+\\.\\d kB\\) from ${PONG.replace(/[/.]/g, '\\$&')}$`));
    expect(out[1]).toMatch(/^uploaded pong@1\.2\.0 \(\d+\.\d kB gzip'd\): publish request \S+$/);
    expect(out[2]).toBe('PENDING');
    const version = await new CatalogClient({ baseUrl: url, key: ADMIN }).version('pong', '1.2.0');
    expect(out.at(-1)).toBe(`PUBLISHED pong@1.2.0 sha256:${version.sha256}`);
    expect(out.slice(3, -1).every((l) => l === 'PROCESSING')).toBe(true);
    expect(version.publishedBy).toBe('ci');
    expect(r.stderr).toBe('');
  });

  it('the same content again is PUBLISHED at once; other content under that version is 409 naming the next version', async () => {
    const same = await asPublisher(['publish', PONG, '--version', '1.2.0']);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('(already published with this same content)');
    const other = await asPublisher(['publish', pongCopy('Pong Deluxe'), '--slug', 'pong', '--version', '1.2.0']);
    expect(other.code).toBe(1);
    expect(other.stderr.trim()).toBe('parlor: 409: pong@1.2.0 is already published with other content and versions are immutable: publish a new version (e.g. parlor publish … --slug pong --version 1.2.1)');
  });

  it('a game the gate refuses ends FAILED with its findings at file:line, and exit 1', async () => {
    const r = await asPublisher(['publish', forbiddenGame(), '--version', '0.1.0']);
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    // the slug is package.json's name without its scope, normalised
    expect(out).toContain('PENDING');
    const failed = out.findIndex((l) => l.startsWith('FAILED '));
    expect(out[failed]).toMatch(/^FAILED evil-game@0\.1\.0: GATE_FAILED: the publish gate failed: index\.ts:2:\d+: /);
    expect(out.slice(failed + 1)).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}index\.ts:2:\d+ {2}error builtin-import: /)]));
  });

  it('--json prints the ended publish request', async () => {
    const r = await asPublisher(['publish', pongCopy('Pong 1.3'), '--slug', 'pong', '--version', '1.3.0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ slug: 'pong', version: '1.3.0', state: 'PUBLISHED', publisher: 'ci', error: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('promote needs an admin key; promote, promote again and roll back move prod', async () => {
    const refused = await asPublisher(['promote', 'pong@1.2.0', '--env', 'prod']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^parlor: 403: the catalog at ${url} does not let PARLOR_PUBLISHER_KEY do this \\(.+\\): promote and rollback need an admin key \\(PARLOR_ADMIN_KEY or --key-file\\)\\n$`));

    const keyFile = join(tmp, 'admin.key');
    writeFileSync(keyFile, `# the catalog's admin key\n\n${ADMIN}\n`);
    const first = await parlor(['promote', 'pong@1.2.0', '--env', 'prod', '--catalog-url', url, '--key-file', keyFile]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('promoted pong in prod: (none) → 1.2.0\n');
    expect((await asAdmin(['promote', 'pong@1.3.0', '--env', 'prod'])).stdout).toBe('promoted pong in prod: 1.2.0 → 1.3.0\n');
    const back = await asAdmin(['rollback', 'pong', '--env', 'prod', '--json']);
    expect(JSON.parse(back.stdout)).toMatchObject({ env: 'prod', slug: 'pong', action: 'rollback', version: '1.2.0', previous: '1.3.0' });
    expect((await new CatalogClient({ baseUrl: url, key: ADMIN }).manifest('prod')).games.map((g) => [g.slug, g.version])).toEqual([['pong', '1.2.0']]);

    const nothing = await asAdmin(['rollback', 'pong', '--env', 'staging']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/^parlor: 409: pong has no earlier version pinned in staging: promote the version you want instead/);
    const unknown = await asAdmin(['promote', 'pong@9.9.9', '--env', 'prod']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^parlor: 404 UNKNOWN_VERSION: .*9\.9\.9/);
  });

  it('games: a table of slug, name, versions, the version each environment runs, show and access', async () => {
    const r = await asPublisher(['games']);
    expect(r.code, r.stderr).toBe(0);
    const [head, ...rows] = lines(r.stdout);
    expect(head!.split(/\s{2,}/)).toEqual(['SLUG', 'NAME', 'VERSIONS', 'DEV', 'STAGING', 'PROD', 'SHOW', 'ACCESS']);
    expect(rows.map((l) => l.split(/\s{2,}/))).toEqual([['pong', 'Pong', '1.3.0, 1.2.0', '1.3.0', '-', '1.2.0', 'yes', 'anyone']]);

    const json = await asPublisher(['games', '--env', 'prod', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ slug: 'pong', versions: ['1.3.0', '1.2.0'], manifests: { prod: '1.2.0' } })]);
  });

  it('a wrong key is one line naming the catalog and where the key came from', async () => {
    const r = await parlor(['games', '--catalog-url', url], { PARLOR_PUBLISHER_KEY: 'not-a-key-it-knows' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`parlor: 401: the catalog at ${url} refused the key (PARLOR_PUBLISHER_KEY): use a key it accepts (one of its --publisher-key-file or --admin-key-file keys)\n`);
    const none = await parlor(['publish', PONG, '--version', '1.0.0', '--catalog-url', url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('parlor: no key: give --key-file <path>, or set PARLOR_PUBLISHER_KEY (a publisher or admin key)\n');
  });

  it('an unreachable catalog is one line naming its URL and the flag to fix it', async () => {
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => done(p));
      });
    });
    const r = await parlor(['games'], { PARLOR_PUBLISHER_KEY: PUBLISHER, PARLOR_CATALOG_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `parlor: cannot reach the catalog at http://127.0.0.1:${port} (GET http://127.0.0.1:${port}/v1/games: ECONNREFUSED): is the catalog (the orchestrator) running there? Set --catalog-url or PARLOR_CATALOG_URL`,
    ]);
  });

  it('CatalogClient: progress of a publish, and typed errors with the REST cause and status', async () => {
    const client = new CatalogClient({ baseUrl: url, key: PUBLISHER });
    const seen: string[] = [];
    const ended = await client.publish(pongCopy('Pong Client'), 'pong-client', '1.0.0', { pollMs: 50, onProgress: (p) => seen.push(p.phase === 'state' ? p.state : p.phase) });
    expect(ended).toMatchObject({ slug: 'pong-client', version: '1.0.0', state: 'PUBLISHED' });
    expect(seen.slice(0, 3)).toEqual(['packed', 'uploaded', 'PENDING']);
    expect(seen.at(-1)).toBe('PUBLISHED');
    expect((await client.publishRequests('pong-client')).map((r) => r.id)).toContain(ended.id);

    const refusal = async (p: Promise<unknown>): Promise<CatalogClientError> => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogClientError);
      return err as CatalogClientError;
    };
    expect(await refusal(client.publish(pongCopy('Other'), 'pong-client', '1.0.0'))).toMatchObject({ code: 'VERSION_EXISTS', status: 409 });
    expect(await refusal(client.game('no-such-game'))).toMatchObject({ code: 'UNKNOWN_GAME', status: 404 });
    expect(await refusal(client.upload('pong-client', '1.0.1', Buffer.from('not a tar')))).toMatchObject({ code: 'BAD_UPLOAD', status: 400 });
    expect(await refusal(client.promote('pong-client', '1.0.0', 'prod'))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(await refusal(new CatalogClient({ baseUrl: url, key: 'wrong-key' }).games())).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });

    // a server that is not a catalog: its answer is not the /v1 envelope
    const other = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hello</h1>'));
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', done));
    try {
      const base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const err = await refusal(new CatalogClient({ baseUrl: base, key: PUBLISHER }).games());
      expect(err).toMatchObject({ code: 'SERVER_CATALOG_BAD_RESPONSE', status: 200 });
      expect(err.message).toContain(`is ${base} a catalog`);
    } finally {
      other.close();
    }
  });

  it('--no-wait returns once uploaded, with the request still PENDING', async () => {
    const r = await asPublisher(['publish', pongCopy('Pong Draft'), '--slug', 'pong-draft', '--version', '0.0.1', '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(3);
    expect(out[2]).toMatch(/^PENDING \(not followed: see GET \/v1\/publish-requests\/\S+\)$/);
  });

  it('refuses a bad version, slug or environment before sending anything', async () => {
    expect((await asPublisher(['publish', PONG, '--version', 'v1'])).stderr).toBe('parlor: --version v1: not a version; use semver MAJOR.MINOR.PATCH with an optional pre-release (1.2.0, 1.3.0-rc.1)\n');
    expect((await asAdmin(['promote', 'pong', '--env', 'prod'])).stderr).toBe('parlor: pong: want slug@version, e.g. pong@1.2.0\n');
    expect((await asAdmin(['rollback', 'pong', '--env', 'Prod!'])).stderr).toMatch(/^parlor: --env Prod!: an environment name is lower-case/);
  });
});

describe('parlor publish against a catalog with small caps and a slow rate', () => {
  let small: Orchestrator;
  beforeAll(async () => {
    small = new Orchestrator({
      host: '127.0.0.1',
      port: 0,
      adminKey: ADMIN,
      agentKey: 'agent-key-of-the-catalog-cli-tests',
      publisherKey: PUBLISHER,
      logLevel: 'silent',
      catalog: {
        dir: join(tmp, 'small-catalog'),
        gate: createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false }),
        uploadLimits: { maxCompressedBytes: 2000 },
        publishRate: { perMinute: 1, burst: 1 },
      },
    });
    await small.listen();
  });
  afterAll(async () => {
    await small?.shutdown();
  });

  it('an upload over the catalog cap is 413; a second publish within the minute is 429 with the seconds to wait', async () => {
    const env = { PARLOR_PUBLISHER_KEY: PUBLISHER, PARLOR_CATALOG_URL: small.url };
    const big = await parlor(['publish', PONG, '--version', '1.0.0'], env);
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/^parlor: 413: the catalog refused the upload as too large \(.+\): move large or generated files out of the folder\n$/);
    // the first publish takes the one token (the gate fails it), the second is refused before recording
    expect((await parlor(['publish', forbiddenGame(), '--version', '0.1.0'], env)).stdout).toContain('FAILED evil-game@0.1.0: GATE_FAILED');
    const again = await parlor(['publish', forbiddenGame(), '--version', '0.1.1'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^parlor: 429: too many publishes with this key: retry in \d+ s \(.+\)\n$/);
  });
});
