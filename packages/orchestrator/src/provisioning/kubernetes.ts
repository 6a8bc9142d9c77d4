/**
 * The Kubernetes provisioner: scales the game servers' Deployment (the manifests of
 * `parlor-orchestrator kubernetes manifests`, `deploy/kubernetes/parlor.yaml`) through the
 * Kubernetes API with `@kubernetes/client-node` (an optional peer dependency, loaded on first use).
 * The pods are the engine's truth: {@link KubernetesProvisioner.list} reads them by label
 * selector, and {@link KubernetesProvisioner.start} derives the replica count from them, so a
 * restarted orchestrator never asks twice.
 *
 * The API calls it makes, and nothing else (the manifests' Role grants exactly these):
 * - `GET   /apis/apps/v1/namespaces/{ns}/deployments/{workload}/scale` — the replica count and its resourceVersion;
 * - `PATCH /apis/apps/v1/namespaces/{ns}/deployments/{workload}/scale` — `application/merge-patch+json`
 *   `{metadata:{resourceVersion}, spec:{replicas}}` (a concurrent change answers 409 rather than being overwritten);
 * - `GET   /api/v1/namespaces/{ns}/pods?labelSelector=parlor.provisioner=kubernetes,app.kubernetes.io/instance={workload}`;
 * - `PATCH /api/v1/namespaces/{ns}/pods/{pod}` — `application/merge-patch+json`, the annotation
 *   `controller.kubernetes.io/pod-deletion-cost: "-2147483648"` on the pod to stop.
 *
 * Stopping one pod of a Deployment: the ReplicaSet removes, on a scale-down, the pods it ranks
 * first: not scheduled, then pending, then not ready, and only then the lowest deletion cost.
 * So {@link KubernetesProvisioner.stop} annotates the pod with the lowest cost and scales down by
 * one only when no other pod ranks before it (a drained pod is not ready: `/readyz` answers 503
 * while draining, so only a pending, unscheduled or equally unready marked pod would go first);
 * otherwise it throws, and the autoscaler asks again at a later decision. A marked pod is *being removed* while the replicas
 * are fewer than the active pods (the ReplicaSet has not deleted it yet); until then
 * {@link KubernetesProvisioner.start} refuses, since raising the replicas then would keep that pod
 * instead of adding one.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { OrchestratorConfigError } from '../errors.js';
import { POD_DELETION_COST, podSelector } from './kubernetes-manifests.js';
import type { ProvisionedInstance, Provisioner, ServerTemplate } from './types.js';

type K8s = typeof import('@kubernetes/client-node');
type Pod = import('@kubernetes/client-node').V1Pod;

/** The pod-deletion-cost the provisioner gives a pod it stops (the lowest an int32 holds). */
export const STOP_DELETION_COST = '-2147483648';

/** Options of {@link KubernetesProvisioner}. */
export interface KubernetesProvisionerOptions {
  /**
   * What the instances run. The Deployment's pod template (the manifests) is what the pods
   * really run; the template is kept for the orchestrator's reports and is not written to the cluster.
   */
  template: ServerTemplate;
  /** Namespace of the workload. Default `default`. */
  namespace?: string;
  /** Name of the game servers' Deployment. Default `parlor-server`. */
  workload?: string;
  /**
   * A kubeconfig file. Default: the pod's service account when running in a cluster
   * (`KUBERNETES_SERVICE_HOST` is set), else `$KUBECONFIG` or `~/.kube/config`.
   */
  kubeconfig?: string;
  /**
   * After a scale-up, how long {@link KubernetesProvisioner.start} waits for the ReplicaSet to
   * create the pods so it can return their names (it polls the pods every 200 ms), ms. Default 5 000.
   */
  podWaitMs?: number;
}

/** The client-node module, or a one-line error saying what to install. */
async function loadClient(): Promise<K8s> {
  try {
    return await import('@kubernetes/client-node');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new OrchestratorConfigError('--provisioner kubernetes needs the @kubernetes/client-node package: npm install @kubernetes/client-node@~1.4 beside @parlor/orchestrator', { cause: err });
    }
    throw err;
  }
}

