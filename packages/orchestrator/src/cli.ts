/**
 * The `parlor-orchestrator` command line: runs an {@link Orchestrator} until SIGINT/SIGTERM (the
 * first one drains: new work refused with `SHUTTING_DOWN`, what is in flight finished for up to
 * `--shutdown-timeout`, then exit 0; a second one exits at once with 1);
 * SIGHUP re-reads the key files (a rotation without restart). Every flag has an environment
 * variable; repeatable key flags take comma-separated env lists.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { generateKey, readKeyFile } from './auth/keys.js';
import { createRemoteResolver } from './catalog/remote-resolver.js';
import { cliLogger, collect, DEFAULT_CATALOG_DIR, DEFAULT_DATA_DIR, failWith, intArg, keysFromFiles, LOG_LEVELS, GATE_RUNTIMES, oneLine, publishGate, reloadKeyFiles } from './cli-common.js';
import type { LogLevel } from './logger.js';
import { Orchestrator, type OrchestratorOptions } from './orchestrator.js';
import { maskDatabaseUrl } from './operations/pg-db.js';
import { kubernetesCommand } from './kubernetes-cli.js';
import { autoscalerFromFlags, fleetUrlFor, PROVISIONER_NAMES, type ProvisionerFlags } from './provisioning/config.js';

const fail: (message: string) => never = failWith('parlor-orchestrator');
const int = (name: string, min: number) => intArg(fail, name, min);

const program = new Command();
program
  .name('parlor-orchestrator')
  .version('0.1.0')
  .description('Parlor fleet orchestrator: agents connect at ws://<host>:<port>/v1/agent, matchmakers use the REST API /v1 on the same port.')
  .addOption(new Option('--host <host>', 'interface to listen on').env('PARLOR_HOST').default('0.0.0.0'))
  .addOption(new Option('-p, --port <port>', 'port to listen on').env('PORT').default(7070).argParser(int('port', 0)))
  .addOption(new Option('--agent-key <key>', 'accepted agent key (repeatable, for rotation)').env('PARLOR_AGENT_KEYS').argParser(collect))
  .addOption(new Option('--admin-key <key>', 'accepted admin key for /v1 (repeatable, for rotation)').env('PARLOR_ADMIN_KEYS').argParser(collect))
  .addOption(new Option('--agent-key-file <path>', 'file of accepted agent keys, one per line (# comments); re-read on SIGHUP').env('PARLOR_AGENT_KEY_FILE'))
  .addOption(new Option('--admin-key-file <path>', 'file of accepted admin keys, one per line (# comments); re-read on SIGHUP').env('PARLOR_ADMIN_KEY_FILE'))
  .addOption(new Option('--publisher-key <key>', 'accepted publisher key, `key` or `name=key` (repeatable): publishes to the catalog and reads it').env('PARLOR_PUBLISHER_KEYS').argParser(collect))
  .addOption(new Option('--publisher-key-file <path>', 'file of publisher keys, one `key` or `name=key` per line (# comments); re-read on SIGHUP').env('PARLOR_PUBLISHER_KEY_FILE'))
  .addOption(new Option('--metrics-key-file <path>', 'file of bearer keys that may read /metrics and nothing else (a Prometheus scrape token), one per line; read at start (admin keys may scrape too)').env('PARLOR_METRICS_KEY_FILE'))
  .addOption(new Option('--no-api', 'serve only /healthz, /readyz and the agent socket (no REST /v1)'))
  .addOption(new Option('--cors <origins>', "allowed CORS origins, comma-separated ('*' for any)").env('PARLOR_CORS').argParser(collect))
  .addOption(new Option('--sse-query-auth', 'accept ?key= on GET /v1/events (browser EventSource)').env('PARLOR_SSE_QUERY_AUTH'))
  .addOption(new Option('--poll <ms>', 'poll interval (ms); stale after 2 missed polls, evicted after 3').env('PARLOR_POLL_MS').default(1000).argParser(int('poll', 10)))
  .addOption(new Option('--command-timeout <ms>', 'how long a command waits for its ack (ms)').env('PARLOR_COMMAND_TIMEOUT_MS').default(5000).argParser(int('command timeout', 1)))
  .addOption(new Option('--shutdown-timeout <ms>', 'on SIGTERM/SIGINT, how long in-flight commands and REST calls may take to finish before the exit (ms)').env('PARLOR_SHUTDOWN_TIMEOUT_MS').default(5000).argParser(int('shutdown timeout', 0)))
  .addOption(new Option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`).env('PARLOR_LOG_LEVEL').default('info').choices(LOG_LEVELS as string[]))
  .addOption(new Option('--trust-proxy', 'take client addresses from X-Forwarded-For').env('PARLOR_TRUST_PROXY'))
  .addOption(new Option('--data-dir <dir>', 'folder of the orchestrator database (orchestrator.db: the operation log, the webhook outbox); one orchestrator per folder').env('PARLOR_DATA_DIR').default(DEFAULT_DATA_DIR))
  .addOption(new Option('--webhook <url>', 'POST notifications (game.turn.ready, game.paused, game.finished, runtime.start_failed, runtime.config_invalid) to this URL, signed with the webhook secret (repeatable)').env('PARLOR_WEBHOOKS').argParser(collect))
  .addOption(new Option('--webhook-secret-file <path>', 'file holding the HMAC-SHA256 secret of the webhooks (first line, ≥ 16 characters); default PARLOR_WEBHOOK_SECRET').env('PARLOR_WEBHOOK_SECRET_FILE'))
  .addOption(new Option('--webhook-attempts <n>', 'attempts of one webhook delivery before it becomes a dead letter').env('PARLOR_WEBHOOK_ATTEMPTS').default(8).argParser(int('webhook attempts', 1)))
  .addOption(new Option('--catalog-dir <dir>', 'folder of the in-process catalog (catalog.db, artifacts/)').env('PARLOR_CATALOG_DIR').default(DEFAULT_CATALOG_DIR))
  .addOption(new Option('--database-url <url>', 'postgres://user:password@host:5432/db: keep the operation log, the webhook outbox and the catalog in this shared Postgres database instead of SQLite files, so several orchestrators serve one catalog (they must share --catalog-dir: its artifacts/ stay files)').env('PARLOR_DATABASE_URL'))
  .addOption(new Option('--gate-runtime <runtime>', 'where the publish gate smoke-runs a game, as parlor validate --runtime (auto: docker when an engine answers, else process)').env('PARLOR_GATE_RUNTIME').choices([...GATE_RUNTIMES]).default('auto'))
  .addOption(new Option('--no-catalog', 'no catalog here: no /v1/games, /v1/manifests…; rooms by game are refused (NO_CATALOG) unless --catalog-url'))
  .addOption(new Option('--catalog-url <url>', 'use the catalog running at this URL (parlor-catalog) instead of one in-process: rooms by game resolve through it').env('PARLOR_CATALOG_URL'))
  .addOption(new Option('--catalog-key-file <path>', "file holding a key of the --catalog-url catalog (first line); default PARLOR_CATALOG_KEY, else this orchestrator's first admin key").env('PARLOR_CATALOG_KEY_FILE'))
  .addOption(new Option('--env <name>', 'catalog environment rooms by game resolve in when the request names none (default: prod when NODE_ENV=production, else dev)').env('PARLOR_ENV'))
  .addOption(new Option('--public-url <url>', 'public base URL of this orchestrator, for artifact URLs hosts fetch (default: the listen address)').env('PARLOR_PUBLIC_URL'))
  .addOption(new Option('--provisioner <name>', `start and stop game server instances to keep a buffer of free room slots: ${PROVISIONER_NAMES.join(', ')} (default: none, the fleet is what was started by hand)`).env('PARLOR_PROVISIONER'))
  .addOption(new Option('--server-image <image>', 'image of the provisioned instances (swarm, kubernetes)').env('PARLOR_SERVER_IMAGE').default('parlor-server:local'))
  .addOption(new Option('--server-arg <arg>', 'argument appended to `parlor serve` of every provisioned instance (repeatable: --server-arg --games --server-arg /srv/games)').argParser((v: string, prev: string[] = []) => [...prev, v]))
  .addOption(new Option('--instance-capacity <n>', 'room slots of one provisioned instance (its --max-rooms)').env('PARLOR_INSTANCE_CAPACITY').default(10).argParser(int('--instance-capacity (an integer ≥ 1)', 1)))
  .addOption(new Option('--buffer <n|n%>', 'free room slots the autoscaler keeps: a number, or a percentage of all slots').env('PARLOR_BUFFER').default('4'))
  .addOption(new Option('--min-instances <n>', 'never fewer provisioned instances').env('PARLOR_MIN_INSTANCES').default(1).argParser(int('--min-instances (an integer ≥ 0)', 0)))
  .addOption(new Option('--max-instances <n>', 'never more provisioned instances (a restarted orchestrator included)').env('PARLOR_MAX_INSTANCES').default(10).argParser(int('--max-instances (an integer ≥ 1)', 1)))
  .addOption(new Option('--cool-down <ms>', 'after a scale event, wait this long before scaling down again (ms)').env('PARLOR_COOL_DOWN_MS').default(30_000).argParser(int('--cool-down (ms, an integer ≥ 0)', 0)))
  .addOption(new Option('--drain-timeout <ms>', 'how long a drained instance may keep rooms before they are stopped (saved) and it is stopped anyway (ms)').env('PARLOR_INSTANCE_DRAIN_TIMEOUT_MS').default(300_000).argParser(int('--drain-timeout (ms, an integer ≥ 0)', 0)))
  .addOption(new Option('--swarm-service <prefix>', 'name prefix of the Swarm service and secret of the instances (swarm)').env('PARLOR_SWARM_SERVICE'))
  .addOption(new Option('--kube-namespace <ns>', 'namespace of the server workload (kubernetes; default default)').env('PARLOR_KUBE_NAMESPACE'))
  .addOption(new Option('--kube-workload <name>', 'the server workload it scales (kubernetes; default parlor-server)').env('PARLOR_KUBE_WORKLOAD'))
  .addHelpText(
    'after',
    `
Keys: with NODE_ENV=production both key lists are required, every key must have at least 16
characters, and no key may be in both lists. In development, missing keys are generated and printed once.
A role's keys are its --*-key flags and env list plus the lines of its --*-key-file.
Publisher keys (optional) may publish to the catalog and read it; agent keys may read it; admin
keys may do everything (promote, roll back, edit games). Prefer the files
(or the env lists): flags are visible to every user in \`ps\`.

Catalog: by default the catalog runs in this process (--catalog-dir, ./parlor-data/catalog): publish
with \`parlor publish <dir> --version 1.2.0\`, promote with \`parlor promote pong@1.2.0 --env prod\`, and
POST /v1/rooms {"game":"pong","env":"prod"}. To run it apart: parlor-catalog on another port (same
keys), and here --catalog-url http://catalog:7071.

Rotation without restart (kill -HUP <pid> re-reads the key files; the environment of a running
process cannot change, so keys given as flags or env stay until a restart):
  1. add the new key as a line of the file, kill -HUP: old and new are both accepted;
  2. move every client to the new key (parlor serve: write it to its --fleet-key-file, kill -HUP it:
     the agent reconnects with it at once);
  3. remove the old line, kill -HUP: agent sessions still on the old key are closed (KEY_REVOKED)
     and refused (401) when they come back; nobody holding a valid key is dropped.
A reload that fails (missing file, no key, a production rule) changes nothing and logs why.

Throttle: wrong or missing keys are counted per (address, key fingerprint) and per address; over
the limits (20 per key, 200 per address per minute) they get 429 AUTH_THROTTLED with a Retry-After of
the real seconds left. A valid key is never throttled, whatever its address did.

Operations: every lifecycle operation on a room (pause, resume, restart, patch, turn, stop) is
recorded in --data-dir's orchestrator.db before it runs, then as succeeded or failed; one left
unfinished by a crash (kill -9) is marked failed INTERRUPTED at the next start. Read them with
GET /v1/operations, GET /v1/rooms/<id>/operations, or \`parlor room operations [roomId]\`.

Webhooks: --webhook <url> (repeatable) gets each notification once per idempotency key, as a JSON
POST signed with the secret of --webhook-secret-file (or PARLOR_WEBHOOK_SECRET; never a flag, which
\`ps\` would show): X-Parlor-Signature = sha256=HMAC(secret, "<X-Parlor-Timestamp>.<body>"). A
failing URL is retried with backoff, then kept as a dead letter (GET /v1/webhooks/dead-letters,
POST /v1/webhooks/dead-letters/<id>/retry); what is pending survives a restart (--data-dir).

Shared store: --database-url postgres://user:password@host:5432/parlor (or PARLOR_DATABASE_URL) keeps
the operation log, the webhook outbox and the catalog in Postgres instead of SQLite files: several
orchestrators on one database serve one catalog (give them the same --catalog-dir, a shared folder:
artifacts stay files there), each recovering only what an orchestrator that is gone left unfinished.
A call that meets the database restarting gets 503 DATABASE_UNAVAILABLE (retry); it reconnects by itself.

Autoscaling: --provisioner process|swarm|kubernetes keeps --buffer free room slots (a number, or a
percentage of all slots) by starting and stopping \`parlor serve\` instances of --instance-capacity rooms
each, between --min-instances and --max-instances (counted from the engine, so a restart never adds
more). An empty instance whose slots are not needed is drained, then stopped (after --cool-down since
the last scale event); rooms still there after --drain-timeout are stopped (saved) first. process:
children of this machine (pid files and logs in <data-dir>/instances; --server-arg passes flags to
\`parlor serve\`, e.g. --server-arg --games --server-arg ./games); swarm: a Swarm service per instance
of --server-image; kubernetes: the Deployment --kube-workload in --kube-namespace. Instances connect
back to --public-url (as ws://), else to this port. Every decision is in the operation log (source
autoscaler), on SSE (event autoscaler) and at GET /v1/autoscaler; /metrics has the buffer.

Logs: one JSON object per line (pino), pretty when stdout is a terminal; keys appear only as
fingerprints (keyFp), and every mutating /v1 call writes an "audit" entry. The REST contract is
served at /v1/openapi.json.

Examples:
  parlor-orchestrator --port 7070 --agent-key-file /etc/parlor/agent.keys --admin-key-file /etc/parlor/admin.keys
  kill -HUP $(pidof parlor-orchestrator)              # after editing a key file
  PARLOR_ADMIN_KEYS=old,new parlor-orchestrator      # both admin keys accepted during a rotation
  curl -H "Authorization: Bearer $ADMIN_KEY" -d '{"type":"pong"}' http://localhost:7070/v1/rooms
`,
  )
  .action(async (opts: {
    host: string;
    port: number;
    agentKey?: string[];
    adminKey?: string[];
    agentKeyFile?: string;
    adminKeyFile?: string;
    publisherKey?: string[];
    publisherKeyFile?: string;
    metricsKeyFile?: string;
    dataDir: string;
    databaseUrl?: string;
    webhook?: string[];
    webhookSecretFile?: string;
    webhookAttempts: number;
    catalog: boolean;
    catalogDir: string;
    catalogUrl?: string;
    catalogKeyFile?: string;
    gateRuntime: (typeof GATE_RUNTIMES)[number];
    env?: string;
    publicUrl?: string;
    api: boolean;
    cors?: string[];
    sseQueryAuth?: boolean;
    poll: number;
    commandTimeout: number;
    shutdownTimeout: number;
    logLevel: LogLevel;
    trustProxy?: boolean;
  } & ProvisionerFlags) => {
    let orch: Orchestrator;
    try {
      const keys = keysFromFiles(opts);
      // the provisioned instances present the first agent key (one is generated for them in development)
      if (opts.provisioner !== undefined && !keys.agentKey?.length && process.env.NODE_ENV !== 'production') keys.agentKey = [generateKey()];
      const autoscaler = await autoscalerFromFlags(opts, { agentKey: keys.agentKey?.[0] ?? '', fleetUrl: opts.provisioner !== undefined ? fleetUrlFor(opts) : '', dataDir: resolve(opts.dataDir) });
      orch = new Orchestrator({
        host: opts.host,
        port: opts.port,
        agentKey: keys.agentKey,
        adminKey: keys.adminKey,
        publisherKey: keys.publisherKey,
        dataDir: resolve(opts.dataDir),
        ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
        ...webhookOptions(opts),
        ...(await catalogOptions(opts, keys.adminKey)),
        ...(opts.env !== undefined ? { env: opts.env } : {}),
        ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
        ...(opts.metricsKeyFile !== undefined ? { metricsKey: readKeyFile(opts.metricsKeyFile, '--metrics-key-file') } : {}),
        api: opts.api,
        cors: opts.cors,
        sseQueryAuth: opts.sseQueryAuth === true,
        pollMs: opts.poll,
        commandTimeoutMs: opts.commandTimeout,
        logger: await cliLogger(opts.logLevel),
        trustProxy: opts.trustProxy === true,
        ...(autoscaler ? { autoscaler } : {}),
      });
      await orch.listen();
    } catch (err) {
      fail(oneLine(err));
    }
    const wildcard = opts.host === '0.0.0.0' || opts.host === '::';
    const publicNote = orch.catalog && wildcard && opts.publicUrl === undefined ? `\n           artifact URLs use ${orch.publicUrl}: hosts on other machines need --public-url` : '';
    const catalogLine = opts.catalogUrl ? `\n  Catalog: ${opts.catalogUrl} (remote)` : orch.catalog ? `\n  Catalog: ${orch.url}/v1/games (${resolve(opts.catalogDir)})${publicNote}` : '';
    const scaling = opts.provisioner !== undefined ? `\n  Scaling: ${opts.provisioner} provisioner, buffer ${opts.buffer} free room slots, ${opts.minInstances}–${opts.maxInstances} instances of ${opts.instanceCapacity} rooms (GET /v1/autoscaler)` : '';
    console.log(`\n  Parlor orchestrator\n  REST:   ${orch.url}/v1\n  Agents: ${orch.agentUrl}${catalogLine}${scaling}\n  Data:   ${opts.databaseUrl !== undefined ? `${maskDatabaseUrl(opts.databaseUrl)} (Postgres)` : resolve(opts.dataDir)}\n`);
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) process.exit(1);
      closing = true;
      orch.logger.info({ signal, timeoutMs: opts.shutdownTimeout }, 'shutting down (a second signal exits at once)');
      orch.shutdown({ graceful: true, timeoutMs: opts.shutdownTimeout }).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => reloadKeyFiles(orch.logger, opts, (keys) => orch.setKeys(keys, { dropRevoked: true })));
  });

/**
 * The catalog part of the options: a remote catalog's resolver (`--catalog-url`), else the
 * in-process catalog in `--catalog-dir` with the publish gate of `@parlor/server/gate`, else none.
 */
