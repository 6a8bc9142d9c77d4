import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scanSource, validateGame, type GateReport } from '@parlor/server';
import { captureLogger } from './helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const hostile = (g: string) => fileURLToPath(new URL(`./fixtures/hostile/${g}.ts`, import.meta.url));
const quiet = () => captureLogger().logger;
const rules = (r: GateReport) => [...new Set(r.findings.map((f) => f.rule))].sort();

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
      spawnSync(process.execPath, ['--import', 'tsx', `${repo}packages/server/src/cli.ts`, 'validate', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    const bad = cli(hostile('proto'), '--runtime', 'process');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/proto\.ts:7:6: error \[prototype-pollution\]/);
    expect(bad.stdout).toMatch(/^FAIL /m);
    const good = cli(`${repo}examples/pong`, '--json', '--smoke-ms', '500', '--runtime', 'process');
    expect(good.status, good.stderr).toBe(0);
    const report = JSON.parse(good.stdout) as GateReport;
    expect(report).toMatchObject({ ok: true, findings: [], metadata: { name: 'Pong' } });
  });
});
