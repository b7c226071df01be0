# Sourced by the scripts that build pinned Go tools from the Go module proxy into a cache on disk
# (build-tools.sh, build-helm.sh, e2e/chart/tools/build.sh): one place for the cache layout, the Go
# environment and the stamp that says a binary is built from the wanted version or sources.
#   reel_bin                          ${REEL_CACHE_DIR:-$HOME/.cache/reel}/bin
#   stamped BIN STAMP WANT            0 when BIN exists and STAMP holds WANT
#   stamped_cli BIN STAMP WANT [ARG]  ARG --check: exit 0/1 by stamped; --print: print BIN, exit 0;
#                                     none: exit 0 when stamped (nothing to build), else return
#   stamp STAMP WANT                  record a finished build
#   go_install_pinned BIN PKG@VERSION LDFLAGS
#                                     go install into a temporary GOBIN beside BIN, then move the
#                                     binary to BIN (a half-built one is never at BIN); static, trimmed,
#                                     niced, with the module's own go.mod/go.sum (-mod=mod), each
#                                     module checked against the checksum database
reel_cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
reel_bin="$reel_cache/bin"
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
export GOPATH="$reel_cache/go" GOTOOLCHAIN=local

stamped() { [ -x "$1" ] && [ "$(cat "$2" 2>/dev/null)" = "$3" ]; }

stamped_cli() {
  local bin=$1 stamp=$2 want=$3
  case "${4:-}" in
    --check) stamped "$bin" "$stamp" "$want" && exit 0 || exit 1 ;;
    --print) echo "$bin"; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--check|--print]" >&2; exit 2 ;;
  esac
  if stamped "$bin" "$stamp" "$want"; then exit 0; fi
  mkdir -p "$(dirname "$bin")"
}

stamp() { echo "$2" >"$1"; }

go_install_pinned() {
  local bin=$1 pkg=$2 ldflags=$3 gobin name
  name="$(basename "${pkg%@*}")"
  gobin="$(mktemp -d "$(dirname "$bin")/.$name-build.XXXXXX")"
  if ! GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$gobin" nice -n 10 go install -trimpath -ldflags "$ldflags" "$pkg"; then
    rm -rf "$gobin"
    return 1
  fi
  mv "$gobin/$name" "$bin"
  rm -rf "$gobin"
}
