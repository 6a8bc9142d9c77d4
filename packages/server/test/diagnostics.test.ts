/**
 * Game errors point at the author's line: `parlor validate` (process runtime; docker where an
 * engine answers) reports a throw at the source's file:line:column with a code frame, and type
 * errors (TypeScript's checker) as `type` findings; a dev server reports room errors to its
 * `DevStatus` at the mapped line; `parlor dev` started on a broken file prints the location and
 * frame, keeps running, serves the game once the file is fixed, and prints type errors as warnings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { codeFrame } from '../src/dev/locate.js';
import { DevStatus } from '../src/dev/status.js';
import { validateGame, type GateReport, type ValidateOptions } from '../src/gate.js';
import { processRunnerPath } from '../src/runtimes.js';
import { TestClient, captureLogger, startServer, waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/diagnostics/${f}`, import.meta.url));
const quiet = () => captureLogger().logger;
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder holding `name` copied from a fixture (the `.ts.txt` fixtures do not type-check, so they are not `.ts` in the repository). */
function gameCopy(fixtureName: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-diag-'));
  dirs.push(dir);
  const file = join(dir, name);
  copyFileSync(fixture(fixtureName), file);
  return file;
}

const dockerUp = spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0;
const IMAGE = 'parlor-runner:diagnostics-test';
let imageBuilt = false;
function buildImage(): void {
  if (imageBuilt) return;
  const r = spawnSync('bash', [fileURLToPath(new URL('../docker/build-runner-image.sh', import.meta.url)), IMAGE, processRunnerPath()], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
  imageBuilt = true;
}
const RUNTIMES = [
  { kind: 'process', skip: false, options: (): ValidateOptions => ({ runtime: 'process' }) },
  { kind: 'docker', skip: !dockerUp, options: (): ValidateOptions => (buildImage(), { runtime: 'docker', docker: { image: IMAGE } }) },
];

const finding = (r: GateReport, rule: string) => r.findings.find((f) => f.rule === rule);

describe.each(RUNTIMES)('parlor validate in the $kind runtime points at the author’s line', ({ skip, options }) => {
  it.skipIf(skip)('a throw in onPlayerJoin: the source file:line:column (not the bundle’s) with a code frame', async () => {
    const r = await validateGame(fixture('thrower.ts'), { ...options(), smokeMs: 1500, typeCheck: false, logger: quiet() });
    expect(r.ok).toBe(false);
    const f = finding(r, 'smoke-error');
    expect(f, JSON.stringify(r.findings)).toMatchObject({ file: fixture('thrower.ts'), line: 9, column: 11, message: 'onPlayerJoin: boom on line 9' });
    expect(f!.codeFrame).toMatch(/^> +9 \| +throw new Error\('boom on line 9'\);\n +\| +\^$/m);
  }, 60_000);

  it.skipIf(skip)('a throw while loading: the line of the throw', async () => {
    const r = await validateGame(fixture('load-thrower.ts'), { ...options(), smokeMs: 0, typeCheck: false, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(finding(r, 'load'), JSON.stringify(r.findings)).toMatchObject({ file: fixture('load-thrower.ts'), line: 4, column: 26, message: 'cannot load: line 4' });
  }, 60_000);
});

describe('type errors', () => {
  it('parlor validate reports a type error with its location and frame (an error of the report)', async () => {
    const file = gameCopy('type-error.ts.txt', 'dot.ts');
    const r = await validateGame(file, { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(r.ok).toBe(false);
    const f = finding(r, 'type');
    expect(f, JSON.stringify(r.findings)).toMatchObject({ severity: 'error', file, line: 8, column: 5 });
    expect(f!.message).toMatch(/Type 'string' is not assignable to type 'number'.*\[TS2322\]/);
    expect(f!.codeFrame).toMatch(/^> +8 \| +radius: 'big',$/m);
  }, 90_000);

  it('the examples type-check cleanly (pong)', async () => {
    const r = await validateGame(join(repo, 'examples/pong'), { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(r.findings).toEqual([]);
  }, 90_000);
});

describe('a dev server reports room errors to its DevStatus', () => {
  it('at the mapped line, with a frame', async () => {
    const devStatus = new DevStatus();
    const { server, logs } = await startServer({ games: { thrower: fixture('thrower.ts') }, devStatus });
    try {
      const player = await TestClient.connect(server);
      player.join('thrower');
      await waitFor(() => devStatus.get('thrower')?.diagnostics.some((d) => d.kind === 'room') === true, 'the room error in the dev status', 10_000);
      const d = devStatus.get('thrower')!.diagnostics.find((x) => x.kind === 'room')!;
      expect(d).toMatchObject({ kind: 'room', severity: 'error', message: 'onPlayerJoin: boom on line 9', file: fixture('thrower.ts'), line: 9, column: 11 });
      expect(d.codeFrame).toMatch(/^> +9 \|/m);
      // the log line names the place too
      expect(logs.find((l) => l.msg === 'game error')).toMatchObject({ at: `${fixture('thrower.ts')}:9:11` });
      player.close();
    } finally {
      await server.close();
    }
  }, 30_000);

  it('without a dev status, the log carries the location and the frame', async () => {
    const { server, logs } = await startServer({ games: { thrower: fixture('thrower.ts') } });
    try {
      const player = await TestClient.connect(server);
      player.join('thrower');
      await waitFor(() => logs.some((l) => l.msg === 'game error'), 'the game error log', 10_000);
      const line = logs.find((l) => l.msg === 'game error')!;
      expect(line).toMatchObject({ level: 'error', where: 'onPlayerJoin', at: `${fixture('thrower.ts')}:9:11` });
      expect(line.frame).toMatch(/^> +9 \| +throw new Error/m);
      player.close();
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('parlor dev', () => {
  it('started on a broken file: prints the location and frame, keeps running, serves the game once fixed, warns about type errors', async () => {
    const file = gameCopy('broken.ts.txt', 'broken.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'dev', file, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => /Play: +http:\/\/127\.0\.0\.1:\d+\/play\/broken/.test(out) || child.exitCode !== null, 'parlor dev listening', 60_000);
    const base = /Play: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    expect(base, out + err).toBeTruthy();
    await waitFor(() => err.includes(`${file}:8:12: error [build] Expected ";" but found "tick"`), 'the build error with its location', 10_000);
    expect(err).toMatch(/^> +8 \| +override tick\(\): void \{\}$/m);
    expect(child.exitCode).toBeNull();

    // fixed, but with a type error: served (200), and the type error is a warning with its place
    writeFileSync(file, readFileSync(file, 'utf8').replace('[this.root]; } }', '[this.root]; }').replace("text: 'hi'", 'text: 42'));
    const games = async () => ((await (await fetch(`${base}/parlor/api/games`)).json()) as { games: Array<{ name: string }> }).games.map((g) => g.name);
    await waitFor(async () => (await games()).includes('broken'), 'the fixed game served', 30_000);
    expect(await games()).toEqual(['broken']);
    expect((await fetch(`${base}/play/broken`)).status).toBe(200);
    await waitFor(() => err.includes(`${file}:6:61: warning [type]`), 'the type warning', 60_000);
    expect(err).toMatch(/^> +6 \| .*text: 42/m);

    // a room error is printed at the author's line
    writeFileSync(file, readFileSync(file, 'utf8').replace('override tick(): void {}', "override tick(): void {\n    throw new Error('tick broke');\n  }"));
    await waitFor(() => (out.match(/rebuilt; live rooms redirected/g) ?? []).length === 2, 'the second rebuild', 30_000);
    const again = new TestClient(`${base!.replace(/^http/, 'ws')}/parlor/ws`);
    await again.opened;
    again.join('broken');
    await waitFor(() => err.includes(`${file}:9:11: error [room] tick: tick broke`), 'the room error with its location', 20_000);
    again.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 120_000);
});

describe('parlor serve (a server in the process runtime) names the author’s line', () => {
  it('a room error is logged at error level with at and frame; a game that throws while loading names the line', async () => {
    const { server, logs } = await startServer({ games: { thrower: fixture('thrower.ts') }, runtime: 'process' });
    try {
      const player = await TestClient.connect(server);
      player.join('thrower');
      await waitFor(() => logs.some((l) => l.msg === 'game error'), 'the game error log', 20_000);
      const line = logs.find((l) => l.msg === 'game error')!;
      expect(line).toMatchObject({ level: 'error', where: 'onPlayerJoin', at: `${fixture('thrower.ts')}:9:11` });
      expect(line.frame).toMatch(/^> +9 \| +throw new Error\('boom on line 9'\);$/m);
      player.close();
    } finally {
      await server.close();
    }
    await expect(startServer({ games: { broken: fixture('load-thrower.ts') }, runtime: 'process' })).rejects.toMatchObject({
      code: 'SERVER_GAME_EVAL_FAILED',
      message: expect.stringContaining(`cannot load: line 4 (at ${fixture('load-thrower.ts')}:4:26)`),
    });
  }, 60_000);
});

describe('code frames', () => {
  it('show a window of an enormous line (a minified or hostile file) with the marker under the column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-frame-'));
    dirs.push(dir);
    const file = join(dir, 'min.js');
    writeFileSync(file, `a\nb\n${'x'.repeat(100_000)}BOOM${'y'.repeat(100_000)}\nc\n`);
    const frame = codeFrame({ file, line: 3, column: 100_001 })!;
    const lines = frame.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(200);
    const at = lines.findIndex((l) => l.startsWith('> 3 |'));
    expect(lines[at + 1].indexOf('^')).toBe(lines[at].indexOf('BOOM'));
  });
});
