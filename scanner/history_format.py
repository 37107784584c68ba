"""The ``govscan history`` table: stored runs and the attempts that reached no account, as text."""

from __future__ import annotations

from collections.abc import Sequence

from scanner.history import RunSummary, Unreachable


def format_runs(runs: Sequence[RunSummary], unreachable: Sequence[Unreachable] = ()) -> list[str]:
    """The ``govscan history`` table, oldest first: runs and attempts that reached no account."""
    if not runs and not unreachable:
        return ["No runs stored."]
    width = max([len(r.scan_id) for r in runs] + [len("SCAN ID")])
    label_width = max(5, *(len(r.label) for r in runs), *(len(u.label) for u in unreachable))
    rows: list[tuple[str, str]] = []
    for r in runs:
        rows.append(
            (
                r.started_at,
                f"{r.scan_id:<{width}}  {r.label:<{label_width}}  {r.account_id:<12}  {r.started_at[:19]:<20}  "
                f"{r.counts['PASS']:>5} {r.counts['FAIL']:>5} {r.counts['ERROR']:>5} "
                f"{r.counts['NOT_APPLICABLE']:>5}  "
                + ("" if r.complete else "incomplete (interrupted; never used as latest)"),
            )
        )
    for u in unreachable:
        rows.append(
            (
                u.at,
                f"{'-':<{width}}  {u.label:<{label_width}}  {'-':<12}  {u.at[:19]:<20}  "
                f"{'-':>5} {'-':>5} {'-':>5} {'-':>5}  UNREACHABLE: {u.reason}",
            )
        )
    header = (
        f"{'SCAN ID':<{width}}  {'LABEL':<{label_width}}  {'ACCOUNT':<12}  {'STARTED':<20}  "
        f"{'PASS':>5} {'FAIL':>5} {'ERROR':>5} {'N/A':>5}  NOTE"
    )
    return [header, *(line for _, line in sorted(rows, key=lambda row: row[0]))]
