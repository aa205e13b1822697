#!/usr/bin/env bash
# A local 3-broker Kafka cluster (KRaft, every node broker and controller, a static quorum of
# three voters), from the same Maven Central jars as kafka.sh: internal and new topics have 3
# replicas and min.insync.replicas=2, so one broker can die without losing a committed write.
# For the fault tests (tests/test_kafka_cluster.py, make chaos) and for trying crm-masker as it
# runs in production.
#
#   cluster.sh up         start the three nodes and print the bootstrap list
#   cluster.sh down       stop them and remove their data
#   cluster.sh status     print the bootstrap list of the nodes that run; exit 1 when none
#   cluster.sh kill N     SIGKILL node N (1-3), keeping its data: a crashed broker
#   cluster.sh restart N  start node N again on its data
#
# Environment:
#   KAFKA_CLUSTER_DIR     where the nodes live (default: .cache/local-kafka/cluster)
#   KAFKA_HEAP_OPTS       JVM heap per node (default: -Xms128m -Xmx512m)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${KAFKA_CLUSTER_DIR:-$repo/.cache/local-kafka/cluster}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
NODES=(1 2 3)

log() { echo "cluster.sh: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

node() {  # node N COMMAND: kafka.sh for one node
  KAFKA_STATE_DIR="$root/node$1" bash "$here/kafka.sh" "${@:2}"
}

bootstrap() {
  local list=() n
  for n in "${NODES[@]}"; do
    [[ -f $root/node$n/port ]] && list+=("127.0.0.1:$(cat "$root/node$n/port")")
  done
  (IFS=,; echo "${list[*]}")
}

up() {
  if status >/dev/null 2>&1; then log "cluster already running"; bootstrap; return; fi
  bash "$here/kafka.sh" fetch
  down >/dev/null 2>&1 || true
  mkdir -p "$root"
  local ports=() cports=() voters=() n cluster_id pids=()
  for n in "${NODES[@]}"; do
    ports[n]=$(free_port); cports[n]=$(free_port)
    voters+=("$n@127.0.0.1:${cports[n]}")
  done
  # a Kafka cluster id: 16 random bytes, URL-safe base64, not starting with "-" (an option)
  cluster_id=$(python3 -c 'import base64, os
while (i := base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")).startswith("-"): pass
print(i)')
  for n in "${NODES[@]}"; do
    # the nodes wait for each other (a quorum of three): start them side by side
    KAFKA_NODE_ID=$n KAFKA_PORT=${ports[n]} KAFKA_CONTROLLER_PORT=${cports[n]} \
      KAFKA_QUORUM_VOTERS=$(IFS=,; echo "${voters[*]}") KAFKA_CLUSTER_ID=$cluster_id \
      KAFKA_REPLICATION=3 node "$n" up > "$root/node$n.up.log" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for n in "${!pids[@]}"; do wait "${pids[n]}" || failed=1; done
  if ((failed)); then
    log "a node did not start:"; tail -n 20 "$root"/node*.up.log >&2; exit 1
  fi
  log "3 brokers (replication 3, min.insync.replicas 2), data in $root"
  bootstrap
}

status() {
  local n running=0
  for n in "${NODES[@]}"; do node "$n" status >/dev/null 2>&1 && running=$((running + 1)); done
  ((running)) || { log "no cluster running"; return 1; }
  log "$running of 3 brokers running"
  bootstrap
}

down() {
  local n
  for n in "${NODES[@]}"; do node "$n" down >/dev/null 2>&1 || true; done
  rm -rf "$root"
  log "cluster stopped, $root removed"
}

kill_node() {
  local pid
  pid=$(cat "$root/node$1/pid")
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  log "node $1 killed (SIGKILL)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill) kill_node "${2:?which node: 1, 2 or 3}" ;;
  restart) node "${2:?which node: 1, 2 or 3}" restart >/dev/null; log "node $2 restarted"; bootstrap ;;
  *) echo "usage: $0 up|down|status|kill N|restart N" >&2; exit 2 ;;
esac
