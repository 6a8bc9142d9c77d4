/**
 * The `parlor-orchestrator` command line: runs an {@link Orchestrator} until SIGINT/SIGTERM;
 * SIGHUP re-reads the key files (a rotation without restart). Every flag has an environment
 * variable; repeatable key flags take comma-separated env lists.
 */
import { Command, Option } from 'commander';
import { readKeyFile } from './auth/keys.js';
import { OrchestratorError } from './errors.js';
import { createLogger, type Logger, type LogLevel } from './logger.js';
import { Orchestrator } from './orchestrator.js';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function fail(message: string): never {
  console.error(`parlor-orchestrator: ${message}`);
  process.exit(1);
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`invalid ${name}: ${v}`);
    return n;
  };
}

/**
 * JSON lines, except in a terminal: there pino-pretty (a dependency, loaded only then; if it
 * cannot load, JSON as well).
 */
async function cliLogger(level: LogLevel): Promise<Logger> {
  if (!process.stdout.isTTY) return createLogger({ level });
  try {
    const { default: pretty } = await import('pino-pretty');
    return createLogger({ level, destination: pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }) });
  } catch {
    return createLogger({ level });
  }
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

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
  .addOption(new Option('--metrics-key-file <path>', 'file of bearer keys that may read /metrics and nothing else (a Prometheus scrape token), one per line; read at start (admin keys may scrape too)').env('PARLOR_METRICS_KEY_FILE'))
  .addOption(new Option('--no-api', 'serve only /healthz, /readyz and the agent socket (no REST /v1)'))
  .addOption(new Option('--cors <origins>', "allowed CORS origins, comma-separated ('*' for any)").env('PARLOR_CORS').argParser(collect))
  .addOption(new Option('--sse-query-auth', 'accept ?key= on GET /v1/events (browser EventSource)').env('PARLOR_SSE_QUERY_AUTH'))
  .addOption(new Option('--poll <ms>', 'poll interval (ms); stale after 2 missed polls, evicted after 3').env('PARLOR_POLL_MS').default(1000).argParser(int('poll', 10)))
  .addOption(new Option('--command-timeout <ms>', 'how long a command waits for its ack (ms)').env('PARLOR_COMMAND_TIMEOUT_MS').default(5000).argParser(int('command timeout', 1)))
  .addOption(new Option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`).env('PARLOR_LOG_LEVEL').default('info').choices(LOG_LEVELS as string[]))
  .addOption(new Option('--trust-proxy', 'take client addresses from X-Forwarded-For').env('PARLOR_TRUST_PROXY'))
  .addHelpText(
    'after',
    `
Keys: with NODE_ENV=production both key lists are required, every key must have at least 16
characters, and no key may be in both lists. In development, missing keys are generated and printed once.
A role's keys are its --*-key flags and env list plus the lines of its --*-key-file. Prefer the files
(or the env lists): flags are visible to every user in \`ps\`.

Rotation without restart (kill -HUP <pid> re-reads both key files; the environment of a running
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
    metricsKeyFile?: string;
    api: boolean;
    cors?: string[];
    sseQueryAuth?: boolean;
    poll: number;
    commandTimeout: number;
    logLevel: LogLevel;
    trustProxy?: boolean;
  }) => {
    let orch: Orchestrator;
    try {
      const keys = keysFromFiles(opts);
      orch = new Orchestrator({
        host: opts.host,
        port: opts.port,
        agentKey: keys.agentKey,
        adminKey: keys.adminKey,
        ...(opts.metricsKeyFile !== undefined ? { metricsKey: readKeyFile(opts.metricsKeyFile, '--metrics-key-file') } : {}),
        api: opts.api,
        cors: opts.cors,
        sseQueryAuth: opts.sseQueryAuth === true,
        pollMs: opts.poll,
        commandTimeoutMs: opts.commandTimeout,
        logger: await cliLogger(opts.logLevel),
        trustProxy: opts.trustProxy === true,
      });
      await orch.listen();
    } catch (err) {
      fail(err instanceof OrchestratorError ? `${err.message} [${err.code}]` : ((err as Error)?.message ?? String(err)));
    }
    console.log(`\n  Parlor orchestrator\n  REST:   ${orch.url}/v1\n  Agents: ${orch.agentUrl}\n`);
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) process.exit(1);
      closing = true;
      orch.logger.info({ signal }, 'shutting down');
      orch.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => reloadKeys(orch, opts));
  });

/** A role's keys: its flags / env list plus the lines of its key file (read now). */
function keysFromFiles(opts: { agentKey?: string[]; adminKey?: string[]; agentKeyFile?: string; adminKeyFile?: string }): { agentKey?: string[]; adminKey?: string[] } {
  const merge = (listed: string[] | undefined, file: string | undefined, what: string): string[] | undefined =>
    file === undefined ? listed : [...(listed ?? []), ...readKeyFile(file, what)];
  return { agentKey: merge(opts.agentKey, opts.agentKeyFile, '--agent-key-file'), adminKey: merge(opts.adminKey, opts.adminKeyFile, '--admin-key-file') };
}

/**
 * SIGHUP: re-reads the key files and sets the lists that have one (agent sessions on a removed key
 * are closed). Never exits: a failed reload changes nothing and logs why.
 */
function reloadKeys(orch: Orchestrator, opts: { agentKey?: string[]; adminKey?: string[]; agentKeyFile?: string; adminKeyFile?: string }): void {
  if (opts.agentKeyFile === undefined && opts.adminKeyFile === undefined) {
    orch.logger.warn({ signal: 'SIGHUP' }, 'no key file to reload (--agent-key-file, --admin-key-file); keys unchanged');
    return;
  }
  try {
    const keys = keysFromFiles(opts);
    orch.setKeys({ ...(opts.agentKeyFile !== undefined ? { agentKey: keys.agentKey } : {}), ...(opts.adminKeyFile !== undefined ? { adminKey: keys.adminKey } : {}) }, { dropRevoked: true });
  } catch (err) {
    orch.logger.error({ signal: 'SIGHUP', error: err instanceof OrchestratorError ? `${err.message} [${err.code}]` : String(err) }, 'key reload failed; keys unchanged');
  }
}

program.showHelpAfterError();
program.parseAsync(process.argv).catch((err: unknown) => fail((err as Error)?.message ?? String(err)));
