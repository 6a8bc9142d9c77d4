# Shared by the registry-free image builds (build-server-image.sh, and the orchestrator's in
# deploy/kubernetes/build-orchestrator-image.sh): sourced, not run. Each image is FROM scratch with
# this host's own `node`, the shared libraries it links, a CLI bundled into one ESM file by esbuild,
# and what that bundle loads at run time and cannot hold: better-sqlite3's native module (with
# `bindings` and `file-uri-to-path`, which load it) and esbuild's own binary.

# pkg_dir <from-folder> <package>: the package's folder as Node resolves it from <from-folder>.
pkg_dir() { (cd "$1" && node -e "const p=require('path');process.stdout.write(p.dirname(require.resolve(process.argv[1]+'/package.json')))" "$2"); }

# bundle_cli <package-folder> <entry.js> <out.mjs> <extra external>…: the CLI as one ESM file.
# Native modules and esbuild's binary stay external (copy_native_modules copies them); pino-pretty
# (a terminal nicety) and ssh2's optional native parts (cpu-features, *.node: it falls back to JS)
# are left out.
bundle_cli() {
  local from="$1" entry="$2" out="$3"
  shift 3
  (cd "$from" && node -e "
const extra = process.argv.slice(3);
require('esbuild').buildSync({
  entryPoints: [process.argv[1]], outfile: process.argv[2], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['better-sqlite3', 'esbuild', 'pino-pretty', 'msgpackr-extract', 'typescript', 'cpu-features', '*.node', ...extra],
  banner: { js: \"import { createRequire as __parlorRequire } from 'node:module'; import { fileURLToPath as __parlorPath } from 'node:url'; const require = __parlorRequire(import.meta.url); const __filename = __parlorPath(import.meta.url); const __dirname = __parlorPath(new URL('.', import.meta.url));\" },
  logLevel: 'error',
});" "$entry" "$out" "$@")
}

# copy_native_modules <package-folder> <ctx> <script-name>: better-sqlite3 (+ bindings,
# file-uri-to-path) and esbuild (+ its linux-x64 binary) as <package-folder> resolves them, into
# <ctx>/opt/parlor/node_modules; sets sqlite_node (the .node file, for copy_node_and_libs).
copy_native_modules() {
  local from="$1" ctx="$2" name="$3"
  local sqlite_dir bindings_dir furi_dir esbuild_dir esbuild_bin_dir
  sqlite_dir="$(pkg_dir "$from" better-sqlite3)"
  sqlite_node="$sqlite_dir/build/Release/better_sqlite3.node"
  [ -f "$sqlite_node" ] || { echo "$name: $sqlite_node not found: install better-sqlite3 (npm install better-sqlite3)" >&2; exit 1; }
  bindings_dir="$(pkg_dir "$sqlite_dir" bindings)"
  furi_dir="$(pkg_dir "$bindings_dir" file-uri-to-path)"
  esbuild_dir="$(pkg_dir "$from" esbuild)"
  esbuild_bin_dir="$(pkg_dir "$esbuild_dir" @esbuild/linux-x64)"
  mkdir -p "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release" "$ctx/opt/parlor/node_modules/@esbuild"
  cp -r "$sqlite_dir/package.json" "$sqlite_dir/lib" "$ctx/opt/parlor/node_modules/better-sqlite3/"
  cp "$sqlite_node" "$ctx/opt/parlor/node_modules/better-sqlite3/build/Release/"
  cp -r "$bindings_dir" "$ctx/opt/parlor/node_modules/bindings"
  cp -r "$furi_dir" "$ctx/opt/parlor/node_modules/file-uri-to-path"
  cp -r "$esbuild_dir" "$ctx/opt/parlor/node_modules/esbuild"
  cp -r "$esbuild_bin_dir" "$ctx/opt/parlor/node_modules/@esbuild/linux-x64"
}

# copy_node_and_libs <ctx> <native module>…: this host's node at /usr/local/bin/node, the dynamic
# loader and every library node and the native modules link, and the few /etc files a process
# expects (root and nobody, localhost).
copy_node_and_libs() {
  local ctx="$1" node_bin bin lib
  shift
  node_bin="$(readlink -f "$(command -v node)")"
  mkdir -p "$ctx/usr/local/bin" "$ctx/etc"
  cp "$node_bin" "$ctx/usr/local/bin/node"
  for bin in "$node_bin" "$@"; do
    ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
      mkdir -p "$ctx$(dirname "$lib")"
      cp -L "$lib" "$ctx$lib"
    done
  done
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$ctx/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$ctx/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' > "$ctx/etc/hosts"
  for d in lib lib64; do mkdir -p "$ctx/$d"; done # some distros keep libraries under /usr/lib only
}

# ctx_hash <ctx>: the sha256 of every file of the build context (names and contents).
ctx_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }

# image_current <tag> <label> <hash>: whether the tag already carries that hash (nothing to build).
image_current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true)" = "$3" ]; }
