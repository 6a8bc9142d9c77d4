/**
 * Parlor outside this repository, as a second user meets it: every package packs (`npm pack`) into
 * a tarball holding what its package.json promises (main, types, every `exports` target, bins);
 * `npx parlor init` (from this repository, after the build) scaffolds a project in the OS temp
 * folder whose @parlor dependencies are those tarballs (`--packs`); `npm install` there, then the
 * project's own `npm test` (its test on the test kit) and `npm run typecheck` pass, every public
 * entry of the installed packages loads (ESM and CommonJS) and type-checks, and `npx parlor dev`
 * serves the starter game, which a real WebSocket client joins and plays (a click on the dot
 * scores), until a Ctrl-C (SIGINT to its process group) stops it cleanly.
 *
 * Needs the build (`npm test` builds first) and the npm registry for the project's other
 * dependencies (`--prefer-offline`: the npm cache answers what it can). Slow: one `npm install`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type * as Squish from '@parlor/squish';
import { waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const sourceCli = join(repo, 'packages/server/src/cli/cli.ts');
const PACKAGES = ['squish', 'client', 'server', 'fleet-agent', 'orchestrator'] as const;
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/**
 * The environment of a user's shell: without what the surrounding `npm test` and vitest set
 * (npm_* config, VITEST*, NODE_ENV, NODE_OPTIONS) and without this repository's
 * `node_modules/.bin` on PATH, so nothing of the repository can stand in for the installed packages.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|NODE_ENV$|INIT_CWD$|TEST$)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p && !resolve(p).startsWith(repo))
    .join(delimiter);
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  return env;
}

/** Runs a command to its end; resolves with its exit code and output (stdout and stderr interleaved). */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) took over ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, out, ms: Date.now() - started });
    });
  });
}

/** The paths a package.json promises: main, module, types, unpkg, every `exports` target and every bin (without `./`). */
function promisedFiles(pkg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const field of ['main', 'module', 'types', 'unpkg', 'exports', 'bin']) walk(pkg[field]);
  return [...new Set(out)];
}

describe('parlor init', () => {
  // the CLI from source (tsx from this repository, so it runs from any folder)
  const tsx = pathToFileURL(createRequire(join(repo, 'package.json')).resolve('tsx')).href;
  const cli = (args: string[], cwd: string) => run(process.execPath, ['--import', tsx, sourceCli, 'init', ...args], cwd, 60_000);
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'parlor-init-'));
    dirs.push(base);
  });

  it('refuses a folder that is not empty (one line naming --force), and writes into it with --force', async () => {
    const dir = join(base, 'busy-game');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const refused = await cli([dir], base);
    expect(refused.code).toBe(1);
    expect(refused.out.trim()).toBe(`parlor: ${dir} is not empty: choose a new folder, or add --force to write the project's files into it (files of the same name are replaced)`);
    expect(existsSync(join(dir, 'package.json'))).toBe(false);

    const forced = await cli([dir, '--force'], base);
    expect(forced.code, forced.out).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
    expect(pkg.name).toBe('busy-game');
    expect(Object.keys(pkg.dependencies)).toEqual(['@parlor/server', '@parlor/squish']);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('node_modules/');
    expect(readFileSync(join(dir, 'src/index.ts'), 'utf8')).toContain("name: 'Busy game'");
    expect(forced.out).toMatch(/Next:\n\s+cd busy-game\n\s+npm install\n\s+npm run dev .*\/play\/busy-game/);
  });

  it('refuses a name that cannot be a package name and a game route, and --packs without the tarballs', async () => {
    const bad = await cli(['My Game'], base);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^parlor: "My Game" cannot name a project: .*lowercase letters, digits/);
    expect(existsSync(join(base, 'My Game'))).toBe(false);

    const noPacks = await cli(['fine-game', '--packs', base], base);
    expect(noPacks.code).toBe(1);
    expect(noPacks.out).toMatch(/^parlor: --packs .*: no parlor-squish-\d+\.\d+\.\d+\.tgz there\. .*npm pack -w @parlor\/squish/);
    expect(existsSync(join(base, 'fine-game'))).toBe(false);
  });

  it('--help names the folder rule, --force and --packs', async () => {
    const help = await cli(['--help'], base);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: parlor init [options] <dir>');
    expect(help.out).toContain('--force');
    expect(help.out).toContain('--packs <folder>');
  });
});

