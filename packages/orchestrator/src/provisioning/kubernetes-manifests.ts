/**
 * The Kubernetes manifests of a Parlor fleet, generated: `parlor-orchestrator kubernetes manifests`
 * prints them, and `deploy/kubernetes/parlor.yaml` is this generator's output for the defaults (a
 * test keeps the two equal). What they hold, in the order `kubectl apply` creates them:
 *
 * - the Namespace (unless `default`);
 * - the game servers: a **Deployment** (not a StatefulSet: the autoscaler stops whichever instance
 *   it drained and found empty, and a Deployment removes exactly that pod when the pod carries the
 *   lowest `controller.kubernetes.io/pod-deletion-cost`; a StatefulSet can only remove its highest
 *   ordinal, busy or not). Its pods carry `parlor.provisioner=kubernetes`, and their agent reports
 *   the pod name as `parlor.provisioned-id` (the Downward API's `POD_NAME`, expanded by the
 *   kubelet in the container's args). `--state-dir` is on an `emptyDir`, which outlives the
 *   container: a server that crashes or is killed comes back in the same pod with its rooms. On
 *   deletion the preStop hook starts the server's own SIGTERM drain and waits for it (the rooms
 *   play on until empty, up to `--drain-timeout`), inside a termination grace period 30 s longer;
 *   readiness is `/readyz` (503 while draining), liveness `/healthz`; the agent key is a Secret
 *   item mounted as a file (`--fleet-key-file`). No `replicas` field: the autoscaler owns the
 *   count, and applying the manifests again must not reset it;
 * - a headless Service of the servers (one DNS record per ready pod) and a PodDisruptionBudget
 *   (a node drain evicts one game server at a time);
 * - the orchestrator: ServiceAccount, Role (exactly the calls the Kubernetes provisioner makes:
 *   `deployments/scale` get and patch on the one workload, `pods` list and patch) and RoleBinding;
 *   a PersistentVolumeClaim for its SQLite data and catalog; a Deployment of 1 replica (SQLite:
 *   one orchestrator per data folder, so `Recreate`) running the autoscaler with the
 *   `kubernetes` provisioner; its Service.
 *
 * The Secret of the keys is not generated (no key belongs in a file you commit): create it with
 * `kubectl create secret generic` (docs/KUBERNETES.md).
 */
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL } from './types.js';
import { toYamlStream, type YamlValue } from './yaml.js';

/** The annotation a Deployment's ReplicaSet reads to choose which pod a scale-down removes (lowest first). */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
/** The label naming the server workload a pod belongs to (the provisioner's `workload`). */
export const WORKLOAD_LABEL = 'app.kubernetes.io/instance';

/** Options of {@link kubernetesManifests}; every one has a default. */
export interface KubernetesManifestOptions {
  /** Namespace of everything. Default `parlor`. */
  namespace?: string;
  /** Name of the game servers' Deployment (the provisioner's `workload`). Default `parlor-server`. */
  workload?: string;
  /** Game server image (its entrypoint is the `parlor` CLI: `build-server-image.sh`). Default `parlor-server:local`. */
  serverImage?: string;
  /** Orchestrator image (its entrypoint is `parlor-orchestrator`: `deploy/kubernetes/build-orchestrator-image.sh`). Default `parlor-orchestrator:local`. */
  orchestratorImage?: string;
  /** Room slots per server instance (`--max-rooms`, `--instance-capacity`). Default 10. */
  capacity?: number;
  /** A server's drain on deletion, ms (`--drain-timeout`); the grace period is this + 30 s. Default 300 000. */
  drainTimeoutMs?: number;
  /** Free room slots the autoscaler keeps: `4` or `'25%'`. Default 4. */
  buffer?: string;
  /** Fewest server instances. Default 1. */
  minInstances?: number;
  /** Most server instances. Default 10. */
  maxInstances?: number;
  /** Extra arguments appended to every server's `parlor serve`. Default none. */
  serverArgs?: string[];
  /** Secret holding `agent.key` (one agent key) and `admin.keys` (admin keys, one per line). Default `parlor-keys`. */
  keySecret?: string;
  /** Size of the orchestrator's PersistentVolumeClaim. Default `1Gi`. */
  orchestratorStorage?: string;
  /**
   * The address players' join URLs name (`--endpoint-url`): `pod-ip` (`http://<pod IP>:8080`,
   * reachable inside the cluster only) or `host-port` (the pod's port 8080 published on its node,
   * `http://<node IP>:8080`: one game server per node, as Agones' host ports). Default `pod-ip`.
   */
  endpoint?: 'pod-ip' | 'host-port';
}

