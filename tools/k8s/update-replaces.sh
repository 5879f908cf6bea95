#!/usr/bin/env bash
# Regenerates go.mod's replace block from the k8s.io/kubernetes release's own go.mod, so every staging
# module is pinned to the v0.X.Y tag that matches v1.X.Y (the module zip has no staging/ directory).
set -euo pipefail
cd "$(dirname "$0")"
ver=${1:-$(awk '/k8s.io\/kubernetes v/{print $2; exit}' go.mod)}
export GOTOOLCHAIN=local GOFLAGS=
mod=$(go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging="v0${ver#v1}"
{
  sed '/^replace (/,/^)/d' go.mod
  echo "replace ("
  grep -E '=> ./staging/src/' "$mod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod.new
mv go.mod.new go.mod
echo "pinned $(grep -c ' => k8s.io' go.mod) staging modules to $staging"
