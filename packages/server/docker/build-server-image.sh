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
node_bin="$(readlink -f "$(command -v node)")"
cli="$server/dist/cli.js"
runner="$server/dist/process-runner.mjs"
[ -f "$cli" ] || { echo "build-server-image.sh: $cli not found: build @parlor/server first (npm run build)" >&2; exit 1; }
[ -f "$runner" ] || { echo "build-server-image.sh: $runner not found: build @parlor/server first (npm run build)" >&2; exit 1; }
# Resolve a package's folder the way the server resolves it (from @parlor/server's own folder).
pkg_dir() { (cd "$server" && node -e "const p=require('path');process.stdout.write(p.dirname(require.resolve(process.argv[1]+'/package.json')))" "$1"); }
client_dir="$(pkg_dir @parlor/client)"
client_js="$client_dir/dist/parlor-client.global.js"
[ -f "$client_js" ] || { echo "build-server-image.sh: $client_js not found: build @parlor/client first (npm run build)" >&2; exit 1; }
sqlite_dir="$(pkg_dir better-sqlite3)"
sqlite_node="$sqlite_dir/build/Release/better_sqlite3.node"
[ -f "$sqlite_node" ] || { echo "build-server-image.sh: $sqlite_node not found: install better-sqlite3 (npm install better-sqlite3)" >&2; exit 1; }
bindings_dir="$(cd "$sqlite_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('bindings/package.json')))")"
furi_dir="$(cd "$bindings_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('file-uri-to-path/package.json')))")"
esbuild_dir="$(pkg_dir esbuild)"
esbuild_bin_dir="$(cd "$esbuild_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('@esbuild/linux-x64/package.json')))")"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/usr/local/bin" "$ctx/opt/parlor/node_modules/@parlor/client/dist" "$ctx/opt/parlor/node_modules/@esbuild" "$ctx/tmp" "$ctx/data" "$ctx/etc" "$ctx/games"
if [ -n "$games" ]; then
  # the game sources only (no node_modules, dist or dot files), readable by the server's uid
  (cd "$games" && find . -mindepth 1 \( -name node_modules -o -name dist -o -name '.*' \) -prune -o -type f -print0) |
    (cd "$games" && xargs -0 -r cp --parents -t "$ctx/games")
  chmod -R a+rX "$ctx/games"
fi
# The CLI as one ESM file. Kept external (copied below): native modules and esbuild's binary;
# pino-pretty (a terminal nicety) and ssh2's optional native parts (cpu-features, *.node: it falls back to JS) are left out.
(cd "$server" && node -e "
require('esbuild').buildSync({
  entryPoints: [process.argv[1]], outfile: process.argv[2], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['better-sqlite3', 'esbuild', 'pino-pretty', 'msgpackr-extract', 'typescript', 'cpu-features', '*.node'],
  banner: { js: \"import { createRequire as __parlorRequire } from 'node:module'; import { fileURLToPath as __parlorPath } from 'node:url'; const require = __parlorRequire(import.meta.url); const __filename = __parlorPath(import.meta.url); const __dirname = __parlorPath(new URL('.', import.meta.url));\" },
  logLevel: 'error',
});" "$cli" "$ctx/opt/parlor/parlor.mjs")
cp "$runner" "$ctx/opt/parlor/process-runner.mjs"
cp "$client_dir/package.json" "$ctx/opt/parlor/node_modules/@parlor/client/package.json"
cp "$client_js" "$ctx/opt/parlor/node_modules/@parlor/client/dist/parlor-client.global.js"
mkdir -p "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release"
cp -r "$sqlite_dir/package.json" "$sqlite_dir/lib" "$ctx/opt/parlor/node_modules/better-sqlite3/"
cp "$sqlite_node" "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release/"
cp -r "$bindings_dir" "$ctx/opt/parlor/node_modules/bindings"
cp -r "$furi_dir" "$ctx/opt/parlor/node_modules/file-uri-to-path"
cp -r "$esbuild_dir" "$ctx/opt/parlor/node_modules/esbuild"
cp -r "$esbuild_bin_dir" "$ctx/opt/parlor/node_modules/@esbuild/linux-x64"
cp "$node_bin" "$ctx/usr/local/bin/node"
# The dynamic loader and every library node and the native modules link.
for bin in "$node_bin" "$sqlite_node"; do
  ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$ctx$(dirname "$lib")"
    cp -L "$lib" "$ctx$lib"
  done
done
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$ctx/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ctx/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ctx/etc/hosts"
for d in lib lib64; do mkdir -p "$ctx/$d"; done # some distros keep libraries under /usr/lib only
hash="$(cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ "$(docker image inspect -f '{{index .Config.Labels "parlor.server.sha256"}}' "$tag" 2>/dev/null || true)" = "$hash" ]; then
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
