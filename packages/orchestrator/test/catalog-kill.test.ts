/**
 * kill -9 of the catalog at any moment of a publish leaves either no version or a complete one:
 * a real catalog process (fixtures/catalog/publisher.ts) publishes and is killed with SIGKILL at
 * varied points — on each pipeline stage it prints, or a fraction of the way to the next stage as
 * its own progress lines of an unkilled run measured it — then the test reopens the catalog and
 * checks: no request left PENDING/PROCESSING, each version complete (artifact present, its bytes
 * hashing to the version's sha256), no temporary files, every earlier version kept.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createPublishGate } from '@parlor/server/gate';
import { sha256Hex } from '../src/catalog/artifacts.js';
import { createCatalog } from '../src/catalog/service.js';
import { gzipFolder, removeTemps, repo, spriteGame, tempDir } from './catalog-helpers.js';

afterAll(removeTemps);

const CHILD = 'packages/orchestrator/test/fixtures/catalog/publisher.ts';
const STAGES = ['open', 'recorded', 'processing', 'gated', 'stored', 'published'] as const;
type Stage = (typeof STAGES)[number];
const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });

interface Run {
  /** Stage → ms since the child started, as it printed them (`end` too). */
  at: Map<string, number>;
  killed: boolean;
}

/** Runs the publisher child; with `kill`, SIGKILLs its process group `delayMs` after it prints `kill.stage`. */
function runChild(dir: string, upload: string, version: string, kill?: { stage: Stage; delayMs: number }): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, upload, 'crash', version], { cwd: repo, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  const at = new Map<string, number>();
  let killed = false;
  const killNow = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    process.kill(-child.pid!, 'SIGKILL');
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, name, ms] = line.split(' ');
    if (kind !== 'stage' && kind !== 'end') return;
    at.set(kind === 'end' ? 'end' : name!, Number(ms));
    if (kill && kind === 'stage' && name === kill.stage) {
      if (kill.delayMs <= 0) killNow();
      else setTimeout(killNow, kill.delayMs);
    }
  });
  return new Promise((resolvePromise, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolvePromise({ at, killed });
      else if (code === 0) resolvePromise({ at, killed: false });
      else reject(new Error(`publisher exited ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}

/** Temporary files of a catalog folder: uploads being published, artifacts being written. */
function temporaryFiles(dir: string): string[] {
  const tmp = readdirSync(join(dir, 'tmp')).map((f) => `tmp/${f}`);
  const artifacts = readdirSync(join(dir, 'artifacts'), { recursive: true }).map(String).filter((f) => f.split('/').pop()!.startsWith('.tmp-'));
  return [...tmp, ...artifacts];
}

describe('catalog kill -9 during a publish', () => {
  it('leaves either no version or a complete one, at every point of the pipeline', async () => {
    const dir = tempDir();
    const upload = join(tempDir(), 'upload.tgz');
    writeFileSync(upload, await gzipFolder(spriteGame('crash')));

    // An unkilled run: the pipeline's stage times, from the child's own progress lines.
    const calibration = await runChild(dir, upload, '0.0.1');
    expect([...calibration.at.keys()]).toEqual([...STAGES, 'end']);
    const gap = (s: Stage): number => {
      const next = STAGES[STAGES.indexOf(s) + 1] ?? 'end';
      return Math.max(0, calibration.at.get(next)! - calibration.at.get(s)!);
    };

    const published = new Map<string, string>([['0.0.1', '']]);
    let killedRuns = 0;
    const outcomes = new Set<string>();
    const N = 10;
    for (let i = 0; i < N; i++) {
      const stage = STAGES[i % STAGES.length]!;
      const fraction = (Math.floor(i / STAGES.length) + (i % 3)) / 4; // 0, ¼, ½, ¾ of the way to the next stage
      const version = `1.0.${i}`;
      const run = await runChild(dir, upload, version, { stage, delayMs: Math.round(gap(stage) * fraction) });
      if (run.killed) killedRuns++;

      const catalog = await createCatalog({ dir, gate, publicUrl: 'http://catalog.test', logger: 'silent' });
      try {
        expect(temporaryFiles(dir)).toEqual([]);
        const requests = await catalog.listPublishRequests('crash');
        expect(requests.filter((r) => r.state === 'PENDING' || r.state === 'PROCESSING')).toEqual([]);
        const mine = requests.filter((r) => r.version === version);
        expect(mine.length).toBeLessThanOrEqual(1);
        const versions = await catalog.listVersions('crash').catch(() => []);
        const v = versions.find((x) => x.version === version);
        if (v) {
          const bytes = readFileSync(catalog.artifactPath(v.sha256)!);
          expect(sha256Hex(bytes)).toBe(v.sha256);
          expect(bytes.length).toBe(v.size);
          expect(mine[0]).toMatchObject({ state: 'PUBLISHED', sha256: v.sha256 });
          published.set(version, v.sha256);
          outcomes.add('version');
        } else {
          expect(mine.every((r) => r.state === 'FAILED' && r.error?.code === 'INTERRUPTED')).toBe(true);
          outcomes.add('none');
        }
        // every version published before is kept, complete
        expect(new Set(versions.map((x) => x.version))).toEqual(new Set(published.keys()));
        for (const x of versions) expect(sha256Hex(readFileSync(catalog.artifactPath(x.sha256)!))).toBe(x.sha256);
      } finally {
        await catalog.close();
      }
    }
    // the loop did kill mid-publish, and saw both outcomes
    expect(killedRuns).toBeGreaterThanOrEqual(N / 2);
    expect([...outcomes].sort()).toEqual(['none', 'version']);
  }, 300_000);
});
