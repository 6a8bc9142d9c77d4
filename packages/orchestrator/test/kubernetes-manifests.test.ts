/**
 * The Kubernetes manifests generator: its YAML parses (js-yaml, through @kubernetes/client-node's
 * loadAllYaml, as kubectl's YAML reader would) back to the objects it was made from; the fields
 * that make the fleet work (preStop drain, grace period, probes, the agent key Secret mounted as
 * the --fleet-key-file, the provisioner labels, PDB, RBAC); `deploy/kubernetes/parlor.yaml` is the
 * generator's default output; and `parlor-orchestrator kubernetes manifests` prints it (the built
 * CLI). No cluster: nothing here is applied to a real API server.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GRACE_MARGIN_S, kubernetesManifestObjects, kubernetesManifests, podSelector, PRESTOP_DRAIN, provisionerRules } from '../src/provisioning/kubernetes-manifests.js';
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL } from '../src/provisioning/types.js';
import { toYaml } from '../src/provisioning/yaml.js';

const run = promisify(execFile);
const SHIPPED = fileURLToPath(new URL('../../../deploy/kubernetes/parlor.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/parlor-orchestrator.js', import.meta.url));

type Obj = any;
const byKind = (docs: Obj[], kind: string, name?: string): Obj => {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0];
};
/** The value after `flag` in an argv. */
const arg = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

/**
 * Fields of `value` that the Kubernetes API type `type` does not have, or whose value is of another
 * JSON type, checked against @kubernetes/client-node's models (generated from the API's OpenAPI
 * document: each model's attribute names and types). Required fields are not checked.
 */
function schemaErrors(value: unknown, type: string, path: string): string[] {
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (type === 'string' || type === 'Date') return kind === 'string' ? [] : [`${path}: want a string, got ${kind}`];
  if (type === 'number') return kind === 'number' ? [] : [`${path}: want a number, got ${kind}`];
  if (type === 'boolean') return kind === 'boolean' ? [] : [`${path}: want a boolean, got ${kind}`];
  if (type === 'IntOrString') return kind === 'string' || kind === 'number' ? [] : [`${path}: want an int or a string, got ${kind}`];
  if (type === 'any' || type === 'object') return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return kind === 'array' ? (value as unknown[]).flatMap((v, i) => schemaErrors(v, array[1]!, `${path}[${i}]`)) : [`${path}: want an array, got ${kind}`];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return kind === 'object' ? Object.entries(value as object).flatMap(([k, v]) => schemaErrors(v, map[1]!, `${path}.${k}`)) : [`${path}: want a map, got ${kind}`];
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Array<{ baseName: string; type: string }> }>)[type];
  if (!model?.getAttributeTypeMap) return [`${path}: no model ${type} in @kubernetes/client-node`];
  if (kind !== 'object') return [`${path}: want a ${type} object, got ${kind}`];
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value as object).flatMap(([k, v]) => (attrs.has(k) ? schemaErrors(v, attrs.get(k)!, `${path}.${k}`) : [`${path}.${k}: ${type} has no such field`]));
}

