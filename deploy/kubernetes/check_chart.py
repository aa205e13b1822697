"""Check the Helm chart with the real tools, offline: helm lint, helm template, kubeconform.

    python -m deploy.kubernetes.check_chart [--kubernetes-version 1.25.0 …]

The chart is rendered with the repository's rules and every optional object enabled, then
validated strictly (unknown fields are errors) against the Kubernetes JSON schemas of the
pinned kubernetes-validate package (made standalone here, as kubeconform reads them) and the
Prometheus Operator's CRD schemas in deploy/kubernetes/schemas/. helm and kubeconform are built
from Go sources by deploy/deps.sh into .cache/go-bin/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy/kubernetes/crm-masker"
CRD_SCHEMAS = REPO / "deploy/kubernetes/schemas"
CACHE = REPO / ".cache"
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")  # the chart's oldest (Chart.yaml) and the newest
SCHEMA_REF = '"/api/_definitions.json#/$defs/'


def tool(name: str) -> str:
    """A Go-built tool: .cache/go-bin/ (deploy/deps.sh builds it there), else PATH."""
    built = CACHE / "go-bin" / name
    found = str(built) if built.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is missing: run `make deps` (it builds {name} with Go into "
                         ".cache/go-bin/)")
    return found


def rules_values(rules: Path = REPO / "rules") -> dict[str, Any]:
    """The rule files as the chart's rules.files (flat, as a ConfigMap holds them)."""
    files = sorted(rules.rglob("*.yaml"))
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise SystemExit(f"{rules}: two rule files share a name; a ConfigMap is flat")
    return {"rules": {"files": {f.name: f.read_text() for f in files}}}


FULL_VALUES: dict[str, Any] = {
    "kafka": {"bootstrapServers": "kafka-0.kafka:9092,kafka-1.kafka:9092",
              "options": {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512"},
              "existingSecret": "crm-masker-kafka"},
    "schemaRegistry": {"url": "http://registry:8080/apis/ccompat/v7"},
    "keys": {"existingSecret": "crm-masker-keys"},
    "kek": {"existingSecret": "crm-masker-kek"},  # the reference rules encrypt contacts.phone
    "podMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
}


def helm(*args: str, values: dict[str, Any] | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    command = [tool("helm"), *args]
    if values is not None:
        path = tmp / "values.json"
        path.write_text(json.dumps(values))
        command += ["--values", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def render(values: dict[str, Any], tmp: Path) -> str:
    """helm template of the chart; SystemExit with helm's message when it fails."""
    done = helm("template", "crm-masker", str(CHART), values=values, tmp=tmp)
    if done.returncode != 0:
        raise SystemExit(f"helm template failed: {done.stderr.strip()}")
    return done.stdout


def standalone_schemas(version: str) -> Path:
    """kubernetes-validate's schemas for one Kubernetes version, each made standalone (the
    definitions that it reaches copied in), in .cache/k8s-schemas/v<version>/."""
    import kubernetes_validate

    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / \
        f"v{version}-local-strict"
    target = CACHE / "k8s-schemas" / f"v{version}"
    if (target / ".complete").exists():
        return target
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        if path.name.startswith("_"):
            continue
        schema = json.loads(path.read_text().replace(SCHEMA_REF, '"#/$defs/'))
        reached: dict[str, Any] = {}
        pending = list(_refs(schema))
        while pending:
            name = pending.pop()
            if name not in reached:
                reached[name] = definitions[name]
                pending += _refs(definitions[name])
        schema["$defs"] = reached
        (target / path.name).write_text(json.dumps(schema))
    (target / ".complete").touch()
    return target


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def kubeconform(manifests: str, version: str) -> subprocess.CompletedProcess[str]:
    """Strict validation of rendered manifests; no schema found is an error, not a skip."""
    schemas = standalone_schemas(version)
    return subprocess.run(
        [tool("kubeconform"), "-strict", "-summary", "-output", "text",
         "-kubernetes-version", version,
         "-schema-location", f"{schemas.parent}/{{{{ .NormalizedKubernetesVersion }}}}/"
                             "{{ .ResourceKind }}{{ .KindSuffix }}.json",
         "-schema-location", f"{CRD_SCHEMAS}/{{{{ .Group }}}}/"
                             "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json", "-"],
        input=manifests, capture_output=True, text=True, timeout=120)


def kinds(manifests: str) -> list[str]:
    return [doc["kind"] for doc in yaml.safe_load_all(manifests) if doc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubernetes-version", action="append", dest="versions")
    args = parser.parse_args()
    import tempfile

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        values = {**FULL_VALUES, **rules_values()}
        lint = helm("lint", "--strict", str(CHART), values=values, tmp=Path(tmp))
        print(lint.stdout.strip() or lint.stderr.strip())
        failed |= lint.returncode != 0
        manifests = render(values, Path(tmp))
        print(f"helm template: {', '.join(kinds(manifests))}")
        for version in args.versions or KUBERNETES_VERSIONS:
            checked = kubeconform(manifests, version)
            print(f"kubeconform (Kubernetes {version}): "
                  f"{(checked.stdout + checked.stderr).strip()}")
            failed |= checked.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
