#!/usr/bin/env bash
# Installs Helm from the Go module proxy (helm.sh/helm/v4 has no replace directives, so `go install
# pkg@version` works) into ${DEALYARD_CACHE:-~/.cache/dealyard}/helm/<version>/ and prints its path.
# The chart test uses it for `helm lint` and `helm template`.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../lib/go-build.sh"
version=v4.2.4
cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
out="$cache/helm/$version"
if [ -x "$out/helm" ]; then echo "$out/helm"; exit 0; fi
echo "building helm $version from the Go module proxy (first run only)" >&2
mkdir -p "$out"
GOBIN="$out" with_heartbeat "building helm" nice go install -trimpath -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@$version" >&2
echo "$out/helm"
