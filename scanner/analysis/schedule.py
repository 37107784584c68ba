"""AWS schedule expressions -> their run times and the longest gap between two runs (an RPO bound).

Pure: no AWS, no clock (callers pass ``since``). Used for AWS Backup rules (``cron(...)``), SSM
maintenance windows and State Manager associations (``cron(...)``, ``rate(...)``, ``at(...)``).

AWS cron has six fields, ``minutes hours day-of-month month day-of-week year``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):

- ``*`` all, ``,`` lists, ``-`` ranges (a range may wrap, ``FRI-MON``), ``/`` steps
  (``0/15``, ``*/10``, ``5-50/5``);
- day-of-month: ``L`` (last day), ``L-n`` (n days before the last), ``nW`` (weekday
  nearest day n, never leaving the month), ``LW`` (last weekday of the month);
- day-of-week: ``1-7`` or ``SUN-SAT`` (1 = Sunday), ``L`` (Saturday, the last day of the
  week), ``nL`` (last weekday n of the month), ``n#k`` (k-th weekday n of the month);
- one of day-of-month and day-of-week must be ``?``. AWS rejects two concrete values; a
  ``*`` beside a ``*`` is read as "every day" rather than refused, a scanner should not
  fail on what a console may have stored.

Systems Manager also accepts an optional seventh field in front, seconds, which its console
writes for associations (``cron(0 0/30 * 1/1 * ? *)``: every 30 minutes): "An additional field,
the Seconds field (the first in a cron expression), is optional"
(https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html).
It must be one number here (one run per matching minute); sub-minute schedules are refused.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

__all__ = [
    "Schedule",
    "ScheduleError",
    "max_interval",
    "merged_max_interval",
    "next_runs",
    "parse_schedule",
]

MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
FIRST_AWS_YEAR, LAST_AWS_YEAR = 1970, 2199
RECURRING_YEARS = 56  # two 28-year Gregorian cycles
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE | re.DOTALL)
_AT = re.compile(r"^at\((.*)\)$", re.IGNORECASE)
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}

DayMatcher = Callable[[date], bool]


class ScheduleError(ValueError):
    """The expression is not a valid AWS schedule expression (or never fires)."""


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


@dataclass(frozen=True)
class _Cron:
    expression: str
    times: tuple[int, ...]  # minutes of the day, sorted
    months: frozenset[int]
    years: frozenset[int]
    open_ended: bool  # the year field runs to the last year AWS accepts
    day_matches: DayMatcher

    def runs_on(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.day_matches(day)


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
    cron = _parse_cron(expression)
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
    crons: list[_Cron] = []
    for expression in dict.fromkeys(expressions):
        text = expression.strip()
        rate = _RATE.match(text)
        if rate:
            rates.append(_rate_interval(expression, rate))
        elif _AT.match(text):
            parse_schedule(expression)  # validates the timestamp
        else:
            crons.append(_parse_cron(expression))
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
    cron = _parse_cron(expression)
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


@lru_cache(maxsize=512)
def _parse_cron(expression: str) -> _Cron:
    match = _CRON.match(expression.strip())
    if not match:
        raise ScheduleError(f"{expression!r}: expected cron(...), rate(...) or at(...)")
    fields = [f.upper() for f in match.group(1).split()]
    if len(fields) == 7:
        # Systems Manager's optional leading seconds field: one number keeps one run a minute.
        seconds = fields.pop(0)
        if not seconds.isdigit() or int(seconds) > 59:
            raise ScheduleError(f"{expression!r}: the seconds field must be one number 0-59, got {seconds!r}")
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: AWS cron has 6 fields (7 with seconds), got {len(fields)}")
    minute_f, hour_f, dom_f, month_f, dow_f, year_f = fields
    minutes = _values(minute_f, 0, 59, {}, expression)
    hours = _values(hour_f, 0, 23, {}, expression)
    months = _values(month_f, 1, 12, MONTHS, expression)
    years = _values(year_f, FIRST_AWS_YEAR, LAST_AWS_YEAR, {}, expression)
    if dom_f == "?" and dow_f == "?":
        raise ScheduleError(f"{expression!r}: day-of-month and day-of-week cannot both be '?'")
    if dom_f != "?" and dow_f != "?":
        if dow_f == "*":
            dow_f = "?"
        elif dom_f == "*":
            dom_f = "?"
        else:
            raise ScheduleError(f"{expression!r}: one of day-of-month and day-of-week must be '?'")
    day_matches = _dom_matcher(dom_f, expression) if dom_f != "?" else _dow_matcher(dow_f, expression)
    return _Cron(
        expression,
        tuple(sorted(h * 60 + m for h in hours for m in minutes)),
        frozenset(months),
        frozenset(years),
        _open_ended(year_f),
        day_matches,
    )


def _open_ended(year_field: str) -> bool:
    """Does the year field run to the last year AWS accepts (``*``, ``*/2``, ``2024/1``, ``...-2199``)?"""
    for part in year_field.split(","):
        base, _, step = part.partition("/")
        if base == "*" or (step and "-" not in base):
            return True
        if "-" in base and base.split("-", 1)[1] == str(LAST_AWS_YEAR):
            return True
    return False


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


def _walk(*crons: _Cron, since_year: int | None) -> _Walk:
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


def _year_runs(year: int, crons: Sequence[_Cron]) -> _YearRuns | None:
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


def _number(token: str, names: dict[str, int], expression: str) -> int:
    if token in names:
        return names[token]
    if not token.isdigit():
        raise ScheduleError(f"{expression!r}: {token!r} is not a number")
    return int(token)


def _values(field: str, low: int, high: int, names: dict[str, int], expression: str) -> set[int]:
    """``*``, lists, ranges (wrapping), steps -> the set of values within ``low..high``."""
    result: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, {}, expression) if step_text else 1
        if step < 1:
            raise ScheduleError(f"{expression!r}: step must be at least 1")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _number(a, names, expression), _number(b, names, expression)
        else:
            first = _number(base, names, expression)
            last = high if step_text else first  # "5/15": from 5 to the end, every 15
        for value in (first, last):
            if not low <= value <= high:
                raise ScheduleError(f"{expression!r}: {value} is outside {low}-{high}")
        wrapped = [*range(first, high + 1), *range(low, last + 1)]
        span = list(range(first, last + 1)) if first <= last else wrapped
        result.update(span[::step])
    return result


def _aws_dow(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python, 2 in AWS cron (1 = Sunday)


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> int:
    """The weekday (Mon-Fri) nearest ``target`` in ``day``'s month, never crossing the month."""
    last = _last_day(day)
    target = min(target, last)
    weekday = date(day.year, day.month, target).weekday()
    if weekday < 5:
        return target
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    return target + 1 if target < last else target - 2  # Sunday


