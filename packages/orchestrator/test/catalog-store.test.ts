/**
 * The catalog's store, artifacts and upload checks on real files: SQLite migrations at open and
 * reopen, the deterministic artifact tar and the content-addressed store, the upload caps and
 * hostile archive entries.
 */
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { list as listTar } from 'tar';
import { ArtifactStore, packArtifact, sha256Hex } from '../src/catalog/artifacts.js';
import { CatalogError } from '../src/catalog/errors.js';
import { MIGRATIONS } from '../src/catalog/migrations.js';
import { openSqliteStore } from '../src/catalog/sqlite-store.js';
import { unpackUpload } from '../src/catalog/upload.js';
import { gzipFolder, manyFiles, rawUpload, removeTemps, SPRITE, spriteGame, tempDir } from './catalog-helpers.js';

afterAll(removeTemps);

const version = (slug: string, v: string, sha: string, requestId: string) => ({
  slug, version: v, sha256: sha, size: 10, squishVersion: 1, publishedAt: 1000, publishedBy: 'alice', sourceSha256: 'src-' + sha, requestId,
  gate: { passed: true, findings: [], runtime: 'process', text: 'ok' },
});
const game = (slug: string) => ({ slug, name: 'Pong', description: '', tags: [], show: true, access: { requiresAuth: false, minRole: null }, createdAt: 1, updatedAt: 1 });
const request = (id: string, slug: string, v: string) => ({ id, slug, version: v, state: 'PENDING' as const, publisher: 'alice', error: null, sha256: null, createdAt: 1, updatedAt: 1 });

describe('SQLite catalog store', () => {
  it('one process owns a catalog database: a second open is refused with the reason, and works once the first is closed', async () => {
    const file = join(tempDir(), 'catalog.db');
    const first = openSqliteStore(file);
    expect(() => openSqliteStore(file)).toThrow(/another process has it open/);
    await first.close();
    const second = openSqliteStore(file);
    await second.close();
  });

  it('applies its migrations at open (WAL, foreign keys) and keeps every row across a reopen', async () => {
    const file = join(tempDir(), 'catalog.db');
    const store = openSqliteStore(file);
    await store.createRequest(request('r1', 'pong', '1.0.0'));
    const sha = 'a'.repeat(64);
    expect((await store.commitPublish(version('pong', '1.0.0', sha, 'r1'), game('pong'))).outcome).toBe('published');
    await store.applyChange({ env: 'prod', slug: 'pong', version: '1.0.0', previous: null, action: 'promote', by: 'admin', at: 5 });
    await store.close();

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    raw.close();

    const again = openSqliteStore(file);
    expect(await again.getVersion('pong', '1.0.0')).toMatchObject({ sha256: sha, requestId: 'r1', gate: { passed: true } });
    expect(await again.getRequest('r1')).toMatchObject({ state: 'PUBLISHED', sha256: sha });
    expect(await again.getPin('prod', 'pong')).toMatchObject({ version: '1.0.0' });
    expect(await again.history('prod')).toEqual([{ env: 'prod', slug: 'pong', version: '1.0.0', previous: null, action: 'promote', by: 'admin', at: 5 }]);
    // one version per slug@version: another artifact conflicts, the same one is idempotent
    await again.createRequest(request('r2', 'pong', '1.0.0'));
    expect((await again.commitPublish(version('pong', '1.0.0', 'b'.repeat(64), 'r2'), game('pong'))).outcome).toBe('conflict');
    expect(await again.getRequest('r2')).toMatchObject({ state: 'PENDING' });
    expect((await again.commitPublish(version('pong', '1.0.0', sha, 'r2'), game('pong'))).outcome).toBe('same');
    // a pin must name a published version (foreign key)
    await expect(again.applyChange({ env: 'prod', slug: 'pong', version: '9.9.9', previous: null, action: 'promote', by: 'x', at: 6 })).rejects.toThrow(/FOREIGN KEY/);
    expect(await again.history('prod')).toHaveLength(1);
    // unfinished requests fail at recovery
    await again.createRequest(request('r3', 'pong', '2.0.0'));
    expect(await again.failUnfinished({ code: 'INTERRUPTED', message: 'x' }, 7)).toBe(1);
    expect(await again.getRequest('r3')).toMatchObject({ state: 'FAILED', error: { code: 'INTERRUPTED' } });
    await again.close();
  });

  it('refuses a database migrated by a newer parlor', async () => {
    const file = join(tempDir(), 'catalog.db');
    (await openSqliteStore(file).close());
    const raw = new Database(file);
    raw.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    raw.close();
    expect(() => openSqliteStore(file)).toThrow(/catalog\.db.*migration 999, newer than this parlor knows/);
  });
});

