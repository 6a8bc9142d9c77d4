/**
 * The two images the Kubernetes manifests name, run with the manifests' own args, mounts and user
 * (uid 65534), Docker standing in for the kubelet: the orchestrator image
 * (deploy/kubernetes/build-orchestrator-image.sh) with the keys mounted read-only at /etc/parlor and
 * a volume at /data, and the server image (packages/server/docker/build-server-image.sh) as a pod
 * would run it, `$(POD_NAME)` / `$(POD_IP)` expanded as the kubelet expands them. Host networking
 * and this machine's ports stand in for the Services.
 *
 * NO CLUSTER RUNS HERE: the orchestrator's provisioner talks, through a mounted kubeconfig, to
 * `kube-fake-api.ts` (the response shapes of the Kubernetes API reference for the scale
 * subresource and pods, NOT a live cluster); when the replicas rise the test plays the ReplicaSet
 * and starts the server container. Asserted: the orchestrator container scales the workload to 1
 * (min), the server container joins as that pod with the provisioner's labels, GET /v1/autoscaler
 * counts it. Skipped without a Docker engine (not under CI=true); every container and volume
 * (prefix ktest-) is removed in afterAll, failed or not.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { kubernetesManifestObjects } from '../src/provisioning/kubernetes-manifests.js';
import { waitFor } from './helpers.js';
import { FakeKubeApi } from './kube-fake-api.js';
import { freePort } from './provisioning-helpers.js';
import { buildServerImage } from './swarm-helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const prefix = `ktest-${randomBytes(3).toString('hex')}`;
const ORCH_IMAGE = 'parlor-orchestrator:test';
const SERVER_IMAGE = 'parlor-server:test';
const ADMIN = 'admin-key-for-the-image-test-0123';
const AGENT = 'agent-key-for-the-image-test-4567';

function dockerMissing(): string | null {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
    return null;
  } catch {
    return 'no Docker engine here (docker info failed)';
  }
}
const missing = dockerMissing();
if (missing && process.env.CI === 'true') throw new Error(`kubernetes-images.test.ts needs a Docker engine under CI: ${missing}`);

type Obj = any;
const docs = kubernetesManifestObjects() as Obj[];
const pod = (name: string): Obj => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name).spec.template.spec;
const tmp = mkdtempSync(join(tmpdir(), 'parlor-kube-images-'));
let api: FakeKubeApi | undefined;

afterAll(async () => {
  if (!missing) {
    const ids = (await run('docker', ['ps', '-aq', '--filter', `name=${prefix}`])).stdout.split('\n').filter(Boolean);
    if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => undefined);
    await run('docker', ['volume', 'rm', '-f', `${prefix}-data`]).catch(() => undefined);
  }
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** `args` with each `from` substring replaced by its `to` (the cluster's names → this machine's). */
const localize = (args: string[], map: Array<[string, string]>): string[] => args.map((a) => map.reduce((s, [from, to]) => s.split(from).join(to), a));

describe.skipIf(missing !== null)('the manifests\' images with their args (Docker as the kubelet, recorded API shapes)', () => {
  it('the orchestrator image scales the workload to 1; the server image joins as that pod', async () => {
    await Promise.all([run(join(root, 'deploy/kubernetes/build-orchestrator-image.sh'), [ORCH_IMAGE], { timeout: 180_000 }), buildServerImage(SERVER_IMAGE)]);
    const keys = join(tmp, 'keys');
    mkdirSync(keys);
    writeFileSync(join(keys, 'agent.key'), `${AGENT}\n`);
    writeFileSync(join(keys, 'admin.keys'), `${ADMIN}\n`);
    for (const f of ['agent.key', 'admin.keys']) chmodSync(join(keys, f), 0o444); // the Secret's files, readable by the pod's user
    chmodSync(keys, 0o755);
    chmodSync(tmp, 0o755);
    api = new FakeKubeApi('parlor', 'parlor-server', { 'parlor.provisioner': 'kubernetes', 'app.kubernetes.io/instance': 'parlor-server' });
    const kubeconfig = await api.listen();
    chmodSync(kubeconfig, 0o444);
    const orchPort = await freePort();
    const orchestrator = pod('parlor-orchestrator');
    const orchArgs = localize(orchestrator.containers[0].args, [['parlor-orchestrator.parlor.svc.cluster.local:7070', `127.0.0.1:${orchPort}`], ['7070', String(orchPort)]]);
    const env = (orchestrator.containers[0].env as Obj[]).flatMap((e) => ['-e', `${e.name}=${e.value}`]);
    await run('docker', ['run', '-d', '--name', `${prefix}-orchestrator`, '--network', 'host', '--user', `${orchestrator.securityContext.runAsUser}:${orchestrator.securityContext.runAsGroup}`,
      '-v', `${keys}:/etc/parlor:ro`, '-v', `${prefix}-data:/data`, '-v', `${kubeconfig}:/etc/kube/config:ro`, '-e', 'KUBECONFIG=/etc/kube/config', ...env, ORCH_IMAGE, ...orchArgs], { timeout: 60_000 });
    const logs = async (name: string): Promise<string> => {
      const { stdout, stderr } = await run('docker', ['logs', `${prefix}-${name}`]).catch(() => ({ stdout: '', stderr: '' }));
      return (stdout + stderr).slice(-1500);
    };
    await waitFor(() => api!.replicas === 1, 'the orchestrator container scaled the workload to 1', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\norchestrator: ${await logs('orchestrator')}`);
    });

    // The ReplicaSet's part: a pod, and the kubelet's: its container with the Deployment's args.
    const name = api.addPod('ready');
    const serverPort = await freePort();
    const server = pod('parlor-server');
    const serverArgs = localize(server.containers[0].args, [['parlor-orchestrator.parlor.svc.cluster.local:7070', `127.0.0.1:${orchPort}`], ['$(POD_NAME)', name], ['$(POD_IP)', '127.0.0.1'], [':8080', `:${serverPort}`]]).map((a, i, all) => (all[i - 1] === '--port' ? String(serverPort) : a));
    await run('docker', ['run', '-d', '--name', `${prefix}-server`, '--network', 'host', '--user', `${server.securityContext.runAsUser}:${server.securityContext.runAsGroup}`,
      '-v', `${join(keys, 'agent.key')}:/etc/parlor/agent.key:ro`, SERVER_IMAGE, ...serverArgs], { timeout: 60_000 });

    const get = async (path: string): Promise<Obj> => (await (await fetch(`http://127.0.0.1:${orchPort}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).data;
    await waitFor(async () => (await get('/v1/autoscaler').catch(() => null))?.instances?.joined === 1, 'the server container joined as the pod', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\nserver: ${await logs('server')}\norchestrator: ${await logs('orchestrator')}`);
    });
    const [instance] = (await get('/v1/instances')) as Obj[];
    expect(instance.labels).toMatchObject({ 'parlor.provisioner': 'kubernetes', 'parlor.provisioned-id': name });
    expect(instance.name).toBe(name);
    expect(await get('/v1/autoscaler')).toMatchObject({ provisioner: 'kubernetes', instances: { provisioned: 1, joined: 1 } });
    expect(api.writes().map((r) => (r.body as Obj).spec?.replicas)).toEqual([1]);
  }, 240_000);
});
