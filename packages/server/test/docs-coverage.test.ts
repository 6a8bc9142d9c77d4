/**
 * Every error code and close code the packages export is documented: in docs/ERRORS.md (each
 * code, backticked) and, for the game's close codes, in the README's close-code table with the
 * client's retry policy that squish's CLOSE_CODES table gives it. Also checks the close-code
 * ranges are disjoint and each protocol's codes stay in its own range, and that each package's
 * error codes carry its one prefix.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HTTP_CAUSES } from '../src/http/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const errorsDoc = readFileSync(`${root}docs/ERRORS.md`, 'utf8');
const readme = readFileSync(`${root}README.md`, 'utf8');

const PACKAGES = ['@parlor/squish', '@parlor/server', '@parlor/client', '@parlor/fleet-agent', '@parlor/orchestrator'] as const;
/** The one prefix of each package's `*ErrorCode` values. */
const PREFIX: Record<string, string> = {
  SquishErrorCode: 'SQUISH_',
  ServerErrorCode: 'SERVER_',
  ClientErrorCode: 'CLIENT_',
  FleetAgentErrorCode: 'FLEET_AGENT_',
  OrchestratorErrorCode: 'ORCHESTRATOR_',
  FleetClientErrorCode: 'ORCHESTRATOR_CLIENT_',
};

type Exports = Record<string, unknown>;
const load = async (): Promise<Array<[string, Exports]>> => Promise.all(PACKAGES.map(async (p) => [p, (await import(p)) as Exports] as [string, Exports]));

/** Exported objects whose name ends in `suffix` and whose values are all of `type`. */
function codeObjects(mods: Array<[string, Exports]>, suffix: RegExp, type: 'string' | 'number'): Array<{ pkg: string; name: string; values: Array<string | number> }> {
  const out: Array<{ pkg: string; name: string; values: Array<string | number> }> = [];
  for (const [pkg, m] of mods) {
    for (const [name, v] of Object.entries(m)) {
      if (!suffix.test(name) || !v || typeof v !== 'object' || Array.isArray(v)) continue;
      const values = Object.values(v);
      if (values.length > 0 && values.every((x) => typeof x === type)) out.push({ pkg, name, values: values as Array<string | number> });
    }
  }
  return out;
}

const documented = (text: string, code: string | number): boolean => text.includes(`\`${code}\``);

