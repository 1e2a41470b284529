#!/usr/bin/env bash
# compose smoke test (issue 8, acceptance 4): build the kemu image, bring compose/docker-compose.yml up
# (with the host-network override: these machines have no bridge networking), wait for nodes Ready (or
# for the API when this build has no kubelet yet), apply a Deployment with the host's kubectl, kill the
# etcd leader's container and see writes resume, tear down. Prints a timing table.
#
#   scripts/compose-smoke.sh            # from the repo root; needs root for installing/starting docker
#
# Not part of `npm test` (a cold image build takes minutes). Env: KEMU_SMOKE_KEEP=1 leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROJECT=kemu-smoke
MERGED=$(mktemp /tmp/kemu-smoke-compose.XXXXXX.yml)
# docker-compose v1 (the compose here) refuses published ports on host-network services where the
# engine and compose v2 just ignore them: merge the two files and drop `ports:` of host-network services.
docker-compose -f compose/docker-compose.yml -f compose/docker-compose.host.yml config \
  | node --input-type=module -e '
      import YAML from "yaml";
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const doc = YAML.parse(s);
        for (const svc of Object.values(doc.services)) if (svc.network_mode === "host") delete svc.ports;
        process.stdout.write(YAML.stringify(doc));
      });' > "$MERGED"
