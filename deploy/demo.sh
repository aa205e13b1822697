#!/usr/bin/env bash
# make demo: the whole pipeline on this machine — local Kafka, topics, synthetic CRM change
# events, the masking processor — then one record before and after masking, and the throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
events=${DEMO_EVENTS:-50000}
keys=(--keys deploy/keys/demo-keys.yaml --allow-demo-keys)

bootstrap=$(bash deploy/local-kafka/kafka.sh up)
echo "== 1. Kafka broker at $bootstrap"
echo "== 2. rules"
$bin/crm-masker validate rules/
echo "== 3. output topics"
$bin/crm-masker topics --rules rules --bootstrap-servers "$bootstrap"
echo "== 4. $events synthetic CRM change events (Debezium JSON) onto crm.public.*"
seed=$(date +%s)
$bin/crm-masker generate --bootstrap-servers "$bootstrap" --events "$events" --seed "$seed"
echo "== 5. the processor (stops when the input is drained)"
$bin/crm-masker run --rules rules "${keys[@]}" --bootstrap-servers "$bootstrap" \
  --group-id crm-masker-demo --exit-when-idle 3 --metrics-port -1 2>&1 | grep -v "^%" || true
$bin/python -m deploy.demo_show "$bootstrap"
echo
echo "The broker keeps running (make kafka-down stops it); run 'make demo' again for more events."
