#!/usr/bin/env bash
# The three images (worker-image/, operator/ and api-shim/Dockerfile) built from their Dockerfiles
# with buildah, on a machine that reaches no image registry: the bases the Dockerfiles name by
# default (node:24.21.0-bookworm, rust:1.95.0-bookworm, debian:12-slim) are made here and passed as
# build arguments, so a user with a registry builds the very same Dockerfiles with their defaults.
#
#   build.sh bases   make the three bases once (debootstrap bookworm minbase; + build tools, the
#                    repository's pinned Node and the host's npm; the machine's Rust 1.95.0)
#   build.sh build   the three images (buildah bud --layers: a second run reuses every layer)
#   build.sh facts   size, layers, user, what each holds, a read-only-root run of each (runc)
#   build.sh sbom    an SBOM per image (syft, pinned, built by build-syft.sh): SPDX 2.3 and CycloneDX
#                    JSON in images/sbom/, with a summary (packages by kind, key versions) in sbom.json
#   build.sh all     bases, images, facts and SBOMs in order (default)
#   build.sh cold    drops the cached layers and images (the bases stay), then builds twice from one
#                    context: the first build is timed cold, the second (every layer cached) cached
#   build.sh cached  the three again from the last context, timed
#   build.sh ci      .ci/run's step: bases (when missing), the three from HEAD, facts, SBOMs, then a prune of
#                    the unused layers when the storage passed REEL_IMAGES_KEEP_GB (40); prints its times
#
# Everything lives under ${REEL_CACHE_DIR:-~/.cache/reel}/images (buildah's own storage root
# included: nothing touches /var/lib/containers). Facts go to stdout and images/facts.json.
# Environment: REEL_IMAGES_DRIVER (overlay; vfs works where overlayfs does not, but keeps every
# layer and every step's container as a full copy: it had used 30 GB here when the builder stage
# reached npm ci, on the way to an estimated 60+ GB), REEL_IMAGES_NICE (15). Needs root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}/images"
driver="${REEL_IMAGES_DRIVER:-overlay}"
niceness="${REEL_IMAGES_NICE:-15}"
node_bin="$repo/node_modules/node/bin/node" # Node 24 from the npm package `node` (the repository's pin)
debian_image="reel.local/debian:12-slim"
node_image="reel.local/node:24.21.0-bookworm"
rust_image="reel.local/rust:1.95.0-bookworm"
rust_toolchain="1.95.0-x86_64-unknown-linux-gnu"
declare -A dockerfiles=([worker]=worker-image/Dockerfile [operator]=operator/Dockerfile [shim]=api-shim/Dockerfile)
names=(worker operator shim)

log() { echo "[images] $*" >&2; }
die() { echo "[images] error: $*" >&2; exit 1; }
B() { nice -n "$niceness" buildah --root "$cache/storage-$driver" --runroot "/run/reel-images-$driver" --storage-driver "$driver" "$@"; }
has_image() { B inspect --type image "$1" >/dev/null 2>&1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }

