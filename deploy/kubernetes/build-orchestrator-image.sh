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
node_bin="$(readlink -f "$(command -v node)")"
cli="$orchestrator/dist/cli.js"
[ -f "$cli" ] || { echo "build-orchestrator-image.sh: $cli not found: build @parlor/orchestrator first (npm run build)" >&2; exit 1; }
# Resolve a package's folder the way the orchestrator resolves it (from its own folder).
pkg_dir() { (cd "$orchestrator" && node -e "const p=require('path');process.stdout.write(p.dirname(require.resolve(process.argv[1]+'/package.json')))" "$1"); }
sqlite_dir="$(pkg_dir better-sqlite3)"
sqlite_node="$sqlite_dir/build/Release/better_sqlite3.node"
[ -f "$sqlite_node" ] || { echo "build-orchestrator-image.sh: $sqlite_node not found: install better-sqlite3 (npm install)" >&2; exit 1; }
bindings_dir="$(cd "$sqlite_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('bindings/package.json')))")"
furi_dir="$(cd "$bindings_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('file-uri-to-path/package.json')))")"
esbuild_dir="$(pkg_dir esbuild)"
esbuild_bin_dir="$(cd "$esbuild_dir" && node -e "process.stdout.write(require('path').dirname(require.resolve('@esbuild/linux-x64/package.json')))")"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/usr/local/bin" "$ctx/opt/parlor/node_modules/@esbuild" "$ctx/tmp" "$ctx/data" "$ctx/etc"
# The CLI as one ESM file; native modules, esbuild's binary and terminal niceties stay out.
(cd "$orchestrator" && node -e "
require('esbuild').buildSync({
  entryPoints: [process.argv[1]], outfile: process.argv[2], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['better-sqlite3', 'esbuild', 'pino-pretty', 'msgpackr-extract', 'typescript', 'cpu-features', 'pg-native', '*.node'],
  banner: { js: \"import { createRequire as __parlorRequire } from 'node:module'; import { fileURLToPath as __parlorPath } from 'node:url'; const require = __parlorRequire(import.meta.url); const __filename = __parlorPath(import.meta.url); const __dirname = __parlorPath(new URL('.', import.meta.url));\" },
  logLevel: 'error',
});" "$cli" "$ctx/opt/parlor/parlor-orchestrator.mjs")
mkdir -p "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release"
cp -r "$sqlite_dir/package.json" "$sqlite_dir/lib" "$ctx/opt/parlor/node_modules/better-sqlite3/"
cp "$sqlite_node" "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release/"
cp -r "$bindings_dir" "$ctx/opt/parlor/node_modules/bindings"
cp -r "$furi_dir" "$ctx/opt/parlor/node_modules/file-uri-to-path"
cp -r "$esbuild_dir" "$ctx/opt/parlor/node_modules/esbuild"
cp -r "$esbuild_bin_dir" "$ctx/opt/parlor/node_modules/@esbuild/linux-x64"
cp "$node_bin" "$ctx/usr/local/bin/node"
# The dynamic loader and every library node and the native module link.
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
if [ "$(docker image inspect -f '{{index .Config.Labels "parlor.orchestrator.sha256"}}' "$tag" 2>/dev/null || true)" = "$hash" ]; then
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
