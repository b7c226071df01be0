#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, from the binaries e2e/scripts/build-k8s.sh builds.
#
#   cluster.sh up [--level 2|3]   start (L2: etcd + kube-apiserver; L3, default: + kube-controller-manager,
#                                 kube-scheduler, KWOK and the simulated nodes of nodes.yaml); waits until
#                                 /readyz is ok (and, L3, every node is Ready); the LAST line of stdout is
#                                 the kubeconfig path (progress goes to stderr). Already up: prints it again.
#   cluster.sh down               SIGTERM every component, SIGKILL what is left after 10 s, remove the state
#   cluster.sh status             components, PIDs, readiness; exit 0 when up, 1 when not
#   cluster.sh kubeconfig         print the kubeconfig path (exit 1 when not up)
#   cluster.sh kubectl ARGS...    run the built kubectl against the cluster
#   cluster.sh restart-apiserver  stop kube-apiserver and start it again (watch-recovery tests)
#   cluster.sh compact            compact etcd to its current revision (old resourceVersions answer 410)
#
# Environment: REEL_CLUSTER_DIR (state: certs, etcd data, kubeconfigs, logs, PIDs; default
# ~/.cache/reel/cluster), REEL_K8S_BIN (binaries; default: the build-k8s.sh cache), REEL_CLUSTER_TIMEOUT
# (seconds to wait for each component, default 90).
# Every listener is on 127.0.0.1 on a free port chosen at `up`; nothing is exposed beyond loopback.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state="${REEL_CLUSTER_DIR:-${REEL_CACHE_DIR:-$HOME/.cache/reel}/cluster}"
bin="${REEL_K8S_BIN:-$("$here/../scripts/build-k8s.sh" --print-bin)}"
timeout="${REEL_CLUSTER_TIMEOUT:-90}"
pki="$state/pki" logs="$state/logs" pids="$state/pids"
kubeconfig="$state/kubeconfig"

say() { echo "[cluster] $*" >&2; }
die() { say "error: $*"; exit 1; }

alive() { # name -> 0 when its recorded pid is alive and is ours (its command line names our state dir)
  local f="$pids/$1" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$state/"
}

is_up() { [ -f "$state/up" ] && for c in $(cat "$state/components"); do alive "$c" || return 1; done; }

fail() { # name message: show the tail of the component's log, stop everything, exit 1
  say "error: $1: $2"
  if [ -f "$logs/$1.log" ]; then
    say "last lines of $logs/$1.log:"
    tail -n 40 "$logs/$1.log" >&2 || true
  fi
  do_down >/dev/null 2>&1 || true
  exit 1
}

wait_for() { # name description command...: poll until command succeeds, the component dies or time runs out
  local name=$1 what=$2 deadline=$((SECONDS + timeout))
  shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name" "exited while waiting for $what"
    [ $SECONDS -lt "$deadline" ] || fail "$name" "not $what after ${timeout}s"
    sleep 0.2
  done
}

start() { # name binary args...: start detached (own session), log to $logs/name.log, record the pid
  local name=$1
  shift
  [ -x "$1" ] || die "$1 is missing: run e2e/scripts/build-k8s.sh"
  setsid "$@" >>"$logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$pids/$name"
  grep -qx "$name" "$state/components" 2>/dev/null || echo "$name" >>"$state/components"
  say "started $name (pid $!, log $logs/$name.log)"
}

free_ports() { # n -> n distinct free loopback ports (all bound at once, then released)
  node -e '
    const net = require("node:net"); const n = Number(process.argv[1]); const servers = [];
    let left = n;
    for (let i = 0; i < n; i++) {
      const s = net.createServer(); servers.push(s);
      s.listen(0, "127.0.0.1", () => { if (--left === 0) {
        console.log(servers.map((x) => x.address().port).join(" ")); servers.forEach((x) => x.close()); } });
    }' "$1"
}

