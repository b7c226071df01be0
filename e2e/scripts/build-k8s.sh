#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane from the Go module proxy, once, into a cache on disk:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes),
#   etcd (go.etcd.io/etcd/server/v3, the version k8s.io/kubernetes pins) and kwok (sigs.k8s.io/kwok).
# Output: ${REEL_CACHE_DIR:-$HOME/.cache/reel}/k8s/<k8s version>/bin. A binary already built for its
# pinned version is skipped, so re-running is cheap (CI caches the whole k8s/ directory).
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io staging module with
# ./staging/src/..., and requires them at v0.0.0. So we write a throwaway module whose go.mod requires
# k8s.io/kubernetes and replaces each staging module (the list is read from k8s.io/kubernetes's own
# go.mod) by the published v0.Y.Z that matches v1.Y.Z. etcd's server module has relative replaces
# too, so it gets the same treatment; kwok has none and is a plain `go install`.
#
# Usage: e2e/scripts/build-k8s.sh            build what is missing
#        e2e/scripts/build-k8s.sh --check    exit 0 when everything is built, 1 otherwise (no build)
#        e2e/scripts/build-k8s.sh --print-bin  print the bin directory
#        e2e/scripts/build-k8s.sh --kubelet [--check]  the same, with the kubelet too (level L5,
#          e2e/l5/); opt-in, so the default set, its --check and CI's cached bin/ are unchanged
set -euo pipefail

K8S_VERSION=v1.37.2   # k8s.io/kubernetes; staging modules at v0.37.2
ETCD_VERSION=v3.7.0   # = go.etcd.io/etcd/server/v3 required by k8s.io/kubernetes v1.37.2
KWOK_VERSION=v0.8.0   # sigs.k8s.io/kwok

cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
root="$cache/k8s"
bin="$root/$K8S_VERSION/bin"
export PATH="$PATH:/usr/local/go/bin"
export GOPATH="$root/go" GOMODCACHE="$root/go/pkg/mod" GOCACHE="$root/go-build"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
ldflags="-s -w"

k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
stamp() { echo "$bin/.$1.version"; }
built() { [ -x "$bin/$1" ] && [ "$(cat "$(stamp "$1")" 2>/dev/null)" = "$2" ]; }
all_built() {
  for b in "${k8s_bins[@]}"; do built "$b" "$K8S_VERSION" || return 1; done
  built etcd "$ETCD_VERSION" && built kwok "$KWOK_VERSION"
}

mode=build
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --print-bin) mode=print-bin ;;
    # the kubelet is one more k8s.io/kubernetes binary at the same pin, built the same way; it goes
    # into the same bin/ with its own stamp, so a cache built without it stays valid
    --kubelet) k8s_bins+=(kubelet) ;;
    *) echo "usage: $0 [--kubelet] [--check|--print-bin]" >&2; exit 2 ;;
  esac
done
case "$mode" in
  check) all_built && exit 0 || exit 1 ;;
  print-bin) echo "$bin"; exit 0 ;;
esac

mkdir -p "$bin"
log() { echo "[build-k8s] $*"; }
now() { date +%s; }
t0=$(now)

# --- k8s.io/kubernetes -----------------------------------------------------------------------
need_k8s=()
for b in "${k8s_bins[@]}"; do built "$b" "$K8S_VERSION" || need_k8s+=("$b"); done
if [ ${#need_k8s[@]} -gt 0 ]; then
  mod="$root/$K8S_VERSION/mod-kubernetes"
  mkdir -p "$mod"
  log "downloading k8s.io/kubernetes@$K8S_VERSION"
  go mod download k8s.io/kubernetes@"$K8S_VERSION"
  upstream="$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
  staging_version="v0.${K8S_VERSION#v1.}"
  {
    echo "module reel.local/k8s-build"
    echo
    echo "go $(awk '$1=="go"{print $2; exit}' "$upstream")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # every `k8s.io/<name> => ./staging/src/k8s.io/<name>` of upstream's go.mod, pinned to v0.Y.Z
    sed -n '/^replace (/,/^)/p' "$upstream" | awk -v v="$staging_version" '$2=="=>" && $3 ~ /^\.\/staging/ {printf "\t%s => %s %s\n", $1, $1, v}'
    echo ")"
  } >"$mod/go.mod"
  log "throwaway module $mod/go.mod pins $(grep -c '=>' "$mod/go.mod") staging modules to $staging_version"
  pkgs=()
  for b in "${need_k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # the version variables hack/lib/version.sh sets; without them /version and `kubectl version` say v0.0.0-master
  minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  k8s_ldflags="$ldflags"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  log "building ${need_k8s[*]} (nice -n 10; ~12 min cold on 2 busy cores)"
  tb=$(now)
  (cd "$mod" && nice -n 10 go build -trimpath -ldflags "$k8s_ldflags" -o "$bin/" "${pkgs[@]}")
  for b in "${need_k8s[@]}"; do echo "$K8S_VERSION" >"$(stamp "$b")"; done
  log "k8s binaries built in $(($(now) - tb)) s"
fi

# --- etcd ----------------------------------------------------------------------------------------
if ! built etcd "$ETCD_VERSION"; then
  mod="$root/$K8S_VERSION/mod-etcd"
  mkdir -p "$mod"
  cat >"$mod/go.mod" <<EOF
module reel.local/etcd-build

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

// go.etcd.io/etcd/server/v3's own go.mod replaces these with ../api etc.; pin the published ones.
replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
EOF
  log "building etcd $ETCD_VERSION"
  tb=$(now)
  (cd "$mod" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  echo "$ETCD_VERSION" >"$(stamp etcd)"
  log "etcd built in $(($(now) - tb)) s"
fi

# --- kwok ----------------------------------------------------------------------------------------
if ! built kwok "$KWOK_VERSION"; then
  log "building kwok $KWOK_VERSION"
  tb=$(now)
  (cd "$root" && GOBIN="$bin" nice -n 10 go install -trimpath -ldflags "$ldflags" sigs.k8s.io/kwok/cmd/kwok@"$KWOK_VERSION")
  echo "$KWOK_VERSION" >"$(stamp kwok)"
  log "kwok built in $(($(now) - tb)) s"
fi

log "all built in $bin ($(($(now) - t0)) s this run)"
ls -l "$bin" | awk 'NR>1{printf "[build-k8s]   %-26s %6.1f MiB\n", $9, $5/1048576}'
