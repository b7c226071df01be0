#!/usr/bin/env bash
# Builds the pinned helm (Apache-2.0) from the Go module proxy, once, into a cache on disk:
#   helm.sh/helm/v3/cmd/helm@v3.22.0 -> ${REEL_CACHE_DIR:-$HOME/.cache/reel}/bin/helm
# The chart tests (e2e/chart/) run `helm lint` and `helm template` with it. Re-running is instant
# when the pinned version is already built.
#
# Usage: e2e/scripts/build-helm.sh            build when missing
#        e2e/scripts/build-helm.sh --check    exit 0 when built, 1 otherwise (no build)
#        e2e/scripts/build-helm.sh --print    print the binary's path
set -euo pipefail

HELM_VERSION=v3.22.0

. "$(dirname "${BASH_SOURCE[0]}")/go-cache.sh"
helm="$reel_bin/helm"
stamp_file="$reel_bin/.helm.version"
stamped_cli "$helm" "$stamp_file" "$HELM_VERSION" "$@"
# helm's Makefile sets these; without them `helm version` reports the module's build info only.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
echo "[build-helm] building helm $HELM_VERSION (cached in $reel_bin; a few minutes cold on 2 cores)"
t0=$SECONDS
go_install_pinned "$helm" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$ldflags"
stamp "$stamp_file" "$HELM_VERSION"
echo "[build-helm] helm $HELM_VERSION built in $((SECONDS - t0)) s: $("$helm" version --short)"
