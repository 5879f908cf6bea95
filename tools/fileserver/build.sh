#!/usr/bin/env bash
# Builds the transfer benchmark's file server (standard library only) and prints the cached binary's path.
cd "$(dirname "$0")" && source ../lib/go-build.sh && go_cached_build fileserver
