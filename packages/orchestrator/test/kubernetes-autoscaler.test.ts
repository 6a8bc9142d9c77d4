/**
 * The buffer autoscaler driving the Kubernetes provisioner: a real orchestrator (in this process)
 * with `autoscaler: { provisioner: new KubernetesProvisioner(…) }`, real fleet agents over real
 * sockets, rooms created and destroyed over REST.
 *
 * NO CLUSTER RUNS HERE. The API server is `kube-fake-api.ts` (the response shapes of the
 * Kubernetes API reference for `deployments/{name}/scale` GET/PATCH and `pods` list/patch, NOT a
 * live cluster), and the ReplicaSet and kubelet are simulated by `replicaSet()` below: when the
 * replicas rise it adds a ready pod and starts a fleet agent labelled as the generated pod
 * template labels it (`parlor.provisioner=kubernetes`, `parlor.provisioned-id=<pod name>`); when
 * they fall it removes the pods the ReplicaSet's rules would (lowest pod-deletion-cost among
 * equals) and their agents leave. What is asserted is the autoscaler's and the provisioner's part:
 * it scales to min, grows with the buffer, drains an empty instance and then stops exactly that
 * pod (the annotation on it, the replicas down by one), never above max.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Operation } from '@parlor/squish';
import type { FleetAgent } from '@parlor/fleet-agent';
import { KubernetesProvisioner } from '../src/provisioning/kubernetes.js';
import { POD_DELETION_COST } from '../src/provisioning/kubernetes-manifests.js';
import type { AutoscalerOptions, InstanceInfo, Orchestrator } from '../src/index.js';
import { http, startAgent, startOrchestrator, waitFor } from './helpers.js';
import { FakeKubeApi } from './kube-fake-api.js';

const NS = 'parlor';
const WORKLOAD = 'parlor-server';
const SCALE = `/apis/apps/v1/namespaces/${NS}/deployments/${WORKLOAD}/scale`;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The simulated ReplicaSet + kubelet (see the file header): brings the pods and agents to the replicas after each scale write. */
function replicaSet(api: FakeKubeApi, orch: Orchestrator): { agents: Map<string, FleetAgent>; removed: string[]; settle: () => Promise<void> } {
  const agents = new Map<string, FleetAgent>();
  const removed: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  const reconcile = async (): Promise<void> => {
    const active = api.pods.filter((p) => !p.metadata.deletionTimestamp);
    for (let n = active.length; n < api.replicas; n++) {
      const name = api.addPod('ready');
      const { agent } = await startAgent(orch, { name, capacity: { maxRooms: 2 }, labels: { 'parlor.provisioner': 'kubernetes', 'parlor.provisioned-id': name } });
      agents.set(name, agent);
    }
    const cost = (name: string): number => Number(api.pod(name)!.metadata.annotations?.[POD_DELETION_COST] ?? 0);
    const doomed = active.map((p) => p.metadata.name).sort((a, b) => cost(a) - cost(b)).slice(0, Math.max(0, active.length - api.replicas));
    for (const name of doomed) {
      api.pods.splice(api.pods.findIndex((p) => p.metadata.name === name), 1);
      removed.push(name);
      await agents.get(name)!.disconnect();
      agents.delete(name);
    }
  };
  api.onScaleWrite = () => (chain = chain.then(reconcile));
  cleanups.push(async () => {
    await chain.catch(() => undefined);
    for (const a of agents.values()) await a.disconnect().catch(() => undefined);
  });
  return { agents, removed, settle: () => chain };
}

/** An orchestrator whose autoscaler (`options`, every sync 100 ms, instances of 2 slots) scales the stand-in's Deployment, with the simulated ReplicaSet. */
async function kubeFleet(options: Pick<AutoscalerOptions, 'buffer' | 'minInstances' | 'maxInstances' | 'coolDownMs'>): Promise<{ api: FakeKubeApi; orch: Orchestrator; rs: ReturnType<typeof replicaSet>; joined: () => InstanceInfo[] }> {
  const api = new FakeKubeApi(NS, WORKLOAD, { 'parlor.provisioner': 'kubernetes', 'app.kubernetes.io/instance': WORKLOAD });
  const kubeconfig = await api.listen();
  cleanups.push(() => api.close());
  const provisioner = new KubernetesProvisioner({ template: { fleetUrl: '', agentKey: '', labels: {}, capacity: 2, env: {} }, namespace: NS, workload: WORKLOAD, kubeconfig });
  const { orch } = await startOrchestrator({ unjoinedRoomTtlMs: 0, autoscaler: { provisioner, ...options, syncMs: 100, instanceCapacity: 2 } });
  cleanups.push(() => orch.shutdown());
  const rs = replicaSet(api, orch);
  return { api, orch, rs, joined: () => orch.fleet.instances.filter((i) => i.labels['parlor.provisioner'] === 'kubernetes') };
}

