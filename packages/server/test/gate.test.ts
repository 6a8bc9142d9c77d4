import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GATE_DISCLAIMER, formatGateReport, validateGame, type GateReport, type ValidateOptions } from '../src/gate.js';
import { processRunnerPath } from '../src/runtimes.js';
import { scanSource } from '../src/gate/scan.js';
import { captureLogger } from './helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const hostile = (g: string) => fileURLToPath(new URL(`./fixtures/hostile/${g}.ts`, import.meta.url));
const gateFixture = (g: string) => fileURLToPath(new URL(`./fixtures/gate/${g}`, import.meta.url));
const quiet = () => captureLogger().logger;
const rules = (r: GateReport) => [...new Set(r.findings.map((f) => f.rule))].sort();

/** Real dockerd (CI starts one); the docker half is skipped, loudly, where there is none. */
const dockerUp = spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0;
if (!dockerUp && process.env.CI === 'true') throw new Error('CI=true but no Docker engine answers `docker info`: the gate must be tested against the docker runtime in CI');
if (!dockerUp) console.warn('gate tests: docker runtime skipped (no Docker engine)');
const IMAGE = 'parlor-runner:gate-test'; // its own tag: other test files rebuild theirs concurrently
let imageBuilt = false;
/** Builds the runner image from this host's runner (as test/hostile.test.ts does), once. */
function buildImage(): void {
  if (imageBuilt) return;
  const r = spawnSync('bash', [fileURLToPath(new URL('../docker/build-runner-image.sh', import.meta.url)), IMAGE, processRunnerPath()], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${IMAGE} failed: ${r.stderr}`);
  imageBuilt = true;
}
const RUNTIMES = [
  { kind: 'process' as const, skip: false, options: (): ValidateOptions => ({ runtime: 'process' }) },
  { kind: 'docker' as const, skip: !dockerUp, options: (): ValidateOptions => (buildImage(), { runtime: 'docker', docker: { image: IMAGE } }) },
];

/** Every finding is bounded and located. */
function wellFormed(r: GateReport): void {
  for (const f of r.findings) {
    expect(typeof f.message).toBe('string');
    expect(f.message.length).toBeLessThanOrEqual(600);
    expect(f.line).toBeGreaterThan(0);
    expect(f.column).toBeGreaterThan(0);
  }
  const text = formatGateReport(r);
  expect(text).toContain(GATE_DISCLAIMER);
  expect(text.length).toBeLessThan(100_000);
}

describe('publish gate: static scan', () => {
  it('reports banned constructs with file:line:column in the original TypeScript', () => {
    const src = [
      "import { Game } from '@parlor/squish';", // 1
      "import { readFileSync } from 'node:fs';", // 2
      'type Secret = { a: number; b: string };', // 3
      'const net: unknown = require("net");', // 4
      'export function f(name: string): unknown {', // 5
      '  const x: Secret = { a: 1, b: "" };', // 6
      '  eval("1"); new Function("return 1"); return import(name) ?? require(name) ?? x;', // 7
      '}', // 8
      "import('path'); import('node:child_process');", // 9
    ].join('\n');
    const found = scanSource(src, '/games/evil/index.ts').map((f) => `${f.line}:${f.column} ${f.rule}`);
    expect(found).toEqual(
      expect.arrayContaining([
        '2:1 builtin-import',
        '4:22 builtin-import',
        '7:3 eval',
        '7:14 function-constructor',
        '7:47 dynamic-import',
        '7:63 dynamic-require',
        '9:17 builtin-import',
      ]),
    );
    // 'path' is on the allow-list, '@parlor/squish' is not a built-in.
    expect(found.filter((f) => f.startsWith('9:1 ') || f.startsWith('1:'))).toEqual([]);
  });

  it('flags the ways to a socket class through stdio and Node internals (issue 7 §1)', () => {
    const src = [
      'const S = process.stderr.constructor;', // 1
      'const h = (process.stdout as unknown as { _handle: unknown })._handle;', // 2
      'const r = process.report;', // 3
      'const b = internalBinding;', // 4
      'export default [S, h, r, b];', // 5
    ].join('\n');
    const found = scanSource(src, '/games/escape/index.ts').map((f) => `${f.line}:${f.column} ${f.rule}`);
    expect(found).toEqual(['1:11 process-internals', '2:12 process-internals', '3:11 process-internals', '4:11 process-internals']);
  });

  it('rejects hostile games statically where it can', async () => {
    for (const [game, expected] of [
      ['read-passwd', ['dynamic-require', 'eval', 'process-internals']],
      ['write-file', ['dynamic-require', 'process-internals']],
      ['network', ['dynamic-require', 'network', 'process-internals']],
      ['spawn', ['dynamic-require', 'process-internals']],
      ['workers', ['dynamic-require', 'process-internals']],
      ['proto', ['prototype-pollution']],
    ] as const) {
      const report = await validateGame(hostile(game), { logger: quiet(), runtime: 'process' });
      expect(report.ok, game).toBe(false);
      expect(rules(report), game).toEqual([...expected].sort());
      expect(report.smoke, game).toBeNull(); // never run after static errors
      for (const f of report.findings) {
        expect(f.line).toBeGreaterThan(0);
        expect(f.column).toBeGreaterThan(0);
      }
    }
  });
});

describe('publish gate: smoke run', () => {
  it('catches what the scan cannot: a spinning tick, an out-of-memory game, enormous frames', async () => {
    const reports = await Promise.all(['spin', 'oom', 'huge-frames'].map((g) => validateGame(hostile(g), { smokeMs: 2500, logger: quiet(), runtime: 'process' })));
    for (const r of reports) {
      expect(r.ok, r.entry ?? '').toBe(false);
      // Caught by the smoke run only (on a loaded machine a tick-budget finding may come with it).
      expect(rules(r), JSON.stringify(r.findings)).toContain('smoke-crash');
      expect(rules(r).every((x) => x.startsWith('smoke-')), JSON.stringify(r.findings)).toBe(true);
      expect(r.smoke?.runtime).toBe('process');
    }
    const crash = (r: GateReport) => r.findings.find((f) => f.rule === 'smoke-crash')!.message;
    expect(crash(reports[0])).toMatch(/blocked its tick loop/);
    expect(crash(reports[1])).toMatch(/out of memory|blocked its tick loop|exited/);
    expect(crash(reports[2])).toMatch(/too large/);
  });

  it('passes the examples', async () => {
    for (const g of ['pong', 'hidden-hand', 'star-field']) {
      const report = await validateGame(`${repo}examples/${g}`, { smokeMs: 1200, logger: quiet(), runtime: 'process' });
      expect(report.findings, g).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.smoke).toMatchObject({ runtime: 'process', errors: 0 });
      expect(report.smoke!.framesToPlayers).toBeGreaterThan(0);
    }
  });

  it('parlor validate: exit code, human report and --json', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', `${repo}packages/server/src/cli/cli.ts`, 'validate', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    const bad = cli(hostile('proto'), '--runtime', 'process');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/proto\.ts:7:6: error \[prototype-pollution\]/);
    expect(bad.stdout).toMatch(/^FAIL /m);
    expect(bad.stdout).toContain(GATE_DISCLAIMER);
    const good = cli(`${repo}examples/pong`, '--json', '--smoke-ms', '500', '--runtime', 'process');
    expect(good.status, good.stderr).toBe(0);
    const report = JSON.parse(good.stdout) as GateReport & { note: string };
    expect(report).toMatchObject({ ok: true, findings: [], metadata: { name: 'Pong' }, runtime: { name: 'process' }, smoke: { runtime: 'process' }, note: GATE_DISCLAIMER });
    const human = cli(`${repo}examples/pong`, '--smoke-ms', '300', '--runtime', 'process');
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^runtime: process \(requested\)$/m);
    expect(human.stdout).toMatch(/^PASS /m);
    expect(human.stdout).toMatch(/^note: The gate is a filter, not the security boundary/m);
    expect(cli(`${repo}examples/pong`, '--runtime', 'inline').status).toBe(1);
    expect(cli(`${repo}examples/pong`, '--smoke-ms', 'soon').status).toBe(1);
  });
});

describe.each(RUNTIMES)('publish gate in the $kind runtime', ({ kind, skip, options }) => {
  if (skip) {
    it.skip('needs a Docker engine', () => {});
    return;
  }

  it('FAILS a game that attacks 2.5 s after its first player joined (default smoke run: 5 s)', async () => {
    const r = await validateGame(gateFixture('delayed.ts'), { ...options(), logger: quiet() });
    expect(r.runtime?.name).toBe(kind);
    expect(r.smoke?.runtime).toBe(kind);
    expect(r.ok, JSON.stringify(r.findings)).toBe(false);
    expect(rules(r).some((x) => x === 'smoke-error' || x === 'smoke-crash'), JSON.stringify(r.findings)).toBe(true);
    expect(r.smoke!.durationMs).toBeGreaterThan(2500);
    wellFormed(r);
  }, 90_000);

  it('hostile output (object and 4 MB messages, thrown non-Errors, floods) fails the game, never the validator', async () => {
    const started = Date.now();
    const r = await validateGame(gateFixture('hostile-output.ts'), { ...options(), smokeMs: 1500, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(rules(r).every((x) => x.startsWith('smoke-')), JSON.stringify(r.findings)).toBe(true);
    expect(r.findings.length).toBeGreaterThanOrEqual(1);
    wellFormed(r);
    expect(Date.now() - started).toBeLessThan(1500 + 30_000);
  }, 60_000);

  it('FAILS the channel and resource attacks a smoke run can see: forged heartbeats from a frozen loop, CPU burnt between ticks, a flood, 200 000 parts, a redirect smuggled as a frame part, memory outside the heap', async () => {
    const expected: Array<[string, RegExp]> = [
      ['channel-heartbeats-only', /smoke-tick-rate/],
      ['channel-burner', /smoke-tick-rate|smoke-tick-budget|smoke-crash/],
      // The flood makes its own clock jump to tick back to back, which inflates its tick times too: the tick budget may see it first.
      ['channel-flood', /smoke-tick-rate|smoke-tick-budget|smoke-flood|smoke-crash/],
      ['channel-fanout', /smoke-crash/],
      ['channel-redirect', /smoke-crash/],
    ];
    const reports = await Promise.all(expected.map(([g]) => validateGame(hostile(g), { ...options(), smokeMs: 2000, logger: quiet() })));
    // memory outside the heap on its own, after the others: with five sandboxes starting beside it on two
    // busy cores, its ticks could stall long enough for a tick check to end it before the memory limit does
    const buffers = await validateGame(hostile('../gate/buffers'), { ...options(), smokeMs: 2000, logger: quiet() });
    expect(buffers.ok).toBe(false);
    expect(buffers.findings.find((f) => f.rule === 'smoke-crash')?.message, JSON.stringify(buffers.findings)).toMatch(/memory limit/);
    wellFormed(buffers);
    reports.forEach((r, i) => {
      const [game, rule] = expected[i];
      expect(r.ok, game).toBe(false);
      expect(rules(r).join(' '), `${game}: ${JSON.stringify(r.findings)}`).toMatch(rule);
      wellFormed(r);
    });
  }, 90_000);

  it('a game that hangs while loading cannot hang the validator', async () => {
    const r = await validateGame(gateFixture('hangs-at-load.ts'), { ...options(), startTimeoutMs: 2000, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(rules(r)).toEqual(['load']);
    expect(r.smoke).toBeNull();
    wellFormed(r);
  }, 60_000);

  it('still passes the pong example', async () => {
    const r = await validateGame(`${repo}examples/pong`, { ...options(), smokeMs: 1000, logger: quiet() });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.runtime?.name).toBe(kind);
    expect(r.smoke).toMatchObject({ runtime: kind, errors: 0 });
    expect(r.smoke!.framesToPlayers).toBeGreaterThan(0);
  }, 60_000);
});

describe('publish gate: metadata, assets and imports', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parlor-gate-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('FAILS hostile metadata: a description that is not a string, a 4 MB name', async () => {
    const [desc, name] = await Promise.all(
      ['bad-description.ts', 'huge-name.ts'].map((g) => validateGame(gateFixture(g), { runtime: 'process', smokeMs: 0, logger: quiet() })),
    );
    for (const r of [desc, name]) {
      expect(r.ok).toBe(false);
      expect(rules(r)).toEqual(['metadata']);
      expect(r.metadata).toBeNull();
      wellFormed(r);
    }
    expect(desc.findings[0].message).toMatch(/description/);
    expect(name.findings[0].message).toMatch(/name/);
  }, 60_000);

  it('FAILS hostile asset paths, one finding per bad asset', async () => {
    const dir = join(tmp, 'assets-game');
    mkdirSync(dir);
    writeFileSync(join(tmp, 'outside.png'), 'png');
    writeFileSync(join(dir, 'ok.png'), 'png');
    writeFileSync(join(dir, 'page.html'), '<p>hi</p>');
    writeFileSync(join(dir, 'evil.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
    writeFileSync(join(dir, 'big.png'), '');
    truncateSync(join(dir, 'big.png'), 9 * 1024 * 1024); // sparse: over the 8 MiB cap
    symlinkSync('/etc/hostname', join(dir, 'link.png'));
    symlinkSync('/dev/zero', join(dir, 'zero.png'));
    mkdirSync(join(dir, 'folder.png'));
    const spawned = spawnSync('mkfifo', [join(dir, 'pipe.png')]);
    expect(spawned.status).toBe(0);
    const assets: Record<string, { type: string; path: string }> = {
      ok: { type: 'image', path: 'ok.png' },
      absolute: { type: 'image', path: '/etc/passwd' },
      dotdot: { type: 'image', path: '../outside.png' },
      link: { type: 'image', path: 'link.png' },
      zero: { type: 'image', path: 'zero.png' },
      folder: { type: 'image', path: 'folder.png' },
      pipe: { type: 'image', path: 'pipe.png' },
      big: { type: 'image', path: 'big.png' },
      html: { type: 'image', path: 'page.html' },
      svg: { type: 'image', path: 'evil.svg' },
      missing: { type: 'audio', path: 'nothing.mp3' },
    };
    writeFileSync(
      join(dir, 'index.ts'),
      [
        "import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';",
        'export default class Assets extends Game {',
        `  static override metadata(): GameMetadata { return { name: 'Assets', assets: ${JSON.stringify(assets)} } as GameMetadata; }`,
        '  getLayers(): Node[] { return [new Group({ children: [] })]; }',
        '}',
      ].join('\n'),
    );
    const started = Date.now();
    const r = await validateGame(dir, { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(Date.now() - started).toBeLessThan(30_000); // no read of /dev/zero or a FIFO
    expect(r.ok).toBe(false);
    expect(rules(r)).toEqual(['asset']);
    const bad = Object.keys(assets).filter((id) => id !== 'ok');
    expect(r.findings).toHaveLength(bad.length);
    for (const id of bad) expect(r.findings.some((f) => f.message.includes(`"${id}"`)), id).toBe(true);
    for (const f of r.findings) expect(f.file).toBe(join(dir, 'index.ts'));
    wellFormed(r);
  }, 60_000);

  it('FAILS imports of host files and host packages (outside the game folder)', async () => {
    const r = await validateGame(gateFixture('host-import'), { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(rules(r)).toEqual(['outside-import']);
    expect(r.findings.map((f) => f.line).sort()).toEqual([3, 4]);
    expect(r.runtime).toBeNull(); // refused before any of its code runs
    wellFormed(r);
    // A package.json "main" that leads out of the folder.
    const dir = join(tmp, 'main-escape');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: '../../../../../../../../..' + join(repo, 'examples/pong/index.ts') }));
    const escaped = await validateGame(dir, { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(escaped.ok).toBe(false);
    expect(rules(escaped)).toEqual(['outside-import']);
    expect(escaped.files).toEqual([]);
    // A package in the game's own node_modules is bundled, so it is scanned too.
    const nm = join(tmp, 'own-package');
    mkdirSync(join(nm, 'node_modules', 'helper'), { recursive: true });
    writeFileSync(join(nm, 'node_modules', 'helper', 'package.json'), JSON.stringify({ name: 'helper', main: 'index.js' }));
    writeFileSync(join(nm, 'node_modules', 'helper', 'index.js'), "module.exports = () => require('child_process');\n");
    writeFileSync(
      join(nm, 'index.ts'),
      "import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';\nimport helper from 'helper';\n" +
        "export default class G extends Game {\n  static override metadata(): GameMetadata { return { name: 'G' }; }\n  getLayers(): Node[] { void helper; return [new Group({ children: [] })]; }\n}\n",
    );
    const own = await validateGame(nm, { runtime: 'process', smokeMs: 0, logger: quiet() });
    expect(own.ok).toBe(false);
    expect(own.findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([`${join(nm, 'node_modules', 'helper', 'index.js')}:1 builtin-import`]);
  }, 60_000);

  it('its synthetic players cannot be told from people by name, join timing or input rate', async () => {
    const r = await validateGame(gateFixture('name-sniffer.ts'), { runtime: 'process', smokeMs: 2500, players: 4, logger: quiet() });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.smoke!.players).toBe(4);
    expect(r.smoke!.inputsSent).toBeGreaterThan(20);
  }, 60_000);
});

describe('publish gate: runtime choice', () => {
  const pong = `${repo}examples/pong`;

  it('never runs a game inline', async () => {
    const r = await validateGame(pong, { runtime: 'inline' as never, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(rules(r)).toEqual(['runtime']);
    expect(r.smoke).toBeNull();
  });

  it('auto uses process where no Docker engine answers; docker there FAILS instead of falling back', async () => {
    const docker = { docker: { socketPath: join(tmpdir(), `no-docker-${process.pid}.sock`) } };
    const auto = await validateGame(pong, { runtime: 'auto', docker, smokeMs: 0, logger: quiet() });
    expect(auto.ok, JSON.stringify(auto.findings)).toBe(true);
    expect(auto.runtime).toMatchObject({ name: 'process', unsafe: false });
    expect(auto.runtime!.reason).toMatch(/^auto: no Docker engine answers/);
    const forced = await validateGame(pong, { runtime: 'docker', docker, logger: quiet() });
    expect(forced.ok).toBe(false);
    expect(rules(forced)).toEqual(['runtime']);
    expect(forced.findings[0].message).toMatch(/no Docker engine answers/);
  }, 60_000);

  it('FAILS where the process runtime cannot isolate the game, unless unsafeWeakSandbox (then says UNSAFE)', async () => {
    const noBwrap = { bwrapPath: join(tmpdir(), `no-bwrap-${process.pid}`) }; // a kernel sandbox this machine "lacks"
    const refused = await validateGame(pong, { runtime: 'process', process: noBwrap, smokeMs: 0, logger: quiet() });
    expect(refused.ok).toBe(false);
    expect(rules(refused)).toEqual(['runtime']);
    expect(refused.findings[0].message).toMatch(/cannot isolate.*--unsafe-weak-sandbox/s);
    const unsafe = await validateGame(pong, { runtime: 'process', process: noBwrap, unsafeWeakSandbox: true, smokeMs: 0, logger: quiet() });
    expect(unsafe.runtime).toMatchObject({ name: 'process', unsafe: true });
    expect(formatGateReport(unsafe)).toMatch(/^runtime: process .*UNSAFE/m);
  }, 60_000);

  it.skipIf(!dockerUp)('auto with a reachable Docker engine but no runner image FAILS with the command that builds it', async () => {
    const image = `parlor-runner:gate-missing-${process.pid}`;
    const r = await validateGame(pong, { runtime: 'auto', docker: { image }, logger: quiet() });
    expect(r.ok).toBe(false);
    expect(rules(r)).toEqual(['runtime']);
    expect(r.findings[0].message).toContain(`build-runner-image.sh ${image}`);
    expect(r.runtime).toBeNull();
    expect(r.smoke).toBeNull();
  }, 60_000);
});