gen_pki() {
  mkdir -p "$pki"
  local o="$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=reel-e2e-ca" -keyout "$o/ca.key" -out "$o/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert() { # name subject extendedKeyUsage [subjectAltName]
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
      -keyout "$o/$1.key" -out "$o/$1.csr" 2>/dev/null
    {
      echo "basicConstraints=CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$3"
      [ -z "${4:-}" ] || echo "subjectAltName=$4"
    } >"$o/$1.ext"
    openssl x509 -req -in "$o/$1.csr" -CA "$o/ca.crt" -CAkey "$o/ca.key" -CAcreateserial -days 3650 \
      -extfile "$o/$1.ext" -out "$o/$1.crt" 2>/dev/null
    rm -f "$o/$1.csr" "$o/$1.ext"
  }
  # serving cert: loopback plus the in-cluster names and the first service IP (10.96.0.1)
  cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=reel-admin" clientAuth
  cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
  cert kwok "/O=system:masters/CN=kwok-controller" clientAuth
  # service-account token signing key pair
  openssl genrsa -out "$o/sa.key" 2048 2>/dev/null
  openssl rsa -in "$o/sa.key" -pubout -out "$o/sa.pub" 2>/dev/null
  chmod 600 "$o"/*.key
}

write_kubeconfig() { # file user
  local b64="base64 -w0"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: reel-e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b64 <"$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 <"$pki/$2.crt")
    client-key-data: $($b64 <"$pki/$2.key")
contexts:
- name: reel-e2e
  context:
    cluster: reel-e2e
    user: $2
current-context: reel-e2e
EOF
  chmod 600 "$1"
}

api_ok() { # path -> 0 when the apiserver answers "ok"
  [ "$(curl -sf --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$API_PORT$1")" = ok ]
}
healthz_ok() { [ "$(curl -sfk --max-time 2 "https://127.0.0.1:$1/healthz")" = ok ]; }
etcd_ok() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
kctl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

start_apiserver() {
  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --cert-dir "$state/apiserver-certs" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode Node,RBAC \
    --endpoint-reconciler-type none \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver "ready (/readyz)" api_ok /readyz
}

do_up() {
  local level=$1
  if is_up; then
    local have
    have=$(cat "$state/level")
    [ "$have" -ge "$level" ] || die "already up at level $have (asked $level): run '$0 down' first"
    say "already up (level $have)"
    echo "$kubeconfig"
    return
  fi
  [ ! -d "$state" ] || { say "removing stale state in $state"; do_down >/dev/null 2>&1 || true; }
  local t0=$SECONDS
  for b in etcd kube-apiserver kubectl; do [ -x "$bin/$b" ] || die "$bin/$b is missing: run e2e/scripts/build-k8s.sh"; done
  if [ "$level" -ge 3 ]; then
    for b in kube-controller-manager kube-scheduler kwok; do [ -x "$bin/$b" ] || die "$bin/$b is missing: run e2e/scripts/build-k8s.sh"; done
  fi
  mkdir -p "$logs" "$pids"
  : >"$state/components"
  echo "$level" >"$state/level"
  read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT <<<"$(free_ports 6)"
  cat >"$state/env" <<EOF
LEVEL=$level
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
API_PORT=$API_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
EOF
  gen_pki
  write_kubeconfig "$kubeconfig" admin

  start etcd "$bin/etcd" --name reel --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "reel=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_for etcd "healthy" etcd_ok

  start_apiserver

  if [ "$level" -ge 3 ]; then
    write_kubeconfig "$state/kube-controller-manager.kubeconfig" kube-controller-manager
    write_kubeconfig "$state/kube-scheduler.kubeconfig" kube-scheduler
    write_kubeconfig "$state/kwok.kubeconfig" kwok
    local k="$state/kube-controller-manager.kubeconfig"
    start kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
      --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$state/kcm-certs" \
      --leader-elect=false --use-service-account-credentials=true \
      --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
      --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
      --kube-api-qps 100 --kube-api-burst 200
    k="$state/kube-scheduler.kubeconfig"
    start kube-scheduler "$bin/kube-scheduler" \
      --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
      --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --cert-dir "$state/scheduler-certs" \
      --leader-elect=false
    kctl apply -f "$here/nodes.yaml" >"$logs/nodes-apply.log" 2>&1 || fail nodes-apply "kubectl apply -f nodes.yaml failed"
    start kwok "$bin/kwok" --kubeconfig "$state/kwok.kubeconfig" --config "$here/kwok.yaml" \
      --server-address "127.0.0.1:$KWOK_PORT"
    wait_for kube-controller-manager "healthy (/healthz)" healthz_ok "$KCM_PORT"
    wait_for kube-scheduler "healthy (/healthz)" healthz_ok "$SCHED_PORT"
    wait_for kwok "keeping every node Ready" kctl wait node --all --for condition=Ready --timeout 2s
  fi
  touch "$state/up"
  say "up at level $level in $((SECONDS - t0)) s: apiserver https://127.0.0.1:$API_PORT, state $state"
  echo "$kubeconfig"
}

stop_group() { # names...: SIGTERM those alive, wait up to 10 s, SIGKILL what is left, wait until gone
  local live=() c
  for c in "$@"; do
    if alive "$c"; then kill -TERM "$(cat "$pids/$c")" 2>/dev/null || true; live+=("$c"); fi
  done
  local deadline=$((SECONDS + 10))
  for c in "${live[@]}"; do
    while alive "$c" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    if alive "$c"; then
      say "$c did not stop within 10 s of SIGTERM: SIGKILL"
      kill -KILL "$(cat "$pids/$c")" 2>/dev/null || true
      while alive "$c"; do sleep 0.05; done
    fi
  done
  stopped+=("${live[@]}")
}

do_down() {
  [ -d "$state" ] || { say "not running"; return 0; }
  # clients first, then the apiserver, then etcd: an apiserver whose etcd is gone shuts down slowly
  local stopped=()
  stop_group kwok kube-scheduler kube-controller-manager
  stop_group kube-apiserver
  stop_group etcd
  rm -rf "$state"
  say "stopped ${stopped[*]:-nothing}; removed $state"
}

do_status() {
  if [ ! -d "$state" ]; then echo "down"; return 1; fi
  LEVEL=? API_PORT=
  # shellcheck disable=SC1091
  [ ! -f "$state/env" ] || source "$state/env"
  echo "level $LEVEL, state $state"
  for c in $(cat "$state/components" 2>/dev/null); do
    if alive "$c"; then echo "  $c: running (pid $(cat "$pids/$c"))"; else echo "  $c: NOT running (log $logs/$c.log)"; fi
  done
  if is_up && api_ok /readyz; then
    echo "  apiserver: https://127.0.0.1:$API_PORT /readyz ok"
    [ "$LEVEL" != 3 ] || kctl get nodes -L reel.dev/gpu-vendor --no-headers 2>/dev/null | sed 's/^/  node /'
    echo "kubeconfig: $kubeconfig"
    return 0
  fi
  echo "not up"
  return 1
}

cmd=${1:-}
shift || true
case "$cmd" in
  up)
    level=3
    while [ $# -gt 0 ]; do
      case "$1" in
        --level) level=${2:-}; shift 2 ;;
        --level=*) level=${1#--level=}; shift ;;
        *) die "unknown argument $1" ;;
      esac
    done
    [[ "$level" == 2 || "$level" == 3 ]] || die "--level must be 2 or 3"
    mkdir -p "$(dirname "$state")"
    exec 9>"$state.lock"
    flock 9
    do_up "$level"
    ;;
  down)
    mkdir -p "$(dirname "$state")"
    exec 9>"$state.lock"
    flock 9
    do_down
    ;;
  status) do_status ;;
  restart-apiserver)
    # Stops kube-apiserver and starts it again on the same port with the same state (tests of
    # watch recovery); clients see their connections drop and the API away for a few seconds.
    is_up || die "not up"
    # shellcheck disable=SC1091
    source "$state/env"
    stopped=()
    stop_group kube-apiserver
    start_apiserver
    say "kube-apiserver restarted"
    ;;
  compact)
    # Compacts etcd's history up to its current revision: a watch that resumes from an older
    # resourceVersion than the apiserver's cache then gets 410 Gone.
    is_up || die "not up"
    # shellcheck disable=SC1091
    source "$state/env"
    rev=$(curl -sf -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA==","limit":1}' |
      sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
    [ -n "$rev" ] || die "could not read etcd's revision"
    curl -sf -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null ||
      die "etcd compaction failed"
    say "etcd compacted at revision $rev"
    ;;
  kubeconfig) is_up || die "not up"; echo "$kubeconfig" ;;
  kubectl) is_up || die "not up"; kctl "$@" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
