#!/usr/bin/env bash
# The prerequisite step of `make demo` and `make test` (and of .ci/run): checks what the target
# needs on this machine (deploy/prerequisites.tsv), installs what is missing with apt-get where
# it may (root, or passwordless sudo), and fetches the pinned jars; otherwise it stops with the
# exact commands to run. It never leaves a missing tool to fail deep inside the test suite.
#
#   deploy/deps.sh demo|test [--dry-run]
#
#   --dry-run      name what is missing and the commands that would install it; change nothing
#                  (exit 1 when something is missing)
# Environment:
#   DEPS_INSTALL=0               never install, only report (exit 2 when something is missing)
#   KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, KAFKA_CONNECT_URL and CRM_POSTGRES_URL, all
#                                set: `make test` uses your services, so Java, Maven, PostgreSQL
#                                and the jars are not needed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${1:-}
dry_run=0
[[ ${2:-} == --dry-run ]] && dry_run=1
case "$target" in
  demo|test) ;;
  *) echo "usage: deploy/deps.sh demo|test [--dry-run]" >&2; exit 2 ;;
esac

log() { echo "deps: $*" >&2; }

# Tools that `make test` builds from Go sources (pinned; Go from the machine, 1.24+), into
# .cache/go-bin/: helm and kubeconform check the Helm chart (deploy/kubernetes/), docker-compose
# renders docker-compose.yml (`config` needs no Docker engine). NAME MODULE@VERSION PACKAGE.
go_tools=("helm helm.sh/helm/v4@v4.3.2 helm.sh/helm/v4/cmd/helm"
          "kubeconform github.com/yannh/kubeconform@v0.7.0 github.com/yannh/kubeconform/cmd/kubeconform"
          "docker-compose github.com/docker/compose/v5@v5.6.0 github.com/docker/compose/v5/cmd")
go_bin="$here/../.cache/go-bin"

# go_build: build the Go tools that are missing or of another version; in the background, so
# that the compile overlaps the apt and Maven steps (go_wait collects it)
go_pid=""
go_build() {
  local todo=() tool name module package
  for tool in "${go_tools[@]}"; do
    read -r name module package <<<"$tool"
    [[ -x $go_bin/$name && $(cat "$go_bin/$name.version" 2>/dev/null) == "$module" ]] \
      || todo+=("$tool")
  done
  ((${#todo[@]})) || return 0
  if ((dry_run)); then
    for tool in "${todo[@]}"; do log "would build with go: $tool (into .cache/go-bin)"; done
    return 0
  fi
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"  # the official tarball's place, not always on PATH
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "missing for make test: go (1.24+, https://go.dev/dl/), to build the tools above"
    exit 2
  fi
  mkdir -p "$go_bin"
  log "building ${#todo[@]} tool(s) with $(go version | cut -d' ' -f3) (once; a few minutes)"
  (
    # each in a module of its own: `go install pkg@version` refuses modules whose go.mod has
    # exclude or replace directives (docker compose has them)
    for tool in "${todo[@]}"; do
      read -r name module package <<<"$tool"
      work=$(mktemp -d)
      ( cd "$work" && go mod init tools >/dev/null 2>&1 && GOFLAGS=-mod=mod go get "$module" \
          && GOFLAGS=-mod=mod go build -o "$go_bin/$name" "$package" ) >"$go_bin/$name.log" 2>&1 \
        || { echo "deps: building $name ($module) failed; see $go_bin/$name.log" >&2; exit 1; }
      rm -rf "$work"
      echo "$module" >"$go_bin/$name.version"
    done
  ) &
  go_pid=$!
}
go_wait() {
  [[ -n $go_pid ]] || return 0
  wait "$go_pid" || exit 2
}
[[ $target == test ]] && go_build

own_services=0
if [[ $target == test && -n ${KAFKA_BOOTSTRAP_SERVERS:-} && -n ${SCHEMA_REGISTRY_URL:-}
      && -n ${KAFKA_CONNECT_URL:-} && -n ${CRM_POSTGRES_URL:-} ]]; then
  own_services=1
fi

# missing_tools: the tools of this target whose check fails; packages: their Debian packages
missing() {
  missing_tools=() packages=()
  local tool package needed check why
  while IFS=$'\t' read -r tool package needed check why; do
    [[ -z $tool || $tool == \#* ]] && continue
    [[ ,$needed, == *,$target,* ]] || continue
    [[ $own_services == 1 && ,$needed, == *,local,* ]] && continue
    if ! bash -c "$check" >/dev/null 2>&1; then
      missing_tools+=("$tool: $why")
      [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
    fi
  done <"$here/prerequisites.tsv"
}

may_install() {
  [[ ${DEPS_INSTALL:-1} != 0 ]] && command -v apt-get >/dev/null 2>&1 \
    && { [[ $(id -u) == 0 ]] || sudo -n true 2>/dev/null; }
}

missing
if ((${#packages[@]})); then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo "
  install="${sudo}apt-get update && ${sudo}apt-get install -y ${packages[*]}"
  log "missing for make $target:"
  for tool in "${missing_tools[@]}"; do log "  $tool"; done
  if ((dry_run)); then
    log "would run: $install"
    exit 1
  fi
  if ! may_install; then
    if command -v apt-get >/dev/null 2>&1; then
      log "run this, then make $target again:"
    else
      log "no apt-get here: install the tools above with your package manager (Debian names" \
          "given), then make $target again; on Debian/Ubuntu that is:"
    fi
    echo "    $install" >&2
    exit 2
  fi
  log "installing ${packages[*]} (apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  ${sudo}apt-get update -qq
  ${sudo}apt-get install -y -qq "${packages[@]}" >/dev/null
  missing
  if ((${#packages[@]})); then
    log "still missing after the install: ${missing_tools[*]}"
    exit 2
  fi
fi

if ! command -v cargo >/dev/null 2>&1 && [[ ! -x $HOME/.cargo/bin/cargo ]]; then
  log "optional: no cargo (Rust 1.85+), so the native core is not built; crm-masker runs on" \
      "its Python engine, with the same outputs"
fi

# the pinned jars (Maven Central, cached in .cache/): the broker for both, the registry for tests
if ((own_services)); then
  log "using your Kafka, registry, Connect and PostgreSQL: no local services, no jars"
else
  fetches=(local-kafka/kafka.sh local-cdc/connect.sh)
  [[ $target == test ]] && fetches+=(schema-registry/registry.sh)
  for script in "${fetches[@]}"; do
    if ((dry_run)); then
      log "would run: bash deploy/$script fetch (once; cached in .cache/)"
    else
      bash "$here/$script" fetch
    fi
  done
fi
go_wait
((dry_run)) || log "everything that make $target needs is here"
