"""(d) of `make bench-pipeline`: the Kafka Streams masking job (benchmarks/streams_peer/), what
a JVM team would write instead of crm-masker.

``plan`` turns the rules into the job's plan — per source topic, per view, what each column
gets, in the job's smaller vocabulary (README.md there says what it leaves out); ``build``
makes the jar with Maven once; ``run`` runs it on a namespace's topics until it is idle and
returns its events, events/s, CPU per event and busy stretch, as ``masker_result`` does for
crm-masker.

    python -m benchmarks.streams_peer --plan-only RULES   # print the plan (what it does)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from processor.formats.json_types import SOURCE_FIELDS
from processor.formats.views.base import view_format
from processor.rules import load_validated
from processor.rules.model import ActionSpec

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "benchmarks" / "streams_peer"
JAR = PROJECT / "target" / "streams-peer-1.jar"
MAIN = "dev.crmmasker.peer.MaskingJob"
DATE_ENCODINGS = {"date", "micro_timestamp", "milli_timestamp"}


def column_rule(spec: ActionSpec) -> dict[str, Any]:
    """A column's action in the job's vocabulary; what it has no word for becomes null (the
    README lists those)."""
    params = spec.params
    match spec.action:
        case "keep" | "drop" | "null" | "scrub":
            return {"action": spec.action}
        case "pseudonymize" | "encrypt":  # encrypt: per-subject AES-SIV in crm-masker
            return {"action": "hmac", "domain": str(params.get("domain", ""))}
        case "mask":
            return {"action": "mask", "n": int(params.get("keep_last", 0))}
        case "truncate":
            return {"action": "prefix", "n": int(params.get("keep", 0))}
        case "generalize" if params.get("to") in ("year", "month") and \
                params.get("encoding") in DATE_ENCODINGS:
            return {"action": params["to"], "encoding": params["encoding"]}
        case "generalize" if params.get("to") == "bucket" and params.get("encoding") == "number":
            return {"action": "bucket", "n": int(params.get("size", 1))}
    return {"action": "null"}


def plan(rules_dir: Path, keys_file: Path) -> dict[str, Any]:
    """The job's plan from the rules: the same tables, views, topics and columns."""
    validated = load_validated(rules_dir)
    rules = validated.rules
    sources: dict[str, list[dict[str, Any]]] = {}
    for table_name, table in rules.tables.items():
        for view in rules.views.values():
            if not view.publishes(table_name):
                continue
            sources.setdefault(table.topic, []).append({
                "topic": view.topic_of(table_name),
                "envelope": view_format(view.format).layout == "envelope",
                "columns": {name: column_rule(view.spec_for(table_name, name, rule))
                            for name, rule in table.fields.items()}})
    return {"sources": sources, "source_fields": [name for name, _ in SOURCE_FIELDS],
            "rules_version": validated.version, "rules_sha256": validated.sha256,
            # one HMAC key for the benchmark (crm-masker derives one per domain)
            "hmac_key": hashlib.sha256(keys_file.read_bytes()).hexdigest()}


def build() -> Path:
    """The jar and its libraries (``target/lib``), built with Maven when missing."""
    if not JAR.exists():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven (mvn) is needed to build the Kafka Streams peer")
        subprocess.run([mvn, "-q", "-B", "-Dstyle.color=never", "package", "-DskipTests", "-f",
                        str(PROJECT / "pom.xml")], check=True, timeout=900)
    return JAR


def run(plan_: dict[str, Any], bootstrap: str, application_id: str,
        timeout_s: float = 1800) -> dict[str, Any]:
    """The job on the plan's topics until it is idle: its closing JSON line."""
    jar = build()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(plan_, f)
    try:
        done = subprocess.run(
            ["java", "-Xms512m", "-Xmx1g", "-cp", f"{jar}:{jar.parent / 'lib'}/*", MAIN,
             bootstrap, application_id, f.name],
            capture_output=True, text=True, timeout=timeout_s)
    finally:
        Path(f.name).unlink()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-1500:]}
    return dict(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan-only", metavar="RULES", type=Path, required=True)
    parser.add_argument("--keys", type=Path, default=REPO / "deploy/keys/demo-keys.yaml")
    args = parser.parse_args()
    print(json.dumps({k: v for k, v in plan(args.plan_only, args.keys).items()
                      if k != "hmac_key"}, indent=2))


if __name__ == "__main__":
    main()
