#!/usr/bin/env bash
# Start, stop and inspect a local schema registry (Apicurio Registry 2.4, Confluent-compatible
# API, in-memory storage) built from Maven Central jars, on a free loopback port. No Docker.
#
#   registry.sh up       start (or find the running registry) and print its Confluent API URL
#   registry.sh down     stop it and remove its state directory
#   registry.sh status   print the URL, exit 1 when none runs
#   registry.sh fetch    only build the runnable jar into the cache
#   registry.sh up|down|status --tls
#                        a second one, HTTPS only, with a certificate from a CA made here by
#                        openssl; clients trust $REGISTRY_STATE_DIR/tls/ca.pem (the registry
#                        client's ssl.ca.location). Apicurio 2.4's own authentication needs an
#                        OIDC server (Keycloak), so basic auth is not tried locally.
#
# Environment:
#   REGISTRY_STATE_DIR   pid, port and log                 (default: .cache/schema-registry/run,
#                        with --tls .cache/schema-registry/https)
#   REGISTRY_BUILD_DIR   the built registry                (default: .cache/schema-registry/build-<pom hash>)
#   REGISTRY_HEAP_OPTS   JVM heap                          (default: -Xms128m -Xmx512m)
#   REGISTRY_START_TIMEOUT seconds to wait for the API     (default: 120)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pom="$here/pom.xml"
pom_hash=$( (cat "$pom" "$0") | sha256sum | cut -c1-12)
build_dir=${REGISTRY_BUILD_DIR:-$repo/.cache/schema-registry/build-$pom_hash}
tls=0
[[ ${2:-} == --tls ]] && tls=1
if ((tls)); then
  state_dir=${REGISTRY_STATE_DIR:-$repo/.cache/schema-registry/https}
else
  state_dir=${REGISTRY_STATE_DIR:-$repo/.cache/schema-registry/run}
fi
heap_opts=${REGISTRY_HEAP_OPTS:--Xms128m -Xmx512m}
timeout=${REGISTRY_START_TIMEOUT:-120}
api=/apis/ccompat/v7

# shellcheck source=../lib/local-service.sh
source "$here/../lib/local-service.sh"

log() { echo "registry.sh: $*" >&2; }

runner() { ls "$build_dir"/target/*-runner.jar 2>/dev/null | head -n 1; }

build() {
  if [[ -f "$build_dir/.complete" ]]; then return; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to build the registry: apt-get install maven"; exit 2; }
  log "building Apicurio Registry from Maven Central jars into $build_dir (once, ~1 min) ..."
  rm -rf "$build_dir.tmp"
  mkdir -p "$build_dir.tmp/src/main/resources"
  cp "$pom" "$build_dir.tmp/pom.xml"
  # the app jar's own configuration, plus an index of the app jar (it ships none)
  mvn -q -B -f "$build_dir.tmp/pom.xml" dependency:copy -Dmdep.useBaseVersion=true \
      -Dartifact=io.apicurio:apicurio-registry-app:2.4.2.Final -DoutputDirectory="$build_dir.tmp/app" >&2
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("application.properties"))' \
      "$build_dir.tmp"/app/apicurio-registry-app-*.jar > "$build_dir.tmp/src/main/resources/application.properties"
  cat >> "$build_dir.tmp/src/main/resources/application.properties" <<'PROPS'

quarkus.index-dependency.registry-app.group-id=io.apicurio
quarkus.index-dependency.registry-app.artifact-id=apicurio-registry-app
PROPS
  (cd "$build_dir.tmp" && mvn -q -B package >&2)
  touch "$build_dir.tmp/.complete"
  rm -rf "$build_dir"
  mv "$build_dir.tmp" "$build_dir"
}

url() {
  if ((tls)); then echo "https://127.0.0.1:$(cat "$state_dir/port")$api"
  else echo "http://127.0.0.1:$(cat "$state_dir/port")$api"; fi
}

answers() {
  python3 -c "import ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2]) if sys.argv[2] else None
urllib.request.urlopen(sys.argv[1], timeout=2, context=context)" \
      "$(url)/subjects" "$( ((tls)) && echo "$state_dir/tls/ca.pem")" 2>/dev/null
}

up() {
  if running_pid >/dev/null && answers; then
    log "registry already running (pid $(cat "$state_dir/pid"))"
    url
    return
  fi
  command -v java >/dev/null || { log "Java 17+ is needed: apt-get install openjdk-17-jre-headless"; exit 2; }
  build
  down_quiet
  mkdir -p "$state_dir"
  local port pid
  port=$(free_port)
  echo "$port" > "$state_dir/port"
  local listen=(-Dquarkus.http.port="$port")
  if ((tls)); then  # HTTPS only, with a certificate from a CA made here (tls/ca.pem)
    make_tls "$state_dir/tls" registry
    listen=(-Dquarkus.http.port=0 -Dquarkus.http.ssl-port="$port"
            -Dquarkus.http.ssl.certificate.files="$state_dir/tls/registry.crt"
            -Dquarkus.http.ssl.certificate.key-files="$state_dir/tls/registry.key"
            -Dquarkus.http.insecure-requests=disabled)
  fi
  # shellcheck disable=SC2086
  nohup java $heap_opts -Dquarkus.http.host=127.0.0.1 "${listen[@]}" \
      -Dquarkus.profile=prod -jar "$(runner)" > "$state_dir/registry.log" 2>&1 &
  pid=$!
  echo "$pid" > "$state_dir/pid"
  wait_until_ready registry "$pid" "$state_dir/registry.log" answers
  ((tls)) && log "HTTPS only; clients trust $state_dir/tls/ca.pem (ssl.ca.location)"
  url
}

case "${1:-}" in
  up) up ;;
  down) down_quiet; log "registry stopped, $state_dir removed" ;;
  status)
    if running_pid >/dev/null && answers; then url
    else log "no registry running"; exit 1; fi ;;
  fetch) build ;;
  *) echo "usage: $0 up|down|status|fetch [--tls]" >&2; exit 2 ;;
esac