describe('the autoscaler with the Kubernetes provisioner (recorded API shapes, simulated ReplicaSet)', () => {
  it('scales to min, grows with the buffer, then drains an empty instance and stops exactly its pod', async () => {
    const fleet = await kubeFleet({ buffer: 2, minInstances: 1, maxInstances: 3, coolDownMs: 300 });
    const { api, orch, rs } = fleet;
    const joined = (): number => fleet.joined().length;

    // min 1 (and a buffer of 2 = one instance of 2 slots): one pod, its agent joins
    await waitFor(() => joined() === 1, 'the first pod joined', 10_000);
    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'pong' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // 1 free slot < buffer 2: a second pod
    await waitFor(() => joined() === 2, 'a second pod joined (the buffer)', 10_000);
    const busy = orch.fleet.getInstance(created.body.data.instanceId)!.labels['parlor.provisioned-id']!;
    const spare = orch.fleet.instances.map((i) => i.labels['parlor.provisioned-id']).find((n) => n !== undefined && n !== busy)!;
    expect(api.pod(spare)).toBeDefined();

    // The room ends: 4 free slots, buffer 2: one empty instance is drained, then its pod stopped.
    expect((await http(orch, 'DELETE', `/v1/rooms/${created.body.data.roomId}`)).status).toBe(200);
    await waitFor(() => rs.removed.length === 1, 'a pod removed', 15_000);
    await rs.settle();
    const stopped = rs.removed[0]!;
    const annotations = api.writes().filter((r) => r.path.startsWith(`/api/v1/namespaces/${NS}/pods/`));
    expect(annotations.map((r) => r.path)).toEqual([`/api/v1/namespaces/${NS}/pods/${stopped}`]);
    expect(annotations[0]!.body).toEqual({ metadata: { annotations: { [POD_DELETION_COST]: '-2147483648' } } });
    // The replicas: 1 (min), 2 (buffer), 1 (the stop); never above max, never asked twice.
    const replicas = api.writes().filter((r) => r.path === SCALE).map((r) => (r.body as { spec: { replicas: number } }).spec.replicas);
    expect(replicas).toEqual([1, 2, 1]);
    // The operation log: the drain and the scale-down name the pod the ReplicaSet removed.
    const ops = async (op: string): Promise<Operation[]> => (await http(orch, 'GET', `/v1/operations?op=${op}`)).body.data.operations as Operation[];
    expect(await ops('drain')).toMatchObject([{ source: 'autoscaler', state: 'succeeded', params: { provisioner: 'kubernetes', provisionedId: stopped } }]);
    expect(await ops('scale_down')).toMatchObject([{ source: 'autoscaler', state: 'succeeded', params: { provisioner: 'kubernetes', provisionedId: stopped } }]);
    expect((await ops('scale_up')).map((o) => o.state)).toEqual(['succeeded', 'succeeded']);
    expect(stopped).toBe(spare); // both empty: the newest is drained, the first one keeps min
    await waitFor(() => joined() === 1, 'one instance left', 10_000);
  }, 60_000);

  it('a stop the ReplicaSet would give a booting pod waits, shown as waiting and recorded as nothing, until that pod is ready', async () => {
    // buffer 0 and a long cool-down: the autoscaler scales down nothing by itself here; it stops what an admin drained
    const { api, orch, rs, joined } = await kubeFleet({ buffer: 0, minInstances: 2, maxInstances: 3, coolDownMs: 600_000 });
    await waitFor(() => joined().length === 2, 'two pods joined (min)', 10_000);
    // the simulated ReplicaSet done with that scale-up: a round still running would read the replicas set below and add a pod
    await rs.settle();
    const status = async (): Promise<{ waiting: string | null }> => (await http(orch, 'GET', '/v1/autoscaler')).body.data;
    expect((await status()).waiting).toBeNull();

    // A third pod is still booting (pending, unscheduled), e.g. started by a rollout; an admin drains an empty instance.
    const booting = api.addPod('pending');
    api.replicas = 3;
    const victim = joined()[0]!;
    const pod = victim.labels['parlor.provisioned-id']!;
    expect((await http(orch, 'POST', `/v1/instances/${victim.id}/drain`)).status).toBe(200);
    // One replica less now would remove the booting pod, not the drained one: the autoscaler waits and says why.
    await waitFor(async () => (await status()).waiting !== null, 'the autoscaler waiting', 10_000);
    expect((await status()).waiting).toBe(`not stopping ${pod} yet: the ReplicaSet would remove ${booting} first (it is pending, unscheduled or less ready); asking again later`);
    // several syncs later (each lists the pods once): still nothing recorded, nothing written
    const lists = (): number => api.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/api/v1/namespaces/${NS}/pods`)).length;
    const seen = lists();
    await waitFor(() => lists() >= seen + 10, 'ten more syncs', 10_000);
    const ops = async (op: string): Promise<Operation[]> => (await http(orch, 'GET', `/v1/operations?op=${op}`)).body.data.operations as Operation[];
    expect(await ops('scale_down')).toEqual([]);
    expect(api.writes().filter((r) => r.path.startsWith(`/api/v1/namespaces/${NS}/pods/`))).toEqual([]);

    // The booting pod is scheduled, runs and is ready: the stop goes through, exactly that pod, recorded once.
    api.pod(booting)!.spec.nodeName = 'node-1';
    api.pod(booting)!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
    await waitFor(() => rs.removed.includes(pod), 'the drained pod removed', 10_000);
    expect(rs.removed).toEqual([pod]);
    expect(await ops('scale_down')).toMatchObject([{ source: 'autoscaler', state: 'succeeded', params: { provisioner: 'kubernetes', provisionedId: pod } }]);
    await waitFor(async () => (await status()).waiting === null, 'waiting no more', 10_000);
  }, 60_000);
});
