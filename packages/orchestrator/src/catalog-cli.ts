/**
 * The `parlor-catalog` command line: the catalog on its own ({@link CatalogServer}: the catalog's
 * routes, `/healthz`, `/readyz`, `/v1/openapi.json`) until SIGINT/SIGTERM; SIGHUP re-reads the key
 * files. Same keys and flags as `parlor-orchestrator`'s; an orchestrator uses it with `--catalog-url`.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CatalogServer } from './catalog/standalone.js';
import { cliLogger, collect, DEFAULT_CATALOG_DIR, failWith, intArg, keysFromFiles, LOG_LEVELS, GATE_RUNTIMES, oneLine, publishGate, reloadKeyFiles } from './cli-common.js';
import type { LogLevel } from './logger.js';

const fail: (message: string) => never = failWith('parlor-catalog');
const int = (name: string, min: number) => intArg(fail, name, min);

const program = new Command();
program
  .name('parlor-catalog')
  .version('0.1.0')
  .description('Parlor catalog on its own: published game versions, manifests per environment, the publish pipeline and artifacts, at /v1 (the same routes the orchestrator serves in-process).')
  .addOption(new Option('--host <host>', 'interface to listen on').env('PARLOR_HOST').default('0.0.0.0'))
  .addOption(new Option('-p, --port <port>', 'port to listen on').env('PORT').default(7071).argParser(int('port', 0)))
  .addOption(new Option('--catalog-dir <dir>', 'folder of the catalog (catalog.db, artifacts/)').env('PARLOR_CATALOG_DIR').default(DEFAULT_CATALOG_DIR))
  .addOption(new Option('--database-url <url>', 'postgres://user:password@host:5432/db: the catalog\'s tables in this shared Postgres database instead of catalog.db, so several catalogs or orchestrators serve one catalog (with one shared --catalog-dir for the artifacts)').env('PARLOR_DATABASE_URL'))
  .addOption(new Option('--gate-runtime <runtime>', 'where the publish gate smoke-runs a game, as parlor validate --runtime (auto: docker when an engine answers, else process)').env('PARLOR_GATE_RUNTIME').choices([...GATE_RUNTIMES]).default('auto'))
  .addOption(new Option('--agent-key <key>', 'accepted agent key: reads (hosts fetch artifacts with it); repeatable').env('PARLOR_AGENT_KEYS').argParser(collect))
  .addOption(new Option('--admin-key <key>', 'accepted admin key: everything; repeatable').env('PARLOR_ADMIN_KEYS').argParser(collect))
  .addOption(new Option('--publisher-key <key>', 'accepted publisher key, `key` or `name=key`: publish and reads; repeatable').env('PARLOR_PUBLISHER_KEYS').argParser(collect))
  .addOption(new Option('--agent-key-file <path>', 'file of agent keys, one per line (# comments); re-read on SIGHUP').env('PARLOR_AGENT_KEY_FILE'))
  .addOption(new Option('--admin-key-file <path>', 'file of admin keys, one per line; re-read on SIGHUP').env('PARLOR_ADMIN_KEY_FILE'))
  .addOption(new Option('--publisher-key-file <path>', 'file of publisher keys, one `key` or `name=key` per line; re-read on SIGHUP').env('PARLOR_PUBLISHER_KEY_FILE'))
  .addOption(new Option('--env <name>', 'environment GET /v1/resolve uses when the query names none (default: prod when NODE_ENV=production, else dev)').env('PARLOR_ENV'))
  .addOption(new Option('--public-url <url>', 'public base URL of this catalog, for artifact URLs (default: the listen address)').env('PARLOR_PUBLIC_URL'))
  .addOption(new Option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`).env('PARLOR_LOG_LEVEL').default('info').choices(LOG_LEVELS as string[]))
  .addOption(new Option('--trust-proxy', 'take client addresses from X-Forwarded-For').env('PARLOR_TRUST_PROXY'))
  .addHelpText(
    'after',
    `
Keys: the same classes and rules as parlor-orchestrator (admin: everything; publisher: publish and
reads; agent: reads). With NODE_ENV=production agent and admin keys are required (16+ characters);
in development missing ones are generated and printed once. Prefer the key files: flags show in ps.

Examples:
  parlor-catalog --port 7071 --catalog-dir /var/lib/parlor/catalog --admin-key-file admin.keys --agent-key-file agent.keys
  parlor-orchestrator --catalog-url http://localhost:7071 --admin-key-file admin.keys   # rooms by game resolve here
  curl -H "Authorization: Bearer $KEY" http://localhost:7071/v1/manifests/prod
`,
  )
  .action(async (opts: {
    host: string;
    port: number;
    catalogDir: string;
    databaseUrl?: string;
    agentKey?: string[];
    adminKey?: string[];
    publisherKey?: string[];
    agentKeyFile?: string;
    adminKeyFile?: string;
    publisherKeyFile?: string;
    env?: string;
    publicUrl?: string;
    logLevel: LogLevel;
    trustProxy?: boolean;
    gateRuntime: (typeof GATE_RUNTIMES)[number];
  }) => {
    let server: CatalogServer;
    try {
      const keys = keysFromFiles(opts);
      server = new CatalogServer({
        catalog: { dir: resolve(opts.catalogDir), gate: await publishGate(opts.gateRuntime), ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}) },
        host: opts.host,
        port: opts.port,
        ...keys,
        ...(opts.env !== undefined ? { env: opts.env } : {}),
        ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
        logger: await cliLogger(opts.logLevel),
        trustProxy: opts.trustProxy === true,
      });
      await server.listen();
    } catch (err) {
      fail(oneLine(err));
    }
    console.log(`\n  Parlor catalog\n  REST:   ${server.url}/v1\n  Folder: ${resolve(opts.catalogDir)}\n`);
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) process.exit(1);
      closing = true;
      server.logger.info({ signal }, 'shutting down');
      server.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => reloadKeyFiles(server.logger, opts, (keys) => server.setKeys(keys)));
  });

program.showHelpAfterError();
program.parseAsync(process.argv).catch((err: unknown) => fail((err as Error)?.message ?? String(err)));
