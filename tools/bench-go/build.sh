#!/usr/bin/env bash
# Builds the reference stream-commp (go-fil-commp-hashhash from the Go module proxy) for the CommP
# benchmark and prints the cached binary's path.
cd "$(dirname "$0")" && source ../lib/go-build.sh && go_cached_build stream-commp
