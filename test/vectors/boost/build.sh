#!/usr/bin/env bash
# Builds the golden-vector generator once per go.mod+go.sum+sources and prints the binary's path.
# The cbor-gen methods of wire/ are generated here, in a copy of the module under the cache, by the
# generator version boost pins; they are never committed. Usage:
#   $(test/vectors/boost/build.sh) test/fixtures/boost     # regenerate the committed fixtures
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
source "$here/../../../tools/lib/go-build.sh"
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
key=$(cat go.mod go.sum ./*.go wire/types.go gen/*.go build.sh | sha256sum | cut -c1-16)
out="$cache/boost-vectors/$key"
bin="$out/boost-vectors"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
src="$out/src"
rm -rf "$src" && mkdir -p "$src/wire" "$src/gen"
cp go.mod go.sum ./*.go "$src/" && cp wire/types.go "$src/wire/" && cp gen/*.go "$src/gen/"
cd "$src"
echo "building boost-vectors (go-state-types, cbor-gen from the Go module proxy)" >&2
nice go run ./gen wire/cbor_gen.go >&2
with_heartbeat "building boost-vectors" nice go build -trimpath -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