describe('outside this repository', () => {
  let root: string;
  let packs: string;
  const timings: Record<string, number> = {};

  beforeAll(() => {
    if (!existsSync(join(repo, 'packages/server/dist/cli.js'))) throw new Error('packages are not built: run `npm run build` at the repository root first');
    root = realpathSync(mkdtempSync(join(tmpdir(), 'parlor-outside-')));
    dirs.push(root);
    packs = join(root, 'packs');
    mkdirSync(packs);
  });

  afterAll(() => {
    console.log(`outside-repo timings (ms): ${JSON.stringify(timings)}`);
  });

  it('every package packs into a tarball holding its main, types, every exports target and its bins', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', packs, ...PACKAGES.flatMap((p) => ['-w', `@parlor/${p}`])], repo, 180_000);
    timings.pack = packed.ms;
    expect(packed.code, packed.out).toBe(0);
    const results = JSON.parse(packed.out.slice(packed.out.indexOf('['), packed.out.lastIndexOf(']') + 1)) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
    expect(results.map((r) => r.name).sort()).toEqual(PACKAGES.map((p) => `@parlor/${p}`).sort());
    for (const dir of PACKAGES) {
      const pkg = JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string };
      const result = results.find((r) => r.name === pkg.name)!;
      expect(existsSync(join(packs, result.filename)), result.filename).toBe(true);
      expect(result.filename).toBe(`parlor-${dir}-${pkg.version}.tgz`);
      const files = result.files.map((f) => f.path);
      for (const promised of promisedFiles(pkg)) expect(files, `${pkg.name} promises ${promised}`).toContain(promised);
      // every import/require condition declares its types
      for (const [subpath, target] of Object.entries((pkg.exports ?? {}) as Record<string, unknown>)) {
        if (target && typeof target === 'object') {
          for (const [condition, entry] of Object.entries(target)) expect(entry, `${pkg.name} exports ${subpath} ${condition}`).toHaveProperty('types');
        }
      }
      expect(files.filter((f) => /^(src|test)\//.test(f)), `${pkg.name} ships no sources or tests`).toEqual([]);
    }
  }, 200_000);

  it('a project scaffolded with npx parlor init from the tarballs installs, passes its own test and typecheck, and plays over a WebSocket with npx parlor dev', async () => {
    expect(existsSync(join(packs, 'parlor-server-0.1.0.tgz')), 'the packing test ran first').toBe(true);
    const project = join(root, 'my-game');
    expect(relative(repo, project).startsWith('..')).toBe(true);

    // from this repository, as its README shows
    const init = await run('npx', ['parlor', 'init', project, '--packs', packs], repo, 60_000);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toContain('npm install');
    const pkgFile = join(project, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, string> };
    expect(pkg.dependencies['@parlor/server']).toBe('file:../packs/parlor-server-0.1.0.tgz');
    expect(pkg.overrides['@parlor/client']).toBe('file:../packs/parlor-client-0.1.0.tgz');
    // this project also runs its own orchestrator, so every package's entries are checked below
    pkg.dependencies['@parlor/orchestrator'] = 'file:../packs/parlor-orchestrator-0.1.0.tgz';
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));

    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project, 420_000);
    timings.install = install.ms;
    expect(install.code, install.out).toBe(0);
    const projectRequire = createRequire(pkgFile);
    for (const p of PACKAGES) expect(projectRequire.resolve(`@parlor/${p}`).startsWith(join(project, 'node_modules'))).toBe(true);
    for (const bin of ['parlor', 'parlor-orchestrator']) {
      expect(readFileSync(join(project, 'node_modules/.bin', bin), 'utf8').startsWith('#!/usr/bin/env node'), bin).toBe(true);
    }
    // the installed parlor scaffolds the same project from the templates its tarball carries
    const again = await run('npx', ['parlor', 'init', join(root, 'second-game')], project, 60_000);
    expect(again.code, again.out).toBe(0);
    const filesOf = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
    expect(filesOf(join(root, 'second-game'))).toEqual(filesOf(project).filter((f) => !f.startsWith('node_modules') && f !== 'package-lock.json'));
    expect(readFileSync(join(root, 'second-game/src/index.ts'), 'utf8')).toBe(readFileSync(join(project, 'src/index.ts'), 'utf8').replace("'My game'", "'Second game'"));

    const test = await run('npm', ['test'], project, 120_000);
    timings.test = test.ms;
    expect(test.code, test.out).toBe(0);
    expect(test.out).toMatch(/Tests\s+\d+ passed/);
    const typecheck = await run('npm', ['run', 'typecheck'], project, 120_000);
    timings.typecheck = typecheck.ms;
    expect(typecheck.code, typecheck.out).toBe(0);

    // every public entry: types for an ES module (.mts: the "import" condition) and a CommonJS one
    // (.cts: "require") under Node's own resolution, with the libraries' declarations checked too;
    // then each entry loads in Node both ways
    const entries = ['@parlor/squish', '@parlor/client', '@parlor/server', '@parlor/server/runtimes', '@parlor/server/gate', '@parlor/server/testing', '@parlor/fleet-agent', '@parlor/orchestrator', '@parlor/orchestrator/client'];
    mkdirSync(join(project, 'entries'));
    const uses = entries.map((e, i) => `import * as e${i} from '${e}';\nexport const k${i} = Object.keys(e${i});\n`).join('');
    writeFileSync(join(project, 'entries/check.mts'), uses);
    writeFileSync(join(project, 'entries/check.cts'), uses);
    writeFileSync(
      join(project, 'entries/tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', verbatimModuleSyntax: false, skipLibCheck: false, lib: ['ES2022', 'DOM', 'DOM.Iterable'] },
        include: ['check.mts', 'check.cts'],
      }),
    );
    const entryTypes = await run('npx', ['tsc', '-p', 'entries/tsconfig.json'], project, 120_000);
    expect(entryTypes.code, entryTypes.out).toBe(0);
    const list = JSON.stringify(entries);
    const esm = await run(process.execPath, ['--input-type=module', '-e', `for (const e of ${list}) if (!Object.keys(await import(e)).length) throw new Error(e);`], project, 60_000);
    expect(esm.code, esm.out).toBe(0);
    const cjs = await run(process.execPath, ['-e', `for (const e of ${list}) if (!Object.keys(require(e)).length) throw new Error(e);`], project, 60_000);
    expect(cjs.code, cjs.out).toBe(0);

    // play the starter game: npx parlor dev, a real WebSocket, the installed squish's decoder
    const started = Date.now();
    const dev = spawn('npx', ['parlor', 'dev', '.', '--port', '0'], { cwd: project, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(dev);
    let out = '';
    dev.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    dev.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /Play: +http:\/\/127\.0\.0\.1:\d+\/play\/my-game/.test(out) || dev.exitCode !== null, 'parlor dev listening', 90_000);
    timings.devStart = Date.now() - started;
    const url = /Play: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    expect(url, out).toBeTruthy();

    const squish = projectRequire('@parlor/squish') as typeof Squish;
    const mirror = new squish.SceneMirror();
    const messages: Squish.ServerMessage[] = [];
    const ws = new WebSocket(`${url!.replace(/^http/, 'ws')}${squish.WS_PATH}`);
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const msg = squish.decodeServerMessage(bytes);
      messages.push(msg);
      if (msg.type === 'frame') mirror.apply(bytes);
    });
    await new Promise<void>((ok, fail) => ws.once('open', ok).once('error', fail));
    const joinMessage: Squish.JoinMessage = { type: 'join', protocolVersion: squish.PROTOCOL_VERSION, game: 'my-game', roomId: '', spectate: false, reconnectToken: '', ticket: '', name: 'Ann', clientInfo: 'outside-repo test' };
    ws.send(squish.encodeClientMessage(joinMessage));
    await waitFor(() => messages.some((m) => m.type === 'init') && messages.some((m) => m.type === 'frame' && m.full), 'init and a full frame', 15_000);
    const texts = (): string[] => [...mirror.nodes.values()].filter((n): n is Squish.Text => n instanceof squish.Text).map((t) => t.text);
    await waitFor(() => texts().includes('Ann: 0'), 'the score board', 15_000);
    const dot = [...mirror.nodes.values()].find((n) => n instanceof squish.Shape && n.clickable && n.shapeType === 'circle') as Squish.Shape | undefined;
    expect(dot, texts().join(' | ')).toBeDefined();
    ws.send(squish.encodeClientMessage({ type: 'input', event: { kind: 'click', nodeId: dot!.id, x: dot!.x, y: dot!.y } }));
    await waitFor(() => texts().includes('Ann: 1'), 'the point scored by the click', 15_000);
    ws.close();

    // Ctrl-C, as a terminal sends it: SIGINT to the process group (npx and parlor)
    // npx re-raises the signal its child got once that child has exited, so it ends by SIGINT (a
    // shell shows 130); parlor itself closes the server and exits 0, or npx would exit with its code
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => dev.once('exit', (code, signal) => ok({ code, signal })));
    killGroup(dev, 'SIGINT');
    const { code, signal } = await exited;
    expect(code === 0 || (code === null && signal === 'SIGINT'), `${code} ${signal}\n${out}`).toBe(true);
    const logs = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; signal?: string });
    expect(logs.some((l) => l.msg === 'signal received' && l.signal === 'SIGINT'), out).toBe(true);
    expect(logs.at(-1)?.msg, out).toBe('server closed');
    expect(logs.filter((l) => l.level >= 40), out).toEqual([]);
  }, 900_000);
});
