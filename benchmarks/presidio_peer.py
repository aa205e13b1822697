"""The peer of benchmarks/scrub_quality.py: Microsoft Presidio's recognizers for the same kinds
of identifier (German tax id and phone region included), run in their own virtualenv
(`make bench-quality` builds .venv-quality with presidio-analyzer).

Reads a JSON list of texts (the file named by the first argument), prints JSON: the merged
spans that Presidio reports for each text (score above 0, as its analyzer returns them by
default) and its texts/s. Presidio's name recognition needs a spaCy German model, which the
package registry does not serve, so names are not asked for.
"""

from __future__ import annotations

import json
import sys
import time

from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
)


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = json.load(f)
    recognizers = [EmailRecognizer(supported_language="de"),
                   PhoneRecognizer(supported_regions=("DE",), supported_language="de"),
                   IbanRecognizer(supported_language="de"),
                   CreditCardRecognizer(supported_language="de"),
                   DeTaxIdRecognizer(supported_language="de")]
    started = time.perf_counter()
    found = []
    for text in texts:
        spans = []
        for recognizer in recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None) or []:
                if result.score > 0:
                    spans.append((result.start, result.end))
        found.append(merged(spans))
    rate = len(texts) / (time.perf_counter() - started)
    json.dump({"spans": found, "rate": rate}, sys.stdout)


if __name__ == "__main__":
    main()