def _dom_matcher(field: str, expression: str) -> DayMatcher:
    checks: list[DayMatcher] = []
    plain: list[str] = []
    for part in field.split(","):
        if part == "L":
            checks.append(lambda d: d.day == _last_day(d))
        elif re.fullmatch(r"L-\d+", part):
            checks.append(_days_before_last(int(part[2:])))
        elif part == "LW":
            checks.append(lambda d: d.day == _nearest_weekday(d, _last_day(d)))
        elif re.fullmatch(r"\d+W", part):
            target = int(part[:-1])
            if not 1 <= target <= 31:
                raise ScheduleError(f"{expression!r}: {part!r} is outside 1-31")
            checks.append(_nearest_weekday_to(target))
        else:
            plain.append(part)
    if plain:
        days = _values(",".join(plain), 1, 31, {}, expression)
        checks.append(lambda d: d.day in days)
    return lambda d: any(check(d) for check in checks)


def _dow_matcher(field: str, expression: str) -> DayMatcher:
    checks: list[DayMatcher] = []
    plain: list[str] = []
    for part in field.split(","):
        if part == "L":
            checks.append(lambda d: _aws_dow(d) == DAYS["SAT"])
        elif re.fullmatch(r"(\d|[A-Z]{3})L", part):
            weekday = _number(part[:-1], DAYS, expression)
            checks.append(_last_weekday_of_month(weekday))
        elif "#" in part:
            name, _, nth_text = part.partition("#")
            weekday, nth = _number(name, DAYS, expression), _number(nth_text, {}, expression)
            if not 1 <= nth <= 5 or not 1 <= weekday <= 7:
                raise ScheduleError(f"{expression!r}: {part!r} is not a valid weekday#n")
            checks.append(_nth_weekday_of_month(weekday, nth))
        else:
            plain.append(part)
    if plain:
        weekdays = _values(",".join(plain), 1, 7, DAYS, expression)
        checks.append(lambda d: _aws_dow(d) in weekdays)
    return lambda d: any(check(d) for check in checks)


def _days_before_last(offset: int) -> DayMatcher:
    return lambda d: d.day == _last_day(d) - offset


def _nearest_weekday_to(target: int) -> DayMatcher:
    return lambda d: d.day == _nearest_weekday(d, target)


def _last_weekday_of_month(weekday: int) -> DayMatcher:
    return lambda d: _aws_dow(d) == weekday and d.day + 7 > _last_day(d)


def _nth_weekday_of_month(weekday: int, nth: int) -> DayMatcher:
    return lambda d: _aws_dow(d) == weekday and (d.day - 1) // 7 + 1 == nth
