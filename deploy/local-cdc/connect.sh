#!/usr/bin/env bash
# Start, stop and inspect a Kafka Connect worker (distributed mode, one node) with the Debezium
# PostgreSQL source connector and the Debezium JDBC sink connector, assembled from Maven Central
# jars: the worker (deploy/local-cdc/pom.xml) and each connector an isolated plugin
# (deploy/local-cdc/plugins/*.pom.xml, plugin.path). No Docker.
#
#   connect.sh up BOOTSTRAP   start (or find the running worker) and print its REST URL
#   connect.sh down           stop the worker and remove its state directory
#   connect.sh status         print the REST URL, exit 1 when no worker runs
#   connect.sh fetch          only download the jars into the cache
#   connect.sh register CONFIG.json PG_URL   create or update the connector that CONFIG.json
#                             describes, pointed at the PostgreSQL of PG_URL, and wait until
#                             its task runs
#
# Environment:
#   CONNECT_STATE_DIR   where pid, port, config and logs live   (default: .cache/local-cdc/connect)
#   CONNECT_LIB_DIR     where the jars are cached               (default: .cache/local-cdc/lib-<pom hash>)
#   CONNECT_PLUGIN_DIR  where the connector plugins are cached  (default: .cache/local-cdc/plugins-<poms hash>)
#   CONNECT_HEAP_OPTS   JVM heap                                 (default: -Xms256m -Xmx1g)
#   CONNECT_START_TIMEOUT seconds to wait for the REST API      (default: 120)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pom="$here/pom.xml"
pom_hash=$(sha256sum "$pom" | cut -c1-12)
lib_dir=${CONNECT_LIB_DIR:-$repo/.cache/local-cdc/lib-$pom_hash}
plugin_dir=${CONNECT_PLUGIN_DIR:-$repo/.cache/local-cdc/plugins-$(cat "$here"/plugins/*.pom.xml | sha256sum | cut -c1-12)}
state_dir=${CONNECT_STATE_DIR:-$repo/.cache/local-cdc/connect}
heap_opts=${CONNECT_HEAP_OPTS:--Xms256m -Xmx1g}
timeout=${CONNECT_START_TIMEOUT:-120}

# shellcheck source=../lib/local-service.sh
source "$here/../lib/local-service.sh"

jars="Kafka Connect worker"

# the worker's class path, and each connector plugin in a directory of its own
fetch_all() {
  local plugin_pom
  fetch_jars
  for plugin_pom in "$here"/plugins/*.pom.xml; do
    pom=$plugin_pom lib_dir=$plugin_dir/$(basename "$plugin_pom" .pom.xml) \
        jars="$(basename "$plugin_pom" .pom.xml) connector plugin" fetch_jars
  done
}
log() { echo "connect.sh: $*" >&2; }


rest_url() { echo "http://127.0.0.1:$(cat "$state_dir/port")"; }

rest_ready() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/connectors", timeout=2)
except Exception:
    sys.exit(1)
PY
}

write_config() {
  local bootstrap=$1 port=$2 id=$3
  cat > "$state_dir/worker.properties" <<PROPS
bootstrap.servers=$bootstrap
group.id=crm-masker-connect-$id
# JSON without the schema wrapper unless a connector says otherwise (its own *.converter)
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
config.storage.topic=_connect-$id-configs
offset.storage.topic=_connect-$id-offsets
status.storage.topic=_connect-$id-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$port
# each connector is a plugin of its own: the source and the sink bring two Debezium versions
plugin.path=$plugin_dir
plugin.discovery=only_scan
PROPS
  cat > "$state_dir/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $state_dir/connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
PROPS
}

up() {
  local bootstrap=${1:-}
  if running_pid >/dev/null && rest_ready "$(cat "$state_dir/port")"; then
    log "worker already running (pid $(cat "$state_dir/pid"))"
    rest_url
    return
  fi
  [[ -n $bootstrap ]] || { echo "usage: $0 up BOOTSTRAP" >&2; exit 2; }
  command -v java >/dev/null || { log "Java 17+ is needed: apt-get install openjdk-17-jre-headless"; exit 2; }
  fetch_all
  down_quiet
  mkdir -p "$state_dir"
  local port id pid
  port=$(free_port)
  id=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
  write_config "$bootstrap" "$port" "$id"
  echo "$port" > "$state_dir/port"
  nohup java $heap_opts -XX:+UseG1GC -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$state_dir/log4j2.properties" -cp "$lib_dir/*" \
      org.apache.kafka.connect.cli.ConnectDistributed "$state_dir/worker.properties" \
      > "$state_dir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$state_dir/pid"
  wait_until_ready "Kafka Connect" "$pid" "$state_dir/stdout.log $state_dir/connect.log" \
      rest_ready "$port"
  rest_url
}

register() {
  local config=${1:-} pg_url=${2:-}
  [[ -f $config && -n $pg_url ]] || { echo "usage: $0 register CONFIG.json PG_URL" >&2; exit 2; }
  running_pid >/dev/null || { log "no worker running: connect.sh up BOOTSTRAP first"; exit 1; }
  python3 "$repo/deploy/debezium.py" "$(rest_url)" "$@"
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down_quiet; log "worker stopped, $state_dir removed" ;;
  status)
    if running_pid >/dev/null && rest_ready "$(cat "$state_dir/port")"; then rest_url
    else log "no worker running"; exit 1; fi ;;
  fetch) fetch_all ;;
  register) shift; register "$@" ;;
  *) echo "usage: $0 up BOOTSTRAP|down|status|fetch|register CONFIG.json PG_URL" >&2; exit 2 ;;
esac
