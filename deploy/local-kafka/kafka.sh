#!/usr/bin/env bash
# Start, stop and inspect a single-node Apache Kafka broker (KRaft, combined broker+controller)
# assembled from Maven Central jars, on a free loopback port. No Docker needed.
#
#   kafka.sh up       start (or find the running broker) and print its bootstrap address
#   kafka.sh down     stop the broker and remove its data directory
#   kafka.sh status   print the bootstrap address, exit 1 when no broker runs
#   kafka.sh fetch    only download the jars into the cache
#
# Environment:
#   KAFKA_STATE_DIR   where pid, port, config, data and log live   (default: .cache/local-kafka/run)
#   KAFKA_LIB_DIR     where the jars are cached                     (default: .cache/local-kafka/lib-<pom hash>)
#   KAFKA_HEAP_OPTS   JVM heap                                      (default: -Xms256m -Xmx1g)
#   KAFKA_START_TIMEOUT seconds to wait for the broker to answer    (default: 90)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pom="$here/pom.xml"
pom_hash=$(sha256sum "$pom" | cut -c1-12)
lib_dir=${KAFKA_LIB_DIR:-$repo/.cache/local-kafka/lib-$pom_hash}
state_dir=${KAFKA_STATE_DIR:-$repo/.cache/local-kafka/run}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
timeout=${KAFKA_START_TIMEOUT:-90}

# shellcheck source=../lib/local-service.sh
source "$here/../lib/local-service.sh"

jars="Apache Kafka"
log() { echo "kafka.sh: $*" >&2; }


port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

broker_ready() { grep -q "Kafka Server started" "$state_dir/broker.log" 2>/dev/null && port_open "$1"; }

bootstrap() { echo "127.0.0.1:$(cat "$state_dir/port")"; }

write_config() {
  local port=$1 cport=$2
  cat > "$state_dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state_dir/data
num.partitions=1
auto.create.topics.enable=false
# A single broker: internal topics with one replica, or init_transactions hangs.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
PROPS
  cat > "$state_dir/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $state_dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.org.name = org.apache.kafka
logger.org.level = WARN
PROPS
}

up() {
  if running_pid >/dev/null && port_open "$(cat "$state_dir/port")"; then
    log "broker already running (pid $(cat "$state_dir/pid"))"
    bootstrap
    return
  fi
  command -v java >/dev/null || { log "Java 17+ is needed: apt-get install openjdk-17-jre-headless"; exit 2; }
  fetch_jars
  down_quiet
  mkdir -p "$state_dir"
  local port cport cluster_id pid
  port=$(free_port); cport=$(free_port)
  while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
  write_config "$port" "$cport"
  echo "$port" > "$state_dir/port"
  local jvm=(java $heap_opts -XX:+UseG1GC -Djava.awt.headless=true
             "-Dlog4j2.configurationFile=$state_dir/log4j2.properties" -cp "$lib_dir/*")
  # Kafka's own generator: a base64 id of our own began with "-" one time in 64, and the
  # format step then took it for an option ("--cluster-id: expected one argument")
  cluster_id=$("${jvm[@]}" kafka.tools.StorageTool random-uuid)
  "${jvm[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$state_dir/server.properties" > "$state_dir/format.log" 2>&1 \
      || { log "formatting the storage failed:"; cat "$state_dir/format.log" >&2; exit 1; }
  nohup "${jvm[@]}" kafka.Kafka "$state_dir/server.properties" > "$state_dir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$state_dir/pid"
  wait_until_ready broker "$pid" "$state_dir/stdout.log $state_dir/broker.log" broker_ready "$port"
  bootstrap
}

case "${1:-}" in
  up) up ;;
  down) down_quiet; log "broker stopped, $state_dir removed" ;;
  status)
    if running_pid >/dev/null && port_open "$(cat "$state_dir/port")"; then bootstrap
    else log "no broker running"; exit 1; fi ;;
  fetch) fetch_jars ;;
  *) echo "usage: $0 up|down|status|fetch" >&2; exit 2 ;;
esac
