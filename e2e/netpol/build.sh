#!/usr/bin/env bash
# Builds the NetworkPolicy engine the L5 node runs (e2e/netpol): kube-router's policy controller
# (Apache-2.0), pinned, from the Go module proxy, once, into the cache:
#   github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0
#     -> ${REEL_CACHE_DIR:-$HOME/.cache/reel}/netpol/v2.1.0/kube-router
# kube-router, not kube-network-policies (v0.8.0): the latter queues new connections with nftables'
# `queue` expression, and this VM's kernel is built without it (CONFIG_NFT_QUEUE is not set; no
# loadable modules) — see e2e/l5/README.md. kube-router enforces with iptables + ipset, which it has.
# v2.1.0 is the one version the proxy here offers; advisories are reported against it: it is a test
# tool on a throwaway node here, never shipped.
#
# Usage: e2e/netpol/build.sh            build when missing (minutes cold on 2 cores)
#        e2e/netpol/build.sh --check    exit 0 when built, 1 otherwise (no build)
#        e2e/netpol/build.sh --print    print the binary's path
set -euo pipefail

KUBE_ROUTER_VERSION=v2.1.0
MODULE=github.com/cloudnativelabs/kube-router/v2

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/go-cache.sh"
dir="$reel_cache/netpol/$KUBE_ROUTER_VERSION"
bin="$dir/kube-router"
stamp_file="$dir/.version"
stamped_cli "$bin" "$stamp_file" "$KUBE_ROUTER_VERSION" "$@"
# go install MODULE@VERSION builds with the module's own go.mod/go.sum, each module checked against
# the checksum database (GOSUMDB's default), so the dependency tree is the release's, not resolved anew.
ldflags="-s -w -X $MODULE/pkg/version.Version=$KUBE_ROUTER_VERSION -X $MODULE/pkg/version.BuildDate=pinned"
echo "[build-netpol] building kube-router $KUBE_ROUTER_VERSION (cached as $bin)"
t0=$SECONDS
go_install_pinned "$bin" "$MODULE/cmd/kube-router@$KUBE_ROUTER_VERSION" "$ldflags"
version="$("$bin" --version 2>&1 | head -1)"
case "$version" in *"$KUBE_ROUTER_VERSION"*) ;; *) echo "[build-netpol] built kube-router says '$version', not $KUBE_ROUTER_VERSION" >&2; exit 1 ;; esac
stamp "$stamp_file" "$KUBE_ROUTER_VERSION"
echo "[build-netpol] kube-router $KUBE_ROUTER_VERSION built in $((SECONDS - t0)) s: $version"
