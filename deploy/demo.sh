#!/usr/bin/env bash
# make demo: start the local broker, show that it takes topics, and mask sample events offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
bootstrap=$(bash deploy/local-kafka/kafka.sh up)
echo "== Kafka broker at $bootstrap"
$bin/python - "$bootstrap" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
topics = ["crm.public.contacts", "bi.analytics.contacts"]
for t, f in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).items():
    try:
        f.result(30); print(f"created topic {t}")
    except Exception as exc:
        print(f"topic {t}: {exc.args[0].str()}")
PY
echo "== rules"
$bin/crm-masker validate rules/
echo "== one contact before masking"
head -1 examples/contacts-sample.jsonl | $bin/python -m json.tool | head -40
echo "== after masking (view bi.analytics.contacts)"
$bin/crm-masker mask --rules rules --keys deploy/keys/demo-keys.yaml --allow-demo-keys \
  < examples/contacts-sample.jsonl | head -1 | $bin/python -m json.tool
echo "== stop the broker with: make kafka-down"
