"""Region names: which exist, in which partition, and what a typo probably meant.

The list comes from the endpoint data shipped with botocore (no AWS call), so a region AWS
launched after the installed botocore is unknown until botocore is upgraded; the error says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import botocore.session


@cache
def known_regions() -> dict[str, str]:
    """Every region botocore knows, mapped to its partition (``aws``, ``aws-us-gov``, ...)."""
    session = botocore.session.get_session()
    regions: dict[str, str] = {}
    for partition in session.get_available_partitions():
        for region in session.get_available_regions("ec2", partition_name=partition):
            regions[region] = partition
    return regions


def partition_of(region: str) -> str | None:
    return known_regions().get(region)


def unknown_region_problems(names: Iterable[str]) -> list[str]:
    """One sentence per name that is not a region botocore knows, with the likely intended one."""
    known = known_regions()
    problems = []
    for name in names:
        if name in known:
            continue
        distance, closest = min((_edit_distance(name, region), region) for region in known)
        hint = f" (did you mean {closest}?)" if distance <= 2 else ""
        problems.append(f"{name!r} is not an AWS region{hint}")
    return problems


UPGRADE_HINT = "a region launched after the installed botocore needs `pip install -U botocore`"


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swapped pair of letters (``esat``) costs one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
