#!/usr/bin/env bash
# Builds the Lotus peer (go-jsonrpc + Lotus API types + go-state-types; a cold build downloads and
# compiles lotus/api: a few minutes) and prints the cached binary's path.
cd "$(dirname "$0")" && source ../../../tools/lib/go-build.sh && go_cached_build lotus-peer
