"""AWS schedule expressions -> the longest gap between two consecutive runs (an RPO bound).

Pure: no AWS, no clock. Used for AWS Backup rules (``cron(...)``), SSM maintenance windows
and State Manager associations (``cron(...)``, ``rate(...)``, ``at(...)``).

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

How the gap is computed: the times of day are the same on every day that matches, so the
longest gap is the larger of the longest gap within one day and the longest gap between
the last run of a matching day and the first run of the next matching day. Matching days
are enumerated over two 28-year Gregorian cycles (2001-2056: the calendar, weekdays
included, repeats every 28 years until 2100), which covers leap days and ``5#5``-style
rarities. A restricted year field (``2025-2030``) ends the schedule: no recurring bound
exists (``max_interval`` is ``None``) unless the years run to 2199, the last year AWS
accepts. Time zones are ignored: a rule in a zone with daylight saving time can be one
hour longer or shorter around the switch.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

__all__ = ["Schedule", "ScheduleError", "max_interval", "parse_schedule"]

MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
LAST_AWS_YEAR = 2199
CYCLE_START, CYCLE_END = date(2001, 1, 1), date(2056, 12, 31)
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
    max_interval: timedelta | None  # None: runs once or stops (no recurring bound)

    @property
    def max_interval_hours(self) -> float | None:
        return None if self.max_interval is None else self.max_interval.total_seconds() / 3600


def max_interval(expression: str) -> timedelta | None:
    """The longest time between two consecutive runs; ``None`` when the schedule does not recur."""
    return parse_schedule(expression).max_interval


@lru_cache(maxsize=512)
def parse_schedule(expression: str) -> Schedule:
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value < 1:
            raise ScheduleError(f"{expression!r}: a rate must be at least 1")
        return Schedule(expression, "rate", timedelta(minutes=value * _UNIT_MINUTES[unit]))
    if _AT.match(text):
        return Schedule(expression, "at", None)
    cron = _CRON.match(text)
    if not cron:
        raise ScheduleError(f"{expression!r}: expected cron(...), rate(...) or at(...)")
    return Schedule(expression, "cron", _cron_max_interval(expression, cron.group(1).split()))


def _cron_max_interval(expression: str, fields: list[str]) -> timedelta | None:
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: AWS cron has 6 fields, got {len(fields)}")
    minute_f, hour_f, dom_f, month_f, dow_f, year_f = (f.upper() for f in fields)
    minutes = _values(minute_f, 0, 59, {}, expression)
    hours = _values(hour_f, 0, 23, {}, expression)
    months = _values(month_f, 1, 12, MONTHS, expression)
    years = _values(year_f, 1970, LAST_AWS_YEAR, {}, expression)
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
    times = sorted(h * 60 + m for h in hours for m in minutes)
    if year_f == "*":
        start, end = CYCLE_START, CYCLE_END
    elif LAST_AWS_YEAR in years:
        start, end = date(max(min(years), CYCLE_START.year), 1, 1), date(LAST_AWS_YEAR, 12, 31)
    else:
        _require_a_run(expression, years, months, day_matches)
        return None  # the schedule stops after its last year: nothing bounds the gap after it
    matched: list[date] = []
    day = start
    while day <= end:
        if day.month in months and day.year in years and day_matches(day):
            matched.append(day)
        day += timedelta(days=1)
    if not matched:
        raise ScheduleError(f"{expression!r}: never fires")
    if len(matched) == 1:
        return None  # a single day in the whole range: it runs and stops
    gaps = [b - a for a, b in itertools.pairwise(times)]
    longest = max(gaps, default=0)
    for first, second in itertools.pairwise(matched):
        longest = max(longest, (second - first).days * 1440 - times[-1] + times[0])
    return timedelta(minutes=longest)


def _require_a_run(expression: str, years: set[int], months: set[int], day_matches: DayMatcher) -> None:
    for year in sorted(years):
        for month in sorted(months):
            for day in range(1, calendar.monthrange(year, month)[1] + 1):
                if day_matches(date(year, month, day)):
                    return
    raise ScheduleError(f"{expression!r}: never fires")


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
