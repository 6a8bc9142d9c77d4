/**
 * `parlor-orchestrator kubernetes manifests`: prints the Kubernetes manifests of a Parlor fleet
 * (game servers, orchestrator, Services, PodDisruptionBudget, RBAC) filled with the given image,
 * namespace and capacity, as YAML for `kubectl apply -f -`. Without flags it prints
 * `deploy/kubernetes/parlor.yaml`. Needs no cluster and no Kubernetes package.
 */
import { Command, Option } from 'commander';
import { failWith, intArg } from './cli-common.js';
import { KUBERNETES_MANIFEST_DEFAULTS as D, kubernetesManifests } from './provisioning/kubernetes-manifests.js';

const fail: (message: string) => never = failWith('parlor-orchestrator kubernetes manifests');
const int = (name: string, min: number) => intArg(fail, name, min);
const repeat = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The `kubernetes` command and its `manifests` subcommand. */
export function kubernetesCommand(): Command {
  const manifests = new Command('manifests')
    .description('print the Kubernetes manifests of a Parlor fleet as YAML (kubectl apply -f -); docs/KUBERNETES.md')
    .addOption(new Option('--namespace <ns>', 'namespace of everything').default(D.namespace))
    .addOption(new Option('--workload <name>', "the game servers' Deployment (the orchestrator's --kube-workload)").default(D.workload))
    .addOption(new Option('--server-image <image>', 'game server image (packages/server/docker/build-server-image.sh)').default(D.serverImage))
    .addOption(new Option('--orchestrator-image <image>', 'orchestrator image (deploy/kubernetes/build-orchestrator-image.sh)').default(D.orchestratorImage))
    .addOption(new Option('--capacity <n>', 'room slots per server instance (--max-rooms)').default(D.capacity).argParser(int('capacity', 1)))
    .addOption(new Option('--drain-timeout <ms>', "a deleted server's drain; the termination grace period is this + 30 s").default(D.drainTimeoutMs).argParser(int('drain timeout', 0)))
    .addOption(new Option('--buffer <n|n%>', 'free room slots the autoscaler keeps').default(D.buffer))
    .addOption(new Option('--min-instances <n>', 'fewest server instances').default(D.minInstances).argParser(int('min instances', 0)))
    .addOption(new Option('--max-instances <n>', 'most server instances').default(D.maxInstances).argParser(int('max instances', 1)))
    .addOption(new Option('--server-arg <arg>', 'argument appended to every server\'s parlor serve (repeatable)').argParser(repeat))
    .addOption(new Option('--key-secret <name>', 'Secret holding agent.key and admin.keys').default(D.keySecret))
    .addOption(new Option('--orchestrator-storage <size>', "size of the orchestrator's volume claim").default(D.orchestratorStorage))
    .addOption(new Option('--endpoint <kind>', "players' join URLs: pod-ip (inside the cluster) or host-port (port 8080 on the pod's node, one server per node)").choices(['pod-ip', 'host-port']).default(D.endpoint))
    .action((opts: { namespace: string; workload: string; serverImage: string; orchestratorImage: string; capacity: number; drainTimeout: number; buffer: string; minInstances: number; maxInstances: number; serverArg?: string[]; keySecret: string; orchestratorStorage: string; endpoint: 'pod-ip' | 'host-port' }) => {
      try {
        process.stdout.write(
          kubernetesManifests({
            namespace: opts.namespace,
            workload: opts.workload,
            serverImage: opts.serverImage,
            orchestratorImage: opts.orchestratorImage,
            capacity: opts.capacity,
            drainTimeoutMs: opts.drainTimeout,
            buffer: opts.buffer,
            minInstances: opts.minInstances,
            maxInstances: opts.maxInstances,
            serverArgs: opts.serverArg ?? [],
            keySecret: opts.keySecret,
            orchestratorStorage: opts.orchestratorStorage,
            endpoint: opts.endpoint,
          }),
        );
      } catch (err) {
        fail((err as Error).message);
      }
    });
  return new Command('kubernetes').description('Kubernetes deployment helpers (docs/KUBERNETES.md)').addCommand(manifests);
}
