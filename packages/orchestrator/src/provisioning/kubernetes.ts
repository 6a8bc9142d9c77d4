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
 * one only when every other pod is running and ready (a drained pod is not ready: `/readyz`
 * answers 503 while draining, which ranks it first anyway); otherwise it throws, and the
 * autoscaler asks again at a later decision.
 */
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
const isMarked = (p: Pod): boolean => p.metadata?.annotations?.[POD_DELETION_COST] === STOP_DELETION_COST;
/** Neither terminating nor ended: a pod the ReplicaSet counts. */
const isActive = (p: Pod): boolean => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

function stateOf(p: Pod): ProvisionedInstance['state'] {
  if (p.metadata?.deletionTimestamp || isMarked(p)) return 'stopping';
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 'exited';
  return phase === 'Pending' ? 'starting' : 'running';
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
  }

  /** The API clients, made on first use from the kubeconfig. @throws OrchestratorConfigError when client-node is missing or the kubeconfig cannot be read. */
  private clients(): Promise<{ apps: import('@kubernetes/client-node').AppsV1Api; core: import('@kubernetes/client-node').CoreV1Api; merge: import('@kubernetes/client-node').ConfigurationOptions }> {
    this.apis ??= (async () => {
      const k8s = await loadClient();
      const kc = new k8s.KubeConfig();
      try {
        if (this.kubeconfig !== undefined) kc.loadFromFile(this.kubeconfig);
        else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
        else kc.loadFromDefault();
      } catch (err) {
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

  private live(): void {
    if (this.closed) throw new Error('kubernetes provisioner: closed');
  }

  /**
   * Sets the Deployment's replicas to the pods it keeps (active, not being stopped) + `count`,
   * never below the replicas already asked (start never scales down): calling it again with the
   * same pods asks nothing more. Pod names are chosen by the ReplicaSet after this resolves;
   * {@link list} shows them.
   * @param count instances to add (an integer ≥ 1); the caller caps it (max instances).
   * @returns one `starting` entry per replica added (ids `<workload>#<replica number>`, not pod names); none when the count was already asked.
   * @throws Error on an invalid count or an API failure (one line: what, where, what to do).
   */
  start(count: number): Promise<ProvisionedInstance[]> {
    return this.serial(async () => {
      this.live();
      if (!Number.isInteger(count) || count < 1) throw new Error(`kubernetes provisioner: start(${count}): want an integer ≥ 1`);
      const pods = await this.pods();
      const kept = pods.filter((p) => isActive(p) && !isMarked(p)).length;
      const { replicas, resourceVersion } = await this.scale();
      const target = kept + count;
      if (target <= replicas) return [];
      await this.setReplicas(target, resourceVersion);
      const now = Date.now();
      return Array.from({ length: target - replicas }, (_, i) => ({ id: `${this.workload}#${replicas + i + 1}`, state: 'starting' as const, startedAt: now }));
    });
  }

  /**
   * Stops the pod `id` (a pod name): annotates it with the lowest pod-deletion-cost, then scales
   * the Deployment down by one. Asking again for a pod already stopping changes nothing.
   * @throws Error when `id` is not a pod of the workload; when another pod is pending or not
   * ready (the ReplicaSet would remove that one instead; ask again later); on an API failure.
   */
  stop(id: string): Promise<void> {
    return this.serial(async () => {
      this.live();
      const pods = await this.pods();
      const pod = pods.find((p) => p.metadata?.name === id);
      if (!pod) throw new Error(`kubernetes provisioner: ${id} is not a pod of ${this.where}`);
      if (!isActive(pod)) return; // terminating or ended already
      const active = pods.filter(isActive);
      const { replicas, resourceVersion } = await this.scale();
      if (isMarked(pod) && replicas < active.length) return; // asked before, the ReplicaSet has not removed it yet
      const blocking = active.filter((p) => p !== pod && !isMarked(p) && !isReady(p)).map((p) => p.metadata?.name);
      if (blocking.length > 0) {
        throw new Error(`kubernetes provisioner: not stopping ${id} yet: ${blocking.join(', ')} ${blocking.length === 1 ? 'is' : 'are'} not running and ready, and the ReplicaSet would remove ${blocking.length === 1 ? 'it' : 'them'} first`);
      }
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

  /** The workload's pods (pending: `starting`; running: `running`; terminating or being stopped: `stopping`; succeeded/failed: `exited`). @throws Error on an API failure. */
  async list(): Promise<ProvisionedInstance[]> {
    this.live();
    return (await this.pods()).map((p) => ({
      id: p.metadata?.name ?? '',
      state: stateOf(p),
      startedAt: p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0,
    }));
  }

  /** Nothing to release (no watch is kept open); later calls throw. Never stops pods. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
