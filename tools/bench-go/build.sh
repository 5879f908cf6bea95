#!/usr/bin/env bash
# Builds stream-commp (upstream go-fil-commp-hashhash from the Go module proxy behind a few-line
# main of ours) once per hash of go.mod/go.sum/sources: cached outside the repository under
# ${DEALYARD_CACHE:-~/.cache/dealyard}/stream-commp/<hash>/stream-commp, path printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
key=$(cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
out="$cache/stream-commp/$key"
bin="$out/stream-commp"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$out"
echo "building stream-commp (go-fil-commp-hashhash $(awk '/go-fil-commp-hashhash v/{print $2; exit}' go.mod))" >&2
nice go build -trimpath -ldflags "-s -w" -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
