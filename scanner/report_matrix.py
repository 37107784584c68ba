"""The cross-account matrix's view model: customer-example controls and criteria by accounts.

The checklist says each common customer example requirement "must be met by at least one of
the four submitted customer examples"; each row says whether at least one account meets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scanner.catalog import Catalog
from scanner.report_view import CUSTOMER_EXAMPLE, LoadedScan, account_name, anchor


@dataclass(frozen=True)
class AccountColumn:
    name: str
    account_id: str
    scan_id: str
    finished_at: str
    digest: str
    href: str


@dataclass(frozen=True)
class MatrixCell:
    status: str
    href: str


@dataclass(frozen=True)
class MatrixRow:
    id: str
    title: str
    is_criterion: bool
    cells: tuple[MatrixCell, ...]
    verdict: str
    verdict_status: str


@dataclass(frozen=True)
class MatrixView:
    title: str
    catalog: str
    accounts: tuple[AccountColumn, ...]
    rows: tuple[MatrixRow, ...]


def _verdict(statuses: Sequence[str]) -> tuple[str, str]:
    """The checklist's rule: a common customer example requirement must be met by at least one account."""
    met = statuses.count("MET")
    if met:
        return f"yes ({met} of {len(statuses)})", "MET"
    if statuses and all(s == "MANUAL" for s in statuses):
        return "manual evidence", "MANUAL"
    return "no", "NOT_MET"


def build_matrix(scans: Sequence[LoadedScan], catalog: Catalog, hrefs: Sequence[str] = ()) -> MatrixView:
    """Customer-example controls (and their criteria) by accounts. ``hrefs`` are the appendix
    file names, in the order of ``scans``, for links from each cell."""
    links = list(hrefs) or [""] * len(scans)
    results = [{r.id: r for r in s.run.controls} for s in scans]
    criteria_results = [{k.id: k for r in s.run.controls for k in r.criteria} for s in scans]
    rows = []
    for control in catalog.controls:
        if control.scope != CUSTOMER_EXAMPLE or not any(control.id in r for r in results):
            continue
        statuses = [r[control.id].status.value if control.id in r else "NOT_SCANNED" for r in results]
        verdict, verdict_status = _verdict(statuses)
        cells = tuple(
            MatrixCell(s, f"{link}#{anchor('ctl', control.id)}" if link else "")
            for s, link in zip(statuses, links, strict=True)
        )
        rows.append(MatrixRow(control.id, control.title, False, cells, verdict, verdict_status))
        for criterion in control.criteria:
            crit_statuses = [
                k[criterion.id].status.value if criterion.id in k else "NOT_SCANNED" for k in criteria_results
            ]
            verdict, verdict_status = _verdict(crit_statuses)
            crit_cells = tuple(
                MatrixCell(s, f"{link}#{anchor('crit', criterion.id)}" if link else "")
                for s, link in zip(crit_statuses, links, strict=True)
            )
            rows.append(MatrixRow(criterion.id, criterion.text, True, crit_cells, verdict, verdict_status))
    accounts = tuple(
        AccountColumn(account_name(s.run), s.run.target.account_id, s.run.scan_id, s.run.finished_at, s.digest, link)
        for s, link in zip(scans, links, strict=True)
    )
    return MatrixView(
        title=f"Cross-account matrix: {len(scans)} accounts",
        catalog=f"{catalog.id} {catalog.version}",
        accounts=accounts,
        rows=tuple(rows),
    )
