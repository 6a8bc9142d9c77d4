/**
 * The Kubernetes provisioner's requests and decisions, through the real @kubernetes/client-node
 * 1.4 over a real HTTP socket on 127.0.0.1.
 *
 * NO CLUSTER RUNS HERE: the API server is `kube-fake-api.ts`, which answers with the response
 * shapes of the Kubernetes API reference, NOT a live cluster. Checked against those recorded
 * shapes only: `GET` and `PATCH` (merge patch) of `apps/v1 deployments/{name}/scale`, `GET
 * core/v1 pods?labelSelector=`, `PATCH` (merge patch) of `core/v1 pods/{name}`, and the 403 / 404 /
 * 409 `Status` answers. What a real ReplicaSet then does (removing the pod with the lowest
 * pod-deletion-cost) is not exercised: the test sets the pods as the cluster would.
 *
 * Asserted: the method, path, label selector, content type and body of every request; which pod is
 * annotated; the replica counts (never above the pods kept + what was asked, never twice for the
 * same ask); the refusals (an unknown pod, a pod the ReplicaSet would remove first, a scale-up
 * during a scale-down) send no write; and the
 * RBAC rules of the manifests are exactly the calls made. And, in a child process whose module
 * resolution hides @kubernetes/client-node, the one-line error that says what to install.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesProvisioner, STOP_DELETION_COST } from '../src/provisioning/kubernetes.js';
import { POD_DELETION_COST, podSelector, provisionerRules } from '../src/provisioning/kubernetes-manifests.js';
import type { ServerTemplate } from '../src/provisioning/types.js';
import { FakeKubeApi, type KubeRequest } from './kube-fake-api.js';

const NS = 'games';
const WORKLOAD = 'parlor-server';
const SCALE = `/apis/apps/v1/namespaces/${NS}/deployments/${WORKLOAD}/scale`;
const PODS = `/api/v1/namespaces/${NS}/pods`;
const template: ServerTemplate = { fleetUrl: 'ws://parlor-orchestrator:7070', agentKey: 'k'.repeat(32), labels: {}, capacity: 10, env: {} };

let api: FakeKubeApi;
let prov: KubernetesProvisioner;
let kubeconfig: string;
/** Every request of the file, for the RBAC check at the end. */
const seen: KubeRequest[] = [];

beforeEach(async () => {
  if (api) {
    seen.push(...api.requests);
    await prov.close();
    await api.close();
  }
  api = new FakeKubeApi(NS, WORKLOAD, { 'parlor.provisioner': 'kubernetes', 'app.kubernetes.io/instance': WORKLOAD, 'app.kubernetes.io/component': 'game-server' });
  kubeconfig = await api.listen();
  prov = new KubernetesProvisioner({ template, namespace: NS, workload: WORKLOAD, kubeconfig, podWaitMs: 0 });
});

afterAll(async () => {
  await prov?.close();
  await api?.close();
});

const scaleWrites = (): number[] => api.writes().filter((r) => r.path === SCALE).map((r) => (r.body as { spec: { replicas: number } }).spec.replicas);

