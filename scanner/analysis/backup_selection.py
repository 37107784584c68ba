"""Does an AWS Backup selection (resource assignment) pick a given resource? Pure, no AWS.

A ``BackupSelection`` has four filters
(https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupSelection.html):

- ``Resources``: ARNs, ``*`` wildcards allowed (``arn:aws:ec2:*:*:volume/*``, or ``*`` for every
  supported resource); several ARNs are OR-ed;
- ``Conditions``: ``StringEquals`` / ``StringNotEquals`` / ``StringLike`` / ``StringNotLike`` on
  ``aws:ResourceTag/<key>``; all conditions must hold (AND); case sensitive;
- ``ListOfTags``: ``STRINGEQUALS`` tag conditions, any of which selects (OR);
- ``NotResources``: ARNs (wildcards allowed) excluded whatever else matched.

How they combine, as the Backup console builds them ("include specific resource types, refine
with tags"): ``Resources`` (or every resource when none are named) narrowed by ``Conditions``,
OR any ``ListOfTags`` match, minus ``NotResources``. A selection with no filter at all selects
every supported, opted-in resource. Assumption to state: a ``StringNotEquals``/``StringNotLike``
condition on a tag the resource lacks holds (as IAM evaluates negated string operators).

Opt-in (https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html): a
resource type that is explicitly assigned (an ARN pattern naming the type) is backed up even
when the type is not opted in, except Aurora (and Neptune, DocumentDB); resources picked only
by tags or by ``*`` need the type opted in. :attr:`Match.explicit_type` tells which case applies.
A pattern names a type when its service and the resource type in front of the resource id are
literal (``arn:aws:ec2:*:*:volume/*``, ``arn:aws:rds:*:*:db:*``, a full ARN); ``arn:aws:*`` or
``arn:aws:ec2:*:*:*`` match many types and name none, so opt-in applies to what they pick.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Match", "arn_matches", "match_selection", "names_resource_type"]

TAG_PREFIX = "aws:ResourceTag/"
TagsFn = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class Match:
    matched_by: str  # human-readable: which filter picked the resource
    explicit_type: bool  # an ARN pattern names the resource's type (opt-in ignored but for Aurora)


@lru_cache(maxsize=1024)
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$")


def arn_matches(pattern: str, arn: str) -> bool:
    """``*`` matches any run of characters, ``:`` and ``/`` included (AWS Backup's ARN wildcards)."""
    return bool(_pattern(pattern).match(arn))


def names_resource_type(pattern: str) -> bool:
    """Does an ARN pattern name one resource type (service and type literal, see the module doc)?"""
    parts = pattern.split(":", 5)
    if len(parts) < 6 or not parts[2] or "*" in parts[2]:
        return False
    resource_type = re.split(r"[/:]", parts[5], maxsplit=1)[0]
    return bool(resource_type) and "*" not in resource_type


def _tag_key(key: str) -> str:
    return key[len(TAG_PREFIX) :] if key.startswith(TAG_PREFIX) else key


def _condition_holds(operator: str, condition: Mapping[str, Any], tags: Mapping[str, str]) -> bool:
    key, expected = _tag_key(str(condition.get("ConditionKey", ""))), str(condition.get("ConditionValue", ""))
    value = tags.get(key)
    if operator == "StringEquals":
        return value == expected
    if operator == "StringNotEquals":
        return value != expected
    if operator == "StringLike":
        return value is not None and arn_matches(expected, value)
    if operator == "StringNotLike":
        return value is None or not arn_matches(expected, value)
    raise ValueError(f"unknown AWS Backup condition operator {operator!r}")


def _conditions(selection: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    given = selection.get("Conditions") or {}
    return [
        (op, c)
        for op in ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
        for c in given.get(op) or []
    ]


def _describe(conditions: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    return " AND ".join(f"{op}({c.get('ConditionKey')}={c.get('ConditionValue')})" for op, c in conditions)


def match_selection(selection: Mapping[str, Any], arn: str, tags: TagsFn) -> Match | None:
    """How ``selection`` picks the resource ``arn`` (``None``: it does not). ``tags`` is called
    only when a tag filter must be evaluated (tags may cost an API call)."""
    resources: list[str] = list(selection.get("Resources") or [])
    list_of_tags: list[Mapping[str, Any]] = list(selection.get("ListOfTags") or [])
    conditions = _conditions(selection)
    if any(arn_matches(p, arn) for p in selection.get("NotResources") or []):
        return None
    for tag in list_of_tags:
        if tags().get(_tag_key(str(tag.get("ConditionKey", "")))) == tag.get("ConditionValue"):
            return Match(
                f"ListOfTags {tag.get('ConditionKey')}={tag.get('ConditionValue')}", explicit_type=False
            )
    if list_of_tags and not resources and not conditions:
        return None
    pattern = next((p for p in resources if arn_matches(p, arn)), None) if resources else "*"
    if pattern is None:
        return None
    if conditions and not all(_condition_holds(op, c, tags()) for op, c in conditions):
        return None
    how = "all supported resources" if not resources else f"Resources {pattern}"
    if conditions:
        how += f" with Conditions {_describe(conditions)}"
    return Match(how, explicit_type=bool(resources) and names_resource_type(pattern))