# --- bases -----------------------------------------------------------------------------------------
# debian:12-slim's equivalent: debootstrap's minbase of bookworm with the release's three suites, as
# one layer from a tar (ownership kept), without apt lists or documentation.
base_debian() {
  has_image "$debian_image" && return 0
  local r="$cache/bases/debian-rootfs"
  if [ ! -f "$r/.done" ]; then
    log "debootstrap --variant=minbase bookworm (once; a few minutes)"
    rm -rf "$r" && mkdir -p "$cache/bases"
    nice -n "$niceness" debootstrap --variant=minbase bookworm "$r" http://deb.debian.org/debian \
      >"$cache/bases/debootstrap.log" 2>&1 || { tail -20 "$cache/bases/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -f "$r/etc/apt/sources.list"
    cat >"$r/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb "$r/usr/share/doc/"* \
      "$r/usr/share/man/"* "$r/var/log/"*.log
    touch "$r/.done"
  fi
  tar -C "$r" --numeric-owner --exclude=./.done -cf "$cache/bases/debian.tar" .
  local c
  c="$(B from --pull=never scratch)"
  B add "$c" "$cache/bases/debian.tar" / >/dev/null
  B config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label org.opencontainers.image.description="debootstrap --variant=minbase bookworm (made by e2e/images/build.sh)" "$c"
  B commit --rm "$c" "$debian_image" >/dev/null
  rm -f "$cache/bases/debian.tar"
  log "base $debian_image made"
}

# node:24.21.0-bookworm's part the builder stage uses: the Debian base with a C toolchain (the ring
# crate builds C), Node 24.21.0 (the repository's pin) and npm at the node image's paths. The
# machine's extra CA certificates (a TLS-intercepting egress proxy here) go in too, so npm ci and
# cargo reach their registries from inside the build; a registry's node image needs none.
base_node() {
  has_image "$node_image" && return 0
  local ctx="$cache/bases/node-context"
  rm -rf "$ctx" && mkdir -p "$ctx/ca"
  install -m 0755 "$(readlink -f "$node_bin")" "$ctx/node"
  [ "$("$ctx/node" --version)" = v24.21.0 ] || die "$node_bin is not Node 24.21.0"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  cat >"$ctx/Containerfile" <<EOF
FROM $debian_image
RUN apt-get update && apt-get install -y --no-install-recommends build-essential ca-certificates \\
  && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  log "base $node_image (apt build-essential, Node $("$ctx/node" --version), npm $("$ctx/node" "$ctx/npm/bin/npm-cli.js" --version))"
  B bud --pull=never --isolation chroot -t "$node_image" "$ctx" >"$cache/bases/node.log" 2>&1 ||
    { tail -20 "$cache/bases/node.log" >&2; die "node base failed (log $cache/bases/node.log)"; }
  rm -rf "$ctx"
}

# rust:1.95.0-bookworm's two folders the builder copies (/usr/local/cargo, /usr/local/rustup): the
# machine's rustup proxies and its 1.95.0 toolchain, without the offline documentation.
base_rust() {
  has_image "$rust_image" && return 0
  local ctx="$cache/bases/rust-context" tc
  if [ ! -x "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$rust_toolchain/bin/rustc" ] && command -v rustup >/dev/null; then
    log "rustup toolchain install $rust_toolchain (the Dockerfiles' rust:1.95.0 base is made from it)"
    rustup toolchain install "$rust_toolchain" --profile minimal >&2
  fi
  tc="$(readlink -f "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$rust_toolchain")"
  [ -x "$tc/bin/rustc" ] || die "Rust toolchain $rust_toolchain not found in ${RUSTUP_HOME:-$HOME/.rustup}"
  rm -rf "$ctx" && mkdir -p "$ctx/cargo/bin" "$ctx/rustup/toolchains/$rust_toolchain"
  cp -a "${CARGO_HOME:-$HOME/.cargo}/bin/." "$ctx/cargo/bin/"
  tar -C "$tc" --exclude=./share/doc -cf - . | tar -C "$ctx/rustup/toolchains/$rust_toolchain" -xf -
  printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
    "$rust_toolchain" >"$ctx/rustup/settings.toml"
  printf 'FROM scratch\nCOPY cargo /usr/local/cargo\nCOPY rustup /usr/local/rustup\n' >"$ctx/Containerfile"
  log "base $rust_image ($("$tc/bin/rustc" --version))"
  B bud --pull=never --isolation chroot -t "$rust_image" "$ctx" >"$cache/bases/rust.log" 2>&1 ||
    { tail -20 "$cache/bases/rust.log" >&2; die "rust base failed (log $cache/bases/rust.log)"; }
  rm -rf "$ctx"
}

cmd_bases() {
  [ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
  for t in buildah debootstrap; do command -v "$t" >/dev/null || die "$t missing (apt-get install -y $t)"; done
  mkdir -p "$cache/bases"
  base_debian
  base_node
  base_rust
}

# --- images ----------------------------------------------------------------------------------------
build_args() { # $1: the context (its .revision: the commit it was exported from)
  echo --build-arg "NODE_IMAGE=$node_image" --build-arg "RUST_IMAGE=$rust_image" \
    --build-arg "DEBIAN_IMAGE=$debian_image" --build-arg "REVISION=$(cat "$1/.revision")"
  # The yt-dlp stage's pip checks TLS against its own CA list, which knows nothing of this machine's
  # egress proxy: during RUN steps only, /etc/xdg/pip (a folder pip reads its config from) holds a
  # pip.conf naming the machine's CA bundle. A bind mount: nothing of it is in any layer (facts.sh checks).
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$cache/build-ca"
    cp /etc/ssl/certs/ca-certificates.crt "$cache/build-ca/ca.crt"
    printf '[global]\ncert = /etc/xdg/pip/ca.crt\n' >"$cache/build-ca/pip.conf"
    echo --volume "$cache/build-ca:/etc/xdg/pip:ro"
  fi
}

# The build context: the committed tree (git archive HEAD, as a clean clone in CI has it) with the
# checkout's Dockerfiles and .dockerignore, not the working tree, where others' unfinished edits
# live (one such edit broke the addon's build in the first try here).
context() {
  local ctx="$cache/context" f
  rm -rf "$ctx" && mkdir -p "$ctx"
  git -C "$repo" archive HEAD | tar -C "$ctx" -xf -
  git -C "$repo" rev-parse HEAD >"$ctx/.revision" # REVISION from here: HEAD moves while we build
  for f in "${dockerfiles[@]}" .dockerignore; do cp "$repo/$f" "$ctx/$f"; done
  echo "$ctx"
}

cmd_build() {
  mkdir -p "$cache/logs"
  local name t0 t1 kind=${1:-cached} ctx="${ctx_dir:-}"
  [ -n "$ctx" ] || ctx="$(context)"
  for name in "${names[@]}"; do
    t0="$(now)"
    # shellcheck disable=SC2046
    B bud --layers --pull=never --isolation chroot $(build_args "$ctx") -f "$ctx/${dockerfiles[$name]}" \
      -t "reel.local/reel-$name:0.1.0" "$ctx" >"$cache/logs/$name.log" 2>&1 ||
      { tail -30 "$cache/logs/$name.log" >&2; die "$name image failed (log $cache/logs/$name.log)"; }
    t1="$(now)"
    echo "$name $kind $(secs "$t0" "$t1")" >>"$cache/timings"
    log "reel.local/reel-$name:0.1.0 built in $(secs "$t0" "$t1") s ($kind)"
  done
}

# CI keeps the storage between runs (every unchanged layer is reused: a commit that changes no
# package.json, lock or crates/ file skips npm ci and the addon's release build), but each commit
# adds its changed layers. Past the limit the untagged layers go (the next build is cold after the
# shared builder stage); the bases and the three tagged images stay.
prune_when_large() {
  local gb
  gb="$(du -s --block-size=1G "$cache/storage-$driver" | cut -f1)"
  if [ "$gb" -gt "${REEL_IMAGES_KEEP_GB:-40}" ]; then
    log "storage holds $gb GB (> ${REEL_IMAGES_KEEP_GB:-40}): pruning the unused layers"
    B rmi --prune >/dev/null 2>&1 || true
  fi
}

# --- SBOMs -----------------------------------------------------------------------------------------
# syft over each image's root filesystem as buildah mounts it (no copy of the layers: the worker's
# 1.3 GB would be written out again to scan it as an OCI layout), with the catalogers syft uses for
# images (a directory's defaults read lock files and CI workflows instead of what is installed, and
# listed node_modules' .github folders as 123 "packages"): Debian's packages from dpkg's
# status, Node's from node_modules, Python's (yt-dlp) from its venv's metadata, the Rust addon and
# reel-child from their embedded build facts where syft can read them. Named by image and revision.
cmd_sbom() {
  local syft name image c mnt revision out="$cache/sbom" summary="{}"
  syft="$(bash "$here/build-syft.sh" --print)"
  bash "$here/build-syft.sh"
  mkdir -p "$out"
  for name in "${names[@]}"; do
    image="reel.local/reel-$name:0.1.0"
    has_image "$image" || die "$image not built (build.sh build)"
    revision="$(B inspect --type image --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.revision"}}' "$image")"
    c="$(B from --pull=never "$image")"
    mnt="$(B mount "$c")"
    log "$image: SBOM (syft $("$syft" version 2>/dev/null | awk '/^Version:/ {print $2}'))"
    SYFT_CHECK_FOR_APP_UPDATE=false nice -n "$niceness" "$syft" scan "dir:$mnt" -q --override-default-catalogers image \
      --source-name "reel-$name" --source-version "${revision:-unknown}" \
      -o "spdx-json=$out/reel-$name.spdx.json" -o "cyclonedx-json=$out/reel-$name.cdx.json" ||
      { B umount "$c" >/dev/null; B rm "$c" >/dev/null; die "syft failed on $image"; }
    B umount "$c" >/dev/null && B rm "$c" >/dev/null
    summary="$(jq --arg n "$name" --arg rev "$revision" --slurpfile s "$out/reel-$name.spdx.json" '
      .[$n] = { revision: $rev, spdx: "sbom/reel-\($n).spdx.json", cyclonedx: "sbom/reel-\($n).cdx.json",
        packages: ($s[0].packages | length),
        byKind: ([$s[0].packages[].externalRefs[]? | select(.referenceType == "purl") | .referenceLocator
                  | capture("^pkg:(?<k>[^/]+)/").k] | group_by(.) | map({ (.[0]): length }) | add),
        named: ([$s[0].packages[] | select(.name | test("^(ffmpeg|yt-dlp|fastify|@kubernetes/client-node|libavcodec59|openssl|node)$"))
                 | "\(.name) \(.versionInfo)"] | unique) }' <<<"$summary")"
  done
  echo "$summary" | tee "$cache/sbom.json" | jq -r 'to_entries[] | "[sbom] \(.key): \(.value.packages) packages \(.value.byKind | tostring)"' >&2
}

