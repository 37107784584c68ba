"""A large account keeps the appendix grouped, collapsed and bounded.

Two shapes of 10,000 findings:

* ``registry_run``: spread over every check govscan ships (``scanner.registry.load_checks()``,
  61 today, about 164 findings each, global checks in "global", regional ones over two regions),
  with the registry's own titles and rationales: what a large real account looks like.
* ``fixtures.sample_docs.large_run``: 500 findings on each of 20 checks, so that every check
  overflows the appendix's limits and the "further findings not shown" path is exercised.

Measured numbers are in docs/performance.md ("Reports at scale"; scanner/report.py's docstring
quotes the main ones); ``python -m tests.scanner.test_report_scale`` prints them again. The limits here are
generous ceilings that catch a regression to "one block per finding", not a benchmark.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.sample_docs import SAMPLE_CHECKS, large_run
from scanner.catalog import load_catalog
from scanner.document import to_document
from scanner.models import Call, CallOutcome, Finding, ScanRun, Scope, Status, Target
from scanner.registry import load_checks
from scanner.report import _appendix, render_reports
from scanner.report_inputs import loaded, registry_checks
from scanner.report_view import DETAIL_LIMIT, LIST_LIMIT
from scanner.rollup import roll_up

ACCOUNT = "555566667777"
REGIONS = ("us-east-1", "eu-west-1")
# 20 checks; backup_rpo_rto_targets evidences two criteria, so its findings appear under both.
GROUPS = 21


def registry_run(findings: int = 10_000) -> ScanRun:
    """One account with ``findings`` findings spread evenly over every registered check: one in
    ten FAIL, one in fifty ERROR (citing a denied call), the rest PASS; one call per 50 resources."""
    registry = load_checks()
    specs = sorted(registry.values(), key=lambda s: s.id)
    calls: list[Call] = []
    made: list[Finding] = []

    def call(action: str, region: str, outcome: CallOutcome = CallOutcome.OK, **params: Any) -> str:
        call_id = f"c{len(calls) + 1:05d}"
        error = "AccessDenied" if outcome is CallOutcome.DENIED else None
        calls.append(Call(call_id, action, region, params, f"2026-03-03T09:{len(calls) % 60:02d}:00.000000Z",
                          outcome, error, f"not authorized to perform {action}" if error else None, 1, 40))
        return call_id

    for c, spec in enumerate(specs):
        count = findings // len(specs) + (1 if c < findings % len(specs) else 0)
        current: dict[str, str] = {}
        for i in range(count):
            region = "global" if spec.scope is Scope.GLOBAL else REGIONS[i % 2]
            api_region = REGIONS[0] if region == "global" else region
            if i % 50 < 2:
                current[region] = call(spec.permissions[0], api_region, NextToken=f"{spec.id}-{i}")
            status = Status.FAIL if i % 10 == 0 else Status.ERROR if i % 50 == 7 else Status.PASS
            cited = (call(spec.permissions[-1], api_region, CallOutcome.DENIED),) if status is Status.ERROR else (
                current[region],)
            name = f"{spec.id.split('_')[0]}-{c:02d}-{i:05d}"
            resource = f"arn:aws:{spec.module.split('.')[-1]}:{api_region}:{ACCOUNT}:resource/{name}"
            message = (f"Could not evaluate: {spec.permissions[-1]} was denied." if status is Status.ERROR
                       else f"{name}: {spec.title.lower()} ({'no' if status is Status.FAIL else 'yes'}).")
            evidence = {"resource": name, "compliant": status is Status.PASS, "size": 100 + i % 400,
                        "tags": [{"Key": "Name", "Value": f"data-{i}"}, {"Key": "team", "Value": "platform"}],
                        "attachments": [{"id": f"i-{i:017d}", "state": "attached"}]}
            made.append(Finding(spec.id, status, spec.severity, spec.criteria, region, resource, "AWS::Test::Thing",
                                message, evidence, cited, spec.remediation if status is Status.FAIL else ""))
    catalog = load_catalog()
    return ScanRun(
        scan_id=f"scan-{ACCOUNT}-registry",
        started_at="2026-03-03T09:00:00Z",
        finished_at="2026-03-03T09:04:00Z",
        target=Target("big-retailer", ACCOUNT, "aws", f"arn:aws:sts::{ACCOUNT}:assumed-role/GovscanReadOnly/govscan",
                      f"arn:aws:iam::{ACCOUNT}:role/GovscanReadOnly", REGIONS),
        findings=tuple(made),
        controls=roll_up(catalog, made, registry),
        calls=tuple(calls),
        scanner_version="0.1.0",
        catalog_id=catalog.id,
        catalog_version=catalog.version,
        options={"regions": list(REGIONS), "checks": sorted(registry), "settings": {}},
    )


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    doc = to_document(registry_run())
    assert len(doc["findings"]) == 10_000
    assert len({f["check_id"] for f in doc["findings"]}) == len(load_checks())
    return doc


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    doc = to_document(large_run(findings=10_000, checks=20))
    assert len(doc["findings"]) == 10_000
    return doc


def test_every_shipped_check_at_10000_findings_stays_bounded(real: dict[str, Any]) -> None:
    scan = loaded(real)
    titles = registry_checks()
    started = time.perf_counter()
    html = _appendix("html", scan, load_catalog(), None, titles)
    elapsed = time.perf_counter() - started
    # One check group per (criterion, check): a check evidencing two criteria appears under both.
    per_check = Counter(f["check_id"] for f in real["findings"])
    groups = sum(len(spec.criteria) for spec in load_checks().values())
    assert html.count('<details class="check"') == groups
    shown = sum(min(per_check[cid], DETAIL_LIMIT) * len(spec.criteria) for cid, spec in load_checks().items())
    assert html.count('<article class="finding') == shown
    assert "further findings of this check are not shown" not in html  # ~164 per check fit the limits
    assert len(html.encode()) < 12_000_000, len(html)  # measured 4.6 MB
    assert elapsed < 30, elapsed  # measured 0.5 s of CPU, 1.3 s wall on a loaded 2-vCPU machine
    md = _appendix("md", scan, load_catalog(), None, titles)
    assert len(md.encode()) < 8_000_000, len(md)  # measured 3.1 MB
    workbook = render_reports([real], ["xlsx"], checks=titles)["evidence.xlsx"]
    assert len(workbook) < 3_000_000, len(workbook)  # measured 0.7 MB


def test_html_appendix_stays_bounded(big: dict[str, Any]) -> None:
    scan = loaded(big)
    started = time.perf_counter()
    html = _appendix("html", scan, load_catalog(), None, SAMPLE_CHECKS)
    elapsed = time.perf_counter() - started
    assert len(html.encode()) < 2_500_000, len(html)
    assert elapsed < 15, elapsed
    groups = html.count('<details class="check"')
    assert groups == GROUPS
    assert html.count('<article class="finding') == groups * DETAIL_LIMIT
    assert html.count('<td class="resource">') == groups * LIST_LIMIT
    omitted = [int(n) for n in re.findall(r"(\d+) further findings of this check are not shown", html)]
    assert omitted == [500 - DETAIL_LIMIT - LIST_LIMIT] * groups
    assert html.count('<details class="more">') == groups  # the compact lists start collapsed
    # Worst first: the first finding shown of every check is a FAIL.
    first = re.findall(r'<details class="check"[^>]*>.*?<article class="finding st-(\w+)"', html, re.S)
    assert first == ["FAIL"] * groups


def test_markdown_appendix_stays_bounded(big: dict[str, Any]) -> None:
    md = _appendix("md", loaded(big), load_catalog(), None, SAMPLE_CHECKS)
    assert len(md.encode()) < 1_500_000, len(md)
    assert md.count("\n| **") == GROUPS * (DETAIL_LIMIT + LIST_LIMIT)


def test_csv_still_has_every_finding(big: dict[str, Any]) -> None:
    text = render_reports([big], ["csv"], checks=SAMPLE_CHECKS)["findings.csv"]
    assert isinstance(text, str)
    assert len(list(csv.reader(io.StringIO(text)))) == 10_001


def measure(repeat: int = 3) -> list[str]:
    """The figures docs/performance.md quotes: size, wall and CPU time of each format for
    ``registry_run()`` (render only; validating the document is timed apart), the best of
    ``repeat`` runs (a shared machine's load only ever adds time)."""
    from scanner.document import compute_digest, validate
    from scanner.report_tabular import render_csv
    from scanner.report_xlsx import render_xlsx

    doc = to_document(registry_run())
    scan, catalog, titles = loaded(doc), load_catalog(), registry_checks()
    def schema_and_digest() -> None:  # what validate() costs the first time it sees a document
        validate(doc, check_digest=False)
        compute_digest(doc)

    tasks: dict[str, Callable[[], str | bytes | None]] = {
        "validate": schema_and_digest,
        "html": lambda: _appendix("html", scan, catalog, None, titles),
        "md": lambda: _appendix("md", scan, catalog, None, titles),
        "csv": lambda: render_csv([scan]),
        "xlsx": lambda: render_xlsx([scan], catalog, ["appendix-big-retailer.html"]),
    }
    lines = [f"10,000 findings over {len(load_checks())} checks, {len(doc['calls'])} calls; best of {repeat}"]
    for kind, task in tasks.items():
        walls, cpus = [], []
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            content = task()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        size = len(content.encode()) if isinstance(content, str) else len(content) if content else 0
        lines.append(f"{kind:<8} {size / 1e6:5.2f} MB  {min(walls):5.2f} s wall  {min(cpus):5.2f} s CPU")
    return lines


if __name__ == "__main__":
    for line in measure():
        print(line)
