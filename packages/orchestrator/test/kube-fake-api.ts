/**
 * A stand-in for the Kubernetes API server (none can run on these machines), on a real HTTP
 * socket on 127.0.0.1, answering ONLY the four calls the Kubernetes provisioner makes, with the
 * response shapes of the Kubernetes API reference (v1.31):
 * - `GET   /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale` → `autoscaling/v1` `Scale`
 *   (`metadata.resourceVersion`, `spec.replicas`, `status.replicas`, `status.selector`);
 * - `PATCH` of the same path, `application/merge-patch+json` → the patched `Scale`; a
 *   `metadata.resourceVersion` in the patch that is not the current one → 409 `Status` (`reason:
 *   Conflict`), as the API server's optimistic concurrency does;
 * - `GET   /api/v1/namespaces/{ns}/pods?labelSelector=k=v,…` → `v1` `PodList` (equality selectors);
 * - `PATCH /api/v1/namespaces/{ns}/pods/{name}`, `application/merge-patch+json` → the patched `Pod`.
 * Anything else, and a patch of another content type, answers 415/404 `Status` like the API
 * server. It does not run a ReplicaSet controller: a test sets the pods as the cluster would.
 * Every request is recorded (method, path, query, content-type, authorization, body).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One recorded request. */
export interface KubeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}

/** A pod as the fake keeps it (a `v1` `Pod` object). */
export interface FakePod {
  metadata: { name: string; namespace: string; uid: string; labels: Record<string, string>; annotations?: Record<string, string>; creationTimestamp: string; deletionTimestamp?: string; resourceVersion: string };
  spec: { containers: Array<{ name: string; image: string }>; nodeName?: string };
  status: { phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'; conditions?: Array<{ type: string; status: 'True' | 'False' }>; podIP?: string };
}

/** Pod phases and readiness a test builds pods with. */
export type PodShape = 'ready' | 'unready' | 'pending' | 'terminating' | 'failed';

export class FakeKubeApi {
  readonly requests: KubeRequest[] = [];
  readonly pods: FakePod[] = [];
  replicas = 0;
  /** The cluster's counter of resourceVersions (every write takes the next). */
  resourceVersion = 100;
  /** The Deployment's own resourceVersion (changes only when the Deployment does). */
  deploymentVersion = '100';
  /** When set, the next request answers this status (a `Status` body) instead. */
  failNext?: number;
  /** Another writer changes the Deployment (its resourceVersion moves on). */
  touchDeployment(): void {
    this.deploymentVersion = String(++this.resourceVersion);
  }

  /** Called after a PATCH of the scale was applied (a test's stand-in for the ReplicaSet reacts to it). */
  onScaleWrite?: () => void;
  /** Called after a GET of the scale, before its answer is sent (a concurrent writer). */
  afterScaleRead?: () => void;
  private server?: Server;
  private seq = 0;
  url = '';

  constructor(readonly namespace: string, readonly workload: string, readonly labels: Record<string, string>) {}

  /** Adds a pod of the workload in the given shape; returns its name. */
  addPod(shape: PodShape, name = `${this.workload}-7d9f8b6c5-${(++this.seq).toString(36).padStart(5, 'x')}`): string {
    const phase = shape === 'pending' ? 'Pending' : shape === 'failed' ? 'Failed' : 'Running';
    this.pods.push({
      metadata: { name, namespace: this.namespace, uid: `uid-${name}`, labels: { ...this.labels, 'pod-template-hash': '7d9f8b6c5' }, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, this.seq)).toISOString(), resourceVersion: String(++this.resourceVersion), ...(shape === 'terminating' ? { deletionTimestamp: new Date(Date.UTC(2026, 0, 2)).toISOString() } : {}) },
      spec: { containers: [{ name: 'server', image: 'parlor-server:local' }], ...(phase === 'Pending' ? {} : { nodeName: 'node-1' }) },
      status: { phase, conditions: [{ type: 'Ready', status: shape === 'ready' || shape === 'terminating' ? 'True' : 'False' }], ...(phase === 'Running' ? { podIP: `10.0.0.${this.seq}` } : {}) },
    });
    return name;
  }

  pod(name: string): FakePod | undefined {
    return this.pods.find((p) => p.metadata.name === name);
  }

  /** The requests that change something (PATCH). */
  writes(): KubeRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  private scale(): unknown {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: this.workload, namespace: this.namespace, uid: 'uid-deployment', resourceVersion: this.deploymentVersion, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { replicas: this.replicas },
      status: { replicas: this.pods.filter((p) => !p.metadata.deletionTimestamp).length, selector: Object.entries(this.labels).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  private handle(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = req.headers['content-type'];
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    this.requests.push({ method: req.method ?? '', path: u.pathname, query: u.searchParams, contentType, authorization: req.headers.authorization, body });
    if (this.failNext !== undefined) {
      const code = this.failNext;
      this.failNext = undefined;
      return this.status(res, code, code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'InternalError', `fake: ${code}`);
    }
    const json = (o: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    const ns = `/namespaces/${this.namespace}`;
    const mergeOnly = (): boolean => {
      if (contentType === 'application/merge-patch+json') return true;
      this.status(res, 415, 'UnsupportedMediaType', `fake: this test expects a merge patch, got ${contentType}`);
      return false;
    };
    if (u.pathname === `/apis/apps/v1${ns}/deployments/${this.workload}/scale`) {
      if (req.method === 'GET') {
        const answer = this.scale();
        this.afterScaleRead?.();
        return json(answer);
      }
      if (req.method === 'PATCH') {
        if (!mergeOnly()) return;
        const patch = body as { metadata?: { resourceVersion?: string }; spec?: { replicas?: number } };
        const rv = patch.metadata?.resourceVersion;
        if (rv !== undefined && rv !== this.deploymentVersion) return this.status(res, 409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${this.workload}": the object has been modified; please apply your changes to the latest version and try again`);
        if (typeof patch.spec?.replicas === 'number') this.replicas = patch.spec.replicas;
        this.deploymentVersion = String(++this.resourceVersion);
        json(this.scale());
        this.onScaleWrite?.();
        return;
      }
      return this.status(res, 405, 'MethodNotAllowed', `fake: ${req.method} of a scale is not a call the provisioner makes`);
    }
    if (req.method === 'GET' && u.pathname === `/api/v1${ns}/pods`) {
      const selector = (u.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('='));
      const items = this.pods.filter((p) => selector.every(([k, v]) => p.metadata.labels[k!] === v));
      return json({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.resourceVersion) }, items });
    }
    const podPath = u.pathname.match(new RegExp(`^/api/v1${ns}/pods/([^/]+)$`));
    if (req.method === 'PATCH' && podPath) {
      if (!mergeOnly()) return;
      const pod = this.pod(decodeURIComponent(podPath[1]!));
      if (!pod) return this.status(res, 404, 'NotFound', `pods "${podPath[1]}" not found`);
      const annotations = (body as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
      pod.metadata.annotations = { ...pod.metadata.annotations, ...annotations };
      pod.metadata.resourceVersion = String(++this.resourceVersion);
      return json(pod);
    }
    this.status(res, 404, 'NotFound', `fake: no route ${req.method} ${u.pathname}`);
  }

  /** Listens on 127.0.0.1:0 and writes a kubeconfig that points at it (bearer token `test-token`); returns its path. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => this.handle(req, raw, res));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), 'parlor-kube-'));
    const file = join(dir, 'kubeconfig');
    // Plain HTTP needs insecure-skip-tls-verify in client-node 1.4 (it refuses http otherwise).
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: test\n  user:\n    token: test-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: test\ncurrent-context: fake\n`);
    return file;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
