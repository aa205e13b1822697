#!/usr/bin/env bash
# Start, stop and inspect a single-node Apache Kafka broker (KRaft, combined broker+controller)
# assembled from Maven Central jars, on a free loopback port. No Docker needed.
#
#   kafka.sh up       start (or find the running broker) and print its bootstrap address
#   kafka.sh down     stop the broker and remove its data directory
#   kafka.sh status   print the bootstrap address, exit 1 when no broker runs
#   kafka.sh fetch    only download the jars into the cache
#   kafka.sh up|down|status --secure
#                     the secured broker, beside the plain one: SASL_SSL only (SCRAM-SHA-512,
#                     TLS with a CA and broker certificate made here by openssl), KRaft's
#                     StandardAuthorizer with allow.everyone.if.no.acl.found=false, the super
#                     user admin, and one SCRAM user per name in KAFKA_SCRAM_USERS. Random
#                     passwords; the CA, the passwords and a librdkafka properties file per user
#                     are in $KAFKA_STATE_DIR/tls/ and credentials/ (mode 0600, never printed).
#
# Environment:
#   KAFKA_STATE_DIR   where pid, port, config, data and log live   (default: .cache/local-kafka/run,
#                     with --secure .cache/local-kafka/secure)
#   KAFKA_SCRAM_USERS the users of the secured broker (default: crm-masker bi_analyst sales
#                     marketing security auditor)
#   One node of a cluster (cluster.sh sets these): KAFKA_NODE_ID, KAFKA_PORT,
#   KAFKA_CONTROLLER_PORT, KAFKA_QUORUM_VOTERS (id@host:port,…), KAFKA_CLUSTER_ID and
#   KAFKA_REPLICATION (replicas of internal and new topics; min.insync.replicas 2 when > 1).
#   kafka.sh restart  start a stopped (or killed) node again on its data, without formatting
#   KAFKA_LIB_DIR     where the jars are cached                     (default: .cache/local-kafka/lib-<pom hash>)
#   KAFKA_HEAP_OPTS   JVM heap                                      (default: -Xms256m -Xmx1g)
#   KAFKA_START_TIMEOUT seconds to wait for the broker to answer    (default: 90)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pom="$here/pom.xml"
pom_hash=$(sha256sum "$pom" | cut -c1-12)
lib_dir=${KAFKA_LIB_DIR:-$repo/.cache/local-kafka/lib-$pom_hash}
secure=0
[[ ${2:-} == --secure ]] && secure=1
if ((secure)); then
  state_dir=${KAFKA_STATE_DIR:-$repo/.cache/local-kafka/secure}
else
  state_dir=${KAFKA_STATE_DIR:-$repo/.cache/local-kafka/run}
fi
scram_users=${KAFKA_SCRAM_USERS:-crm-masker bi_analyst sales marketing security auditor}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
node_id=${KAFKA_NODE_ID:-1}
voters=${KAFKA_QUORUM_VOTERS:-}
replication=${KAFKA_REPLICATION:-1}
min_isr=1
((replication > 1)) && min_isr=2
timeout=${KAFKA_START_TIMEOUT:-90}

# shellcheck source=../lib/local-service.sh
source "$here/../lib/local-service.sh"

jars="Apache Kafka"
log() { echo "kafka.sh: $*" >&2; }


port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

broker_ready() { grep -q "Kafka Server started" "$state_dir/broker.log" 2>/dev/null && port_open "$1"; }

bootstrap() { echo "127.0.0.1:$(cat "$state_dir/port")"; }

