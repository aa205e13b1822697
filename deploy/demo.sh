#!/usr/bin/env bash
# make demo: the whole chain on this machine — PostgreSQL (the CRM) → Debezium on Kafka Connect →
# Kafka → the masking processor → bi.* views — then one contact as it sits in PostgreSQL, as
# Debezium sent it, and as the views publish it, and the throughput. No Docker needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
events=${DEMO_EVENTS:-20000}
keys=(--keys deploy/keys/demo-keys.yaml --kek-file deploy/keys/demo-kek.yaml --allow-demo-keys)

bootstrap=$(bash deploy/local-kafka/kafka.sh up)
echo "== 1. Kafka broker at $bootstrap"
pg=$(bash deploy/local-cdc/postgres.sh up)
echo "== 2. the CRM's PostgreSQL at $pg (wal_level=logical, tables of deploy/local-cdc/schema.sql)"
connect=$(bash deploy/local-cdc/connect.sh up "$bootstrap")
echo "== 3. Kafka Connect at $connect; the Debezium connector of deploy/debezium/crm-postgres.json"
# Connect keeps a connector's offsets by its name: one name per PostgreSQL cluster
cluster=$($bin/python -c 'import sys, psycopg; print(psycopg.connect(sys.argv[1]).execute(
    "SELECT system_identifier FROM pg_control_system()").fetchone()[0])' "$pg")
bash deploy/local-cdc/connect.sh register deploy/debezium/crm-postgres.json "$pg" \
  "name=crm-postgres-$cluster"
echo "== 4. rules and output topics"
$bin/crm-masker validate rules/
$bin/crm-masker topics --rules rules --bootstrap-servers "$bootstrap"
echo "== 5. $events changes of a busy CRM (three days of its time) written into PostgreSQL; Debezium captures them"
$bin/crm-masker generate --postgres "$pg" --events "$events" --seed "$(date +%s)" --crm-days 3
echo "== 6. the processor (stops when the input is drained)"
$bin/crm-masker run --rules rules "${keys[@]}" --bootstrap-servers "$bootstrap" \
  --group-id crm-masker-demo --exit-when-idle 5 --metrics-port -1 2>&1 | grep -v "^%" || true
$bin/python -m deploy.demo_show "$bootstrap" "$pg"
echo
echo "Broker, PostgreSQL and Connect keep running (make demo-down stops them); run 'make demo'"
echo "again for more changes. The released KPIs, live in a browser (their windows close by the"
echo "CRM's own time: of the demo's three days, the first ones are released):"
echo "  $bin/crm-masker dashboard --bootstrap-servers $bootstrap"
