"""Scrub quality on a labelled corpus of German CRM notes: recall per kind, precision, speed.

The corpus (processor/generator/corpus.py) holds names of people the CRM knows (their contact
rows are masked first, so the engines learn them) and of people it does not know (after a
salutation, title or kinship word), identifiers plain and obfuscated, and decoys: dates,
amounts, contract numbers, addresses, typos. Each note is scrubbed as an activity's subject by
the reference rules, in both engines; the scrubbed text is aligned with the note to find what
was replaced. A ground-truth span counts as found when it is replaced whole; a replaced region
is correct when it lies on a ground-truth span.

The peer: Microsoft Presidio's pattern recognizers (e-mail, phone with phonenumbers, IBAN,
credit card) on the same corpus, run in their own virtualenv (`make bench-quality` builds
.venv-quality); Presidio's name recognition needs a spaCy German model, which the package
registry does not serve (its `de-core-news-md` is a placeholder), so it has no name row.

    python -m benchmarks.scrub_quality [--notes N] [--seed S] [--output FILE]
                                       [--presidio-python .venv-quality/bin/python]

Prints a table and writes JSON (default benchmarks/results/scrub_quality.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from benchmarks.masking_engine import rules_without_names
from processor.generator.corpus import Labelled, corpus, known_people
from processor.keys import load_keys
from processor.masking import native
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.rules import ValidatedRules, load_validated

REPO = Path(__file__).resolve().parents[1]
KINDS = ["name_known", "name_unknown", "email", "phone", "iban", "tax_id", "card",
         "birth_date", "profile_url", "social_security_number", "address", "id_document",
         "license_plate", "ip_address", "health_insurance_number", "meter_id", "mac_address",
         "credential", "name_known_typo",
         "name_unknown_bare"]
CONTACTS, ACTIVITIES = "crm.public.contacts", "crm.public.activities"
Span = tuple[int, int]


#: what the reference rules' scrub writes for a finding
REPLACEMENT = re.compile(r"\[(?:NAME|EMAIL|PHONE|IBAN|CARD|TAX_ID|BIRTH_DATE|PROFILE_URL"
                         r"|SV_NUMBER|ADDRESS|ID_NUMBER|LICENSE_PLATE|IP_ADDRESS|KV_NUMBER"
                         r"|MAC_ADDRESS|SECRET|METER_ID)\]")


def replaced(original: str, scrubbed: str) -> list[Span]:
    """The regions of ``original`` that the scrub replaced: the text between the unchanged
    pieces around each replacement (a character diff would align the N of a name with the
    N of ``[NAME]``)."""
    pieces = REPLACEMENT.split(scrubbed)
    pattern = "(.+?)".join(re.escape(piece) for piece in pieces)
    m = re.fullmatch(pattern, original, re.DOTALL)
    if m is None:
        raise ValueError("the scrubbed text is not the original with replacements")
    return [m.span(i) for i in range(1, len(pieces))]


def score(notes: list[Labelled], found: list[list[Span]]) -> dict[str, Any]:
    """Recall per kind (a span replaced whole), precision (replaced regions on a span)."""
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    correct = predicted = 0
    for note, regions in zip(notes, found, strict=True):
        for start, end, kind in note.spans:
            total[kind] += 1
            covered = sum(max(0, min(end, b) - max(start, a)) for a, b in regions)
            hit[kind] += covered >= end - start
        for a, b in regions:
            predicted += 1
            correct += any(a < end and start < b for start, end, _ in note.spans)
    out: dict[str, Any] = {kind: hit[kind] / total[kind] if total[kind] else None
                           for kind in KINDS}
    out["precision"] = correct / predicted if predicted else 1.0
    out["spans"] = dict(total)
    return out


def event(row: dict[str, Any]) -> bytes:
    return orjson.dumps({"op": "c", "before": None, "after": row, "source": {"ts_ms": 1},
                         "ts_ms": 2})


class EngineScrub:
    """Notes scrubbed as activities' subjects by one engine, after the known people's contact
    rows (``native``: the core, as `crm-masker run` uses it)."""

    def __init__(self, rules: Path | ValidatedRules, use_native: bool,
                 known: list[tuple[str, str]]) -> None:
        validated = rules if isinstance(rules, ValidatedRules) else load_validated(rules)
        compiled = compile_rules(validated, load_keys(REPO / "deploy/keys/demo-keys.yaml"),
                                 load_keys(REPO / "deploy/keys/demo-kek.yaml"))
        self.python = MaskingEngine(compiled)
        self.core = native.NativeEngine(compiled, native.load_core()) if use_native else None
        for i, (first, last) in enumerate(known, 1):
            self._process(CONTACTS, i, {"id": i, "first_name": first, "last_name": last})

    def _process(self, topic: str, i: int, row: dict[str, Any]) -> Any:
        key, value = orjson.dumps({"id": i}), event(row)
        if self.core is not None:
            got = self.core.process(topic, key, value)
            if got is not None:
                return orjson.loads(got[1][0][2])
        return self.python.process(topic, {"id": i}, orjson.loads(value)).records[0].value

    def __call__(self, texts: Iterable[str]) -> list[str]:
        out = []
        for i, text in enumerate(texts, 1):
            value = self._process(ACTIVITIES, i, {"id": i, "contact_id": 1, "subject": text})
            out.append(str((value.get("after") or value)["subject"]))
        return out


def timed(scrub: Callable[[list[str]], list[str]], texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    out = scrub(texts)
    return out, len(texts) / (time.perf_counter() - started)


def presidio(python: str, texts: list[str]) -> tuple[list[list[Span]], float] | None:
    """Presidio's spans per text and its texts/s, run by ``python`` (its own virtualenv)."""
    if not Path(python).exists():
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    done = subprocess.run([python, str(REPO / "benchmarks/presidio_peer.py"), f.name],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    return [[(a, b) for a, b in spans] for spans in result["spans"]], result["rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--known", type=int, default=300, help="contacts the CRM knows")
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument("--presidio-python", default=str(REPO / ".venv-quality/bin/python"))
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/scrub_quality.json"))
    args = parser.parse_args()

    known = known_people(args.seed, args.known)
    notes = corpus(args.seed, args.notes, known)
    texts = [n.text for n in notes]
    rows: dict[str, dict[str, Any]] = {}
    rules: Path | ValidatedRules = Path(args.rules)
    engines = {"crm-masker, Python engine": (rules, False)}
    if native.load_core() is not None:
        engines["crm-masker, native core"] = (rules, True)
        # the same without the name detectors: what finding names costs
        engines["native core, no name detectors"] = (rules_without_names(Path(args.rules)), True)
    for name, (rule_set, use_native) in engines.items():
        scrubbed, rate = timed(EngineScrub(rule_set, use_native, known), texts)
        rows[name] = {**score(notes, [replaced(t, s) for t, s in zip(texts, scrubbed,
                                                                      strict=True)]),
                      "texts_per_s": rate}
        print(f"  {name}: {rate:,.0f} texts/s", file=sys.stderr)
    peer = presidio(args.presidio_python, texts)
    if peer is not None:
        rows["Presidio 2.2 pattern recognizers"] = {**score(notes, peer[0]),
                                                    "texts_per_s": peer[1]}
    else:
        print(f"Presidio: {args.presidio_python} not found (`make bench-quality` builds it)",
              file=sys.stderr)

    columns = [*KINDS, "precision"]
    width = {k: max(len(k) + 2, 8) for k in columns}
    header = f"{'scrub':<34}" + "".join(f"{k:>{width[k]}}" for k in columns) + \
        f"{'texts/s':>10}"
    print(f"scrub quality, {len(notes):,} labelled notes ({sum(len(n.spans) for n in notes):,} "
          f"spans), {len(known)} known people")
    print(header)
    for name, row in rows.items():
        cells = "".join(f"{row[k]:>{width[k]}.4f}" if row[k] is not None
                        else f"{'—':>{width[k]}}" for k in columns)
        print(f"{name:<34}{cells}{row['texts_per_s']:>10,.0f}")
    if "native core, no name detectors" in rows:
        cost = 1 - (rows["crm-masker, native core"]["texts_per_s"]
                    / rows["native core, no name detectors"]["texts_per_s"])
        print(f"cost of the name detectors in the native core: {cost:.1%} of texts/s")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"notes": len(notes), "known_people": len(known),
                               "seed": args.seed, "machine": platform.machine(),
                               "python": platform.python_version(), "rows": rows}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
