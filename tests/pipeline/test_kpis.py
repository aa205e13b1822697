"""Released KPIs through the real processor: the cells of every closed window, each once,
across SIGKILLs; exact where released, never a number of fewer than k subjects, and no
suppressed cell that a window's total would give away."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from tests.pipeline.harness import Namespace, read_topics, sigkill_after, start_processor

pytestmark = pytest.mark.kafka
WINDOW_MS, K = 2000, 3
KPI = "activities_per_day"


def kpi_rules(ns: Namespace) -> None:
    """Two-second windows (the generator's stream spans two minutes), with a lateness longer
    than the stream: every change (a delete of an old activity too) is in before release."""
    path = ns.rules / "kpis.yaml"
    text = path.read_text()
    head, _, rest = text.partition(f"  {KPI}:")
    block, sep, tail = rest.partition("\n  contacts_by_segment:")
    block = block.replace("window: P1D", "window: PT2S").replace(
        "allowed_lateness: PT1H", "allowed_lateness: PT5M").replace(
        "min_group_size: 5", f"min_group_size: {K}")
    path.write_text(head + f"  {KPI}:" + block + sep + tail)


def activities(jsonl: Path) -> list[dict[str, Any]]:
    return [r for r in map(orjson.loads, jsonl.read_bytes().splitlines())
            if r["topic"].endswith(".activities") and r["value"] is not None]


def flush(bootstrap: str, ns: Namespace, last: dict[str, Any], partitions: int = 3,
          hours: int = 1) -> int:
    """One activity ``hours`` later in every partition (ms): the slowest partition's event
    time then passes every window before it (event time moves only with the data)."""
    producer = Producer({"bootstrap.servers": bootstrap})
    later = last["value"]["after"]["occurred_at"] + hours * 3_600_000_000
    for p in range(partitions):
        row = {**last["value"]["after"], "id": 10**9 + 10 * hours + p, "occurred_at": later}
        value = {**last["value"], "op": "c", "before": None, "after": row}
        producer.produce(last["topic"], orjson.dumps(value), orjson.dumps({"id": row["id"]}),
                         partition=p)
    assert producer.flush(30) == 0
    return later // 1000


def expected_cells(records: list[dict[str, Any]], until_ms: int) -> dict[tuple[int, str], set]:
    """(window start, type) → the distinct contacts of the rows as they last were, by the
    raw input: written here from the generator's rows, not by the processor's windows."""
    rows: dict[int, dict[str, Any]] = {}
    for record in records:
        value = record["value"]
        if value["op"] == "d":
            rows.pop(value["before"]["id"], None)
        else:
            rows[value["after"]["id"]] = value["after"]
    cells: dict[tuple[int, str], set] = defaultdict(set)
    for row in rows.values():
        at = row["occurred_at"] // 1000
        start = at - at % WINDOW_MS
        if start + WINDOW_MS <= until_ms:
            cells[(start, row["type"])].add(row["contact_id"])
    return cells


@pytest.fixture(scope="module")
def kpi_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Activities generated while the processor is SIGKILLed twice, a late activity in every
    partition (the windows close), and the processor killed once more while it releases
    them; then a last instance finishes."""
    tmp_path = tmp_path_factory.mktemp("kpis")
    ns = Namespace(tmp_path).create()
    kpi_rules(ns)
    ns.topics(kafka_bootstrap)
    generator = subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--events", "2500", "--users", "20",
         "--rate", "800", "--bootstrap-servers", kafka_bootstrap, "--topic-prefix",
         ns.source_prefix, "--output", str(tmp_path / "input.jsonl")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for alive in (2.5, 3.5):  # SIGKILLed mid-transaction, twice
            sigkill_after(ns, kafka_bootstrap, alive)
        assert generator.wait(120) == 0
    finally:
        if generator.poll() is None:
            generator.kill()
    records = activities(tmp_path / "input.jsonl")
    watermark = flush(kafka_bootstrap, ns, records[-1]) - 5 * 60_000
    sigkill_after(ns, kafka_bootstrap, 4.0)  # the windows are being released: once more
    final = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4")
    log = final.communicate(timeout=300)[0].decode()
    assert final.returncode == 0, log
    return {"ns": ns, "records": records, "watermark": watermark, "log": log}


def test_kpi_cells_are_exact_suppressed_when_small_and_released_once_across_kills(
        kafka_bootstrap: str, kpi_run: dict[str, Any]) -> None:
    ns, records, watermark = kpi_run["ns"], kpi_run["records"], kpi_run["watermark"]
    assert "KPI windows rebuilt" in kpi_run["log"]
    released = [r.value for r in read_topics(kafka_bootstrap, [f"{ns.ns}.bi.kpi.{KPI}"],
                                             idle_s=3)]
    keys = [(c["window_start"], orjson.dumps(c["group"])) for c in released]
    assert len(keys) == len(set(keys)), "a cell was released twice"
    expected = expected_cells(records, watermark)
    by_window: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in released:
        by_window[cell["window_start"]].append(cell)
        assert cell["rules_sha256"] and cell["min_group_size"] == K
    from processor.kpi.windows import _iso

    assert set(by_window) == {_iso(start) for start, _ in expected}
    primary = complementary = shown = 0
    for cells in by_window.values():
        groups = [c for c in cells if not c["total"]]
        total = next(c for c in cells if c["total"])
        start = next(s for s, _ in expected if _iso(s) == total["window_start"])
        want = {kind: subjects for (s, kind), subjects in expected.items() if s == start}
        assert {c["group"]["type"] for c in groups} == set(want)
        small = 0
        for cell in groups:
            subjects = len(want[cell["group"]["type"]])
            if cell["suppressed"]:
                assert "subjects" not in cell and "rows" not in cell
                small += subjects < K
                primary += subjects < K
                complementary += subjects >= K
            else:  # released: exact, and never fewer than k
                assert cell["subjects"] == subjects >= K
                shown += 1
        hidden = sum(c["suppressed"] for c in groups)
        if not total["suppressed"]:
            assert total["subjects"] == len(set().union(*want.values()))
            assert hidden != 1, "the total less the shown cells gives the hidden one away"
        assert hidden == small or (small == 1 and hidden == 2)
    print(f"\n{len(by_window)} windows: {shown} cells released, {primary} suppressed "
          f"(< {K} subjects), {complementary} suppressed with them")
    assert shown and primary and complementary  # every case met
    text = b"".join(orjson.dumps(c) for c in released)
    assert b"contact_id" not in text and b"ps_" not in text  # groups and counts only


def start_dashboard(ns: Namespace, bootstrap: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``crm-masker dashboard`` on a free port; its URL."""
    import re

    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "dashboard", "--rules", str(ns.rules),
         "--bootstrap-servers", bootstrap, "--port", "0", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r"http://\S+/", line)
    assert found, line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, found[0]


def chromium() -> Any:
    """Debian's Chromium, headless, driven through Debian's ChromeDriver (selenium)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def test_the_dashboard_shows_released_cells_live_and_suppressed_ones_as_suppressed(
        kafka_bootstrap: str, kpi_run: dict[str, Any], tmp_path: Path) -> None:
    """The page in a real browser: the released cells with their numbers, the suppressed
    ones as "suppressed" (never a number), and a window that the processor releases while
    the page is open appears without a reload. The screenshot is for the issue."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from processor.kpi.windows import _iso

    ns = kpi_run["ns"]
    topic = f"{ns.ns}.bi.kpi.{KPI}"
    released = {(c["window_start"], c["group"]["type"] if c["group"] else "total"): c
                for c in (r.value for r in read_topics(kafka_bootstrap, [topic], idle_s=2))}
    dashboard, url = start_dashboard(ns, kafka_bootstrap, "--kpi", KPI,
                                     "--kpi", "contracts_by_product")
    driver = chromium()
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        rows_of = f"#kpi-{KPI} tr[data-window]"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, rows_of))
        shown = {"released": 0, "suppressed": 0}
        for row in driver.find_elements(By.CSS_SELECTOR, rows_of):
            cell = released[(row.get_attribute("data-window"), row.get_attribute("data-group"))]
            numbers = [td.text for td in row.find_elements(By.TAG_NAME, "td")[2:]]
            if cell["suppressed"]:
                assert row.get_attribute("data-suppressed") == "true"
                assert set(numbers) == {"suppressed"}  # never a number, never zero
                shown["suppressed"] += 1
            else:
                assert numbers[:2] == [str(cell["subjects"]), str(cell["rows"])]
                shown["released"] += 1
        assert shown["released"] and shown["suppressed"], shown
        assert driver.find_element(By.CSS_SELECTOR, f"#kpi-{KPI} canvas")  # Chart.js drew
        version = driver.find_element(By.TAG_NAME, "body").get_attribute("data-version")

        # new events: the late activities' window closes, the page shows it by itself
        late = flush(kafka_bootstrap, ns, kpi_run["records"][-1], hours=2)
        proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4")
        assert proc.wait(300) == 0
        new_window = _iso(late - 3_600_000 - (late - 3_600_000) % WINDOW_MS)
        fresh = f'#kpi-{KPI} tr[data-window="{new_window}"]'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, fresh))
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-version") != version
        # three activities of one contact: fewer than k subjects, suppressed with the total
        assert {r.get_attribute("data-suppressed") for r in
                driver.find_elements(By.CSS_SELECTOR, fresh)} == {"true"}
        screenshot = tmp_path / "dashboard.png"
        driver.save_screenshot(str(screenshot))
        print(f"\nscreenshot: {screenshot}")
        assert screenshot.stat().st_size > 10_000
    finally:
        driver.quit()
        dashboard.terminate()
        dashboard.wait(10)
