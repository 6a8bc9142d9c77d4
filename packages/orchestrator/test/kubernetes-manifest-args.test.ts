/**
 * The generated manifests' commands, run for real as processes on this machine: the orchestrator
 * Deployment's `parlor-orchestrator` args (its `--provisioner kubernetes` included) and the game
 * server Deployment's `parlor serve` args, with only what a cluster would supply put in by the
 * test: files and folders under a temp dir instead of the mounted Secret and volumes, 127.0.0.1
 * ports instead of the Service's DNS name and port, and `$(POD_NAME)` / `$(POD_IP)` expanded as
 * the kubelet expands them from the Downward API env. So every flag the manifests pass is one the
 * CLIs accept, and a server started from them joins with the labels the autoscaler matches.
 *
 * NO CLUSTER RUNS HERE: the orchestrator's provisioner talks to `kube-fake-api.ts` (the response
 * shapes of the Kubernetes API reference for the scale subresource and pods, NOT a live cluster)
 * through `$KUBECONFIG`; when the replicas rise, the test plays the ReplicaSet and kubelet and
 * starts the pod's `parlor serve`. Asserted: the orchestrator's autoscaler asks for 1 replica
 * (min), the process started as that pod joins with `parlor.provisioner=kubernetes` and
 * `parlor.provisioned-id=<pod name>`, and GET /v1/autoscaler counts it as joined.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kubernetesManifestObjects } from '../src/provisioning/kubernetes-manifests.js';
import { waitFor } from './helpers.js';
import { FakeKubeApi } from './kube-fake-api.js';
import { freePort } from './provisioning-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ORCH_BIN = join(root, 'packages/orchestrator/bin/parlor-orchestrator.js');
const PARLOR_BIN = join(root, 'packages/server/bin/parlor.js');
const ADMIN = 'admin-key-for-the-manifest-test-0123';
const AGENT = 'agent-key-for-the-manifest-test-4567';

type Obj = any;
const docs = kubernetesManifestObjects() as Obj[];
const container = (name: string): Obj => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name).spec.template.spec.containers[0];

const tmp = mkdtempSync(join(tmpdir(), 'parlor-kube-args-'));
const procs: ChildProcess[] = [];
let api: FakeKubeApi | undefined;

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('close', r)))));
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** `args` with each `from` substring replaced by its `to` (the cluster's names → this machine's). */
const localize = (args: string[], map: Array<[string, string]>): string[] => args.map((a) => map.reduce((s, [from, to]) => s.split(from).join(to), a));

/** Runs a CLI with the environment of its container: this process's, without NODE_ENV, plus `env`. */
function start(bin: string, args: string[], env: Record<string, string>): ChildProcess & { out: () => string } {
  const { NODE_ENV: _ignored, ...inherited } = process.env;
  const p = spawn(process.execPath, [bin, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  procs.push(p);
  return Object.assign(p, { out: () => out });
}

describe("the manifests' commands on this machine (recorded API shapes, no cluster)", () => {
  it('the orchestrator from its args scales the workload to 1; a server from its args joins as that pod', async () => {
    const keys = join(tmp, 'keys');
    const data = join(tmp, 'data');
    mkdirSync(keys);
    mkdirSync(data);
    writeFileSync(join(keys, 'agent.key'), `${AGENT}\n`, { mode: 0o600 });
    writeFileSync(join(keys, 'admin.keys'), `${ADMIN}\n`, { mode: 0o600 });
    api = new FakeKubeApi('parlor', 'parlor-server', { 'parlor.provisioner': 'kubernetes', 'app.kubernetes.io/instance': 'parlor-server' });
    const kubeconfig = await api.listen();
    const orchPort = await freePort();
    const cluster: Array<[string, string]> = [
      ['/etc/parlor/', `${keys}/`],
      ['/data/', `${data}/`],
      ['parlor-orchestrator.parlor.svc.cluster.local:7070', `127.0.0.1:${orchPort}`],
      ['0.0.0.0', '127.0.0.1'],
    ];
    const orchArgs = localize(container('parlor-orchestrator').args, [...cluster, ['7070', String(orchPort)]]);
    const orchEnv = Object.fromEntries((container('parlor-orchestrator').env as Obj[]).map((e) => [e.name, e.value]));
    expect(orchEnv).toEqual({ NODE_ENV: 'production' });
    const orch = start(ORCH_BIN, [...orchArgs, '--poll', '200'], { ...orchEnv, KUBECONFIG: kubeconfig, KUBERNETES_SERVICE_HOST: '' });

    // The autoscaler's first decision: min 1 → the Deployment's replicas to 1. The test plays the ReplicaSet.
    await waitFor(() => api!.replicas === 1, `the orchestrator scaled the workload to 1 (its output: ${orch.out().slice(-600)})`, 30_000);
    const pod = api.addPod('ready');
    const serverPort = await freePort();
    const podEnv: Array<[string, string]> = [['$(POD_NAME)', pod], ['$(POD_IP)', '127.0.0.1'], [':8080', `:${serverPort}`]];
    const serverArgs = localize(container('parlor-server').args, [...cluster, ...podEnv]).map((a, i, all) => (all[i - 1] === '--port' ? String(serverPort) : a));
    const server = start(PARLOR_BIN, serverArgs, Object.fromEntries((container('parlor-server').env ?? []).filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value])));

    const status = async (): Promise<Obj> => (await (await fetch(`http://127.0.0.1:${orchPort}/v1/autoscaler`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).data;
    await waitFor(async () => (await status().catch(() => null))?.instances?.joined === 1, 'the pod joined the fleet', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nserver: ${server.out().slice(-1500)}\norchestrator: ${orch.out().slice(-1500)}`);
    });
    const instances = (await (await fetch(`http://127.0.0.1:${orchPort}/v1/instances`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).data as Obj[];
    expect(instances).toHaveLength(1);
    expect(instances[0].labels).toMatchObject({ 'parlor.provisioner': 'kubernetes', 'parlor.provisioned-id': pod });
    expect(instances[0].name).toBe(pod);
    expect(instances[0].endpointUrl).toBe(`http://127.0.0.1:${serverPort}`);
    expect(instances[0].capacity.maxRooms).toBe(10);
    expect(await status()).toMatchObject({ provisioner: 'kubernetes', instances: { provisioned: 1, joined: 1, min: 1, max: 10 } });
    // The orchestrator never asked for more than min while the buffer (4) fits in the pod's 10 slots.
    expect(api.writes().map((r) => (r.body as Obj).spec?.replicas)).toEqual([1]);
  }, 60_000);
});
