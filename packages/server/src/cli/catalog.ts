/**
 * The catalog commands: `parlor publish <dir> --version 1.2.0`, `parlor promote pong@1.2.0 --env prod`,
 * `parlor rollback pong --env prod` and `parlor games [--env prod]`, built on `CatalogClient`.
 * A key comes from `--key-file` or the environment, never from a flag's value (flags show in `ps`).
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { inc } from 'semver';
import { ENV_RE, SLUG_RE, VERSION_RE, type CatalogGame, type ManifestChange, type PublishRequest } from '@parlor/squish';
import { ServerError, ServerErrorCode } from '../errors.js';
import { CatalogClient, type PublishProgress } from '../catalog/client.js';
import { CatalogClientError } from '../catalog/client-error.js';
import { formatBytes } from '../catalog/pack.js';
import { int, readKeyFile } from './common.js';

/** The orchestrator's default address (it runs the catalog by default). */
const DEFAULT_CATALOG_URL = 'http://127.0.0.1:7070';
/** The environments `parlor games` shows when no `--env` is given. */
const DEFAULT_ENVS = ['dev', 'staging', 'prod'];

interface CommonFlags {
  catalogUrl: string;
  keyFile?: string;
  json?: boolean;
}

/** Who needs which key: the key variable tried first. */
type KeyRole = 'publisher' | 'admin';

const KEY_HELP = `
The key: --key-file <path> (its first line that is not blank or a # comment), else the environment:
PARLOR_PUBLISHER_KEY or PARLOR_ADMIN_KEY (publish tries the publisher key first, promote and rollback
the admin key). Never a flag's value: a key in a command line shows in ps.`;

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--catalog-url <url>', 'the catalog: the orchestrator (or parlor-catalog) base URL').env('PARLOR_CATALOG_URL').default(DEFAULT_CATALOG_URL))
    .option('--key-file <path>', 'file holding the key (first line not blank or #); else PARLOR_PUBLISHER_KEY / PARLOR_ADMIN_KEY')
    .option('--json', 'print the result as JSON on stdout (errors too: {"error":{code,status,message}})');
}

/** The four catalog commands, in the order `parlor --help` lists them. */
export function catalogCommands(): Command[] {
  return [publishCommand(), promoteCommand(), rollbackCommand(), gamesCommand()];
}

function publishCommand(): Command {
  return withCommon(new Command('publish'))
    .argument('<dir>', "the game's folder")
    .description('publish a game folder to the catalog as slug@version: upload, then follow its publish request through the publish gate to PUBLISHED (exit 0) or FAILED (exit 1, with the findings at file:line)')
    .requiredOption('--version <version>', 'the version to publish (semver, e.g. 1.2.0 or 1.3.0-rc.1); published versions are immutable')
    .option('--slug <slug>', "the game's slug (default: package.json's name, else the folder's name, normalised to a-z, 0-9, -)")
    .option('--no-wait', 'return once uploaded (PENDING) without following the publish request')
    .addOption(new Option('--wait <seconds>', 'longest wait for the publish request to end').default(600).argParser(int('seconds', 1, 86_400)))
    .addHelpText('after', `${KEY_HELP}

Examples:
  parlor publish ./pong --version 1.2.0
  PARLOR_CATALOG_URL=https://fleet.example.com parlor publish . --version 1.3.0-rc.1 --key-file ~/.parlor/publisher.key
  parlor publish ./pong --version 1.2.0 --json      the ended publish request as JSON`)
    .action(async (dir: string, opts: CommonFlags & { version: string; slug?: string; wait: number | boolean }) => {
      const ctx = context(opts, 'publisher');
      if (!VERSION_RE.test(opts.version)) failWith(ctx, `--version ${opts.version}: not a version; use semver MAJOR.MINOR.PATCH with an optional pre-release (1.2.0, 1.3.0-rc.1)`);
      const slug = opts.slug ?? slugOf(dir, ctx);
      if (!SLUG_RE.test(slug)) failWith(ctx, `--slug ${slug}: lower-case letters, digits and '-', starting with a letter or digit, at most 64 characters`);
      ctx.target = `${slug}@${opts.version}`;
      const say = (line: string): void => {
        if (!opts.json) console.log(line);
      };
      let uploadBytes = 0;
      const onProgress = (p: PublishProgress): void => {
        if (p.phase === 'packed') {
          uploadBytes = p.uploadBytes;
          say(`packing ${p.files} file${p.files === 1 ? '' : 's'} (${formatBytes(p.bytes)}) from ${p.dir}`);
        } else if (p.phase === 'uploaded') {
          const again = p.request.state === 'PUBLISHED' ? ' (already published with this same content)' : '';
          say(`uploaded ${slug}@${opts.version} (${formatBytes(uploadBytes)} gzip'd): publish request ${p.request.id}${again}`);
        } else say(p.state === 'PUBLISHED' ? `PUBLISHED ${slug}@${opts.version} sha256:${p.request.sha256 ?? '?'}` : p.state === 'FAILED' ? failedLine(p.request) : p.state);
      };
      const waitMs = typeof opts.wait === 'number' ? opts.wait * 1000 : 600_000;
      const request = await run(ctx, () => ctx.client.publish(dir, slug, opts.version, { onProgress, wait: opts.wait !== false, waitMs }));
      if (opts.wait === false) say(`${request.state} (not followed: see GET /v1/publish-requests/${request.id})`);
      if (opts.json) console.log(JSON.stringify(request, null, 2));
      else if (request.state === 'FAILED') printFindings(request);
      process.exit(request.state === 'FAILED' ? 1 : 0);
    });
}