cmd_ci() {
  local t0 t1 t2 t3
  t0="$(now)"
  cmd_bases
  t1="$(now)"
  cmd_build ci
  t2="$(now)"
  bash "$here/facts.sh" >/dev/null
  t3="$(now)"
  cmd_sbom >/dev/null
  prune_when_large
  log "ci: bases $(secs "$t0" "$t1") s, images $(secs "$t1" "$t2") s, facts $(secs "$t2" "$t3") s, sbom $(secs "$t3" "$(now)") s, total $(secs "$t0" "$(now)") s"
}

cmd_cold() {
  local name
  for name in "${names[@]}"; do B rmi -f "reel.local/reel-$name:0.1.0" >/dev/null 2>&1 || true; done
  B rmi --prune >/dev/null 2>&1 || true # the cached intermediate layers; the tagged bases stay
  rm -f "$cache/timings"
}

case "${1:-all}" in
bases) cmd_bases ;;
build) cmd_build cached ;;
cached) # again from the last context (cold's): every layer should come from the cache
  ctx_dir="$cache/context"
  [ -f "$ctx_dir/.revision" ] || die "no context from an earlier build"
  cmd_build cached
  ;;
facts) bash "$here/facts.sh" ;;
sbom) cmd_sbom ;;
ci) cmd_ci ;;
cold)
  cmd_bases
  cmd_cold
  # one context for both builds: others' commits between them would make the second miss its cache
  ctx_dir="$(context)"
  cmd_build cold
  cmd_build cached
  ;;
all)
  cmd_bases
  cmd_build cached
  bash "$here/facts.sh"
  cmd_sbom
  ;;
*) die "usage: build.sh [bases|build|facts|sbom|cold|cached|ci|all]" ;;
esac