/** An API failure as one line naming what to do (404: the manifests; 403: the Role; 409: a concurrent change). */
function apiError(what: string, err: unknown, where: string): Error {
  const status = (err as { code?: unknown }).code;
  const hint =
    status === 404 ? `not found: apply the manifests (parlor-orchestrator kubernetes manifests) or give --kube-namespace/--kube-workload`
    : status === 403 ? `forbidden: the orchestrator's service account needs the Role of the manifests (deployments/scale get, patch; pods list, patch)`
    : status === 409 ? 'changed meanwhile (another writer); the autoscaler decides again'
    : typeof status === 'number' ? `the API answered ${status}`
    : `cannot reach the Kubernetes API: ${(err as Error)?.message ?? String(err)}`;
  return Object.assign(new Error(`kubernetes provisioner: ${what} ${where}: ${hint}`, { cause: err }), typeof status === 'number' ? { status } : {});
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
/**
 * The ReplicaSet's first three criteria for which pod a scale-down removes (lowest first): not
 * scheduled before scheduled, Pending < Unknown < Running, not ready before ready. Only between
 * pods equal on these does the deletion cost decide.
 */
const rank = (p: Pod): number => (p.spec?.nodeName ? 100 : 0) + 10 * (PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0) + (isReady(p) ? 1 : 0);
const isMarked = (p: Pod): boolean => p.metadata?.annotations?.[POD_DELETION_COST] === STOP_DELETION_COST;
/** Neither terminating nor ended: a pod the ReplicaSet counts. */
const isActive = (p: Pod): boolean => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** The workload as one read: its pods, its scale, and the marked pods the ReplicaSet has yet to remove. */
interface View {
  pods: Pod[];
  /** Pods the ReplicaSet counts (not terminating, not ended). */
  active: Pod[];
  replicas: number;
  resourceVersion?: string;
  /** Names of marked active pods while the replicas are fewer than the active pods: a scale-down the ReplicaSet has not applied yet. */
  removing: Set<string>;
}

function stateOf(p: Pod, removing: Set<string>): ProvisionedInstance['state'] {
  if (p.metadata?.deletionTimestamp || removing.has(p.metadata?.name ?? '')) return 'stopping';
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 'exited';
  return phase === 'Pending' ? 'starting' : 'running';
}

/** Why more replicas now would be wrong (a scale-down the ReplicaSet has not applied: it would keep the marked pods), or `null`. */
function startBlocker(v: View): string | null {
  if (v.removing.size === 0) return null;
  return `not scaling up yet: the ReplicaSet has not removed ${[...v.removing].join(', ')} (a scale-down in progress), and more replicas now would keep ${v.removing.size === 1 ? 'it' : 'them'}`;
}

/** Why one replica less now would remove another pod than `pod` (one it ranks before, or equal and marked too), or `null`. */
function stopBlocker(v: View, pod: Pod): string | null {
  const id = pod.metadata?.name ?? '';
  const blocking = v.active.filter((p) => p !== pod && !v.removing.has(p.metadata?.name ?? '') && (rank(p) < rank(pod) || (rank(p) === rank(pod) && isMarked(p)))).map((p) => p.metadata?.name);
  if (blocking.length === 0) return null;
  return `not stopping ${id} yet: the ReplicaSet would remove ${blocking.join(', ')} first (${blocking.length === 1 ? 'it is' : 'they are'} pending, unscheduled or less ready); asking again later`;
}

/** A pod as a {@link ProvisionedInstance}: its name, its state, its creation time. */
function instanceOf(p: Pod, removing: Set<string>): ProvisionedInstance {
  return { id: p.metadata?.name ?? '', state: stateOf(p, removing), startedAt: p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0 };
}

/**
 * Starts and stops `parlor serve` pods by scaling a Deployment (see the file header for the API
 * calls and the scale-down rule). Instance ids are pod names, which the pods' agents report as
 * their `parlor.provisioned-id` label.
 */
export class KubernetesProvisioner implements Provisioner {
  readonly name = 'kubernetes';
  /** The template given (not written to the cluster: the Deployment's pod template is). */
  readonly template: ServerTemplate;
  /** Namespace of the workload. */
  readonly namespace: string;
  /** Name of the servers' Deployment. */
  readonly workload: string;
  private readonly kubeconfig?: string;
  private readonly podWaitMs: number;
  private apis?: Promise<{ apps: import('@kubernetes/client-node').AppsV1Api; core: import('@kubernetes/client-node').CoreV1Api; merge: import('@kubernetes/client-node').ConfigurationOptions }>;
  /** Scale changes one at a time (two concurrent stops must not both scale down from the same count). */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Nothing is contacted until the first call. */
  constructor(options: KubernetesProvisionerOptions) {
    this.template = options.template;
    this.namespace = options.namespace ?? 'default';
    this.workload = options.workload ?? 'parlor-server';
    this.kubeconfig = options.kubeconfig;
    this.podWaitMs = options.podWaitMs ?? 5_000;
  }

  /** The API clients, made on first use from the kubeconfig. @throws OrchestratorConfigError when client-node is missing or the kubeconfig cannot be read. */
  private clients(): Promise<{ apps: import('@kubernetes/client-node').AppsV1Api; core: import('@kubernetes/client-node').CoreV1Api; merge: import('@kubernetes/client-node').ConfigurationOptions }> {
    this.apis ??= (async () => {
      const k8s = await loadClient();
      const kc = new k8s.KubeConfig();
      try {
        if (this.kubeconfig !== undefined) kc.loadFromFile(this.kubeconfig);
        else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
        else {
          // Without one, client-node falls back to http://localhost:8080, which then fails with a riddle.
          const files = [...(process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean), join(homedir(), '.kube', 'config')];
          if (!files.some((f) => existsSync(f))) throw new OrchestratorConfigError('kubernetes provisioner: no kubeconfig: set KUBECONFIG or write ~/.kube/config (kubectl does), or run the orchestrator in the cluster with its service account');
          kc.loadFromDefault();
        }
      } catch (err) {
        if (err instanceof OrchestratorConfigError) throw err;
        throw new OrchestratorConfigError(`kubernetes provisioner: cannot read the kubeconfig ${this.kubeconfig ?? '(default)'}: ${(err as Error).message}`, { cause: err });
      }
      if (!kc.getCurrentCluster()) throw new OrchestratorConfigError(`kubernetes provisioner: no cluster in the kubeconfig ${this.kubeconfig ?? '(default: $KUBECONFIG or ~/.kube/config)'}: give one with its file, or run the orchestrator in the cluster`);
      // client-node sends a patch as application/json-patch+json unless told: these are merge patches.
      return { apps: kc.makeApiClient(k8s.AppsV1Api), core: kc.makeApiClient(k8s.CoreV1Api), merge: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch) };
    })();
    this.apis.catch(() => (this.apis = undefined)); // a failed setup is tried again next call
    return this.apis;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get where(): string {
    return `${this.namespace}/${this.workload}`;
  }

  private async pods(): Promise<Pod[]> {
    const { core } = await this.clients();
    try {
      return (await core.listNamespacedPod({ namespace: this.namespace, labelSelector: podSelector(this.workload) })).items;
    } catch (err) {
      throw apiError('listing the pods of', err, this.where);
    }
  }

  private async scale(): Promise<{ replicas: number; resourceVersion?: string }> {
    const { apps } = await this.clients();
    try {
      const s = await apps.readNamespacedDeploymentScale({ name: this.workload, namespace: this.namespace });
      return { replicas: s.spec?.replicas ?? 0, resourceVersion: s.metadata?.resourceVersion };
    } catch (err) {
      throw apiError('reading the scale of deployment', err, this.where);
    }
  }

  private async setReplicas(replicas: number, resourceVersion: string | undefined): Promise<void> {
    const { apps, merge } = await this.clients();
    try {
      const body = { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), spec: { replicas } };
      await apps.patchNamespacedDeploymentScale({ name: this.workload, namespace: this.namespace, body }, merge);
    } catch (err) {
      throw apiError(`scaling to ${replicas} replicas deployment`, err, this.where);
    }
  }

  private async view(): Promise<View> {
    const pods = await this.pods();
    const { replicas, resourceVersion } = await this.scale();
    const active = pods.filter(isActive);
    const removing = new Set(replicas < active.length ? active.filter(isMarked).map((p) => p.metadata?.name ?? '') : []);
    return { pods, active, replicas, resourceVersion, removing };
  }

  private live(): void {
    if (this.closed) throw new Error('kubernetes provisioner: closed');
  }

  /**
   * Sets the Deployment's replicas to its active pods + `count`, never below the replicas already
   * asked (start never scales down): calling it again with the same pods asks nothing more. The
   * ReplicaSet names the pods: it waits up to `podWaitMs` for them to appear.
   * @param count instances to add (an integer ≥ 1); the caller caps it (max instances).
   * @returns the pods the ReplicaSet created for it within `podWaitMs` (fewer, or none, when it is
   * slower: {@link list} shows them later); none when the count was already asked.
   * @throws Error on an invalid count; while a scale-down is in progress (ask again later); on an
   * API failure (one line: what, where, what to do).
   */
  start(count: number): Promise<ProvisionedInstance[]> {
    return this.serial(async () => {
      this.live();
      if (!Number.isInteger(count) || count < 1) throw new Error(`kubernetes provisioner: start(${count}): want an integer ≥ 1`);
      const view = await this.view();
      const { active, replicas, resourceVersion } = view;
      const why = startBlocker(view);
      if (why !== null) throw new Error(`kubernetes provisioner: ${why}`);
      const target = active.length + count;
      if (target <= replicas) return [];
      await this.setReplicas(target, resourceVersion);
      // The ReplicaSet names the pods: wait for them (it usually creates them within a second).
      const before = new Set(active.map((p) => p.metadata?.name));
      const deadline = Date.now() + this.podWaitMs;
      for (;;) {
        const added = (await this.pods()).filter((p) => isActive(p) && !before.has(p.metadata?.name));
        if (added.length >= target - replicas || Date.now() >= deadline) return added.map((p) => instanceOf(p, new Set()));
        await new Promise((r) => setTimeout(r, Math.min(200, Math.max(1, deadline - Date.now()))));
      }
    });
  }

  /**
   * Stops the pod `id` (a pod name): annotates it with the lowest pod-deletion-cost, then scales
   * the Deployment down by one. Asking again for a pod already stopping changes nothing.
   * @throws Error when `id` is not a pod of the workload; when the ReplicaSet would remove another
   * pod first (one pending, unscheduled or less ready than it; ask again later); on an API failure.
   */
  stop(id: string): Promise<void> {
    return this.serial(async () => {
      this.live();
      const view = await this.view();
      const { pods, replicas, resourceVersion, removing } = view;
      const pod = pods.find((p) => p.metadata?.name === id);
      if (!pod) throw new Error(`kubernetes provisioner: ${id} is not a pod of ${this.where}`);
      if (!isActive(pod) || removing.has(id)) return; // terminating or ended already, or asked before and not removed yet
      const why = stopBlocker(view, pod);
      if (why !== null) throw new Error(`kubernetes provisioner: ${why}`);
      if (!isMarked(pod)) {
        const { core, merge } = await this.clients();
        try {
          await core.patchNamespacedPod({ name: id, namespace: this.namespace, body: { metadata: { annotations: { [POD_DELETION_COST]: STOP_DELETION_COST } } } }, merge);
        } catch (err) {
          throw apiError(`annotating pod ${id} of`, err, this.where);
        }
      }
      await this.setReplicas(Math.max(0, replicas - 1), resourceVersion);
    });
  }

  /**
   * Why a {@link start} (or a {@link stop} of `id`) would be refused now, or `null`: a scale-down
   * the ReplicaSet has not finished, or a pod it would remove before `id`. `null` too for a pod it
   * does not know or that is stopping already ({@link stop} answers those itself).
   * @throws Error on an API failure.
   */
  async notYet(action: 'start' | 'stop', id?: string): Promise<string | null> {
    this.live();
    const view = await this.view();
    if (action === 'start') return startBlocker(view);
    const pod = view.pods.find((p) => p.metadata?.name === id);
    if (!pod || !isActive(pod) || view.removing.has(id ?? '')) return null;
    return stopBlocker(view, pod);
  }

  /** The workload's pods (pending: `starting`; running: `running`; terminating or being removed: `stopping`; succeeded/failed: `exited`). @throws Error on an API failure. */
  async list(): Promise<ProvisionedInstance[]> {
    this.live();
    const { pods, removing } = await this.view();
    return pods.map((p) => instanceOf(p, removing));
  }

  /** Nothing to release (no watch is kept open); later calls throw. Never stops pods. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
