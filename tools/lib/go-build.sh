# Sourced by the build.sh of each small Go module in this repository (the test control plane, the
# Lotus peer, the vector generators, the benchmark reference). Builds the module in the current
# directory once per hash of its go.mod, go.sum and sources, caching the binary outside the
# repository under ${DEALYARD_CACHE:-~/.cache/dealyard}/<name>/<key>/<name>, and prints its path.
#
#   go_cached_build <name> [extra ldflags] [key prefix]
set -euo pipefail
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0

go_cached_build () {
  local name=$1 ldflags=${2:-} prefix=${3:-}
  local cache=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
  local key
  key=$prefix$(cat go.mod go.sum $(find . -name '*.go' -not -path './vendor/*' | LC_ALL=C sort) | sha256sum | cut -c1-16)
  local bin="$cache/$name/$key/$name"
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  mkdir -p "$(dirname "$bin")"
  echo "building $name from the Go module proxy (first run only)" >&2
  local start
  start=$(date +%s)
  nice go build -trimpath -ldflags "-s -w $ldflags" -o "$bin.tmp.$$" . >&2
  mv "$bin.tmp.$$" "$bin"
  echo "built $bin in $(( $(date +%s) - start ))s" >&2
  echo "$bin"
}
