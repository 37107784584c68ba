"""An account's run timeline (``govscan status``): per control, where it stands and since when.

Status (:func:`control_states`): per control, the status of the latest complete run, since
when it has held (the first run of the unbroken streak of that status), and when the control
was last MET. The re-validation window is six calendar months from its start date (a start
on 31 March ends on 30 September; :func:`window`). :func:`format_portfolio` says, per control,
which accounts currently meet it: the checklist needs at least one of the four customer examples.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from scanner.history import RunSummary
from scanner.models import ControlStatus

WINDOW_MONTHS = 6


@dataclass(frozen=True)
class ControlState:
    control_id: str
    status: ControlStatus
    since: str  # started_at of the first run of the current streak
    last_met: str | None
    runs: int  # runs that rolled this control up


def control_states(timeline: Sequence[tuple[RunSummary, Mapping[str, ControlStatus]]]) -> list[ControlState]:
    """Per automated control: current status, since when, last MET (``timeline`` oldest first).

    A run that did not roll a control up (a ``--controls`` selection) neither breaks nor
    extends its streak. MANUAL controls have no automated status and are left out.
    """
    seen: dict[str, list[tuple[str, ControlStatus]]] = {}
    for run, statuses in timeline:
        for control_id, status in statuses.items():
            seen.setdefault(control_id, []).append((run.started_at, status))
    states = []
    for control_id, history in seen.items():
        current = history[-1][1]
        if current is ControlStatus.MANUAL:
            continue
        since = history[-1][0]
        for at, status in reversed(history):
            if status is not current:
                break
            since = at
        met = [at for at, status in history if status is ControlStatus.MET]
        states.append(ControlState(control_id, current, since, met[-1] if met else None, len(history)))
    return sorted(states, key=lambda s: _control_order(s.control_id))


def _control_order(control_id: str) -> tuple[str, str]:
    prefix, _, number = control_id.partition("-")
    return (prefix, number.zfill(4))


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    as_of: date

    @property
    def days_left(self) -> int:
        return (self.end - self.as_of).days

    def describe(self) -> str:
        if self.as_of < self.start:
            return f"window {self.start} -> {self.end} has not started ({(self.start - self.as_of).days} days to go)"
        if self.days_left < 0:
            return f"window {self.start} -> {self.end} closed {-self.days_left} days ago"
        return f"window {self.start} -> {self.end}: {self.days_left} days left"


def window(start: date, as_of: date, months: int = WINDOW_MONTHS) -> Window:
    return Window(start, add_months(start, months), as_of)


def format_status(
    label: str,
    latest: RunSummary,
    states: Sequence[ControlState],
    window_info: Window | None,
) -> list[str]:
    """One account's block of ``govscan status``."""
    lines = [f"{label} ({latest.account_id}): latest complete run {latest.scan_id} at {latest.started_at}"]
    if window_info is not None:
        lines.append(f"  {window_info.describe()}")
    lines.append(f"  {'CONTROL':<11} {'STATUS':<10} {'SINCE':<20} {'LAST MET':<20} RUNS")
    for s in states:
        last_met = s.last_met[:19] if s.last_met else "never"
        lines.append(f"  {s.control_id:<11} {s.status.value:<10} {s.since[:19]:<20} {last_met:<20} {s.runs}")
    return lines


def format_portfolio(current: Mapping[str, Sequence[ControlState]]) -> list[str]:
    """Per control, which accounts currently meet it: the checklist asks for at least one."""
    controls = sorted({s.control_id for states in current.values() for s in states}, key=_control_order)
    lines = ["Portfolio: accounts currently MET per control (the checklist needs at least one)"]
    for control_id in controls:
        met = [label for label, states in current.items()
               if any(s.control_id == control_id and s.status is ControlStatus.MET for s in states)]
        verdict = "ok" if met else "NONE"
        lines.append(f"  {control_id:<11} {len(met)}/{len(current)} {verdict:<4}  {', '.join(met)}")
    return lines
