/**
 * The README is the front door: its TypeScript examples must compile against the real API,
 * and the tutorial game must actually play. This test reads README.md itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { CloseCode, NodeKind, type Shape, type Text } from '@parlor/squish';
import { type GameServer } from '@parlor/server';
import { startServer, TestClient, waitFor } from './helpers.js';

const root = resolve(__dirname, '../../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const tutorial = /<!-- tutorial:start -->\s*```ts\n([\s\S]*?)```\s*<!-- tutorial:end -->/.exec(readme)?.[1];
const tsBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-readme-'));
  let server: GameServer;

  beforeAll(async () => {
    expect(tutorial, 'README has a tutorial block between tutorial:start/end markers').toBeTruthy();
    writeFileSync(join(dir, 'click-the-dot.ts'), tutorial!);
    ({ server } = await startServer({ games: { 'click-the-dot': join(dir, 'click-the-dot.ts') } }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every TypeScript example compiles against the real packages (strict)', () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(2);
    const files = tsBlocks.map((code, i) => {
      const f = join(dir, `example-${i}.ts`);
      writeFileSync(f, `${code}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true, types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      baseUrl: root,
      paths: {
        '@parlor/squish': ['packages/squish/src/index.ts'],
        '@parlor/server': ['packages/server/src/index.ts'],
        '@parlor/server/testing': ['packages/server/src/testing.ts'],
        // the "Testing your game" example is a vitest file
        vitest: ['node_modules/vitest/dist/index.d.ts'],
      },
    });
    const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.includes(resolve(d.file.fileName)));
    const text = diags.map((d) => `${d.file!.fileName}:${ts.getLineAndCharacterOfPosition(d.file!, d.start!).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(text).toEqual([]);
  }, 60_000);

  it('the tutorial game plays: two players see the board, a click on the dot scores and moves it', async () => {
    const a = new TestClient(server.wsUrl);
    const b = new TestClient(server.wsUrl);
    await Promise.all([a.opened, b.opened]);
    a.join('click-the-dot');
    await waitFor(() => a.init !== null, 'player A init');
    b.join('click-the-dot', { roomId: a.init!.roomId });
    await waitFor(() => b.init !== null, 'player B init');
    const board = (c: TestClient) => [...c.mirror.nodes.values()].find((n) => n.kind === NodeKind.TEXT) as Text | undefined;
    await waitFor(() => /: 0 .*: 0/.test(board(b)?.text ?? ''), 'both players on the board');

    const dot = [...a.mirror.nodes.values()].find((n) => n.kind === NodeKind.SHAPE && (n as Shape).shapeType === 'circle' && n.clickable) as Shape;
    expect(dot).toBeDefined();
    const before = [dot.x, dot.y];
    a.send({ type: 'input', event: { kind: 'click', nodeId: dot.id, x: dot.x, y: dot.y } });
    await waitFor(() => /: 1/.test(board(b)?.text ?? ''), 'the score reaches the other player');
    const moved = b.mirror.nodes.get(dot.id) as Shape;
    expect([moved.x, moved.y]).not.toEqual(before);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    a.close();
    b.close();
  });
});

describe('README close codes', () => {
  it('documents every close code a client can receive (the table under "Close codes")', () => {
    const table = readme.slice(readme.indexOf('**Close codes**'));
    const documented = new Set([...table.slice(0, table.indexOf('\n\n#')).matchAll(/^\| (\d{4})(?: \/ (\d{4}))? \|/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean).map(Number));
    const missing = Object.entries(CloseCode).filter(([, code]) => !documented.has(code));
    expect(missing, 'close codes missing from the README table').toEqual([]);
  });
});

describe('README commands: the bins a fresh npm install links', () => {
  const bins: Array<[string, string]> = [
    ['packages/server', 'parlor'],
    ['packages/orchestrator', 'parlor-orchestrator'],
  ];
  it.each(bins)('%s: the bin %s points at a committed launcher (npm links bins before anything is built)', (dir, name) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    const target = pkg.bin[name];
    expect(target).toBeTruthy();
    expect(target.replace(/^\.\//, '').startsWith('dist/'), `${name} must not point into build output`).toBe(false);
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', join(dir, target)], { cwd: root });
    expect(tracked.status, `${dir}/${target} is in git`).toBe(0);
    expect(pkg.files.some((f) => target.replace(/^\.\//, '').startsWith(f))).toBe(true);
  });
  it('`npm start` as the Quick start writes it: a build only when sources changed, then the lobby and a play page answer', async () => {
    expect(readme).toMatch(/```sh\nnpm install\nnpm start\n```/);
    // other ports than the README's defaults (8080, 7070, 8090) and its own data folder (catalog, artifacts),
    // so a developer's own `npm start` can keep running
    const data = mkdtempSync(join(tmpdir(), 'parlor-npm-start-'));
    const env = { ...process.env, PORT: '18180', ORCHESTRATOR_PORT: '17170', MATCHMAKER_PORT: '18190', PARLOR_DEMO_DATA: data };
    const child = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const ok = async (url: string) => (await fetch(url).catch(() => null))?.status === 200;
      await waitFor(async () => (await ok('http://127.0.0.1:18180/')) || child.exitCode !== null, 'the lobby of npm start', 150_000);
      expect(child.exitCode, out).toBeNull();
      expect(await ok('http://127.0.0.1:18180/play/pong')).toBe(true);
      // the orchestrator is a process of its own (it opens its catalog first): the lobby may answer before it
      await waitFor(async () => (await ok('http://127.0.0.1:17170/v1/openapi.json')) || child.exitCode !== null, 'the orchestrator of npm start', 60_000);
      expect(child.exitCode, out).toBeNull();
      // `npm test` built everything just before: npm start says so in one line instead of rebuilding
      const first = out.split('\n').find((l) => l.startsWith('Parlor: '));
      expect(first, out).toMatch(/^Parlor: (build up to date|building \(.*\)… done in \d+ s)$/);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(data, { recursive: true, force: true });
    }
  }, 200_000);

  it('the README and `parlor serve --help` give the same default runtime', () => {
    const r = spawnSync('npx', ['--no-install', 'parlor', 'serve', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const help = /--runtime <runtime>\s+where rooms run \(default (\w+); (\w+) when NODE_ENV=production\)/.exec(r.stdout.replace(/\s+/g, ' '));
    expect(help, r.stdout).not.toBeNull();
    expect(readme).toContain(`(default: \`${help![1]}\` in development, \`${help![2]}\` when \`NODE_ENV=production\`)`);
  });
  it.each(bins)('`npx %s --help` works as the README writes it', (_dir, name) => {
    const r = spawnSync('npx', ['--no-install', name, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Usage: ${name}`);
  });
});
