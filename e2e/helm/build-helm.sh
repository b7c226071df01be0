#!/usr/bin/env bash
# Builds the helm the L5 chart test installs the chart with (Apache-2.0), pinned, from the Go module
# proxy, once, into the cache the other pinned Go tools use (e2e/scripts/go-cache.sh):
#   helm.sh/helm/v4/cmd/helm@v4.3.2 -> ${REEL_CACHE_DIR:-$HOME/.cache/reel}/bin/helm4
# Named helm4 beside e2e/scripts/build-helm.sh's helm (v3.22.0, which e2e/chart's lint and
# template tests pin): the two builds share the module cache and never overwrite each other.
#
# Usage: e2e/helm/build-helm.sh            build when missing (a few minutes cold on 2 cores)
#        e2e/helm/build-helm.sh --check    exit 0 when built, 1 otherwise (no build)
#        e2e/helm/build-helm.sh --print    print the binary's path
set -euo pipefail

HELM_VERSION=v4.3.2

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/go-cache.sh"
helm="$reel_bin/helm4"
stamp_file="$reel_bin/.helm4.version"
stamped_cli "$helm" "$stamp_file" "$HELM_VERSION" "$@"
# helm's Makefile sets these; without them `helm version` reports the module's build info only.
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
echo "[build-helm4] building helm $HELM_VERSION (cached as $helm)"
t0=$SECONDS
go_install_pinned "$helm" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" "$ldflags"
version="$("$helm" version --short)"
case "$version" in "$HELM_VERSION"*) ;; *) echo "[build-helm4] built helm says $version, not $HELM_VERSION" >&2; exit 1 ;; esac
stamp "$stamp_file" "$HELM_VERSION"
echo "[build-helm4] helm $HELM_VERSION built in $((SECONDS - t0)) s: $version"
