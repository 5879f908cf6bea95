#!/usr/bin/env bash
# Builds the testplane multi-call binary (kube-apiserver, kube-controller-manager, kubectl, embedded
# etcd) from the Go module proxy, once per go.sum: cached outside the repository under
# ${DEALYARD_CACHE:-~/.cache/dealyard}/testplane/<k8s version>-<hash>/, path printed. A cold build
# takes about 5 minutes on 2 cores.
cd "$(dirname "$0")" && source ../lib/go-build.sh
ver=$(awk '/k8s.io\/kubernetes v/{print $2; exit}' go.mod)
pkg=k8s.io/component-base/version
# Without the version ldflags the server reports v0.0.0-master+$Format:%H$ and kubectl's skew
# checks and Helm's kubeVersion constraints misbehave.
ldflags="-X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$ver" | cut -d. -f2)"
ldflags+=" -X $pkg.gitTreeState=clean -X main.gitVersion=$ver"
go_cached_build testplane "$ldflags" "$ver-"
