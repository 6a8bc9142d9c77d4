/**
 * The publish gate a catalog runs (`createPublishGate` of `@parlor/server/gate`), on real game
 * folders in the process runtime's sandbox: its report in squish's PublishReport shape with
 * findings at file:line:col, and the artifact folder it builds, which the server's loader loads.
 */
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGame } from '@parlor/server';
import { createPublishGate } from '@parlor/server/gate';
import { removeTemps, repo, SPRITE, tempDir } from './catalog-helpers.js';

afterAll(removeTemps);
const signal = new AbortController().signal;

describe('publish gate', () => {
  it('passes a game with its smoke run and builds index.cjs, its assets and parlor-artifact.json, which the loader loads', async () => {
    const upload = join(tempDir(), 'upload');
    cpSync(SPRITE, upload, { recursive: true });
    const { report, built } = await createPublishGate({ runtime: 'process', smokeMs: 1000, typeCheck: false })(upload, signal);
    expect(report, report.text).toMatchObject({ passed: true, runtime: 'process' });
    expect(report.text).not.toContain(upload);
    expect(built).toMatchObject({ squishVersion: 1, name: 'Sprite' });
    expect(built!.dir.startsWith(join(upload, '..'))).toBe(true);
    expect(readdirSync(built!.dir).sort()).toEqual(['index.cjs', 'parlor-artifact.json', 'star.svg']);
    expect(JSON.parse(readFileSync(join(built!.dir, 'parlor-artifact.json'), 'utf8'))).toEqual({ name: 'Sprite', squishVersion: 1, entry: 'index.cjs', assets: ['star.svg'] });
    expect(readFileSync(join(built!.dir, 'star.svg')).equals(readFileSync(join(SPRITE, 'star.svg')))).toBe(true);
    const game = await loadGame('sprite', { file: join(built!.dir, 'index.cjs') });
    expect(game.metadata).toMatchObject({ name: 'Sprite', tickRate: 30 });
    expect(game.assets.map((a) => a.id)).toEqual(['star']);
    expect(game.baseDir).toBe(built!.dir);
  });

  it('the same folder builds the same files wherever it is unpacked', async () => {
    const gate = createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false });
    const dirs = await Promise.all(
      ['a', 'b'].map(async (n) => {
        const upload = join(tempDir(), n);
        cpSync(join(repo, 'examples/pong'), upload, { recursive: true });
        return (await gate(upload, signal)).built!.dir;
      }),
    );
    expect(readFileSync(join(dirs[0]!, 'index.cjs'), 'utf8')).toBe(readFileSync(join(dirs[1]!, 'index.cjs'), 'utf8'));
    expect(readFileSync(join(dirs[0]!, 'index.cjs'), 'utf8')).not.toContain(dirs[0]!.split('/')[2]!);
  });

  it('fails a game that throws while loading, at file:line in its own source, with nothing built', async () => {
    const upload = tempDir();
    writeFileSync(
      join(upload, 'index.ts'),
      [
        "import { Game, Group, type GameMetadata, type Node } from '@parlor/squish';",
        'const table: Record<string, number> = {};',
        "if (table.x === undefined) throw new Error('the level table is missing');",
        'export default class Broken extends Game {',
        "  static override metadata(): GameMetadata { return { name: 'Broken' }; }",
        '  getLayers(): Node[] { return [new Group()]; }',
        '}',
        '',
      ].join('\n'),
    );
    const { report, built } = await createPublishGate({ runtime: 'process', smokeMs: 0, typeCheck: false })(upload, signal);
    expect(built).toBeUndefined();
    expect(report.passed).toBe(false);
    const load = report.findings.find((f) => f.rule === 'load');
    expect(load, report.text).toBeDefined();
    expect(load!.message).toContain('the level table is missing');
    expect(load!.at).toMatch(/^index\.ts:3:\d+$/);
  });

  it('stops at once on an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('closing'));
    await expect(createPublishGate()(SPRITE, ac.signal)).rejects.toThrow('closing');
  });
});
