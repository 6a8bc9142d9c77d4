#!/usr/bin/env bash
# Builds the Parlor runner image with no registry: FROM scratch + this host's own `node` binary,
# the shared libraries it links, and the self-contained process runner. Used by tests and CI
# (no registry is reachable there); production images come from ./Dockerfile.
#
#   build-runner-image.sh [tag=parlor-runner:local] [runner=../dist/process-runner.mjs] [node=$(command -v node)]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag="${1:-parlor-runner:local}"
runner="${2:-$here/../dist/process-runner.mjs}"
node_bin="${3:-$(command -v node)}"
[ -f "$runner" ] || { echo "runner not found: $runner (build @parlor/server first)" >&2; exit 1; }
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/usr/local/bin" "$ctx/opt/parlor" "$ctx/tmp" "$ctx/game"
cp "$(readlink -f "$node_bin")" "$ctx/usr/local/bin/node"
# The dynamic loader and every library node links (ldd: "name => /path (addr)" or "/path (addr)").
ldd "$node_bin" | grep -oE '/[^ ]+' | while read -r lib; do
  mkdir -p "$ctx$(dirname "$lib")"
  cp -L "$lib" "$ctx$lib"
done
cp "$runner" "$ctx/opt/parlor/process-runner.mjs"
printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$ctx/etc_passwd"
mkdir -p "$ctx/etc" && mv "$ctx/etc_passwd" "$ctx/etc/passwd"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY usr /usr
COPY lib /lib
COPY lib64 /lib64
COPY opt /opt
COPY etc /etc
COPY tmp /tmp
COPY game /game
USER 65534:65534
WORKDIR /opt/parlor
ENTRYPOINT ["/usr/local/bin/node", "--experimental-permission", "--allow-fs-read=/opt/parlor/process-runner.mjs", "--disallow-code-generation-from-strings", "--no-warnings"]
CMD ["--max-old-space-size=64", "/opt/parlor/process-runner.mjs"]
LABEL parlor.runner="1"
DOCKERFILE
# The host refuses an image built from another runner (DockerRuntime verifyRunner).
echo "LABEL parlor.runner.sha256=\"$(sha256sum "$runner" | cut -d' ' -f1)\"" >> "$ctx/Dockerfile"
# some distros keep libraries under /usr/lib only
for d in lib lib64; do mkdir -p "$ctx/$d"; done
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