/** The defaults of {@link KubernetesManifestOptions} (what `deploy/kubernetes/parlor.yaml` is made of). */
export const KUBERNETES_MANIFEST_DEFAULTS: Readonly<Required<KubernetesManifestOptions>> = Object.freeze({
  namespace: 'parlor',
  workload: 'parlor-server',
  serverImage: 'parlor-server:local',
  orchestratorImage: 'parlor-orchestrator:local',
  capacity: 10,
  drainTimeoutMs: 300_000,
  buffer: '4',
  minInstances: 1,
  maxInstances: 10,
  serverArgs: [],
  keySecret: 'parlor-keys',
  orchestratorStorage: '1Gi',
  endpoint: 'pod-ip',
});

/** Seconds between the end of a server's drain timeout and the kubelet's SIGKILL: the rooms' final saves and the close. */
export const GRACE_MARGIN_S = 30;
const SERVER_PORT = 8080;
const ORCHESTRATOR_PORT = 7070;
const ORCHESTRATOR = 'parlor-orchestrator';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The preStop hook's program (run by the image's own `node`: the server image has no shell).
 * It sends SIGTERM to PID 1, the `parlor serve` process, which drains (no new rooms, `/readyz`
 * 503, rooms play on until empty or `--drain-timeout`), and waits until it exits, so the
 * kubelet's SIGTERM after the hook never arrives as the second signal that ends rooms at once.
 */
export const PRESTOP_DRAIN = "process.kill(1,'SIGTERM');setInterval(()=>{try{process.kill(1,0)}catch{process.exit(0)}},500)";