function promoteCommand(): Command {
  return withCommon(new Command('promote'))
    .argument('<slug@version>', 'the published version to pin, e.g. pong@1.2.0')
    .description("pin a published version in an environment's manifest (an admin key); rooms created after it run that version, running rooms keep theirs")
    .requiredOption('--env <env>', 'the environment (dev, staging, prod, …)')
    .addHelpText('after', `${KEY_HELP}

Examples:
  parlor promote pong@1.2.0 --env staging
  parlor promote pong@1.2.0 --env prod`)
    .action(async (target: string, opts: CommonFlags & { env: string }) => {
      const ctx = context(opts, 'admin');
      const at = target.lastIndexOf('@');
      const slug = target.slice(0, Math.max(0, at));
      const version = target.slice(at + 1);
      if (at <= 0 || !SLUG_RE.test(slug) || !VERSION_RE.test(version)) failWith(ctx, `${target}: want slug@version, e.g. pong@1.2.0`);
      checkEnv(ctx, opts.env);
      ctx.target = target;
      ctx.env = opts.env;
      const change = await run(ctx, () => ctx.client.promote(slug, version, opts.env));
      printChange(change, opts.json);
      process.exit(0);
    });
}

function rollbackCommand(): Command {
  return withCommon(new Command('rollback'))
    .argument('<slug>', 'the game, e.g. pong')
    .description('pin again the version an environment pinned before its current one (an admin key)')
    .requiredOption('--env <env>', 'the environment (dev, staging, prod, …)')
    .addHelpText('after', `${KEY_HELP}

Example:
  parlor rollback pong --env prod`)
    .action(async (slug: string, opts: CommonFlags & { env: string }) => {
      const ctx = context(opts, 'admin');
      if (!SLUG_RE.test(slug)) failWith(ctx, `${slug}: not a game slug (lower-case letters, digits and '-')`);
      checkEnv(ctx, opts.env);
      ctx.target = slug;
      ctx.env = opts.env;
      const change = await run(ctx, () => ctx.client.rollback(slug, opts.env));
      printChange(change, opts.json);
      process.exit(0);
    });
}

