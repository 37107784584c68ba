"""Findings as rows: the CSV format and the rows the XLSX workbook shares with it.

One row per finding, in stable columns (``CSV_COLUMNS``; adding a column at the end is the
only compatible change), of one scan per account, as in the matrix: the latest complete one
(``scanner.report_matrix.latest_per_account``). Rows of a stale scan beside today's would count
every finding of that account twice in a filter or pivot table. Rows are ordered per account
(in the order the documents were given), then by check, region, resource and status, so two
reports of similar scans diff cleanly. Lists are joined with ``;`` (criteria) and spaces (call ids); evidence is compact
JSON with sorted keys.

Spreadsheet formula injection: a cell that starts with ``= + - @``, a tab or a carriage
return is run as a formula by Excel and LibreOffice when the CSV is opened, so such values
get a leading apostrophe (OWASP's advice). Resource names and messages come from the
customer's account and must never execute on the auditor's machine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from scanner.models import Finding
from scanner.report_matrix import latest_per_account, pick
from scanner.report_view import STATUS_ORDER, LoadedScan

CSV_COLUMNS = (
    "account_id",
    "label",
    "scan_id",
    "check_id",
    "status",
    "severity",
    "criteria",
    "region",
    "resource_type",
    "resource_id",
    "message",
    "remediation",
    "calls",
    "evidence",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """The value, made inert for spreadsheets (see the module docstring)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row_order(finding: Finding) -> tuple[str, str, str, int, str]:
    return (finding.check_id, finding.region, finding.resource_id, STATUS_ORDER.get(finding.status.value, 9),
            finding.message)


def finding_rows(scan: LoadedScan) -> list[tuple[str, ...]]:
    """The raw (not neutralised) cells of every finding of one scan, in ``CSV_COLUMNS`` order."""
    run = scan.run
    return [
        (
            run.target.account_id,
            run.target.label,
            run.scan_id,
            f.check_id,
            f.status.value,
            f.severity.value,
            ";".join(f.criteria),
            f.region,
            f.resource_type,
            f.resource_id,
            f.message,
            f.remediation,
            " ".join(f.calls),
            json.dumps(f.evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str),
        )
        for f in sorted(run.findings, key=_row_order)
    ]


def render_csv(scans: Sequence[LoadedScan]) -> str:
    """Every finding of the latest complete scan of each account, one row each (RFC 4180: CRLF
    line ends, UTF-8 without BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for scan in pick(scans, latest_per_account(scans)[0]):
        writer.writerows(tuple(neutralise(cell) for cell in row) for row in finding_rows(scan))
    return out.getvalue()
