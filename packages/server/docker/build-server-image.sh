#!/usr/bin/env bash
# Builds the Parlor game server image (`parlor serve`, one fleet instance per container) with no
# registry: FROM scratch + this host's own `node` binary and the shared libraries it links (as
# build-runner-image.sh does), the built `parlor` CLI bundled into one file, and what it loads at
# run time that cannot be bundled: better-sqlite3's native module (so `--state-dir` works),
# esbuild's binary (the game loader and the sandbox runner locator import it), @parlor/client's
# browser bundle (the /play pages) and the process runner script. The Swarm provisioner of
# @parlor/orchestrator runs this image (default tag parlor-server:local).
#
# Rooms run INLINE inside the container by default. The container is the instance, but inline
# rooms share its Node process: this is fit for games you trust (your own, published through the
# catalog's gate), not for untrusted game code. For untrusted games a room still needs its own
# sandbox inside the instance, and neither works unprivileged in a container here:
#   - --runtime process needs bubblewrap (user namespaces) and writable cgroup v1 controllers in
#     the container: a service with CAP_SYS_ADMIN/seccomp=unconfined and the cgroup tree mounted
#     read-write, and this image would need bwrap + setpriv copied in;
#   - --runtime docker needs the engine socket mounted into the container (root on the node) and
#     the game folders at the same path on the node as in the container (the runner containers
#     are siblings, started by the node's engine).
# Pass the runtime explicitly (`--server-arg --runtime --server-arg docker` on the orchestrator)
# once the node grants what it needs.
#
#   build-server-image.sh [tag=parlor-server:local] [games-folder]
#
# With a games folder (e.g. examples), its games are copied into the image at /games: run the
# instances with `parlor serve --games /games` (the orchestrator: --server-arg --games
# --server-arg /games). Without one, instances serve what the fleet places on them from the catalog.
#
# Needs @parlor/server and @parlor/client built (`npm run build`). Prints the tag. The image is
# labelled with the sha256 of its inputs; when the tag already carries that hash nothing is built
# (a rebuild of unchanged inputs costs a hash of ~120 MB, about a second).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="$(cd "$here/.." && pwd)"
tag="${1:-parlor-server:local}"
games="${2:-}"
[ -z "$games" ] || [ -d "$games" ] || { echo "build-server-image.sh: games folder $games not found" >&2; exit 1; }
cli="$server/dist/cli.js"
runner="$server/dist/process-runner.mjs"
[ -f "$cli" ] || { echo "build-server-image.sh: $cli not found: build @parlor/server first (npm run build)" >&2; exit 1; }
[ -f "$runner" ] || { echo "build-server-image.sh: $runner not found: build @parlor/server first (npm run build)" >&2; exit 1; }
# shellcheck source=scratch-node-lib.sh
. "$here/scratch-node-lib.sh"
client_dir="$(pkg_dir "$server" @parlor/client)"
client_js="$client_dir/dist/parlor-client.global.js"
[ -f "$client_js" ] || { echo "build-server-image.sh: $client_js not found: build @parlor/client first (npm run build)" >&2; exit 1; }

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/opt/parlor/node_modules/@parlor/client/dist" "$ctx/tmp" "$ctx/data" "$ctx/games"
if [ -n "$games" ]; then
  # the game sources only (no node_modules, dist or dot files), readable by the server's uid
  (cd "$games" && find . -mindepth 1 \( -name node_modules -o -name dist -o -name '.*' \) -prune -o -type f -print0) |
    (cd "$games" && xargs -0 -r cp --parents -t "$ctx/games")
  chmod -R a+rX "$ctx/games"
fi
bundle_cli "$server" "$cli" "$ctx/opt/parlor/parlor.mjs"
cp "$runner" "$ctx/opt/parlor/process-runner.mjs"
cp "$client_dir/package.json" "$ctx/opt/parlor/node_modules/@parlor/client/package.json"
cp "$client_js" "$ctx/opt/parlor/node_modules/@parlor/client/dist/parlor-client.global.js"
copy_native_modules "$server" "$ctx" build-server-image.sh
copy_node_and_libs "$ctx" "$sqlite_node"
hash="$(ctx_hash "$ctx")"
if image_current "$tag" parlor.server.sha256 "$hash"; then
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
COPY games /games
COPY --chown=65534:65534 data /data
USER 65534:65534
WORKDIR /data
# A named volume mounted at /data keeps --state-dir (rooms, snapshots) and the artifact cache.
VOLUME /data
ENTRYPOINT ["/usr/local/bin/node", "/opt/parlor/parlor.mjs"]
CMD ["serve", "--runtime", "inline", "--host", "0.0.0.0", "--state-dir", "/data/state", "--artifact-cache", "/data/artifacts"]
LABEL parlor.server="1" parlor.server.sha256="$hash"
DOCKERFILE
chmod 1777 "$ctx/tmp"
out="$(docker build -q -t "$tag" "$ctx" 2>&1)" || { echo "$out" >&2; exit 1; }
echo "$tag"
