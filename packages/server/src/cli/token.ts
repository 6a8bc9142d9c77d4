/**
 * `parlor token --secret-file <path> --user alice [--role member]… [--expires 1h]`: prints an HS256
 * identity token (a JWT: `sub` the user, `roles` the roles) signed with the first secret of the file
 * a server checks tokens with (`--identity-secret-file`), for trying a game that needs sign-in
 * (`/play/<game>?token=<token>`). For development: a real deployment's tokens come from its sign-in.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { SignJWT } from 'jose';
import { fail } from './common.js';

/** Flags of `parlor token`. */
interface TokenFlags {
  secretFile: string;
  user: string;
  role: string[];
  expires: string;
  issuer?: string;
  audience?: string;
}

/** The first secret of a secret file (as `--identity-secret-file` reads it), or a one-line exit naming the file. */
function firstSecret(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`--secret-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const secret = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!secret) fail(`--secret-file ${file}: no secret in it (one per line, at least 32 bytes)`);
  if (Buffer.byteLength(secret) < 32) fail(`--secret-file ${file}: its first secret is ${Buffer.byteLength(secret)} bytes; an HS256 secret needs at least 32`);
  return secret;
}

/** `parlor token`: see the file's opening comment. */
export function tokenCommand(): Command {
  return new Command('token')
    .description("print a signed identity token (HS256 JWT) for a player, from the secret file a server checks tokens with (development: try a game that needs sign-in with /play/<game>?token=…)")
    .requiredOption('--secret-file <path>', "the server's --identity-secret-file (its first secret signs)")
    .requiredOption('--user <id>', "the player's user id (the token's sub)")
    .option('--role <role>', 'a role of the player (repeatable; the roles claim)', (v: string, prev: string[] = []) => [...prev, v], [])
    .addOption(new Option('--expires <duration>', 'lifetime: a number and s, m, h or d').default('1h'))
    .option('--issuer <iss>', 'the iss claim (when the server checks --identity-issuer)')
    .option('--audience <aud>', 'the aud claim (when the server checks --identity-audience)')
    .addHelpText('after', `
Example:
  parlor token --secret-file parlor-data/demo/identity.secret --user alice --role member`)
    .action(async (opts: TokenFlags) => {
      if (!/^\d+[smhd]$/.test(opts.expires)) fail(`--expires ${JSON.stringify(opts.expires.slice(0, 20))}: a number and s, m, h or d (e.g. 1h)`);
      if (opts.user === '' || opts.user.length > 256) fail('--user: 1 to 256 characters');
      const secret = firstSecret(opts.secretFile);
      let jwt = new SignJWT({ roles: opts.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(opts.user).setIssuedAt().setExpirationTime(opts.expires);
      if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
      if (opts.audience) jwt = jwt.setAudience(opts.audience);
      console.log(await jwt.sign(new TextEncoder().encode(secret)));
    });
}
