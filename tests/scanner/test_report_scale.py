"""A large account (10,000 findings over 20 checks) keeps the appendix grouped, collapsed and bounded.

Measured numbers are in scanner/report.py's docstring; the limits here are generous ceilings
that catch a regression to "one block per finding", not a benchmark.
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import pytest

from fixtures.sample_docs import SAMPLE_CHECKS, large_run
from scanner.catalog import load_catalog
from scanner.document import to_document
from scanner.report import _appendix, loaded, render_reports
from scanner.report_view import DETAIL_LIMIT, LIST_LIMIT

# 20 checks; backup_rpo_rto_targets evidences two criteria, so its findings appear under both.
GROUPS = 21


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    doc = to_document(large_run(findings=10_000, checks=20))
    assert len(doc["findings"]) == 10_000
    return doc


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
