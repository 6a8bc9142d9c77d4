/**
 * `parlor token` from source: the token it prints verifies with the secret file's first secret
 * (HS256, sub the user, roles the roles, the lifetime asked), and its mistakes are one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../../..');
const cli = join(repo, 'packages/server/src/cli/cli.ts');
const SECRET = 'a-token-test-secret-that-is-long-enough-for-hs256';
const dir = mkdtempSync(join(tmpdir(), 'parlor-token-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function token(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'token', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('parlor token', () => {
  it('prints an HS256 token of the user and roles, signed with the first secret of the file', async () => {
    const file = join(dir, 'identity.secret');
    writeFileSync(file, `# the servers' --identity-secret-file\n${SECRET}\nan-older-secret-of-a-rotation-also-32-bytes-long\n`);
    const r = token(['--secret-file', file, '--user', 'alice', '--role', 'member', '--role', 'moderator', '--expires', '2h']);
    expect(r.status, r.stderr).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(SECRET), { algorithms: ['HS256'] });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'alice', roles: ['member', 'moderator'] });
    expect(payload.exp! - payload.iat!).toBe(7200);
  }, 60_000);

  it('a missing file, a short secret or a bad lifetime is one line naming the flag', () => {
    const short = join(dir, 'short.secret');
    writeFileSync(short, 'too-short\n');
    for (const [args, says] of [
      [['--secret-file', join(dir, 'none'), '--user', 'a'], /--secret-file .*none: cannot read it \(ENOENT\)/],
      [['--secret-file', short, '--user', 'a'], /--secret-file .*short\.secret: its first secret is 9 bytes; an HS256 secret needs at least 32/],
      [['--secret-file', short, '--user', 'a', '--expires', 'soon'], /--expires "soon": a number and s, m, h or d/],
    ] as const) {
      const r = token([...args]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(says);
    }
  }, 60_000);
});
