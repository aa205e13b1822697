# crm-masker — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KAFKA := deploy/local-kafka/kafka.sh
PYTEST_ARGS ?= -n 2 -m "not chaos" --durations=25

.PHONY: help deps install lint test demo demo-down compose-secrets cluster-up cluster-down chaos bench-scaling bench-stages bench-detectors bench-profile bench-restore bench-ab kafka-up kafka-down kafka-status registry-up registry-down chart record schemas bench bench-venv bench-pipeline bench-quality fuzz clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The native core (Rust, optional): built into the venv when cargo is there, else crm-masker
# runs on its Python engine (same outputs, slower) and the native tests are skipped.
NATIVE_SRC := native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs native/src/*/*.rs)
$(BIN)/.native: $(BIN)/.installed $(NATIVE_SRC)
	@if command -v cargo >/dev/null 2>&1; then \
	  echo "building the native core (Rust, release build; about a minute the first time)"; \
	  CARGO_TARGET_DIR=$(CURDIR)/native/target $(BIN)/pip install -q ./native; \
	else \
	  echo "cargo not found: the native core is not built; crm-masker uses its Python engine"; \
	fi
	touch $@

deps:  ## check what `make test` needs, install what is missing (apt-get, as root) and fetch the jars
	@bash deploy/deps.sh test

install: $(BIN)/.native  ## create .venv, install crm-masker with its dev tools and native core

lint: install  ## ruff and mypy
	$(BIN)/ruff check processor tests benchmarks deploy
	$(BIN)/mypy

test:  ## prerequisites (deps), lint, the native core's unit tests, then every test against a real Kafka broker
	@bash deploy/deps.sh test
	@$(MAKE) --no-print-directory lint
	@if command -v cargo >/dev/null 2>&1; then \
	  cd native && PYO3_PYTHON=$(CURDIR)/$(BIN)/python cargo test --release --quiet; fi
	$(BIN)/pytest $(PYTEST_ARGS)

compose-secrets: install  ## the secrets that docker compose reads from ./secrets/ (a fresh pseudonym key and KEK, Grafana's password)
	@mkdir -p secrets && chmod 700 secrets
	@test -f secrets/crm-masker-keys.yaml || $(BIN)/crm-masker keys new --output secrets/crm-masker-keys.yaml \
	  --key-id $$($(BIN)/python -c "from processor.rules import load_validated; print(load_validated('rules').rules.pseudonym_key_id)")
	@test -f secrets/crm-masker-kek.yaml || $(BIN)/crm-masker keys new --output secrets/crm-masker-kek.yaml --key-id kek1
	@test -f secrets/grafana-admin-password || (umask 077; $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(18))' > secrets/grafana-admin-password)
	@echo "secrets/ is ready for docker compose (never commit it; back the key up)"

demo-down:  ## stop what make demo started (Kafka Connect, PostgreSQL, the broker) and delete their data
	-bash deploy/local-cdc/connect.sh down
	-bash deploy/local-cdc/postgres.sh down
	-bash $(KAFKA) down

kafka-up:  ## start the local single-node Kafka (jars from Maven Central) and print its address
	@bash $(KAFKA) up

kafka-down:  ## stop the local Kafka and delete its data
	@bash $(KAFKA) down

kafka-status:  ## print the local Kafka's address, if it runs
	@bash $(KAFKA) status

cluster-up:  ## a local 3-broker Kafka cluster (replication 3, min.insync.replicas 2); prints the bootstrap list
	@bash deploy/local-kafka/cluster.sh up

cluster-down:  ## stop the local 3-broker cluster and delete its data
	@bash deploy/local-kafka/cluster.sh down

registry-up:  ## start a local schema registry (Apicurio, Maven Central jars) and print its URL
	@bash deploy/schema-registry/registry.sh up

registry-down:  ## stop the local schema registry
	@bash deploy/schema-registry/registry.sh down

chart: install  ## the Helm chart (deploy/kubernetes/): helm lint, helm template | kubeconform
	@bash deploy/deps.sh test
	$(BIN)/python -m deploy.kubernetes.check_chart

RECORD_DATE ?= 2026-12-06
record: install  ## the example Art. 30 record of the reference CRM (docs/record-of-processing.*.md)
	$(BIN)/crm-masker report --rules rules --lang de --date $(RECORD_DATE) --output docs/record-of-processing.de.md
	$(BIN)/crm-masker report --rules rules --lang en --date $(RECORD_DATE) --output docs/record-of-processing.en.md

schemas: install  ## record the masked Avro schemas that the rules imply (schemas/views/)
	$(BIN)/crm-masker schemas --rules rules --schemas schemas

demo:  ## the whole chain locally: PostgreSQL, Debezium, Kafka, the processor, a row before/after
	@bash deploy/deps.sh demo
	@$(MAKE) --no-print-directory install
	@bash deploy/demo.sh

CHAOS_EVENTS ?= 200000
CHAOS_KILLS ?= 8
chaos: install  ## exactly once, alerts included, with three workers and brokers SIGKILLed in turn (CHAOS_EVENTS, CHAOS_KILLS)
	@bash deploy/deps.sh test
	CRM_MASKER_CHAOS_EVENTS=$(CHAOS_EVENTS) CRM_MASKER_CHAOS_KILLS=$(CHAOS_KILLS) \
	  $(BIN)/pytest tests/test_kafka_cluster.py -s -q -p no:cacheprovider

FUZZ_SECONDS ?= 600
fuzz: install  ## fuzz the decoders, both engines, the scrub and the rule loader (FUZZ_SECONDS=600)
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS)

bench: install  ## masking-engine benchmark (no Kafka): prints a table, writes benchmarks/results/
	$(BIN)/python -m benchmarks.masking_engine

.venv-bench/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q --upgrade pip
	.venv-bench/bin/pip install -q -e '.[bench]'
	touch $@

bench-venv: .venv-bench/.installed  ## a separate venv with faust-streaming, the benchmark peer

bench-pipeline: install bench-venv  ## (a) pass-through vs (b) crm-masker vs (c) faust vs (d) Kafka Streams on one broker, + latency
	$(BIN)/python -m benchmarks.pipeline

bench-profile: install  ## where one event's time goes in `run`: CPU and wall per stage (EVENTS=100000)
	$(BIN)/python -m benchmarks.profile --events $(or $(EVENTS),100000)

bench-restore: install  ## what a worker's start reads back: the known names (Python vs native core), the data keys (EVENTS=300000)
	$(BIN)/python -m benchmarks.restore --events $(or $(EVENTS),300000)

bench-ab: install  ## A/B of `run` between source trees: TREES="PYTHONPATH ..." (EVENTS=150000, ROUNDS=3)
	@test -n "$(TREES)" || { echo 'TREES="/tmp/a /tmp/b": PYTHONPATHs of the trees (git worktrees)'; exit 2; }
	$(BIN)/python -m benchmarks.ab $(TREES) --events $(or $(EVENTS),150000) --rounds $(or $(ROUNDS),3)

bench-detectors: install  ## what each scrub detector costs the native core: each left out in turn (EVENTS=50000, ROUNDS=3)
	$(BIN)/python -m benchmarks.scrub_detectors --events $(or $(EVENTS),50000) --rounds $(or $(ROUNDS),3)

bench-stages: install  ## what KPIs and anomaly detection cost: the same input with and without them
	$(BIN)/python -m benchmarks.stages

bench-scaling: install  ## run --workers 1, 2, 4 and separate processes on a 12-partition input: events/s, CPU per event
	$(BIN)/python -m benchmarks.scaling

.venv-quality/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-quality
	.venv-quality/bin/pip install -q --upgrade pip
	.venv-quality/bin/pip install -q -e '.[quality-peer]'
	touch $@

bench-quality: install .venv-quality/.installed  ## scrub recall/precision per kind on a labelled German corpus, both engines and Presidio
	$(BIN)/python -m benchmarks.scrub_quality

clean:  ## remove the venv, caches and the local services
	-bash deploy/local-cdc/connect.sh down
	-bash deploy/local-cdc/postgres.sh down
	-bash $(KAFKA) down
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache native/target
