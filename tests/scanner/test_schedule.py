"""scanner.analysis.schedule: AWS cron/rate expressions -> the longest gap between runs."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from scanner.analysis.schedule import ScheduleError, max_interval, merged_max_interval, next_runs, parse_schedule

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
    # year fields: a bounded range recurs while it runs (Schedule.ends says until when)
    ("cron(0 5 ? * * 2025-2030)", D),
    ("cron(0 5 ? * * 2020)", D),  # daily through 2020, then stops
    ("cron(0 5 ? * * 2025-2199)", D),
    ("cron(0 5 ? * * 2024/1)", D),
    ("cron(0 5 ? * * */2)", 366 * D),  # every other year: 31 Dec of an even year -> 1 Jan two years on
    ("cron(0 5 1 1 ? 2025)", None),  # a single run
    # Systems Manager's seven-field form, seconds first
    ("cron(0 0/30 * 1/1 * ? *)", 30 * M),
    ("cron(0 30 23 ? * TUE#3 *)", 35 * D),
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
        "cron(0 5 29 2 ? 2025)",  # never fires: 2025 is no leap year
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every day",
        "cron(0 5 ? * 9#1 *)",
        "cron(0/0 5 ? * * *)",
        "cron(*/10 0 5 ? * * *)",  # seconds: sub-minute schedules are refused
        "cron(1 2 3 4 5 6 7 8)",
    ],
)
def test_invalid_expressions_raise(expression: str) -> None:
    with pytest.raises(ScheduleError):
        max_interval(expression)


# --- run times: the calendar itself, not only the length of the gaps --------------------------
# AWS cron numbers weekdays 1-7 = SUN-SAT; a parser off by one gives the same gaps for a
# weekly rule, so these assert actual dates (2024-01-01 was a Monday).
JAN_1_2024 = datetime(2024, 1, 1)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 5 ? * 1 *)", datetime(2024, 1, 7, 5)),  # 1 = Sunday
        ("cron(0 5 ? * 2 *)", datetime(2024, 1, 1, 5)),  # 2 = Monday
        ("cron(0 5 ? * 7 *)", datetime(2024, 1, 6, 5)),  # 7 = Saturday
        ("cron(0 5 ? * SUN *)", datetime(2024, 1, 7, 5)),
        ("cron(0 5 ? * L *)", datetime(2024, 1, 6, 5)),  # L alone: Saturday
        ("cron(0 5 ? * 6L *)", datetime(2024, 1, 26, 5)),  # last Friday of January 2024
        ("cron(0 5 ? * 2#1 *)", datetime(2024, 1, 1, 5)),  # first Monday
        ("cron(0 5 ? * 1#1 *)", datetime(2024, 1, 7, 5)),  # first Sunday
        ("cron(0 5 ? * FRI-MON *)", datetime(2024, 1, 1, 5)),
        ("cron(0 5 LW * ? *)", datetime(2024, 1, 31, 5)),  # Wednesday 31 January
        ("cron(0 5 6W * ? *)", datetime(2024, 1, 5, 5)),  # Saturday 6th -> Friday 5th
        ("cron(0 5 7W * ? *)", datetime(2024, 1, 8, 5)),  # Sunday 7th -> Monday 8th
        ("cron(0 5 L-2 * ? *)", datetime(2024, 1, 29, 5)),
        ("cron(0 5 29 2 ? *)", datetime(2024, 2, 29, 5)),
        ("cron(0 0/30 * 1/1 * ? *)", datetime(2024, 1, 1, 0, 30)),  # seven fields, seconds first
        ("cron(0 5 ? * * 2026-2030)", datetime(2026, 1, 1, 5)),
        ("at(2024-03-01T02:00:00)", datetime(2024, 3, 1, 2)),
    ],
)
def test_next_run_is_on_the_right_calendar_day(expression: str, expected: datetime) -> None:
    assert next_runs(expression, JAN_1_2024) == [expected]


def test_next_runs_lists_consecutive_runs_and_stops_with_the_years() -> None:
    assert next_runs("cron(0 5 ? * 1 *)", JAN_1_2024, 3) == [
        datetime(2024, 1, 7, 5),
        datetime(2024, 1, 14, 5),
        datetime(2024, 1, 21, 5),
    ]
    assert next_runs("cron(0 5 31 12 ? 2024-2025)", JAN_1_2024, 5) == [
        datetime(2024, 12, 31, 5),
        datetime(2025, 12, 31, 5),
    ]
    assert next_runs("at(2020-01-01T00:00:00)", JAN_1_2024) == []
    with pytest.raises(ScheduleError):
        next_runs("rate(1 day)", JAN_1_2024)


def test_bounded_years_say_when_they_start_and_end() -> None:
    bounded = parse_schedule("cron(0 5 ? * * 2024-2030)")
    assert (bounded.starts, bounded.ends, bounded.recurs_for_good) == (date(2024, 1, 1), date(2030, 12, 31), False)
    assert parse_schedule("cron(0 5 ? * * 2020)").ends == date(2020, 12, 31)
    assert parse_schedule("cron(0 5 ? * MON 2024-2030)").ends == date(2030, 12, 30)  # the last Monday
    recurring_years = ("*", "*/2", "2024/1", "2024-2199")
    for recurring in (f"cron(0 5 ? * * {years})" for years in recurring_years):
        assert parse_schedule(recurring).ends is None and parse_schedule(recurring).recurs_for_good
    assert parse_schedule("cron(0 5 ? * * 2024/1)").starts == date(2024, 1, 1)
    assert parse_schedule("cron(0 5 ? * * *)").starts is None


# --- several expressions together -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expressions", "expected"),
    [
        (["cron(0 * ? * MON-FRI *)", "cron(0 */6 ? * SAT,SUN *)"], 6 * H),  # hourly weekdays, 6-hourly weekends
        (["cron(0 0 * * ? *)", "cron(0 12 * * ? *)"], 12 * H),
        (["cron(0 5 ? * * *)", "cron(0 5 ? * * *)"], D),  # the same rule twice
        (["cron(0 5 ? * SUN *)", "cron(0 5 1 * ? *)"], 7 * D),  # weekly and monthly: weekly bounds it
        (["cron(0 5 ? * MON-FRI *)", "cron(0 17 ? * SUN *)"], 2 * D + 12 * H),  # Fri 05:00 -> Sun 17:00
        (["cron(0 5 ? * SUN *)", "rate(1 day)"], D),  # a rate's phase is unknown: the smaller bound
        (["cron(0 5 ? * * 2020-2021)", "cron(0 5 ? * SUN *)"], 7 * D),
        (["at(2025-01-01T00:00:00)"], None),
        ([], None),
    ],
)
def test_merged_max_interval(expressions: list[str], expected: timedelta | None) -> None:
    assert merged_max_interval(expressions) == expected


def test_merged_max_interval_from_a_given_date_ignores_earlier_years() -> None:
    rules = ["cron(0 5 ? * * 2001-2010)", "cron(0 5 ? * * 2015-2199)"]
    assert merged_max_interval(rules) == date(2015, 1, 1) - date(2010, 12, 31)  # the hole 2011-2014
    assert merged_max_interval(rules, since=date(2026, 6, 1)) == D
    assert merged_max_interval(["cron(0 5 ? * * 2020-2021)"], since=date(2026, 6, 1)) is None


def test_merged_max_interval_agrees_with_a_brute_force_walk() -> None:
    # Bounded to 2001-2004 so that both walk exactly the same runs.
    rules = ["cron(0 8-17 ? * MON-FRI 2001-2004)", "cron(30 3 ? * SAT#2 2001-2004)", "cron(0 22 L * ? 2001-2004)"]
    runs = sorted({r for rule in rules for r in next_runs(rule, datetime(2000, 12, 31), 20000)})
    assert runs[-1].year == 2004
    assert merged_max_interval(rules) == max(b - a for a, b in itertools.pairwise(runs))