COMPOSE=(docker-compose -p "$PROJECT" --project-directory "$ROOT/compose" -f "$MERGED")
KUBECONFIG_FILE=$ROOT/compose/kubeconfig
KCACHE=$(mktemp -d /tmp/kemu-smoke-kube.XXXXXX)
k() { kubectl --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$KCACHE" --request-timeout=5s "$@"; }
declare -a TIMINGS=()
t0=$(date +%s.%N)
mark() { TIMINGS+=("$1|$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"); }
log() { printf '[%6.1fs] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*"; }
fail() { log "FAIL: $*"; "${COMPOSE[@]}" ps || true; for c in $("${COMPOSE[@]}" ps -q); do docker logs --tail 20 "$c" 2>&1 | sed "s/^/  [$c] /"; done; exit 1; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2; local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"; sleep 0.5; done
}

# ---- docker engine (see shared/tools/README.md: an engine from Debian's packages, no bridge) ----
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
    log "installing docker.io and docker-compose"
    apt-get update -qq && apt-get install -y -qq docker.io docker-compose >/dev/null
  fi
  if [ ! -f /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker
    echo '{"bridge":"none","iptables":false,"ip-forward":false,"ip-masq":false}' > /etc/docker/daemon.json
  fi
  log "starting dockerd"
  (setsid dockerd >/tmp/dockerd.log 2>&1 &)
  wait_for 60 "dockerd" docker info
fi
if ! docker image inspect node:24-bookworm-slim >/dev/null 2>&1; then
  NODE_IMAGE_SCRIPT=${KEMU_LOCAL_NODE_IMAGE:-/work/shared/tools/local-node-image.sh}
  [ -x "$NODE_IMAGE_SCRIPT" ] || fail "no node:24-bookworm-slim image and no $NODE_IMAGE_SCRIPT to build a stand-in"
  log "building the local node:24-bookworm-slim stand-in"
  s=$(date +%s.%N); "$NODE_IMAGE_SCRIPT" 24; mark "base image (local stand-in)" "$s"
fi

# ---- refuse to fight another cluster for the compose ports ----
for p in 2379 2380 2381 2389 2399 2409; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p is in use (a kemu cluster on --port-base 2379?)"; fi
done

cleanup() {
  if [ "${KEMU_SMOKE_KEEP:-}" = 1 ]; then log "left running (KEMU_SMOKE_KEEP=1): ${COMPOSE[*]} down -v"; return; fi
  s=$(date +%s.%N); "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; mark "down -v" "$s"
  rm -rf "$KCACHE" "$MERGED"
}
trap 'cleanup; print_table' EXIT
print_table() {
  printf '\n%-52s %10s\n' "step" "seconds"; printf '%-52s %10s\n' "----" "-------"
  for row in "${TIMINGS[@]}"; do printf '%-52s %10s\n' "${row%%|*}" "${row##*|}"; done
}

# ---- image: a context of the files git knows (no node_modules, dist or state dirs) ----
log "building kemu:local"
s=$(date +%s.%N)
git ls-files -co --exclude-standard -z | tar --null -T - -c | docker build -q --network host -f compose/Dockerfile -t kemu:local - >/dev/null
mark "docker build kemu:local" "$s"
log "image $(docker image inspect kemu:local --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

# ---- which components this build has ----
built() { docker run --rm --network none kemu:local test -f "$1"; }
SERVICES=(etcd-0 etcd-1 etcd-2 kube-apiserver)
built packages/scheduler/dist/src/main.js && SERVICES+=(kube-scheduler)
built packages/controller-manager/dist/src/main.js && SERVICES+=(kube-controller-manager)
built packages/proxy/dist/src/dns-main.js && SERVICES+=(cluster-dns)
HAVE_NODES=0
if built packages/kubelet/dist/src/main.js; then
  HAVE_NODES=1
  for n in control-plane worker-1 worker-2 worker-3; do SERVICES+=("kubelet-$n"); built packages/proxy/dist/src/main.js && SERVICES+=("kube-proxy-$n"); done
fi
log "services: ${SERVICES[*]}"

# ---- up ----
s=$(date +%s.%N)
"${COMPOSE[@]}" up -d --no-build "${SERVICES[@]}" >/tmp/kemu-smoke-up.log 2>&1 || { cat /tmp/kemu-smoke-up.log; fail "compose up"; }
mark "compose up -d (containers created)" "$s"
wait_for 90 "the apiserver (kubectl get --raw /readyz)" k get --raw /readyz
mark "compose up → API ready" "$s"
log "API ready"
if [ "$HAVE_NODES" = 1 ]; then
  nodes_ready() { [ "$(k get nodes --no-headers 2>/dev/null | awk '$2 ~ /^Ready/' | wc -l)" -ge 4 ]; }
  wait_for 120 "4 nodes Ready" nodes_ready
  mark "compose up → 4 nodes Ready" "$s"
  log "nodes Ready"; k get nodes -o wide
fi

# ---- a Deployment through the host's kubectl ----
cat <<'YAML' | k apply -f - >/dev/null || fail "kubectl apply"
apiVersion: apps/v1
kind: Deployment
metadata: {name: smoke, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: smoke}}
  template:
    metadata: {labels: {app: smoke}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
YAML
log "deployment applied"
if [ "$HAVE_NODES" = 1 ] && [[ " ${SERVICES[*]} " == *" kube-scheduler "* ]] && [[ " ${SERVICES[*]} " == *" kube-controller-manager "* ]]; then
  s=$(date +%s.%N)
  wait_for 90 "2 smoke pods Running" sh -c "[ \$(kubectl --kubeconfig '$KUBECONFIG_FILE' get pods -l app=smoke --no-headers 2>/dev/null | grep -c Running) -ge 2 ]"
  mark "deployment → 2 pods Running" "$s"
  k get pods -l app=smoke -o wide
fi

# ---- kill the etcd leader's container; writes resume ----
leader=$(docker exec "${PROJECT}_etcd-0_1" kemu etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:2380,127.0.0.1:2381 endpoint status -w json \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);const l=a.find(e=>e.Status.leader===e.Status.header.member_id);process.stdout.write(l?`etcd-${Number(l.Endpoint.split(":").pop())-2379}`:"")})')
[ -n "$leader" ] || fail "no etcd leader found"
log "etcd leader: $leader; docker kill ${PROJECT}_${leader}_1"
k create configmap before-kill --from-literal=k=v >/dev/null || fail "write before the kill"
s=$(date +%s.%N)
docker kill "${PROJECT}_${leader}_1" >/dev/null
wait_for 30 "a write after the leader kill" k create configmap after-kill --from-literal=k=v
mark "etcd leader killed → next write ok" "$s"
log "writes resume without $leader"
k get configmap before-kill after-kill -o name
# Plain `docker kill` is a stop on purpose for Docker (no restart); `docker start` brings the member back.
s=$(date +%s.%N)
docker start "${PROJECT}_${leader}_1" >/dev/null
wait_for 60 "$leader healthy again" sh -c "[ \"\$(docker inspect -f '{{.State.Health.Status}}' ${PROJECT}_${leader}_1)\" = healthy ]"
mark "docker start → member healthy" "$s"
# A crash (the component dies, its container's init exits) is restarted by the restart policy, like
# `kemu kill`. (`docker kill` itself counts as a stop on purpose for Docker, see docker-compose.yml.)
victim=etcd-1; [ "$leader" = etcd-1 ] && victim=etcd-2
before=$(docker inspect -f '{{.RestartCount}}' "${PROJECT}_${victim}_1")
s=$(date +%s.%N)
docker exec "${PROJECT}_${victim}_1" sh -c 'kill -9 $(pidof node)'
restarted() { [ "$(docker inspect -f '{{.RestartCount}}' "${PROJECT}_${victim}_1")" -gt "$before" ] && [ "$(docker inspect -f '{{.State.Running}}' "${PROJECT}_${victim}_1")" = true ]; }
wait_for 30 "$victim restarted by its restart policy after a crash" restarted
mark "crash (kill -9 in $victim) → restarted by Docker" "$s"
wait_for 60 "$victim healthy again" sh -c "[ \"\$(docker inspect -f '{{.State.Health.Status}}' ${PROJECT}_${victim}_1)\" = healthy ]"
k create configmap after-crash --from-literal=k=v >/dev/null || fail "write after the crash"
log "PASS"
mark "total" "$t0"
