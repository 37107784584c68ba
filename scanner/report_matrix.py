"""The cross-account matrix's view model: customer-example controls and criteria by accounts.

The checklist says each common customer example requirement "must be met by at least one of
the four submitted customer examples"; each row says whether at least one account meets it.

One scan per account. Counting an account twice (last month's document beside today's, or the
same file given twice) would turn "1 of 4 accounts" into "2 of 5": :func:`latest_per_account`
keeps, per account id, the latest complete scan (by ``started_at``; the latest incomplete one
only when the account has no complete scan) and names the documents it set aside and why.
``build_matrix`` applies it to whatever it is given; ``scanner.report`` applies it once for
every format and hands the set-aside list to the CLI. An account whose kept scan is incomplete
(interrupted) is marked as such in the column headings.

Met with nothing in scope. An account where every finding of a criterion is NOT_APPLICABLE (no
databases, say) meets it by the roll-up's rule, but shows no practice in use: such a cell is
"MET°" (``scanner.rollup.vacuous_criteria``/``vacuous_controls``), and a row met only that way
says "yes, but only with nothing in scope": the control still lacks a real customer example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from scanner.catalog import Catalog
from scanner.report_view import CUSTOMER_EXAMPLE, LoadedScan, account_name, anchor
from scanner.rollup import vacuous_controls, vacuous_criteria

T = TypeVar("T")


@dataclass(frozen=True)
class SetAside:
    """A document left out of the reports because another scan of the same account is used."""

    scan_id: str
    account_id: str
    label: str
    started_at: str
    complete: bool
    reason: str

    def describe(self) -> str:
        return f"scan {self.scan_id} of {self.label or self.account_id} ({self.account_id}) set aside: {self.reason}"


def latest_per_account(scans: Sequence[LoadedScan]) -> tuple[list[int], list[SetAside]]:
    """Indices of the scans to report on (in the given order) and the ones set aside, by account id."""
    chosen: dict[str, int] = {}
    for index, scan in enumerate(scans):
        run = scan.run
        best = chosen.get(run.target.account_id)
        if best is None:
            chosen[run.target.account_id] = index
            continue
        other = scans[best].run
        if (run.complete, run.started_at, run.scan_id) > (other.complete, other.started_at, other.scan_id):
            chosen[run.target.account_id] = index
    kept = sorted(chosen.values())
    set_aside = []
    for index, scan in enumerate(scans):
        run = scan.run
        used = scans[chosen[run.target.account_id]].run
        if index in kept:
            continue
        if run.scan_id == used.scan_id:
            reason = "the same scan was given more than once"
        elif not run.complete and used.complete:
            reason = f"incomplete (interrupted); the complete scan {used.scan_id} ({used.started_at}) is used"
        else:
            reason = f"older than scan {used.scan_id} ({used.started_at}) of the same account, which is used"
        set_aside.append(
            SetAside(run.scan_id, run.target.account_id, run.target.label, run.started_at, run.complete, reason)
        )
    return kept, set_aside


def pick(items: Sequence[T], indices: Sequence[int]) -> list[T]:
    """``items`` at ``indices`` (an empty ``items``, e.g. no hrefs, stays empty)."""
    return [items[i] for i in indices] if items else []


@dataclass(frozen=True)
class AccountColumn:
    name: str
    account_id: str
    scan_id: str
    finished_at: str
    digest: str
    href: str
    complete: bool = True

    @property
    def heading(self) -> str:
        """The column's name, marked when the scan behind it was interrupted."""
        return self.name if self.complete else f"{self.name} (incomplete scan)"


EMPTY_MARK = "°"
EMPTY_STYLE = "MET_EMPTY"


@dataclass(frozen=True)
class MatrixCell:
    status: str
    href: str
    nothing_in_scope: bool = False  # MET only because every finding was NOT_APPLICABLE

    @property
    def label(self) -> str:
        return self.status + EMPTY_MARK if self.nothing_in_scope else self.status

    @property
    def style(self) -> str:
        """The badge's status class: MET with nothing in scope has its own."""
        return EMPTY_STYLE if self.nothing_in_scope else self.status


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
    set_aside: tuple[str, ...] = ()

    @property
    def nothing_in_scope(self) -> bool:
        """Whether any cell is MET with nothing in scope (the page then explains the mark)."""
        return any(cell.nothing_in_scope for row in self.rows for cell in row.cells)


def _verdict(cells: Sequence[MatrixCell]) -> tuple[str, str]:
    """The checklist's rule: a common customer example requirement must be met by at least one
    account; an account meeting it with nothing in scope is counted, but not as a real example."""
    statuses = [c.status for c in cells]
    met = statuses.count("MET")
    empty = sum(1 for c in cells if c.nothing_in_scope)
    if met and empty == met:
        return f"yes, but only with nothing in scope ({met} of {len(statuses)})", EMPTY_STYLE
    if empty:
        return f"yes ({met} of {len(statuses)}; {empty} of them with nothing in scope)", "MET"
    if met:
        return f"yes ({met} of {len(statuses)})", "MET"
    if statuses and all(s == "MANUAL" for s in statuses):
        return "manual evidence", "MANUAL"
    return "no", "NOT_MET"


def build_matrix(
    scans: Sequence[LoadedScan],
    catalog: Catalog,
    hrefs: Sequence[str] = (),
    set_aside: Sequence[SetAside] = (),
) -> MatrixView:
    """Customer-example controls (and their criteria) by accounts, one scan per account. ``hrefs``
    are the appendix file names, in the order of ``scans``, for links from each cell;
    ``set_aside`` the documents a caller already left out (listed under the accounts)."""
    kept, dropped = latest_per_account(scans)
    scans, hrefs = pick(scans, kept), pick(hrefs, kept)
    links = list(hrefs) or [""] * len(scans)
    results = [{r.id: r for r in s.run.controls} for s in scans]
    criteria_results = [{k.id: k for r in s.run.controls for k in r.criteria} for s in scans]
    empty = [vacuous_criteria(s.run) | vacuous_controls(s.run) for s in scans]
    rows = []
    for control in catalog.controls:
        if control.scope != CUSTOMER_EXAMPLE or not any(control.id in r for r in results):
            continue
        statuses = [r[control.id].status.value if control.id in r else "NOT_SCANNED" for r in results]
        cells = tuple(
            MatrixCell(s, f"{link}#{anchor('ctl', control.id)}" if link else "", control.id in e)
            for s, link, e in zip(statuses, links, empty, strict=True)
        )
        rows.append(MatrixRow(control.id, control.title, False, cells, *_verdict(cells)))
        for criterion in control.criteria:
            crit_statuses = [
                k[criterion.id].status.value if criterion.id in k else "NOT_SCANNED" for k in criteria_results
            ]
            crit_cells = tuple(
                MatrixCell(s, f"{link}#{anchor('crit', criterion.id)}" if link else "", criterion.id in e)
                for s, link, e in zip(crit_statuses, links, empty, strict=True)
            )
            rows.append(MatrixRow(criterion.id, criterion.text, True, crit_cells, *_verdict(crit_cells)))
    accounts = tuple(
        AccountColumn(
            account_name(s.run), s.run.target.account_id, s.run.scan_id, s.run.finished_at, s.digest, link,
            s.run.complete,
        )
        for s, link in zip(scans, links, strict=True)
    )
    return MatrixView(
        title=f"Cross-account matrix: {len(scans)} accounts",
        catalog=f"{catalog.id} {catalog.version}",
        accounts=accounts,
        rows=tuple(rows),
        set_aside=tuple(s.describe() for s in (*set_aside, *dropped)),
    )