describe('docs coverage of error and close codes', () => {
  it('every exported error code, cause and ack code is in docs/ERRORS.md', async () => {
    const mods = await load();
    const objects = codeObjects(mods, /(ErrorCode|Cause|AckCode)$/, 'string');
    // the walk finds every package's codes (a renamed export must not silently drop out)
    expect(objects.map((o) => o.name).sort()).toEqual(expect.arrayContaining(['ClientErrorCode', 'FleetAckCode', 'FleetAgentErrorCode', 'FleetCause', 'FleetClientErrorCode', 'OrchestratorErrorCode', 'ServerErrorCode', 'SquishErrorCode']));
    const missing = objects.flatMap((o) => o.values.filter((c) => !documented(errorsDoc, c)).map((c) => `${o.pkg} ${o.name}: ${c}`));
    expect(missing).toEqual([]);
  });

  it('every refusal of the server’s HTTP API is in docs/ERRORS.md with its status', () => {
    const missing = Object.entries(HTTP_CAUSES)
      .filter(([code, { status }]) => !errorsDoc.includes(`| \`${code}\` | ${status} |`))
      .map(([code, { status }]) => `${code} ${status}`);
    expect(missing).toEqual([]);
  });

  it('each package’s error codes carry its one prefix', async () => {
    const wrong = codeObjects(await load(), /ErrorCode$/, 'string').flatMap((o) => {
      const prefix = PREFIX[o.name];
      if (prefix === undefined) return [`${o.pkg} ${o.name}: no prefix declared for it in this test`];
      return o.values.filter((c) => !String(c).startsWith(prefix)).map((c) => `${o.pkg} ${o.name}: ${c}`);
    });
    expect(wrong).toEqual([]);
  });

  it('every close code is in docs/ERRORS.md, each with its retry policy as the tables declare it', async () => {
    const mods = await load();
    const objects = codeObjects(mods, /CloseCode$/, 'number');
    expect(objects.map((o) => o.name).sort()).toEqual(['CloseCode', 'FleetCloseCode']);
    const missing = objects.flatMap((o) => o.values.filter((c) => !documented(errorsDoc, c)).map((c) => `${o.pkg} ${o.name}: ${c}`));
    expect(missing).toEqual([]);
    const squish = Object.fromEntries(mods)['@parlor/squish'] as typeof import('@parlor/squish');
    const fleet = Object.fromEntries(mods)['@parlor/fleet-agent'] as typeof import('@parlor/fleet-agent');
    for (const r of squish.CLOSE_CODES) {
      expect(errorsDoc, `docs/ERRORS.md row of ${r.code}`).toContain(`| \`${r.code}\` | \`${r.name}\` | ${r.retry} |`);
    }
    for (const r of fleet.FLEET_CLOSE_CODES) {
      expect(errorsDoc, `docs/ERRORS.md row of ${r.code}`).toContain(`| \`${r.code}\` | \`${r.name}\` | ${r.sentBy} | ${r.retry} |`);
    }
  });

  it('the README close-code table lists every game close code with the client retry of CLOSE_CODES', async () => {
    const { CLOSE_CODES } = await import('@parlor/squish');
    const rows = new Map<number, string>();
    for (const line of readme.split('\n')) {
      const m = /^\| ([\d /]+) \|.*\| (\w+) \|$/.exec(line);
      if (!m) continue;
      for (const c of m[1].split('/')) rows.set(Number(c.trim()), m[2]);
    }
    const wrong = CLOSE_CODES.filter((r) => rows.get(r.code) !== r.retry).map((r) => `${r.code}: README says ${rows.get(r.code) ?? 'nothing'}, CLOSE_CODES says ${r.retry}`);
    expect(wrong).toEqual([]);
  });

  it('close-code ranges are disjoint; every code has a table row and lies in its protocol’s range', async () => {
    const { CLOSE_CODE_RANGES, CLOSE_CODES, CloseCode } = await import('@parlor/squish');
    const { FLEET_CLOSE_CODES, FleetCloseCode } = await import('@parlor/fleet-agent');
    const ranges = Object.entries(CLOSE_CODE_RANGES);
    for (const [a, ra] of ranges) {
      expect(ra.min, a).toBeLessThanOrEqual(ra.max);
      for (const [b, rb] of ranges) if (a !== b) expect(ra.max < rb.min || rb.max < ra.min, `${a} and ${b} overlap`).toBe(true);
    }
    const inRange = (c: number, ...names: Array<keyof typeof CLOSE_CODE_RANGES>): boolean => names.some((n) => c >= CLOSE_CODE_RANGES[n].min && c <= CLOSE_CODE_RANGES[n].max);
    for (const [name, c] of Object.entries(CloseCode)) {
      expect(inRange(c, 'rfc6455', 'client', 'game'), `CloseCode.${name} = ${c}`).toBe(true);
      expect(CLOSE_CODES.some((r) => r.code === c && r.name === name), `CLOSE_CODES row of ${name}`).toBe(true);
    }
    for (const r of CLOSE_CODES) expect(inRange(r.code, 'rfc6455', 'client', 'game'), `${r.name} = ${r.code}`).toBe(true);
    expect(new Set(CLOSE_CODES.map((r) => r.code)).size).toBe(CLOSE_CODES.length);
    for (const [name, c] of Object.entries(FleetCloseCode)) {
      expect(inRange(c, 'fleet'), `FleetCloseCode.${name} = ${c}`).toBe(true);
      expect(FLEET_CLOSE_CODES.some((r) => r.code === c && r.name === name), `FLEET_CLOSE_CODES row of ${name}`).toBe(true);
    }
    expect(FLEET_CLOSE_CODES.length).toBe(Object.keys(FleetCloseCode).length);
  });

  it('every exported error class is a ParlorError with its own cross-copy brand, documented in docs/ERRORS.md', async () => {
    const mods = await load();
    const { ParlorError } = (await import('@parlor/squish')) as typeof import('@parlor/squish');
    const classes = mods.flatMap(([pkg, m]) =>
      Object.entries(m)
        .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error)
        .map(([name, v]) => ({ pkg, name, cls: v as new (...args: never[]) => Error })),
    );
    const problems: string[] = [];
    for (const { pkg, name, cls } of classes) {
      if (!(cls.prototype instanceof ParlorError) && cls !== ParlorError) problems.push(`${pkg} ${name}: not a ParlorError`);
      else if (!Object.hasOwn(cls, 'brand')) problems.push(`${pkg} ${name}: no static brand of its own`);
      if (!documented(errorsDoc, name)) problems.push(`${pkg} ${name}: not in docs/ERRORS.md`);
    }
    expect(classes.length).toBeGreaterThan(8);
    expect(problems).toEqual([]);
  });
});
