#!/usr/bin/env bash
# Builds the Parlor orchestrator image (`parlor-orchestrator`, the control plane the Kubernetes
# manifests run) with no registry: FROM scratch + this host's own `node` binary and the shared
# libraries it links, the built `parlor-orchestrator` CLI bundled into one file (the Kubernetes,
# Postgres and Docker clients included), and what it loads at run time that cannot be bundled:
# better-sqlite3's native module (the operation log, the outbox and the catalog in --data-dir /
# --catalog-dir) and esbuild's binary (the catalog's publish gate builds games with it).
#
# The in-process catalog's publish gate smoke-runs each published game in a sandbox (Docker or
# bubblewrap); a plain pod has neither, so in such a pod a publish fails at the gate: publish
# through a catalog run where the gate's runtime works (--catalog-url), or grant the pod what it needs.
#
#   deploy/kubernetes/build-orchestrator-image.sh [tag=parlor-orchestrator:local]
#
# Needs @parlor/orchestrator built (`npm run build`). Prints the tag. The image is labelled with
# the sha256 of its inputs; when the tag already carries that hash nothing is built.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
orchestrator="$(cd "$here/../../packages/orchestrator" && pwd)"
tag="${1:-parlor-orchestrator:local}"
cli="$orchestrator/dist/cli.js"
[ -f "$cli" ] || { echo "build-orchestrator-image.sh: $cli not found: build @parlor/orchestrator first (npm run build)" >&2; exit 1; }
# shellcheck source=../../packages/server/docker/scratch-node-lib.sh
. "$here/../../packages/server/docker/scratch-node-lib.sh"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/opt/parlor" "$ctx/tmp" "$ctx/data"
bundle_cli "$orchestrator" "$cli" "$ctx/opt/parlor/parlor-orchestrator.mjs" pg-native
copy_native_modules "$orchestrator" "$ctx" build-orchestrator-image.sh
copy_node_and_libs "$ctx" "$sqlite_node"
hash="$(ctx_hash "$ctx")"
if image_current "$tag" parlor.orchestrator.sha256 "$hash"; then
  echo "$tag"
  exit 0
fi
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY usr /usr
COPY lib /lib
COPY lib64 /lib64
COPY etc /etc
COPY opt /opt
COPY tmp /tmp
COPY --chown=65534:65534 data /data
USER 65534:65534
WORKDIR /data
# The manifests mount a volume at /data: --data-dir /data/orchestrator, --catalog-dir /data/catalog.
VOLUME /data
ENTRYPOINT ["/usr/local/bin/node", "/opt/parlor/parlor-orchestrator.mjs"]
CMD ["--host", "0.0.0.0", "--data-dir", "/data/orchestrator", "--catalog-dir", "/data/catalog"]
LABEL parlor.orchestrator="1" parlor.orchestrator.sha256="$hash"
DOCKERFILE
chmod 1777 "$ctx/tmp"
out="$(docker build -q -t "$tag" "$ctx" 2>&1)" || { echo "$out" >&2; exit 1; }
echo "$tag"
