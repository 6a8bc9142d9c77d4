/**
 * The identity flags of the `parlor` CLI from source: `parlor serve --identity-secret-file` verifies
 * players' tokens (the game sees the user), and a flag mistake is one line naming the flag.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@parlor/squish';
import { TestClient, waitFor } from './helpers.js';

const repo = resolve(__dirname, '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');
const whoami = resolve(__dirname, 'fixtures/identity/whoami.ts');
const SECRET = 'a-cli-test-secret-that-is-long-enough-for-hs256';
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'parlor-identity-cli-'));
  dirs.push(d);
  return d;
}

function run(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('parlor identity flags', () => {
  it('parlor serve --identity-secret-file: a signed player is known to the game, a forged token is refused (4498)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'games', 'who'), { recursive: true });
    cpSync(whoami, join(dir, 'games', 'who', 'index.ts'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `# rotated monthly\n${SECRET}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--games', join(dir, 'games'), '--port', '0', '--host', '127.0.0.1', '--identity-secret-file', secretFile], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /"url":"http:\/\/127\.0\.0\.1:\d+"/.test(out) || child.exitCode !== null, 'parlor serve listening', 60_000);
    const base = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
    expect(base, out).toBeTruthy();
    const ws = `${base!.replace(/^http/, 'ws')}/parlor/ws`;
    const sign = (secret: string) => new SignJWT({ roles: ['member'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('cli-user').setExpirationTime('5m').sign(new TextEncoder().encode(secret));

    const player = new TestClient(ws);
    await player.opened;
    await player.joinAndSync('who', { token: await sign(SECRET) });
    await waitFor(() => player.texts().some((t) => t.includes('cli-user [member]')), 'the game knows the user');
    player.close();

    const forger = new TestClient(ws);
    await forger.opened;
    forger.join('who', { token: await sign('a-forged-secret-that-is-also-long-enough') });
    expect((await forger.closed()).code).toBe(CloseCode.TOKEN_REJECTED);
    child.kill('SIGTERM');
  }, 90_000);

  it('a secret file that is missing or too short, or an issuer without keys, is one line naming the flag', () => {
    const dir = tempDir();
    const missing = run(['dev', whoami, '--port', '0', '--identity-secret-file', join(dir, 'nope')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^parlor: --identity-secret-file \S+nope: cannot read it \(ENOENT\)$/);
    writeFileSync(join(dir, 'short'), 'too-short\n');
    const short = run(['serve', '--games', dir, '--identity-secret-file', join(dir, 'short')]);
    expect(short.status).toBe(1);
    expect(short.stderr.trim()).toMatch(/^parlor: --identity-secret-file \S+short: secret #1 is 9 bytes; an HS256 secret needs at least 32/);
    const issuer = run(['serve', '--games', dir, '--identity-issuer', 'https://id.example']);
    expect(issuer.status).toBe(1);
    expect(issuer.stderr.trim()).toMatch(/^parlor: --identity-issuer \/ --identity-audience need keys/);
  }, 180_000);
});
