#!/usr/bin/env bash
# The facts of the three images build.sh made: size, layers, user, build times (cold and cached,
# from the last `build.sh cold`; last: the latest build of any kind), the commit each was built from
# (its revision label), what each holds (ffmpeg, the pinned yt-dlp, Node, the Rust addon), and a run
# of each under runc with a read-only root filesystem and only the emptyDirs the chart mounts
# writable (the worker runs `reel demo` to the merged file; the operator and the shim start
# their entrypoint, which stops at the missing apiserver/database). Prints a table, writes
# ${REEL_CACHE_DIR:-~/.cache/reel}/images/facts.json. Needs root and runc.
set -euo pipefail

cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}/images"
driver="${REEL_IMAGES_DRIVER:-overlay}"
names=(worker operator shim)
B() { buildah --root "$cache/storage-$driver" --runroot "/run/reel-images-$driver" --storage-driver "$driver" "$@"; }
log() { echo "[facts] $*" >&2; }
die() { echo "[facts] error: $*" >&2; exit 1; }
command -v runc >/dev/null || die "runc missing (apt-get install -y runc)"

# runc with the image's user, env and workdir, a read-only root, tmpfs where the chart mounts
# emptyDirs, the host's network (the demo serves its episodes on loopback). $1 image, $2 tmpfs dirs
# (comma-separated), $3 seconds, then the command. Prints its output; answers its exit code.
ro_run() {
  local image="$1" tmpfs="$2" secs="$3" c mnt bundle env args code=0
  shift 3
  c="$(B from --pull=never "$image")"
  mnt="$(B mount "$c")"
  bundle="$(mktemp -d "$cache/bundle.XXXXXX")"
  env="$(B inspect --type image "$image" | jq -c '.OCIv1.config.Env')"
  (cd "$bundle" && runc spec)
  args="$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")" # jq --args would read "-c" as its own
  jq --arg root "$mnt" --argjson env "$env" --arg tmpfs "$tmpfs" --argjson args "$args" '
    .root = { path: $root, readonly: true }
    | .process.terminal = false | .process.user = { uid: 10001, gid: 10001 } | .process.cwd = "/app"
    | .process.env = $env | .process.args = $args
    | .linux.namespaces |= map(select(.type != "network"))
    | .mounts += [($tmpfs | split(",")[] | { destination: ., type: "tmpfs", source: "tmpfs",
                    options: ["nosuid", "nodev", "mode=1777", "uid=10001", "gid=10001", "size=1g"] })]
  ' <"$bundle/config.json" >"$bundle/config.new" && mv "$bundle/config.new" "$bundle/config.json"
  timeout "$secs" runc run --bundle "$bundle" "reel-facts-$$-$RANDOM" </dev/null 2>&1 || code=$?
  B umount "$c" >/dev/null && B rm "$c" >/dev/null
  rm -rf "$bundle"
  return "$code"
}

size_of() { # $1 image: bytes of its unpacked root filesystem
  local c bytes
  c="$(B from --pull=never "$1")"
  bytes="$(du -sb "$(B mount "$c")" | cut -f1)"
  B umount "$c" >/dev/null && B rm "$c" >/dev/null
  echo "$bytes"
}

contents() { # $1 image: one line per thing it holds
  ro_run "$1" /tmp 120 sh -c '
    echo "node $(node --version)"
    if command -v ffmpeg >/dev/null; then echo "$(command -v ffmpeg): $(ffmpeg -hide_banner -version | head -1)"; else echo "ffmpeg: none"; fi
    if command -v yt-dlp >/dev/null; then echo "yt-dlp $(yt-dlp --version)"; else echo "yt-dlp: none"; fi
    node -e "import(\"/app/crates/node/dist/index.js\").then(async (m) => console.log(\"addon: hashFile \" + (await m.hashFile(\"/app/package.json\")).slice(0, 19) + \"…, \" + m.errorCodes().length + \" error codes\"))"
    test -x /app/crates/node/reel-child && echo "reel-child: present" || echo "reel-child: none"
    echo "app $(du -sm /app | cut -f1) MiB, node_modules $(du -sm /app/node_modules | cut -f1) MiB"
    id -u >/dev/null; echo "uid $(id -u)"
    echo "root mounted $(awk '"'"'$2 == "/" {split($4, o, ","); print o[1]}'"'"' /proc/self/mounts)"'
}

json_facts="{}"
printf '%-9s %9s %7s %12s %14s %10s\n' image "size MiB" layers user "cold/cached s" "ro run" >&2
for name in "${names[@]}"; do
  image="reel.local/reel-$name:0.1.0"
  B inspect --type image "$image" >/dev/null 2>&1 || die "$image not built (build.sh build)"
  size="$(size_of "$image")"
  layers="$(B inspect --type image --format '{{len .OCIv1.RootFS.DiffIDs}}' "$image")"
  user="$(B inspect --type image --format '{{.OCIv1.Config.User}}' "$image")"
  revision="$(B inspect --type image --format '{{index .OCIv1.Config.Labels "org.opencontainers.image.revision"}}' "$image")"
  cold="$(awk -v n="$name" '$1 == n && $2 == "cold" {print $3}' "$cache/timings" 2>/dev/null | tail -1)"
  cached="$(awk -v n="$name" '$1 == n && $2 == "cached" {print $3}' "$cache/timings" 2>/dev/null | tail -1)"
  last="$(awk -v n="$name" '$1 == n {print $2 " " $3}' "$cache/timings" 2>/dev/null | tail -1)"
  log "$image: contents (read-only root, /tmp tmpfs)"
  held="$(contents "$image")" || die "$image: contents run failed: $held"
  if [ "$name" = worker ]; then
    log "$image: reel demo --episodes 2 with a read-only root, /scratch and /tmp tmpfs"
    ro_out="$(ro_run "$image" /scratch,/tmp 600 reel demo --episodes 2 --out /scratch/demo)" && ro="demo ok" || ro="demo failed"
    ro_tail="$(tail -4 <<<"$ro_out")"
  else
    entry="$([ "$name" = operator ] && echo operator/src/main.ts || echo api-shim/src/main.ts)"
    ro_out="$(ro_run "$image" /tmp 20 node "$entry")" && ro="exit 0" || ro="exit $?"
    # no apiserver in a runc run: the first error line says how far it got
    ro_tail="$(grep -m1 '^Error' <<<"$ro_out" || tail -3 <<<"$ro_out" | cut -c1-300)"
  fi
  printf '%-9s %9.0f %7s %12s %14s %10s\n' "$name" "$(echo "$size / 1048576" | bc -l)" "$layers" "$user" "${cold:-?}/${cached:-?}" "$ro" >&2
  json_facts="$(jq --arg n "$name" --argjson size "$size" --argjson layers "$layers" --arg user "$user" --arg revision "$revision" \
    --arg cold "${cold:-}" --arg cached "${cached:-}" --arg last "${last:-}" --arg held "$held" --arg ro "$ro" --arg tail "$ro_tail" \
    '.[$n] = { bytes: $size, layers: $layers, user: $user, revision: $revision, buildSecs: { cold: $cold, cached: $cached, last: $last },
      contents: ($held | split("\n")), readOnlyRun: { result: $ro, tail: ($tail | split("\n")) } }' <<<"$json_facts")"
done
echo "$json_facts" | tee "$cache/facts.json"
