"""AWS schedule expressions -> their run times and the longest gap between two runs (an RPO bound).

Pure: no AWS, no clock (callers pass ``since``). Used for AWS Backup rules (``cron(...)``), SSM
maintenance windows and State Manager associations (``cron(...)``, ``rate(...)``, ``at(...)``).

Which minutes of which days a ``cron(...)`` matches (its fields, ``L``/``W``/``#``, Systems
Manager's optional seconds field) is :mod:`scanner.analysis.cron`.

How the gap is computed: runs are walked year by year. The days a cron matches within a year
depend only on that year's calendar (leap year or not, weekday of 1 January), so each of the 14
calendars is evaluated once and the years are stitched together: the longest gap is the
largest of the gaps inside a day, between consecutive matching days and across year ends. A
year field running to the last year AWS accepts (``*``, ``*/2``, ``2024/1``, ``2024-2199``)
recurs for good; it is walked over 56 years from its first year (or ``since``): two 28-year
cycles, after which the Gregorian calendar repeats until 2100. Leap days and ``5#5``-style
rarities are covered. A bounded year field (``2024-2030``) recurs until its last run:
:attr:`Schedule.ends` says when, and the gap is the longest while it runs. Time zones are
ignored: a rule in a zone with daylight saving time can be one hour longer or shorter around
the switch.

Several expressions (the rules of a backup plan, or of all plans covering one resource) give
the union of their runs: :func:`merged_max_interval`. A ``rate()`` has no fixed phase
relative to the cron runs, so with rates the bound is the smaller of the rate and the merged
cron gap (an upper bound, exact for a rate alone).
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from scanner.analysis.cron import FIRST_AWS_YEAR, LAST_AWS_YEAR, Cron, ScheduleError, parse_cron

__all__ = [
    "Schedule",
    "ScheduleError",
    "max_interval",
    "merged_max_interval",
    "next_runs",
    "parse_schedule",
]

RECURRING_YEARS = 56  # two 28-year Gregorian cycles
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_AT = re.compile(r"^at\((.*)\)$", re.IGNORECASE)
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


@dataclass(frozen=True)
class Schedule:
    expression: str
    kind: str  # "cron" | "rate" | "at"
    max_interval: timedelta | None  # longest gap between two runs while it runs; None: it runs once
    starts: date | None = None  # first day it runs, when its year field starts after 1970 (else None)
    ends: date | None = None  # last day it runs, when its year field stops before 2199 (else None)

    @property
    def max_interval_hours(self) -> float | None:
        return None if self.max_interval is None else self.max_interval.total_seconds() / 3600

    @property
    def recurs_for_good(self) -> bool:
        return self.kind == "rate" or (self.kind == "cron" and self.ends is None)


def max_interval(expression: str) -> timedelta | None:
    """The longest time between two consecutive runs; ``None`` when it runs only once."""
    return parse_schedule(expression).max_interval


@lru_cache(maxsize=512)
def parse_schedule(expression: str) -> Schedule:
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return Schedule(expression, "rate", _rate_interval(expression, rate))
    at = _AT.match(text)
    if at:
        when = _at_time(expression, at.group(1))
        return Schedule(expression, "at", None, starts=when.date(), ends=when.date())
    cron = parse_cron(expression)
    walk = _walk(cron, since_year=None)
    if walk.runs == 0:
        raise ScheduleError(f"{expression!r}: never fires")
    starts = walk.first if min(cron.years) > FIRST_AWS_YEAR else None
    ends = None if cron.open_ended else walk.last
    return Schedule(expression, "cron", walk.longest, starts=starts, ends=ends)


def merged_max_interval(expressions: Iterable[str], *, since: date | None = None) -> timedelta | None:
    """The longest gap between consecutive runs of all ``expressions`` together (the union of
    their run times), from the year of ``since`` on. ``at()`` expressions are one-off runs and
    do not bound a recurring gap. ``None`` when fewer than two runs remain. Raises
    :class:`ScheduleError` for an invalid expression."""
    rates: list[timedelta] = []
    crons: list[Cron] = []
    for expression in dict.fromkeys(expressions):
        text = expression.strip()
        rate = _RATE.match(text)
        if rate:
            rates.append(_rate_interval(expression, rate))
        elif _AT.match(text):
            parse_schedule(expression)  # validates the timestamp
        else:
            crons.append(parse_cron(expression))
    cron_gap = _walk(*crons, since_year=None if since is None else since.year).longest if crons else None
    bounds = [*rates, *([cron_gap] if cron_gap is not None else [])]
    return min(bounds, default=None)


def next_runs(expression: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next ``count`` run times strictly after ``after`` (same time zone as ``after``; AWS
    evaluates Backup and SSM cron in UTC unless a time zone is set). ``rate()`` has no fixed
    phase (it counts from its creation) and is refused."""
    text = expression.strip()
    if _RATE.match(text):
        raise ScheduleError(f"{expression!r}: a rate() has no fixed run times")
    at = _AT.match(text)
    if at:
        when = _at_time(expression, at.group(1)).replace(tzinfo=after.tzinfo)
        return [when] if when > after and count > 0 else []
    cron = parse_cron(expression)
    found: list[datetime] = []
    day = after.date()
    last = date(max(cron.years), 12, 31)
    while len(found) < count and day <= last:
        if cron.runs_on(day):
            for minute in cron.times:
                at_time = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=after.tzinfo)
                if at_time > after:
                    found.append(at_time)
                    if len(found) == count:
                        break
        day += timedelta(days=1)
    return found


