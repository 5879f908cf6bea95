#!/usr/bin/env bash
# Builds the go-car vector generator and prints the cached binary's path.
cd "$(dirname "$0")" && source ../../../tools/lib/go-build.sh && go_cached_build carvectors
