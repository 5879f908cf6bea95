#!/usr/bin/env bash
# Builds the testplane multi-call binary (kube-apiserver, kube-controller-manager, kubectl, embedded
# etcd) from the Go module proxy, once per go.sum: the binary is cached outside the repository under
# ${DEALYARD_CACHE:-~/.cache/dealyard}/testplane/<k8s version>-<go.sum hash>/ and its path printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
ver=$(awk '/k8s.io\/kubernetes v/{print $2; exit}' go.mod)
key=$(cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
out="$cache/testplane/$ver-$key"
bin="$out/testplane"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$out"
minor=$(echo "$ver" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ) -X main.gitVersion=$ver"
echo "building testplane $ver (kube-apiserver, kube-controller-manager, kubectl, etcd); a cold build takes several minutes" >&2
start=$(date +%s)
go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "built $bin in $(( $(date +%s) - start ))s" >&2
echo "$bin"
