# Sourced by the build.sh of each small Go module in this repository (the test control plane, the
# Lotus peer, the vector generators, the benchmark reference). Builds the module in the current
# directory once per hash of its go.mod, go.sum and sources, caching the binary outside the
# repository under ${DEALYARD_CACHE:-~/.cache/dealyard}/<name>/<key>/<name>, and prints its path.
#
#   go_cached_build <name> [extra ldflags] [key prefix]
#   with_heartbeat <what> <command...>   (a long command that prints nothing while it works)
set -euo pipefail
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0

# go build prints nothing while it compiles (the test control plane: ~4 minutes on 2 cores), so a
# first run looked hung: a line every 30 s says it is still at work.
with_heartbeat () {
  local what=$1; shift
  local start=$SECONDS
  # The loop's sleep must hold no pipe a caller reads to its end ($(...), a test runner): killed
  # with the loop, it would otherwise keep that pipe open for up to 30 s more.
  ( while sleep 30 >/dev/null 2>&1; do echo "  still $what ($(( SECONDS - start ))s)" >&2; done ) >/dev/null &
  local beat=$! rc=0
  "$@" || rc=$?
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  return "$rc"
}

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
  with_heartbeat "building $name" nice go build -trimpath -ldflags "-s -w $ldflags" -o "$bin.tmp.$$" . >&2
  mv "$bin.tmp.$$" "$bin"
  echo "built $bin in $(( $(date +%s) - start ))s" >&2
  echo "$bin"
}