# make_credentials: a random password per SCRAM user (and admin), and for each a librdkafka
# properties file; the passwords never reach stdout or the log
make_credentials() {
  local creds=$state_dir/credentials user
  mkdir -p "$creds"
  chmod 700 "$creds"
  for user in admin $scram_users; do
    (umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' > "$creds/$user.password")
    (umask 077; cat > "$creds/$user.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.username=$user
sasl.password=$(cat "$creds/$user.password")
ssl.ca.location=$state_dir/tls/ca.pem
PROPS
    )
  done
}

# the listener part of server.properties: plain, or SASL_SSL with ACLs
listener_config() {
  local port=$1 cport=$2
  local proto=PLAINTEXT
  ((secure)) && proto=SASL_SSL
  cat <<PROPS
listeners=$proto://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$proto://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=$proto
listener.security.protocol.map=$proto:$proto,CONTROLLER:$proto
PROPS
  if ((secure)); then
    local admin_pw
    admin_pw=$(cat "$state_dir/credentials/admin.password")
    cat <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
# SCRAM credentials live in the metadata log, which the controller cannot read before it runs:
# its own listener uses PLAIN with a static admin user
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw" user_admin="$admin_pw";
ssl.keystore.type=PEM
ssl.keystore.location=$state_dir/tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$state_dir/tls/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
PROPS
  fi
}

write_config() {
  local port=$1 cport=$2
  (umask 077; {
    printf 'process.roles=broker,controller\nnode.id=%s\n' "$node_id"
    if [[ -n $voters ]]; then
      printf 'controller.quorum.voters=%s\n' "$voters"
    else
      printf 'controller.quorum.bootstrap.servers=127.0.0.1:%s\n' "$cport"
    fi
    listener_config "$port" "$cport"
  } > "$state_dir/server.properties")
  cat >> "$state_dir/server.properties" <<PROPS
log.dirs=$state_dir/data
num.partitions=1
auto.create.topics.enable=false
# A single broker: internal topics with one replica, or init_transactions hangs; a cluster:
# three replicas, two in sync for a write to count.
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
# the log cleaner looks for work every second (Kafka's default: 15 s): on a local broker a
# shredded data key (shred_within) and a deleted row's tombstone are compacted in seconds
log.cleaner.backoff.ms=1000
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

jvm=(java $heap_opts -XX:+UseG1GC -Djava.awt.headless=true
     "-Dlog4j2.configurationFile=$state_dir/log4j2.properties" -cp "$lib_dir/*")

# start: run the formatted node in $state_dir and wait until it serves
start() {
  local pid
  nohup "${jvm[@]}" kafka.Kafka "$state_dir/server.properties" > "$state_dir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$state_dir/pid"
  wait_until_ready broker "$pid" "$state_dir/stdout.log $state_dir/broker.log" broker_ready \
      "$(cat "$state_dir/port")"
}

restart() {
  [[ -f $state_dir/server.properties ]] || { log "no node in $state_dir to restart"; exit 1; }
  if running_pid >/dev/null; then log "already running (pid $(cat "$state_dir/pid"))"; return; fi
  : > "$state_dir/broker.log"  # "Kafka Server started" must be this start's
  start
  bootstrap
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
  local port cport cluster_id
  port=${KAFKA_PORT:-$(free_port)}; cport=${KAFKA_CONTROLLER_PORT:-$(free_port)}
  while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
  local scram=()
  if ((secure)); then
    make_tls "$state_dir/tls" broker
    make_credentials
    local user
    for user in admin $scram_users; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(cat "$state_dir/credentials/$user.password")]")
    done
  fi
  write_config "$port" "$cport"
  echo "$port" > "$state_dir/port"
  # Kafka's own generator: a base64 id of our own began with "-" one time in 64, and the
  # format step then took it for an option ("--cluster-id: expected one argument")
  cluster_id=${KAFKA_CLUSTER_ID:-$("${jvm[@]}" kafka.tools.StorageTool random-uuid)}
  local quorum=(--standalone)
  [[ -n $voters ]] && quorum=()  # a static quorum: every node knows the voters
  "${jvm[@]}" kafka.tools.StorageTool format "${quorum[@]}" -t "$cluster_id" \
      -c "$state_dir/server.properties" "${scram[@]}" > "$state_dir/format.log" 2>&1 \
      || { log "formatting the storage failed:"; cat "$state_dir/format.log" >&2; exit 1; }
  start
  ((secure)) && log "secured: SASL_SSL (SCRAM-SHA-512) with ACLs; CA $state_dir/tls/ca.pem," \
                    "client settings per user in $state_dir/credentials/<user>.properties"
  bootstrap
}

case "${1:-}" in
  up) up ;;
  restart) restart ;;
  down) down_quiet; log "broker stopped, $state_dir removed" ;;
  status)
    if running_pid >/dev/null && port_open "$(cat "$state_dir/port")"; then bootstrap
    else log "no broker running"; exit 1; fi ;;
  fetch) fetch_jars ;;
  *) echo "usage: $0 up|down|status|restart|fetch [--secure]" >&2; exit 2 ;;
esac
