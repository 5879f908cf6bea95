#!/usr/bin/env bash
# Builds the Lotus peer (go-jsonrpc + lotus/api + go-state-types from the Go module proxy, no cgo)
# once per go.mod/go.sum/sources: cached under ${DEALYARD_CACHE:-~/.cache/dealyard}/lotus-peer/<hash>/
# and its path printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
key=$(cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
out="$cache/lotus-peer/$key"
bin="$out/lotus-peer"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$out"
echo "building lotus-peer (a cold build downloads and compiles lotus/api; a few minutes)" >&2
start=$(date +%s)
nice go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" . >&2
mv "$bin.tmp.$$" "$bin"
echo "built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
