"""AWS cron expressions: which minutes of which days a ``cron(...)`` matches (pure: no AWS, no clock).

:func:`parse_cron` reads one expression into a :class:`Cron`: its run times within a day, its
months and years, and a test of the day of the month or week. When it runs, and the longest
gap between runs, is :mod:`scanner.analysis.schedule`.

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
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
FIRST_AWS_YEAR, LAST_AWS_YEAR = 1970, 2199
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE | re.DOTALL)

DayMatcher = Callable[[date], bool]


class ScheduleError(ValueError):
    """The expression is not a valid AWS schedule expression (or never fires)."""


@dataclass(frozen=True)
class Cron:
    expression: str
    times: tuple[int, ...]  # minutes of the day, sorted
    months: frozenset[int]
    years: frozenset[int]
    open_ended: bool  # the year field runs to the last year AWS accepts
    day_matches: DayMatcher

    def runs_on(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.day_matches(day)


@lru_cache(maxsize=512)
def parse_cron(expression: str) -> Cron:
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
    return Cron(
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
