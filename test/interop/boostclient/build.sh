#!/usr/bin/env bash
# Builds the boost-client interop program once per go.mod+go.sum+sources and prints the binary's path.
# The wire types are boost's declarations kept in test/vectors/boost/wire (read, not modified); their
# cbor-gen methods are generated here, in a copy of this module under the cache, by the generator
# version boost pins, with the vectors module's own generator (its import path rewritten to this
# module). Nothing generated is committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vectors="$here/../../vectors/boost"
wire="$vectors/wire/types.go"
gen="$vectors/gen/main.go"
cd "$here"
source "$here/../../../tools/lib/go-build.sh"
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
key=$(cat go.mod go.sum ./*.go "$gen" "$wire" build.sh | sha256sum | cut -c1-16)
out="$cache/boostclient/$key"
bin="$out/boostclient"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
src="$out/src"
rm -rf "$src" && mkdir -p "$src/wire" "$src/gen"
cp go.mod go.sum ./*.go "$src/" && cp "$wire" "$src/wire/types.go"
sed 's#github.com/dealyard/dealyard/test/vectors/boost/wire#github.com/dealyard/dealyard/test/interop/boostclient/wire#' "$gen" > "$src/gen/main.go"
cd "$src"
echo "building boostclient (go-libp2p, go-state-types, cbor-gen from the Go module proxy)" >&2
nice go run ./gen wire/cbor_gen.go >&2
with_heartbeat "building boostclient" nice go build -trimpath -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