function check(o: Required<KubernetesManifestOptions>): void {
  for (const [flag, v] of [['--namespace', o.namespace], ['--workload', o.workload], ['--key-secret', o.keySecret]] as const) {
    if (!DNS_LABEL.test(v)) throw new Error(`${flag} ${JSON.stringify(v)}: a Kubernetes name is lower-case letters, digits and "-" (at most 63, e.g. parlor)`);
  }
  for (const [flag, v, min] of [['--capacity', o.capacity, 1], ['--min-instances', o.minInstances, 0], ['--max-instances', o.maxInstances, 1], ['--drain-timeout', o.drainTimeoutMs, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag} ${v}: want an integer ≥ ${min}`);
  }
  if (o.minInstances > o.maxInstances) throw new Error(`--min-instances ${o.minInstances} is above --max-instances ${o.maxInstances}`);
  if (!/^\d+%?$/.test(o.buffer)) throw new Error(`--buffer ${JSON.stringify(o.buffer)}: want a number of free room slots (4) or a percentage (25%)`);
  if (o.endpoint !== 'pod-ip' && o.endpoint !== 'host-port') throw new Error(`--endpoint ${JSON.stringify(o.endpoint)}: want pod-ip or host-port`);
  if (!o.serverImage || !o.orchestratorImage) throw new Error('--server-image and --orchestrator-image need a value (e.g. parlor-server:local)');
}

/** The labels of the servers' pods; `selector` is the part the Deployment and Service select on. */
function serverLabels(workload: string): { selector: Record<string, string>; pod: Record<string, string> } {
  const selector = { 'app.kubernetes.io/component': 'game-server', [WORKLOAD_LABEL]: workload };
  return { selector, pod: { 'app.kubernetes.io/name': 'parlor', ...selector, [PROVISIONER_LABEL]: 'kubernetes' } };
}

/** The label selector the provisioner lists a workload's pods with. */
export function podSelector(workload: string): string {
  return `${PROVISIONER_LABEL}=kubernetes,${WORKLOAD_LABEL}=${workload}`;
}

function serverDeployment(o: Required<KubernetesManifestOptions>, fleetUrl: string): YamlValue {
  const labels = serverLabels(o.workload);
  const hostPort = o.endpoint === 'host-port';
  const args = [
    'serve', '--host', '0.0.0.0', '--port', String(SERVER_PORT),
    '--fleet-url', fleetUrl, '--fleet-key-file', '/etc/parlor/agent.key',
    '--name', '$(POD_NAME)', '--endpoint-url', `http://$(${hostPort ? 'HOST_IP' : 'POD_IP'}):${SERVER_PORT}`,
    '--label', `${PROVISIONER_LABEL}=kubernetes`, '--label', `${PROVISIONED_ID_LABEL}=$(POD_NAME)`,
    '--max-rooms', String(o.capacity), '--drain-timeout', String(o.drainTimeoutMs),
    '--runtime', 'inline', '--state-dir', '/data/state', '--artifact-cache', '/data/artifacts',
    ...o.serverArgs,
  ];
  const probe = (path: string, periodSeconds: number, failureThreshold: number): YamlValue => ({ httpGet: { path, port: 'http' }, periodSeconds, failureThreshold });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.workload, namespace: o.namespace, labels: labels.pod },
    spec: {
      selector: { matchLabels: labels.selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: labels.pod },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: Math.ceil(o.drainTimeoutMs / 1000) + GRACE_MARGIN_S,
          containers: [
            {
              name: 'server',
              image: o.serverImage,
              args,
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                hostPort ? { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } } : { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              ports: [{ name: 'http', containerPort: SERVER_PORT, ...(hostPort ? { hostPort: SERVER_PORT } : {}) }],
              readinessProbe: probe('/readyz', 5, 1),
              livenessProbe: probe('/healthz', 10, 3),
              lifecycle: { preStop: { exec: { command: ['/usr/local/bin/node', '-e', PRESTOP_DRAIN] } } },
              volumeMounts: [
                { name: 'agent-key', mountPath: '/etc/parlor', readOnly: true },
                { name: 'data', mountPath: '/data' },
              ],
            },
          ],
          volumes: [
            { name: 'agent-key', secret: { secretName: o.keySecret, defaultMode: 0o440, items: [{ key: 'agent.key', path: 'agent.key' }] } },
            { name: 'data', emptyDir: {} },
          ],
          securityContext: { runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 },
        },
      },
    },
  };
}

function orchestratorDeployment(o: Required<KubernetesManifestOptions>, publicUrl: string): YamlValue {
  const labels = { 'app.kubernetes.io/name': 'parlor', 'app.kubernetes.io/component': 'orchestrator' };
  const args = [
    '--host', '0.0.0.0', '--port', String(ORCHESTRATOR_PORT),
    '--agent-key-file', '/etc/parlor/agent.key', '--admin-key-file', '/etc/parlor/admin.keys',
    '--data-dir', '/data/orchestrator', '--catalog-dir', '/data/catalog', '--public-url', publicUrl,
    '--provisioner', 'kubernetes', '--kube-namespace', o.namespace, '--kube-workload', o.workload,
    '--instance-capacity', String(o.capacity), '--buffer', o.buffer,
    '--min-instances', String(o.minInstances), '--max-instances', String(o.maxInstances),
    '--drain-timeout', String(o.drainTimeoutMs),
  ];
  const probe = (path: string, periodSeconds: number, failureThreshold: number): YamlValue => ({ httpGet: { path, port: 'http' }, periodSeconds, failureThreshold });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: ORCHESTRATOR, namespace: o.namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: ORCHESTRATOR,
          containers: [
            {
              name: 'orchestrator',
              image: o.orchestratorImage,
              args,
              env: [{ name: 'NODE_ENV', value: 'production' }],
              ports: [{ name: 'http', containerPort: ORCHESTRATOR_PORT }],
              readinessProbe: probe('/readyz', 5, 1),
              livenessProbe: probe('/healthz', 10, 3),
              volumeMounts: [
                { name: 'keys', mountPath: '/etc/parlor', readOnly: true },
                { name: 'data', mountPath: '/data' },
              ],
            },
          ],
          volumes: [
            { name: 'keys', secret: { secretName: o.keySecret, defaultMode: 0o440 } },
            { name: 'data', persistentVolumeClaim: { claimName: `${ORCHESTRATOR}-data` } },
          ],
          securityContext: { runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 },
        },
      },
    },
  };
}

