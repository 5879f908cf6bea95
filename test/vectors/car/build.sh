#!/usr/bin/env bash
# Builds the go-car golden-vector writer from the Go module proxy, once per go.mod+go.sum+sources:
# the binary is cached outside the repository under ${DEALYARD_CACHE:-~/.cache/dealyard}/carvectors/<hash>/
# and its path printed. Regenerate the fixtures with: "$(test/vectors/car/build.sh)" test/fixtures/car
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
key=$(cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
out="$cache/carvectors/$key"
bin="$out/carvectors"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$out"
go build -trimpath -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