describe('artifacts', () => {
  it('packArtifact: same files → same bytes (sorted, mtime 0, 0644/0755, no owners), wherever and whenever they are', async () => {
    const a = spriteGame('same');
    const b = spriteGame('same');
    writeFileSync(join(b, 'label.ts'), readFileSync(join(a, 'label.ts')), { mode: 0o600 });
    const pa = await packArtifact(a);
    const pb = await packArtifact(b);
    expect(pb.sha256).toBe(pa.sha256);
    expect(pa.bytes.equals(pb.bytes)).toBe(true);
    expect(pa.sha256).toBe(sha256Hex(pa.bytes));
    expect(pa.size).toBe(pa.bytes.length);
    const entries: { path: string; mode: number; mtime: number; uid: number }[] = [];
    const file = join(tempDir(), 'a.tar');
    writeFileSync(file, pa.bytes);
    await listTar({ file, onReadEntry: (e) => void entries.push({ path: e.path, mode: e.mode ?? -1, mtime: e.mtime?.getTime() ?? 0, uid: e.uid ?? 0 }) });
    expect(entries.map((e) => e.path)).toEqual(['index.ts', 'label.ts', 'star.svg']);
    expect(entries.every((e) => e.mode === 0o644 && e.mtime === 0 && e.uid === 0)).toBe(true);
    expect((await packArtifact(spriteGame('other'))).sha256).not.toBe(pa.sha256);
  });

  it('stores content-addressed, once, at <sha[0..2]>/<sha>.tar; never serves temporary files', async () => {
    const dir = tempDir();
    const store = new ArtifactStore(dir);
    const bytes = (await packArtifact(SPRITE)).bytes;
    const first = store.put(bytes);
    expect(first.path).toBe(join(dir, first.sha256.slice(0, 2), `${first.sha256}.tar`));
    const mtime = statSync(first.path).mtimeMs;
    expect(store.put(Buffer.from(bytes)).path).toBe(first.path);
    expect(statSync(first.path).mtimeMs).toBe(mtime);
    expect(readdirSync(join(dir, first.sha256.slice(0, 2)))).toEqual([`${first.sha256}.tar`]);
    expect(store.read(first.sha256)!.equals(bytes)).toBe(true);
    expect(store.has('0'.repeat(64))).toBe(false);
    expect(store.path('../../etc/passwd')).toBeUndefined();
    writeFileSync(join(dir, first.sha256.slice(0, 2), '.tmp-deadbeef'), 'partial');
    expect(store.removeTemporaryFiles()).toBe(1);
    expect(store.has(first.sha256)).toBe(true);
  });
});

describe('upload checks', () => {
  const refused = async (upload: Buffer, code: string, message: RegExp, limits = {}) => {
    const err = await unpackUpload(upload, limits, tempDir()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogError);
    expect(err).toMatchObject({ code, status: code === 'UPLOAD_TOO_LARGE' ? 413 : 400 });
    expect((err as Error).message).toMatch(message);
  };

  it('unpacks a game folder with its digest (the same folder → the same digest)', async () => {
    const parent = tempDir();
    const u = await unpackUpload(await gzipFolder(SPRITE), {}, parent);
    expect(readdirSync(u.dir).sort()).toEqual(['index.ts', 'label.ts', 'star.svg']);
    expect(u.files).toBe(3);
    const again = await unpackUpload(await gzipFolder(spriteGame('sprite')), {}, parent);
    expect(again.sourceSha256).not.toBe(u.sourceSha256); // label.ts differs from the fixture's
    expect((await unpackUpload(await gzipFolder(SPRITE), {}, parent)).sourceSha256).toBe(u.sourceSha256);
  });

  it('413 over the compressed or the uncompressed cap (a gzip bomb stops at the cap)', async () => {
    const upload = await gzipFolder(SPRITE);
    await refused(upload, 'UPLOAD_TOO_LARGE', /over the cap of 100 bytes gzip'd/, { maxCompressedBytes: 100 });
    await refused(rawUpload([{ path: 'zeros.bin', body: Buffer.alloc(8 * 1024 * 1024) }]), 'UPLOAD_TOO_LARGE', /unpacks to over 1048576 bytes/, { maxUnpackedBytes: 1024 * 1024 });
  });

  it('400 naming the entry: ../, absolute paths, symlinks, hard links, devices; too many files; not a gzip tar', async () => {
    const dir = tempDir();
    const parent = tempDir();
    await refused(rawUpload([{ path: 'index.ts', body: 'x' }, { path: 'a/../../evil.ts', body: 'x' }]), 'BAD_UPLOAD', /"a\/..\/..\/evil.ts" escapes the game folder/);
    await refused(rawUpload([{ path: '../evil.ts', body: 'x' }]), 'BAD_UPLOAD', /"..\/evil.ts" escapes/);
    await refused(rawUpload([{ path: '/etc/cron.d/evil', body: 'x' }]), 'BAD_UPLOAD', /"\/etc\/cron.d\/evil" is an absolute path/);
    await refused(rawUpload([{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), 'BAD_UPLOAD', /"link" is a SymbolicLink/);
    await refused(rawUpload([{ path: 'hard', type: 'Link', linkpath: 'index.ts' }]), 'BAD_UPLOAD', /"hard" is a Link/);
    await refused(rawUpload([{ path: 'tty', type: 'CharacterDevice' }]), 'BAD_UPLOAD', /"tty" is a CharacterDevice/);
    // a real folder holding a symlink, archived as a publisher's tar would
    writeFileSync(join(dir, 'index.ts'), 'export {};');
    symlinkSync('/etc/passwd', join(dir, 'secrets'));
    await refused(await gzipFolder(dir), 'BAD_UPLOAD', /"\.\/secrets" is a SymbolicLink/);
    await refused(await gzipFolder(manyFiles(30)), 'BAD_UPLOAD', /over 20 files/, { maxFiles: 20 });
    await refused(Buffer.from('not gzip at all'), 'BAD_UPLOAD', /not gzip data/);
    await refused((await import('node:zlib')).gzipSync(Buffer.from('x'.repeat(2000))), 'BAD_UPLOAD', /not a (valid )?tar/);
    // nothing was written for the refused uploads
    expect(readdirSync(parent)).toEqual([]);
    expect(existsSync(join(tempDir(), '..', 'evil.ts'))).toBe(false);
  });
});