describe('KubernetesProvisioner (against recorded API shapes, not a live cluster)', () => {
  it('list() reads the pods by the label selector and maps their phases', async () => {
    const ready = api.addPod('ready');
    const pending = api.addPod('pending');
    const terminating = api.addPod('terminating');
    const failed = api.addPod('failed');
    const marked = api.addPod('unready');
    api.pod(marked)!.metadata.annotations = { [POD_DELETION_COST]: STOP_DELETION_COST };
    api.replicas = 2; // 3 active pods (ready, pending, marked): the ReplicaSet has yet to remove the marked one
    const list = await prov.list();
    expect(Object.fromEntries(list.map((i) => [i.id, i.state]))).toEqual({ [ready]: 'running', [pending]: 'starting', [terminating]: 'stopping', [failed]: 'exited', [marked]: 'stopping' });
    expect(list.find((i) => i.id === ready)!.startedAt).toBe(Date.parse(api.pod(ready)!.metadata.creationTimestamp));
    const [req, scale] = api.requests;
    expect(req).toMatchObject({ method: 'GET', path: PODS, authorization: 'Bearer test-token' });
    expect(req!.query.get('labelSelector')).toBe(podSelector(WORKLOAD));
    expect(scale).toMatchObject({ method: 'GET', path: SCALE });
    // A mark whose scale-down never happened (replicas = active pods) is not a removal: running.
    api.replicas = 3;
    expect((await prov.list()).find((i) => i.id === marked)!.state).toBe('running');
    expect(podSelector(WORKLOAD)).toBe('parlor.provisioner=kubernetes,app.kubernetes.io/instance=parlor-server');
  });

  it('start(n) sets the replicas to the pods kept + n with a merge patch, once for the same ask', async () => {
    api.addPod('ready');
    api.replicas = 1;
    // The ReplicaSet names the pods: start() returns those it made (here within the same answer).
    const made: string[] = [];
    api.onScaleWrite = () => {
      while (api.pods.length < api.replicas) made.push(api.addPod('pending'));
      api.onScaleWrite = undefined;
    };
    const asked = await new KubernetesProvisioner({ template, namespace: NS, workload: WORKLOAD, kubeconfig, podWaitMs: 5_000 }).start(2);
    expect(asked.map((i) => [i.id, i.state])).toEqual(made.map((name) => [name, 'starting']));
    expect(made).toHaveLength(2);
    api.pods.splice(1); // as if the ReplicaSet were slower: the next asks return no pod yet
    const patch = api.writes()[0]!;
    expect(patch).toMatchObject({ method: 'PATCH', path: SCALE, contentType: 'application/merge-patch+json' });
    expect(patch.body).toEqual({ metadata: { resourceVersion: '100' }, spec: { replicas: 3 } });
    expect(api.replicas).toBe(3);
    // The same ask again (a restarted orchestrator, the pods not created yet): nothing more.
    expect(await prov.start(2)).toEqual([]);
    expect(api.replicas).toBe(3);
    // The ReplicaSet made the two pods; one more is asked: 4, never above the pods kept + 1.
    api.addPod('pending');
    api.addPod('pending');
    expect(await prov.start(1)).toEqual([]); // podWaitMs 0: no pod yet, list() shows it later
    expect(scaleWrites()).toEqual([3, 4]);
  });

  it('start(n) counts no terminating or ended pod, waits out a scale-down in progress, and never scales down', async () => {
    api.addPod('ready');
    api.addPod('terminating');
    api.addPod('failed');
    const marked = api.addPod('unready');
    api.pod(marked)!.metadata.annotations = { [POD_DELETION_COST]: STOP_DELETION_COST };
    api.replicas = 1; // 2 active pods: the marked one is being removed
    // More replicas now would keep the marked pod instead of adding one: refused, nothing written.
    await expect(prov.start(1)).rejects.toThrow(`kubernetes provisioner: not scaling up yet: the ReplicaSet has not removed ${marked} (a scale-down in progress), and more replicas now would keep it`);
    // asked first (the autoscaler does), the provisioner gives the same reason and writes nothing
    expect(await prov.notYet('start')).toBe(`not scaling up yet: the ReplicaSet has not removed ${marked} (a scale-down in progress), and more replicas now would keep it`);
    expect(api.writes()).toEqual([]);
    api.pod(marked)!.metadata.deletionTimestamp = new Date().toISOString(); // the ReplicaSet deleted it
    expect(await prov.notYet('start')).toBeNull();
    await prov.start(1);
    expect(scaleWrites()).toEqual([2]); // 1 active pod + 1
    api.replicas = 5; // someone asked more meanwhile: start(1) leaves it
    expect(await prov.start(1)).toEqual([]);
    expect(api.replicas).toBe(5);
    await expect(prov.start(0)).rejects.toThrow(/start\(0\): want an integer ≥ 1/);
  });

  it('stop(id) annotates exactly that pod with the lowest deletion cost, then scales down by one', async () => {
    const a = api.addPod('ready');
    const b = api.addPod('unready'); // drained: /readyz 503
    const c = api.addPod('ready');
    api.replicas = 3;
    await prov.stop(b);
    const [annotate, scale] = api.writes();
    expect(annotate).toMatchObject({ method: 'PATCH', path: `${PODS}/${b}`, contentType: 'application/merge-patch+json', body: { metadata: { annotations: { [POD_DELETION_COST]: '-2147483648' } } } });
    expect(scale).toMatchObject({ method: 'PATCH', path: SCALE, contentType: 'application/merge-patch+json', body: { spec: { replicas: 2 } } });
    expect(api.pod(a)!.metadata.annotations).toBeUndefined();
    expect(api.pod(c)!.metadata.annotations).toBeUndefined();
    expect((await prov.list()).find((i) => i.id === b)!.state).toBe('stopping');
    // Asked again before the ReplicaSet removed it: no second scale-down.
    await prov.stop(b);
    expect(api.writes()).toHaveLength(2);
    // Gone to terminating: nothing either.
    api.pod(b)!.metadata.deletionTimestamp = new Date().toISOString();
    await prov.stop(b);
    expect(api.writes()).toHaveLength(2);
  });

  it('two concurrent stops scale down twice from the right counts (no conflict)', async () => {
    const a = api.addPod('ready');
    const b = api.addPod('ready');
    api.addPod('ready');
    api.replicas = 3;
    await Promise.all([prov.stop(a), prov.stop(b)]);
    expect(scaleWrites()).toEqual([2, 1]);
    expect(api.pods.filter((p) => p.metadata.annotations?.[POD_DELETION_COST] === STOP_DELETION_COST).map((p) => p.metadata.name).sort()).toEqual([a, b].sort());
  });

  it('stop(id) refuses, with no write, an unknown pod and a scale-down the ReplicaSet would give another pod', async () => {
    const a = api.addPod('ready');
    const booting = api.addPod('pending');
    api.replicas = 2;
    await expect(prov.stop('parlor-server-nope')).rejects.toThrow(`kubernetes provisioner: parlor-server-nope is not a pod of ${NS}/${WORKLOAD}`);
    await expect(prov.stop(a)).rejects.toThrow(`not stopping ${a} yet: the ReplicaSet would remove ${booting} first (it is pending, unscheduled or less ready); asking again later`);
    expect(await prov.notYet('stop', a)).toBe(`not stopping ${a} yet: the ReplicaSet would remove ${booting} first (it is pending, unscheduled or less ready); asking again later`);
    expect(await prov.notYet('stop', 'parlor-server-nope')).toBeNull(); // stop itself says what is wrong with it
    expect(api.writes()).toEqual([]);
    api.pod(booting)!.spec.nodeName = 'node-1'; // scheduled, started, ready
    api.pod(booting)!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
    expect(await prov.notYet('stop', a)).toBeNull();
    await prov.stop(a);
    expect(scaleWrites()).toEqual([1]);
  });

  it('two drained pods: each is stopped in turn (equally unready, the deletion cost decides); a stale mark on an equal pod blocks', async () => {
    const a = api.addPod('unready');
    const b = api.addPod('unready');
    const c = api.addPod('ready');
    api.replicas = 3;
    await prov.stop(a); // b is as unready as a, but not marked: a has the lowest cost
    await prov.stop(b); // a is being removed: not in b's way
    expect(scaleWrites()).toEqual([2, 1]);
    // A mark left by a scale-down that failed (replicas = active pods again) ties with an equal pod: refused.
    api.pod(a)!.metadata.deletionTimestamp = new Date().toISOString();
    api.pod(b)!.metadata.deletionTimestamp = new Date().toISOString();
    const d = api.addPod('unready');
    const e = api.addPod('unready');
    api.pod(d)!.metadata.annotations = { [POD_DELETION_COST]: STOP_DELETION_COST };
    api.replicas = 3; // c, d, e
    await expect(prov.stop(e)).rejects.toThrow(`not stopping ${e} yet: the ReplicaSet would remove ${d} first`);
    await prov.stop(d); // the stale mark's own pod: scaled down now
    expect(scaleWrites()).toEqual([2, 1, 2]);
    expect(api.pod(c)!.metadata.annotations).toBeUndefined();
  });

  it('a concurrent writer (409), a missing workload (404) and a missing Role (403) are one-line errors naming the fix', async () => {
    api.addPod('ready');
    api.replicas = 1;
    api.afterScaleRead = () => {
      api.touchDeployment(); // someone changed the Deployment between the read and the patch
      api.afterScaleRead = undefined;
    };
    await expect(prov.start(1)).rejects.toThrow(`kubernetes provisioner: scaling to 2 replicas deployment ${NS}/${WORKLOAD}: changed meanwhile (another writer); the autoscaler decides again`);
    expect(api.replicas).toBe(1);
    api.failNext = 404;
    await expect(prov.list()).rejects.toThrow(/not found: apply the manifests \(parlor-orchestrator kubernetes manifests\)/);
    api.failNext = 403;
    await expect(prov.list()).rejects.toThrow(/forbidden: the orchestrator's service account needs the Role of the manifests/);
    await prov.start(1); // and it works again after
    expect(api.replicas).toBe(2);
  });

  it('an unreadable or missing kubeconfig is a config error naming the fix; an unreachable API names the cause', async () => {
    const bad = new KubernetesProvisioner({ template, kubeconfig: '/nonexistent/kubeconfig' });
    await expect(bad.list()).rejects.toMatchObject({ code: 'ORCHESTRATOR_CONFIG', message: expect.stringContaining('cannot read the kubeconfig /nonexistent/kubeconfig') });
    // No kubeconfig anywhere and not in a cluster: said so, not client-node's fallback to http://localhost:8080.
    const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST };
    const home = mkdtempSync(join(tmpdir(), 'parlor-no-kubeconfig-'));
    Object.assign(process.env, { HOME: home, KUBECONFIG: '' });
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      await expect(new KubernetesProvisioner({ template }).list()).rejects.toMatchObject({ code: 'ORCHESTRATOR_CONFIG', message: 'kubernetes provisioner: no kubeconfig: set KUBECONFIG or write ~/.kube/config (kubectl does), or run the orchestrator in the cluster with its service account' });
      process.env.KUBECONFIG = kubeconfig; // $KUBECONFIG is read when given
      expect(await new KubernetesProvisioner({ template, namespace: NS, workload: WORKLOAD }).list()).toEqual([]);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      rmSync(home, { recursive: true, force: true });
    }
    await api.close(); // nothing listens there any more
    await expect(prov.list()).rejects.toThrow(/cannot reach the Kubernetes API/);
  });

  it('without @kubernetes/client-node installed, the first call says what to install (ORCHESTRATOR_CONFIG), in the built package', async () => {
    // A module resolve hook makes the package unresolvable, as in a project that did not install it.
    const dir = mkdtempSync(join(tmpdir(), 'parlor-no-kube-'));
    try {
      writeFileSync(join(dir, 'hide.mjs'), "export async function resolve(s, c, next) { if (s === '@kubernetes/client-node') throw Object.assign(new Error('Cannot find package ' + s), { code: 'ERR_MODULE_NOT_FOUND' }); return next(s, c); }\n");
      writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister(new URL('./hide.mjs', import.meta.url));\n");
      const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
      const script = `const o = await import(${JSON.stringify(dist)}); await new o.KubernetesProvisioner({ template: {} }).list().then(() => console.log('loaded'), (e) => console.log(e.code + ' ' + e.message));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', join(dir, 'register.mjs'), '--input-type=module', '-e', script]);
      expect(stdout.trim()).toBe('ORCHESTRATOR_CONFIG --provisioner kubernetes needs the @kubernetes/client-node package: npm install @kubernetes/client-node@~1.4 beside @parlor/orchestrator');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the manifests' Role grants exactly the calls the provisioner made in this file", () => {
    seen.push(...api.requests);
    const calls = new Set<string>();
    for (const r of seen) {
      if (r.path === SCALE) calls.add(`apps deployments/scale ${r.method === 'GET' ? 'get' : 'patch'} ${WORKLOAD}`);
      else if (r.path === PODS && r.method === 'GET') calls.add(' pods list *');
      else if (r.path.startsWith(`${PODS}/`) && r.method === 'PATCH') calls.add(' pods patch *');
      else throw new Error(`a call the Role does not cover: ${r.method} ${r.path}`);
    }
    const granted = new Set<string>();
    for (const rule of provisionerRules(WORKLOAD) as Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>) {
      for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) granted.add(`${g} ${res} ${v} ${rule.resourceNames?.join(',') ?? '*'}`);
    }
    expect([...calls].sort()).toEqual([...granted].sort());
  });
});