/**
 * The RBAC rules of the orchestrator's Role: exactly the API calls `KubernetesProvisioner` makes.
 * `deployments/scale` get (read the replica count) and patch (set it), on the one workload;
 * `pods` list (its instances) and patch (the pod-deletion-cost annotation before a scale-down).
 */
export function provisionerRules(workload: string): YamlValue[] {
  return [
    { apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: [workload], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'patch'] },
  ];
}

/**
 * The manifests as objects, in apply order.
 * @throws Error naming the flag of an invalid option (a name that is not a DNS label, min above max…).
 */
export function kubernetesManifestObjects(options: KubernetesManifestOptions = {}): YamlValue[] {
  const o: Required<KubernetesManifestOptions> = { ...KUBERNETES_MANIFEST_DEFAULTS, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as KubernetesManifestOptions) };
  check(o);
  const ns = o.namespace;
  const orchestratorHost = `${ORCHESTRATOR}.${ns}.svc.cluster.local:${ORCHESTRATOR_PORT}`;
  const labels = serverLabels(o.workload);
  const meta = (name: string): YamlValue => ({ name, namespace: ns, labels: { 'app.kubernetes.io/name': 'parlor' } });
  const docs: YamlValue[] = [];
  if (ns !== 'default') docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  docs.push(
    serverDeployment(o, `ws://${orchestratorHost}`),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(o.workload),
      spec: { clusterIP: 'None', selector: labels.selector, ports: [{ name: 'http', port: SERVER_PORT, targetPort: 'http' }] },
    },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(o.workload), spec: { maxUnavailable: 1, selector: { matchLabels: labels.selector } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(ORCHESTRATOR) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(`${ORCHESTRATOR}-provisioner`), rules: provisionerRules(o.workload) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${ORCHESTRATOR}-provisioner`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${ORCHESTRATOR}-provisioner` },
      subjects: [{ kind: 'ServiceAccount', name: ORCHESTRATOR, namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(`${ORCHESTRATOR}-data`),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.orchestratorStorage } } },
    },
    orchestratorDeployment(o, `http://${orchestratorHost}`),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(ORCHESTRATOR),
      spec: { selector: { 'app.kubernetes.io/name': 'parlor', 'app.kubernetes.io/component': 'orchestrator' }, ports: [{ name: 'http', port: ORCHESTRATOR_PORT, targetPort: 'http' }] },
    },
  );
  return docs;
}

/** The header of the generated YAML: what made it and what it needs first. */
function header(o: KubernetesManifestOptions): string {
  const ns = o.namespace ?? KUBERNETES_MANIFEST_DEFAULTS.namespace;
  return [
    '# Parlor on Kubernetes, generated by `parlor-orchestrator kubernetes manifests` (docs/KUBERNETES.md).',
    '# Before the pods can start, create the Secret of the keys (never in this file):',
    `#   kubectl -n ${ns} create secret generic ${o.keySecret ?? KUBERNETES_MANIFEST_DEFAULTS.keySecret} --from-file=agent.key=<file> --from-file=admin.keys=<file>`,
    '',
  ].join('\n');
}

/**
 * The manifests as one YAML stream (documents after `---` lines), with a header comment.
 * @throws Error naming the flag of an invalid option.
 */
export function kubernetesManifests(options: KubernetesManifestOptions = {}): string {
  return header(options) + toYamlStream(kubernetesManifestObjects(options));
}
