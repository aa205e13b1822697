"""Turn CustomResourceDefinitions into the JSON schemas that kubeconform reads, so that the
chart's PodMonitor and PrometheusRule are validated offline like the built-in kinds.

    python deploy/kubernetes/schemas/from_crds.py CRD.yaml … [--out deploy/kubernetes/schemas]

The committed files come from the Prometheus Operator's CRDs (Go module
github.com/prometheus-operator/prometheus-operator v0.90.1, example/prometheus-operator-crd/
monitoring.coreos.com_podmonitors.yaml and _prometheusrules.yaml). Output, as kubeconform's
-schema-location expects: <group>/<kind>_<version>.json, strict (no unknown fields), as
kubeconform's own openapi2jsonschema.py writes them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml


def strict(schema: Any) -> Any:
    """additionalProperties: false wherever properties are listed (unknown fields are errors)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("crds", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    for path in args.crds:
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            target = args.out / group / f"{kind}_{version['name']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            print(target)


if __name__ == "__main__":
    main()
