/**
 * The fleet demo on one machine: an orchestrator, two game servers with fleet agents, and the
 * matchmaker. Uses the built packages (run `npm run build` first).
 *
 *   node --import tsx examples/matchmaker/fleet-demo.ts
 *
 * Ports: the two servers on PORT and PORT+1 (default 8080, 8081: the lobby stays at
 * http://localhost:8080), the matchmaker on PORT+10 (8090), the orchestrator on ORCHESTRATOR_PORT
 * (7070). Keys are generated per run (or PARLOR_AGENT_KEY / PARLOR_ADMIN_KEY) and printed once.
 *
 * The orchestrator runs its catalog in-process (nothing is published by default) and the demo's
 * environment is prod: both servers follow prod's manifest next to their local example games and run
 * the catalog versions placed on them. Its data lives in PARLOR_DEMO_DATA (default parlor-data/demo,
 * git-ignored): the catalog, each server's artifact cache, and the identity secret both servers check
 * players' tokens with (generated once; `npx parlor token --secret-file <it> --user alice` signs one).
 * The orchestrator's own database (operation log, webhook outbox) is in its `orchestrator` folder.
 *
 * Webhooks: the orchestrator POSTs its notifications (`game.turn.ready`, `game.paused`,
 * `game.finished`…) to a small receiver in this process on WEBHOOK_PORT (default PORT+20, 8100),
 * which checks each one's signature (the secret is generated per run, or PARLOR_WEBHOOK_SECRET) and
 * prints it as `[webhook] game.turn.ready {"game_id":"…","turn":2} (signature ok)`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyWebhookSignature, WEBHOOK_HEADERS } from '@parlor/orchestrator';
import { startMatchmaker } from './matchmaker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const base = Number(process.env.PORT ?? 8080);
const orchPort = Number(process.env.ORCHESTRATOR_PORT ?? 7070);
const serverPorts = [base, base + 1];
const matchmakerPort = Number(process.env.MATCHMAKER_PORT ?? base + 10);
const webhookPort = Number(process.env.WEBHOOK_PORT ?? base + 20);
const webhookSecret = process.env.PARLOR_WEBHOOK_SECRET ?? randomBytes(24).toString('base64url');
const agentKey = process.env.PARLOR_AGENT_KEY ?? randomBytes(24).toString('base64url');
const adminKey = process.env.PARLOR_ADMIN_KEY ?? randomBytes(24).toString('base64url');
const children: ChildProcess[] = [];
const env = 'prod';
const dataDir = path.resolve(root, process.env.PARLOR_DEMO_DATA ?? 'parlor-data/demo');
const shown = (p: string) => (p.startsWith(`${root}${path.sep}`) ? path.relative(root, p) : p);
const identitySecret = path.join(dataDir, 'identity.secret');
mkdirSync(dataDir, { recursive: true });
if (!existsSync(identitySecret)) writeFileSync(identitySecret, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600 });

function run(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (d: Buffer) =>
    d
      .toString()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => `[${name}] ${l}\n`)
      .join('');
  child.stdout!.on('data', (d: Buffer) => process.stdout.write(prefix(d)));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(prefix(d)));
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`[demo] ${name} exited (${code}); stopping`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  webhooks.close();
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

// The webhook receiver: what a backend would do with a notification (tell players their turn is ready), printed.
const webhooks = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const ok = verifyWebhookSignature(webhookSecret, req.headers, body);
    let payload = body.toString('utf8');
    try {
      payload = JSON.stringify((JSON.parse(payload) as { payload?: unknown }).payload);
    } catch {
      // printed as it came
    }
    console.log(`[webhook] ${String(req.headers[WEBHOOK_HEADERS.event])} ${payload} (${ok ? 'signature ok' : 'BAD SIGNATURE: refused'})`);
    res.writeHead(ok ? 204 : 401).end();
  });
});
webhooks.listen(webhookPort, '127.0.0.1');
webhooks.on('error', (err) => {
  console.error(`[demo] the webhook receiver cannot listen on ${webhookPort} (${err.message}); WEBHOOK_PORT chooses another port`);
  stop(1);
});

// The publish gate smoke-runs games in the process sandbox here (PARLOR_GATE_RUNTIME=auto or docker to
// choose): with `auto`, a machine whose Docker engine answers but has no runner image built yet would
// fail every publish of the demo until the image is built (the README builds it later, for the docker runtime).
run('orchestrator', [
  'packages/orchestrator/dist/cli.js', '--port', String(orchPort), '--log-level', 'warn', '--catalog-dir', path.join(dataDir, 'catalog'), '--env', env,
  '--data-dir', path.join(dataDir, 'orchestrator'), '--webhook', `http://127.0.0.1:${webhookPort}/parlor`,
], {
  PARLOR_AGENT_KEYS: agentKey,
  PARLOR_ADMIN_KEYS: adminKey,
  PARLOR_WEBHOOK_SECRET: webhookSecret,
  PARLOR_GATE_RUNTIME: process.env.PARLOR_GATE_RUNTIME ?? 'process',
});
serverPorts.forEach((port, i) =>
  run(`server-${i + 1}`, [
    'packages/server/dist/cli.js', 'serve', '--games', 'examples', '--port', String(port), '--log-level', 'warn',
    '--fleet-url', `ws://localhost:${orchPort}`, '--name', `server-${i + 1}`, '--label', `zone=${i === 0 ? 'a' : 'b'}`,
    // prod's manifest at the orchestrator's catalog (looked at every 2 s), the versions placed here cached per server
    '--env', env, '--manifest-refresh', '2000', '--artifact-cache', path.join(dataDir, `artifacts-${i + 1}`),
    '--identity-secret-file', identitySecret,
  ], { PARLOR_FLEET_KEY: agentKey }),
);

const orchestratorUrl = `http://localhost:${orchPort}`;
const deadline = Date.now() + 30_000;
for (;;) {
  try {
    const res = await fetch(`${orchestratorUrl}/v1/instances`, { headers: { authorization: `Bearer ${adminKey}` } });
    const body = (await res.json()) as { data?: Array<{ roomTypes: string[] }> };
    if ((body.data ?? []).filter((i) => i.roomTypes.length > 0).length >= serverPorts.length) break;
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    console.error('[demo] the fleet did not come up within 30 s');
    stop(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
const mm = await startMatchmaker({ orchestratorUrl, adminKey, port: matchmakerPort });
console.log(`
  Parlor fleet demo
  Lobbies:      ${serverPorts.map((p) => `http://localhost:${p}/`).join('  ')}
  Matchmaker:   ${mm.url}/   (press "Find a match" in two windows)
  Orchestrator: ${orchestratorUrl}/v1   (admin key: ${adminKey})
  Webhooks:     http://127.0.0.1:${webhookPort}/parlor   (each notification is printed here as [webhook] …)

  Create a room yourself and open its joinUrl:
    curl -s -H "Authorization: Bearer ${adminKey}" -H 'Content-Type: application/json' \\
         -d '{"type":"pong"}' ${orchestratorUrl}/v1/rooms

  Catalog:      ${shown(path.join(dataDir, 'catalog'))}   (env ${env}; identity secret ${shown(identitySecret)})
  Publish:      PARLOR_ADMIN_KEY=${adminKey} npx parlor publish examples/pong --version 1.0.0
`);