async function catalogOptions(opts: { catalog: boolean; catalogDir: string; catalogUrl?: string; catalogKeyFile?: string; gateRuntime: (typeof GATE_RUNTIMES)[number] }, adminKeys: string[] | undefined): Promise<Partial<OrchestratorOptions>> {
  if (opts.catalogUrl !== undefined) {
    const key = opts.catalogKeyFile !== undefined ? readKeyFile(opts.catalogKeyFile, '--catalog-key-file')[0] : (process.env.PARLOR_CATALOG_KEY ?? adminKeys?.[0]);
    if (!key) fail('--catalog-url needs a key of that catalog: --catalog-key-file, PARLOR_CATALOG_KEY, or an admin key both share (--admin-key-file)');
    return { catalog: false, resolver: createRemoteResolver({ url: opts.catalogUrl, key }) };
  }
  if (!opts.catalog) return { catalog: false };
  return { catalog: { dir: resolve(opts.catalogDir), gate: await publishGate(opts.gateRuntime) } };
}

/** `--webhook` URLs with the secret of `--webhook-secret-file` or PARLOR_WEBHOOK_SECRET (never a flag: \`ps\` shows flags). */
function webhookOptions(opts: { webhook?: string[]; webhookSecretFile?: string; webhookAttempts: number }): Partial<OrchestratorOptions> {
  const urls = opts.webhook ?? [];
  if (urls.length === 0) return {};
  for (const url of urls) if (!/^https?:\/\/[^\s/?#]+/i.test(url)) fail(`--webhook ${url}: not an http(s) URL (e.g. https://backend.example.com/parlor-hooks)`);
  const secret = opts.webhookSecretFile !== undefined ? readKeyFile(opts.webhookSecretFile, '--webhook-secret-file')[0] : process.env.PARLOR_WEBHOOK_SECRET;
  if (!secret) fail('--webhook needs a secret to sign with: --webhook-secret-file <path> (its first line) or PARLOR_WEBHOOK_SECRET');
  return { webhooks: urls.map((url) => ({ url, secret })), webhookDelivery: { maxAttempts: opts.webhookAttempts } };
}

// `parlor-orchestrator kubernetes manifests`: positional options, so its flags (--server-image…) are its own, not the orchestrator's.
program.enablePositionalOptions().addCommand(kubernetesCommand());
program.showHelpAfterError();
program.parseAsync(process.argv).catch((err: unknown) => fail((err as Error)?.message ?? String(err)));