def _rate_interval(expression: str, rate: re.Match[str]) -> timedelta:
    value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
    if value < 1:
        raise ScheduleError(f"{expression!r}: a rate must be at least 1")
    return timedelta(minutes=value * _UNIT_MINUTES[unit])


def _at_time(expression: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ScheduleError(f"{expression!r}: {exc}") from exc


@dataclass(frozen=True)
class _Walk:
    runs: int
    longest: timedelta | None  # None: fewer than two runs
    first: date | None
    last: date | None


@dataclass(frozen=True)
class _YearRuns:
    runs: int
    first_day: int  # day of the year, 0-based
    first_minute: int
    last_day: int
    last_minute: int
    longest: int  # minutes, 0 when the year has a single run


def _walk(*crons: Cron, since_year: int | None) -> _Walk:
    """Walk the union of the crons' runs over the years that matter (see the module docstring)."""
    first_year = min(min(c.years) for c in crons)
    lo = first_year if since_year is None else max(since_year, first_year)
    bounded_last = max((max(c.years) for c in crons if not c.open_ended), default=lo)
    if any(c.open_ended for c in crons):
        hi = min(LAST_AWS_YEAR, max(lo, bounded_last) + RECURRING_YEARS - 1)
    else:
        hi = bounded_last
    cache: dict[tuple[bool, int, tuple[int, ...]], _YearRuns | None] = {}
    runs, longest = 0, 0
    previous: int | None = None  # absolute minute of the last run so far
    first: date | None = None
    last: date | None = None
    for year in range(lo, hi + 1):
        active = tuple(i for i, c in enumerate(crons) if year in c.years)
        if not active:
            continue
        key = (calendar.isleap(year), date(year, 1, 1).weekday(), active)
        if key not in cache:
            cache[key] = _year_runs(year, [crons[i] for i in active])
        summary = cache[key]
        if summary is None:
            continue
        origin = date(year, 1, 1).toordinal()
        start = (origin + summary.first_day) * 1440 + summary.first_minute
        if previous is not None:
            longest = max(longest, start - previous)
        longest = max(longest, summary.longest)
        previous = (origin + summary.last_day) * 1440 + summary.last_minute
        runs += summary.runs
        first = first or date.fromordinal(origin + summary.first_day)
        last = date.fromordinal(origin + summary.last_day)
    return _Walk(runs, timedelta(minutes=longest) if runs > 1 else None, first, last)


def _year_runs(year: int, crons: Sequence[Cron]) -> _YearRuns | None:
    """The runs of ``crons`` together within one year (the year's calendar decides them all)."""
    merged: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {}  # mask -> (times, longest gap within the day)
    runs, longest = 0, 0
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    day = date(year, 1, 1)
    for offset in range(366 if calendar.isleap(year) else 365):
        mask = tuple(i for i, c in enumerate(crons) if day.month in c.months and c.day_matches(day))
        day += timedelta(days=1)
        if not mask:
            continue
        if mask not in merged:
            times = tuple(sorted({t for i in mask for t in crons[i].times}))
            merged[mask] = times, max((b - a for a, b in itertools.pairwise(times)), default=0)
        times, within = merged[mask]
        if last is not None:
            longest = max(longest, (offset - last[0]) * 1440 - last[1] + times[0])
        longest = max(longest, within)
        first = first or (offset, times[0])
        last = (offset, times[-1])
        runs += len(times)
    if first is None or last is None:
        return None
    return _YearRuns(runs, first[0], first[1], last[0], last[1], longest)