function gamesCommand(): Command {
  return withCommon(new Command('games'))
    .description('list the catalog\'s games: slug, name, versions (newest first), the version each environment runs, shown or hidden, and who may play')
    .option('--env <env>', `an environment to show (repeatable; default ${DEFAULT_ENVS.join(', ')})`, (v: string, prev: string[] = []) => [...prev, v])
    .addHelpText('after', `${KEY_HELP}

Examples:
  parlor games
  parlor games --env prod
  parlor games --json`)
    .action(async (opts: CommonFlags & { env?: string[] }) => {
      const ctx = context(opts, 'publisher');
      const envs = opts.env ?? DEFAULT_ENVS;
      for (const e of envs) checkEnv(ctx, e);
      const rows = await run(ctx, async () => {
        const [games, manifests] = await Promise.all([ctx.client.games(), Promise.all(envs.map((e) => ctx.client.manifest(e)))]);
        return Promise.all(
          games.map(async (g) => ({
            ...g,
            versions: (await ctx.client.versions(g.slug)).map((v) => v.version),
            manifests: Object.fromEntries(envs.map((e, i) => [e, manifests[i]!.games.find((m) => m.slug === g.slug)?.version ?? null])),
          })),
        );
      });
      if (opts.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log(`no games in the catalog at ${ctx.client.baseUrl} (publish one: parlor publish <dir> --version 1.0.0)`);
      else printTable(['SLUG', 'NAME', 'VERSIONS', ...envs.map((e) => e.toUpperCase()), 'SHOW', 'ACCESS'], rows.map((r) => [r.slug, r.name, versionsCell(r.versions), ...envs.map((e) => r.manifests[e] ?? '-'), r.show ? 'yes' : 'hidden', accessCell(r)]));
      process.exit(0);
    });
}

/** What an error line needs to name: the URL, where the key came from, the command's target. */
interface Context {
  client: CatalogClient;
  url: string;
  keySource: string;
  json: boolean;
  /** The key the command needs. */
  role: KeyRole;
  target?: string;
  env?: string;
}

function context(opts: CommonFlags, role: KeyRole): Context {
  const json = opts.json === true;
  const base = { url: opts.catalogUrl, keySource: '', json, role };
  const { key, source } = readKey(opts.keyFile, role, base);
  try {
    return { ...base, keySource: source, client: new CatalogClient({ baseUrl: opts.catalogUrl, key }) };
  } catch (err) {
    const what = err instanceof ServerError && /URL/.test(err.message) ? `--catalog-url: ${err.message}` : `${source}: ${(err as Error).message}`;
    return failWith(base, what);
  }
}

function readKey(file: string | undefined, role: KeyRole, ctx: { json: boolean }): { key: string; source: string } {
  if (file !== undefined) {
    const read = readKeyFile(file);
    if ('error' in read) return failWith(ctx, read.error);
    return { key: read.key, source: `the key in --key-file ${file}` };
  }
  const order = role === 'publisher' ? ['PARLOR_PUBLISHER_KEY', 'PARLOR_ADMIN_KEY'] : ['PARLOR_ADMIN_KEY', 'PARLOR_PUBLISHER_KEY'];
  for (const name of order) {
    const v = process.env[name]?.trim();
    if (v) return { key: v, source: name };
  }
  return failWith(ctx, `no key: give --key-file <path>, or set ${order[0]} (${role === 'publisher' ? 'a publisher or admin key' : 'an admin key'})`);
}

/** Runs a client call; any error is one line naming its cause and the fix, and exit 1. */
async function run<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return failWith(ctx, explain(err, ctx), err);
  }
}

