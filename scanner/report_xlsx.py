"""The XLSX evidence workbook (openpyxl): the partner's self-assessment companion.

Sheets:

* ``Summary``: mirrors the self-assessment layout: one row per checklist control (customer
  example controls followed by their criteria, grouped one outline level down; practice-level
  controls last), the requirement, the status per account, whether at least one account meets
  it, what evidence the checklist asks for, and where the evidence is (appendix file and anchor).
  A status MET only because every finding was NOT_APPLICABLE reads "MET (nothing in scope)" (paler
  fill, explained above the table), as the matrix's "MET°" (``scanner.report_matrix``).
* ``Scans``: which documents the statuses come from (account, scan id, times, digest); an
  interrupted (incomplete) scan is marked (bold, amber) on this sheet and in the Summary's column
  heading; documents set aside (another scan of the same account is used) are listed below.
* One sheet of findings per account, in the CSV's columns (``scanner.report_tabular``).

One scan per account, as in the matrix (``scanner.report_matrix.latest_per_account``).

Every string cell is stored as a string, never as a formula, whatever it starts with. The file
is deterministic: workbook properties carry the scans' latest finish time instead of "now",
and the zip entries a fixed timestamp, so the same documents give the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from scanner.catalog import Catalog
from scanner.report_matrix import MatrixCell, SetAside, build_matrix, latest_per_account, pick
from scanner.report_tabular import CSV_COLUMNS, finding_rows
from scanner.report_view import CUSTOMER_EXAMPLE, LoadedScan, account_name, anchor

CELL_LIMIT = 32767  # Excel's maximum characters in one cell
EMPTY_LABEL = "MET (nothing in scope)"
FILLS = {
    "MET": "C6EFCE",
    EMPTY_LABEL: "EBF7EE",
    "PASS": "C6EFCE",
    "NOT_MET": "FFC7CE",
    "FAIL": "FFC7CE",
    "INCOMPLETE": "FFEB9C",
    "ERROR": "FFEB9C",
    "MANUAL": "D9D9D9",
    "NOT_APPLICABLE": "EDEDED",
    "NOT_SCANNED": "FFFFFF",
}
_PATTERNS = {status: PatternFill("solid", start_color=rgb, end_color=rgb) for status, rgb in FILLS.items()}
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _put(sheet: Worksheet, row: int, column: int, value: str | int, *, bold: bool = False) -> None:
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(text) > CELL_LIMIT:
            text = text[: CELL_LIMIT - 40] + " ... (cut; see the scan document)"
        cell.value = text
        cell.data_type = "s"  # never a formula, even for "=..." (openpyxl would make it one)
    else:
        cell.value = value
    if bold:
        cell.font = BOLD
    fill = _PATTERNS.get(value) if isinstance(value, str) else None
    if fill:
        cell.fill = fill


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _sheet_title(name: str, taken: set[str]) -> str:
    base = INVALID_TITLE_REGEX.sub("-", name).strip("'")[:28] or "account"
    title, n = base, 2
    while title.lower() in taken:
        title, n = f"{base[:26]}~{n}", n + 1
    taken.add(title.lower())
    return title


def _heading(scan: LoadedScan) -> str:
    name = account_name(scan.run)
    return name if scan.run.complete else f"{name} (incomplete scan)"


def _label(cell: MatrixCell) -> str:
    return EMPTY_LABEL if cell.nothing_in_scope else cell.status


def _summary(sheet: Worksheet, scans: Sequence[LoadedScan], catalog: Catalog, hrefs: Sequence[str]) -> None:
    names = [_heading(s) for s in scans]
    _put(sheet, 1, 1, "AWS SMB Competency self-assessment: evidence summary", bold=True)
    _put(sheet, 2, 1, f"Checklist: {catalog.title} ({catalog.id} {catalog.version})")
    _put(sheet, 3, 1, "Statuses per account come from the govscan scan documents listed on the Scans sheet.")
    view = build_matrix(scans, catalog, hrefs)
    if view.nothing_in_scope:
        _put(sheet, 4, 1, f"{EMPTY_LABEL}: every finding was NOT_APPLICABLE (nothing of that kind exists in the "
                          "account), so the account meets it without showing the practice in use.")
    header = ["Control", "Title", "Requirement", *names, "Met by at least one", "Evidence the checklist asks for",
              "Evidence reference"]
    head_row = 5
    for column, title in enumerate(header, start=1):
        _put(sheet, head_row, column, title, bold=True)
    matrix = {row.id: row for row in view.rows}
    statuses = [{r.id: r.status.value for r in s.run.controls} for s in scans]
    row = head_row + 1
    ordered = [c for c in catalog.controls if c.scope == CUSTOMER_EXAMPLE] + [
        c for c in catalog.controls if c.scope != CUSTOMER_EXAMPLE
    ]
    after = len(names) + 4
    for control in ordered:
        line = matrix.get(control.id)
        _put(sheet, row, 1, control.id, bold=True)
        _put(sheet, row, 2, control.title)
        _put(sheet, row, 3, control.requirement)
        for offset, by_id in enumerate(statuses):
            _put(sheet, row, 4 + offset, _label(line.cells[offset]) if line else by_id.get(control.id, "NOT_SCANNED"))
        _put(sheet, row, after, line.verdict if line else "practice level: partner evidence")
        _put(sheet, row, after + 1, control.evidence)
        refs = [f"{h}#{anchor('ctl', control.id)}" for h in hrefs] if line else []
        _put(sheet, row, after + 2, "\n".join(refs))
        row += 1
        if control.scope != CUSTOMER_EXAMPLE:
            continue
        for criterion in control.criteria:
            crit = matrix.get(criterion.id)
            _put(sheet, row, 1, criterion.id)
            _put(sheet, row, 2, criterion.text)
            for offset, cell in enumerate(crit.cells if crit else ()):
                _put(sheet, row, 4 + offset, _label(cell))
            _put(sheet, row, after, crit.verdict if crit else "")
            _put(sheet, row, after + 1, criterion.manual_evidence)
            sheet.row_dimensions[row].outline_level = 1
            row += 1
    _widths(sheet, [13, 40, 60, *([14] * len(names)), 18, 60, 40])
    for line in sheet.iter_rows(min_row=head_row + 1, max_row=row - 1):
        for cell in line:
            cell.alignment = WRAP
    sheet.freeze_panes = sheet.cell(row=head_row + 1, column=4)


def _scans(
    sheet: Worksheet,
    scans: Sequence[LoadedScan],
    hrefs: Sequence[str],
    titles: Sequence[str],
    set_aside: Sequence[SetAside],
) -> None:
    header = ["Account", "Label", "Scan id", "Started", "Finished", "Complete", "Scanner", "Catalog", "Regions",
              "Findings", "API calls", "Document digest", "Appendix", "Findings sheet"]
    for column, title in enumerate(header, start=1):
        _put(sheet, 1, column, title, bold=True)
    for row, (scan, title) in enumerate(zip(scans, titles, strict=True), start=2):
        run = scan.run
        values: list[str | int] = [
            run.target.account_id, run.target.label, run.scan_id, run.started_at, run.finished_at,
            "yes" if run.complete else "no (interrupted)", f"govscan {run.scanner_version}",
            f"{run.catalog_id} {run.catalog_version}", ", ".join(run.target.regions), len(run.findings),
            len(run.calls), scan.digest, hrefs[row - 2] if hrefs else "", title,
        ]
        for column, value in enumerate(values, start=1):
            _put(sheet, row, column, value)
        if not run.complete:
            _put(sheet, row, 6, "no (interrupted)", bold=True)
            sheet.cell(row=row, column=6).fill = _PATTERNS["INCOMPLETE"]
    row = len(scans) + 3
    if set_aside:
        _put(sheet, row, 1, "Documents set aside (another scan of the same account is used)", bold=True)
        for column, title in enumerate(["Account", "Label", "Scan id", "Started", "Complete", "Why"], start=1):
            _put(sheet, row + 1, column, title, bold=True)
        for offset, entry in enumerate(set_aside, start=2):
            values = [entry.account_id, entry.label, entry.scan_id, entry.started_at,
                      "yes" if entry.complete else "no (interrupted)", entry.reason]
            for column, value in enumerate(values, start=1):
                _put(sheet, row + offset, column, value)
    _widths(sheet, [15, 18, 38, 22, 22, 16, 16, 26, 26, 10, 10, 75, 28, 20])


def _findings(sheet: Worksheet, scan: LoadedScan) -> None:
    for column, title in enumerate(CSV_COLUMNS, start=1):
        _put(sheet, 1, column, title, bold=True)
    for row, values in enumerate(finding_rows(scan), start=2):
        for column, value in enumerate(values, start=1):
            _put(sheet, row, column, value)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(CSV_COLUMNS))}{max(1, len(scan.run.findings) + 1)}"
    _widths(sheet, [15, 14, 14, 32, 10, 9, 14, 12, 24, 50, 60, 40, 20, 60])


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every entry's timestamp fixed (openpyxl stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(item.filename))
    return out.getvalue()


def render_xlsx(
    scans: Sequence[LoadedScan], catalog: Catalog, hrefs: Sequence[str] = (), set_aside: Sequence[SetAside] = ()
) -> bytes:
    """The workbook's bytes. ``hrefs``: each scan's appendix file name, for evidence references;
    ``set_aside``: documents a caller already left out (listed on the Scans sheet)."""
    kept, dropped = latest_per_account(scans)
    scans, hrefs, set_aside = pick(scans, kept), pick(hrefs, kept), [*set_aside, *dropped]
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Summary"
    taken = {"summary", "scans"}
    titles = [_sheet_title(account_name(s.run), taken) for s in scans]
    _summary(summary, scans, catalog, hrefs)
    _scans(workbook.create_sheet("Scans"), scans, hrefs, titles, set_aside)
    for scan, title in zip(scans, titles, strict=True):
        _findings(workbook.create_sheet(title), scan)
    latest = max(s.run.finished_at for s in scans)
    stamp = datetime.strptime(latest[:19], "%Y-%m-%dT%H:%M:%S")
    workbook.properties.creator = "govscan"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return _fixed_zip(buffer.getvalue())