describe('kubernetes manifests', () => {
  it("every field is one the Kubernetes API's types have, of their JSON type (the client's models, from the API's OpenAPI)", () => {
    for (const options of [{}, { endpoint: 'host-port' as const, namespace: 'default', serverArgs: ['--env', 'prod'] }]) {
      for (const doc of kubernetesManifestObjects(options) as Obj[]) {
        expect(schemaErrors(doc, `V1${doc.kind}`, `${doc.kind}/${doc.metadata.name}`)).toEqual([]);
      }
    }
    // and it would see a mistake
    const dep = (kubernetesManifestObjects() as Obj[]).find((d) => d.kind === 'Deployment');
    dep.spec.template.spec.containers[0].readinessProbe.httpGet.prot = 'http';
    dep.spec.template.spec.terminationGracePeriodSeconds = '330';
    expect(schemaErrors(dep, 'V1Deployment', 'd')).toEqual([
      'd.spec.template.spec.terminationGracePeriodSeconds: want a number, got string',
      'd.spec.template.spec.containers[0].readinessProbe.httpGet.prot: V1HTTPGetAction has no such field',
    ]);
  });

  it('YAML that reads back as exactly the objects it was made from, tricky strings included', () => {
    const tricky = ['true', 'no', 'Off', 'null', '~', '8080', '0.0.0.0', '1e3', '', ' lead', 'trail ', 'a: b', 'a:', 'a #b', '#c', '- x', '-', '--', "it's", '"q"', '$(POD_NAME)', 'line\nbreak', 'tab\t', 'é✓', '@x', '*x', '&x', '!x', '%x', '{x}', '[x]', '|', '>', '?', ','];
    const doc = { strings: tricky, map: Object.fromEntries(tricky.map((t, i) => [t || `empty${i}`, t])), nested: [[], {}, [{ a: [1, -2.5, 0] }], { b: { c: false } }], n: null };
    expect(loadYaml(toYaml(doc))).toEqual(doc);
    const objects = kubernetesManifestObjects();
    expect(loadAllYaml(kubernetesManifests())).toEqual(objects);
    const custom = { namespace: 'games', workload: 'rooms', serverImage: 'registry.example:5000/parlor/server:1.4.2', capacity: 25, drainTimeoutMs: 60_000, buffer: '25%', serverArgs: ['--env', 'prod'] };
    expect(loadAllYaml(kubernetesManifests(custom))).toEqual(kubernetesManifestObjects(custom));
  });

  it('the game servers: a Deployment with the provisioner labels, a preStop drain inside the grace period, probes and the key file', () => {
    const docs = kubernetesManifestObjects({ namespace: 'games', capacity: 25, drainTimeoutMs: 120_000 }) as Obj[];
    const dep = byKind(docs, 'Deployment', 'parlor-server');
    expect(dep.metadata.namespace).toBe('games');
    expect(dep.spec.replicas).toBeUndefined(); // the autoscaler owns it; a re-apply must not reset it
    const pod = dep.spec.template;
    expect(pod.metadata.labels).toMatchObject(dep.spec.selector.matchLabels);
    // The provisioner lists exactly these pods.
    for (const part of podSelector('parlor-server').split(',')) {
      const [k, v] = part.split('=');
      expect(pod.metadata.labels[k!]).toBe(v);
    }
    const c = pod.spec.containers[0];
    const args: string[] = c.args;
    expect(args[0]).toBe('serve');
    expect(arg(args, '--max-rooms')).toBe('25');
    expect(args.filter((_, i) => args[i - 1] === '--label')).toEqual([`${PROVISIONER_LABEL}=kubernetes`, `${PROVISIONED_ID_LABEL}=$(POD_NAME)`]);
    // $(POD_NAME) is expanded by the kubelet from the Downward API env.
    expect(c.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(arg(args, '--fleet-url')).toBe('ws://parlor-orchestrator.games.svc.cluster.local:7070');
    // The agent key: a Secret item mounted where --fleet-key-file points, never an env value or an arg.
    const keyFile = arg(args, '--fleet-key-file')!;
    const mount = c.volumeMounts.find((m: Obj) => keyFile.startsWith(`${m.mountPath}/`));
    const volume = pod.spec.volumes.find((v: Obj) => v.name === mount.name);
    expect(volume.secret.secretName).toBe('parlor-keys');
    expect(volume.secret.items).toEqual([{ key: 'agent.key', path: keyFile.slice(mount.mountPath.length + 1) }]);
    expect(mount.readOnly).toBe(true);
    expect(JSON.stringify(c.env)).not.toMatch(/KEY/i);
    // The drain: preStop SIGTERMs the server (its own drain) and waits; the grace period covers the drain timeout + margin.
    expect(c.lifecycle.preStop.exec.command).toEqual(['/usr/local/bin/node', '-e', PRESTOP_DRAIN]);
    expect(arg(args, '--drain-timeout')).toBe('120000');
    expect(pod.spec.terminationGracePeriodSeconds).toBe(120 + GRACE_MARGIN_S);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.ports).toEqual([{ name: 'http', containerPort: Number(arg(args, '--port')) }]);
    // --state-dir on a volume that outlives the container (a crashed server gets its rooms back).
    const dataMount = c.volumeMounts.find((m: Obj) => arg(args, '--state-dir')!.startsWith(`${m.mountPath}/`));
    expect(pod.spec.volumes.find((v: Obj) => v.name === dataMount.name).emptyDir).toEqual({});
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    // Join URLs: the pod's IP by default; with host-port, the node's IP and the port published there.
    expect(arg(args, '--endpoint-url')).toBe('http://$(POD_IP):8080');
    expect(c.env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    const onNode = (kubernetesManifestObjects({ endpoint: 'host-port' }) as Obj[]).find((d) => d.metadata.name === 'parlor-server' && d.kind === 'Deployment').spec.template.spec.containers[0];
    expect(arg(onNode.args, '--endpoint-url')).toBe('http://$(HOST_IP):8080');
    expect(onNode.env).toContainEqual({ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } });
    expect(onNode.ports).toEqual([{ name: 'http', containerPort: 8080, hostPort: 8080 }]);
  });

  it('Services, PDB, the orchestrator and its RBAC (exactly what the provisioner calls)', () => {
    const docs = kubernetesManifestObjects() as Obj[];
    const dep = byKind(docs, 'Deployment', 'parlor-server');
    const headless = byKind(docs, 'Service', 'parlor-server');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(dep.spec.selector.matchLabels);
    const pdb = byKind(docs, 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: dep.spec.selector });
    const orch = byKind(docs, 'Deployment', 'parlor-orchestrator');
    expect(orch.spec.replicas).toBe(1);
    expect(orch.spec.strategy.type).toBe('Recreate'); // SQLite: one orchestrator per data folder
    const args: string[] = orch.spec.template.spec.containers[0].args;
    expect([arg(args, '--provisioner'), arg(args, '--kube-namespace'), arg(args, '--kube-workload'), arg(args, '--instance-capacity')]).toEqual(['kubernetes', 'parlor', 'parlor-server', '10']);
    const claim = orch.spec.template.spec.volumes.find((v: Obj) => v.persistentVolumeClaim).persistentVolumeClaim.claimName;
    expect(byKind(docs, 'PersistentVolumeClaim', claim).spec.accessModes).toEqual(['ReadWriteOnce']);
    const svc = byKind(docs, 'Service', 'parlor-orchestrator');
    expect(svc.spec.selector).toEqual(orch.spec.selector.matchLabels);
    const sa = byKind(docs, 'ServiceAccount');
    expect(orch.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    const role = byKind(docs, 'Role');
    const binding = byKind(docs, 'RoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'parlor' }]);
    // The same rules the provisioner test checks against the calls it made.
    expect(role.rules).toEqual(provisionerRules('parlor-server'));
    expect(role.rules.flatMap((r: Obj) => r.verbs).sort()).toEqual(['get', 'list', 'patch', 'patch']);
    expect(docs.map((d) => d.kind)[0]).toBe('Namespace');
    expect((kubernetesManifestObjects({ namespace: 'default' }) as Obj[]).some((d) => d.kind === 'Namespace')).toBe(false);
    expect(() => kubernetesManifestObjects({ namespace: 'Games_1' })).toThrow('--namespace "Games_1": a Kubernetes name is lower-case letters, digits and "-"');
    expect(() => kubernetesManifestObjects({ minInstances: 5, maxInstances: 2 })).toThrow('--min-instances 5 is above --max-instances 2');
  });

  it('deploy/kubernetes/parlor.yaml is the generator\'s default output (regenerate it: parlor-orchestrator kubernetes manifests > deploy/kubernetes/parlor.yaml)', () => {
    expect(readFileSync(SHIPPED, 'utf8')).toBe(kubernetesManifests());
  });

  it('parlor-orchestrator kubernetes manifests prints it, with flags, and refuses a bad one in one line', async () => {
    const plain = await run(process.execPath, [CLI, 'kubernetes', 'manifests']);
    expect(plain.stdout).toBe(readFileSync(SHIPPED, 'utf8'));
    const custom = await run(process.execPath, [CLI, 'kubernetes', 'manifests', '--namespace', 'games', '--server-image', 'registry.example/parlor-server:1.2', '--capacity', '25', '--server-arg', '--env', '--server-arg', 'prod']);
    expect(custom.stdout).toBe(kubernetesManifests({ namespace: 'games', serverImage: 'registry.example/parlor-server:1.2', capacity: 25, serverArgs: ['--env', 'prod'] }));
    const bad = await run(process.execPath, [CLI, 'kubernetes', 'manifests', '--namespace', 'Bad_NS']).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toEqual(['parlor-orchestrator kubernetes manifests: --namespace "Bad_NS": a Kubernetes name is lower-case letters, digits and "-" (at most 63, e.g. parlor)']);
  });
});