/** One line for an error: what refused what, and what to do. */
function explain(err: unknown, ctx: Pick<Context, 'url' | 'keySource' | 'target' | 'env' | 'role'>): string {
  if (!(err instanceof CatalogClientError)) return err instanceof ServerError ? err.message : ((err as Error)?.message ?? String(err));
  const s = err.status;
  switch (err.code) {
    case ServerErrorCode.CATALOG_NETWORK:
      return `${err.message}: is the catalog (the orchestrator) running there? Set --catalog-url or PARLOR_CATALOG_URL`;
    case 'UNAUTHORIZED':
      return `401: the catalog at ${ctx.url} refused the key (${ctx.keySource}): use a key it accepts (one of its --publisher-key-file or --admin-key-file keys)`;
    case 'FORBIDDEN':
      return `403: the catalog at ${ctx.url} does not let ${ctx.keySource} do this (${err.message}): ${ctx.role === 'admin' ? 'promote and rollback need an admin key (PARLOR_ADMIN_KEY or --key-file)' : 'publishing needs a publisher or an admin key'}`;
    case 'AUTH_THROTTLED':
      return `429: the catalog at ${ctx.url} stopped hearing wrong keys from this address${err.retryAfterSeconds ? ` for ${err.retryAfterSeconds} s` : ''}: fix the key (${ctx.keySource}), then retry`;
    case 'VERSION_EXISTS': {
      const [slug, version] = (ctx.target ?? '@').split('@');
      const next = version ? inc(version, 'patch') : null;
      return `409: ${ctx.target} is already published with other content and versions are immutable: publish a new version${next ? ` (e.g. parlor publish … --slug ${slug} --version ${next})` : ''}`;
    }
    case 'RATE_LIMITED':
      return `429: too many publishes with this key${err.retryAfterSeconds ? `: retry in ${err.retryAfterSeconds} s` : ''} (${err.message})`;
    case 'UPLOAD_TOO_LARGE':
      return `413: the catalog refused the upload as too large (${err.message}): move large or generated files out of the folder`;
    case 'NOTHING_TO_ROLL_BACK':
      return `409: ${ctx.target} has no earlier version pinned in ${ctx.env}: promote the version you want instead (parlor promote ${ctx.target}@<version> --env ${ctx.env})`;
    case 'NOT_FOUND':
      return `404: ${ctx.url} has no catalog routes (${err.message}): is --catalog-url the orchestrator's (started with a catalog) or parlor-catalog's?`;
    default:
      return s > 0 ? `${s} ${err.code}: ${err.message}` : err.message;
  }
}

function failWith(ctx: { json: boolean }, message: string, err?: unknown): never {
  if (ctx.json) {
    const e = err instanceof CatalogClientError ? { code: err.code, status: err.status } : { code: err instanceof ServerError ? err.code : 'USAGE', status: 0 };
    console.log(JSON.stringify({ error: { ...e, message } }));
  }
  console.error(`parlor: ${message}`);
  process.exit(1);
}

function checkEnv(ctx: Context, env: string): void {
  if (!ENV_RE.test(env)) failWith(ctx, `--env ${env}: an environment name is lower-case letters, digits and '-', starting with a letter (dev, staging, prod)`);
}

/** The slug of a folder: package.json's `name` (without its scope), else the folder's name, normalised to {@link SLUG_RE}. */
function slugOf(dir: string, ctx: Context): string {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name;
  } catch {
    name = undefined;
  }
  const raw = typeof name === 'string' && name !== '' ? name.replace(/^@[^/]*\//, '') : basename(resolve(dir));
  const slug = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  if (!SLUG_RE.test(slug)) failWith(ctx, `${dir}: cannot make a slug of ${JSON.stringify(raw)}: give one with --slug <slug>`);
  return slug;
}

function failedLine(r: PublishRequest): string {
  return `FAILED ${r.slug}@${r.version}: ${r.error ? `${r.error.code}: ${r.error.message}` : 'no reason given'}`;
}

function printFindings(r: PublishRequest): void {
  const findings = r.error?.report?.findings ?? [];
  for (const f of findings) console.log(`  ${f.at ?? '-'}  ${f.severity} ${f.rule}: ${f.message}`);
}

function printChange(c: ManifestChange, json?: boolean): void {
  if (json) console.log(JSON.stringify(c, null, 2));
  else console.log(`${c.action === 'rollback' ? 'rolled back' : 'promoted'} ${c.slug} in ${c.env}: ${c.previous ?? '(none)'} → ${c.version ?? '(none)'}`);
}

function versionsCell(v: string[]): string {
  if (v.length === 0) return '-';
  return v.length > 3 ? `${v.slice(0, 3).join(', ')} (+${v.length - 3})` : v.join(', ');
}

function accessCell(g: CatalogGame): string {
  if (g.access.minRole) return `role ${g.access.minRole}`;
  return g.access.requiresAuth ? 'signed-in' : 'anyone';
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
