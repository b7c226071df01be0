#!/usr/bin/env bash
# Builds syft (Apache-2.0), the SBOM generator e2e/images/build.sh runs over each image it builds,
# pinned, from the Go module proxy, once, into the cache the other pinned Go tools use
# (e2e/scripts/go-cache.sh):
#   github.com/anchore/syft/cmd/syft@v1.57.2 -> ${REEL_CACHE_DIR:-$HOME/.cache/reel}/bin/syft
#
# Usage: e2e/images/build-syft.sh            build when missing (several minutes cold on 2 cores)
#        e2e/images/build-syft.sh --check    exit 0 when built, 1 otherwise (no build)
#        e2e/images/build-syft.sh --print    print the binary's path
set -euo pipefail

SYFT_VERSION=v1.57.2

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/go-cache.sh"
syft="$reel_bin/syft"
stamp_file="$reel_bin/.syft.version"
stamped_cli "$syft" "$stamp_file" "$SYFT_VERSION" "$@"
# syft's release build sets this; without it `syft version` says "[not provided]".
echo "[build-syft] building syft $SYFT_VERSION (cached as $syft)"
t0=$SECONDS
go_install_pinned "$syft" "github.com/anchore/syft/cmd/syft@$SYFT_VERSION" "-s -w -X main.version=${SYFT_VERSION#v}"
version="$("$syft" version 2>/dev/null | awk '/^Version:/ {print $2}')"
case "$version" in "${SYFT_VERSION#v}") ;; *) echo "[build-syft] built syft says version '$version', not $SYFT_VERSION" >&2; exit 1 ;; esac
stamp "$stamp_file" "$SYFT_VERSION"
echo "[build-syft] syft $SYFT_VERSION built in $((SECONDS - t0)) s"
