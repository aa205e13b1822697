# Helpers shared by kafka.sh, connect.sh and registry.sh: a JVM service on a free loopback port
# whose pid and port live in $state_dir. The sourcing script defines log() and sets state_dir,
# timeout, and for fetch_jars pom, lib_dir and jars (what they are, for the log).

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running_pid() {
  local pid
  [[ -f "$state_dir/pid" ]] || return 1
  pid=$(cat "$state_dir/pid")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# wait_until_ready NAME PID "LOGS" CHECK...: run CHECK every 0.2 s until it succeeds; exit 1
# with the tail of LOGS when the process dies first, or after $timeout seconds.
wait_until_ready() {
  local name=$1 pid=$2 logs=$3 waited=0
  shift 3
  until "$@"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start; last lines of its logs:"
      # shellcheck disable=SC2086
      tail -n 30 $logs >&2 2>/dev/null || true
      exit 1
    fi
    if (( waited >= timeout * 5 )); then
      log "$name did not answer within ${timeout}s; see $logs"
      exit 1
    fi
    sleep 0.2; waited=$((waited + 1))
  done
  log "$name started (pid $pid) in $((waited / 5))s, logs in $state_dir"
}

# stop the service (TERM, then KILL after 10 s) and remove its state directory;
# STOP_AT_ONCE=1: KILL at once (its data goes anyway: the tests' teardown, seconds per service)
down_quiet() {
  local pid
  if pid=$(running_pid); then
    if [[ -z ${STOP_AT_ONCE:-} ]]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$state_dir"
}

# copy the runtime dependencies of $pom from Maven Central into $lib_dir, once
fetch_jars() {
  if [[ -f "$lib_dir/.complete" ]]; then return; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch the $jars jars: apt-get install maven"; exit 2; }
  log "fetching the $jars jars from Maven Central into $lib_dir (once) ..."
  rm -rf "$lib_dir.tmp"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$lib_dir.tmp" >&2
  touch "$lib_dir.tmp/.complete"
  rm -rf "$lib_dir"
  mv "$lib_dir.tmp" "$lib_dir"
}

# make_tls DIR NAME: a CA (DIR/ca.pem) and a certificate for 127.0.0.1 and localhost signed by it
# (DIR/NAME.crt, its PKCS#8 key DIR/NAME.key, both with the chain in DIR/NAME.pem), 30 days;
# the CA's key is deleted at once: nothing else can ever be signed with it
make_tls() {
  local tls=$1 name=$2
  command -v openssl >/dev/null || { log "openssl is needed for TLS: apt-get install openssl"; exit 2; }
  mkdir -p "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
        -subj "/CN=crm-masker local CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > ext.cnf
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile ext.cnf -out "$name.crt" 2>/dev/null
    cat "$name.key" "$name.crt" ca.pem > "$name.pem"
    rm -f "$name.csr" ca.key ext.cnf ca.srl
    chmod 600 "$name.key" "$name.pem"
  ) || { log "making the TLS certificates failed"; exit 1; }
}
