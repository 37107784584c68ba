"""IAM wildcard patterns: action and resource matchers (pure: no AWS, no boto3).

How IAM compares the names in a policy with one another, after the IAM policy language reference:

- Action names are case-insensitive (:func:`split_action` lower-cases them), and ``*``/``?``
  are wildcards anywhere in an action (``*``, ``*:*``, ``s3:*``, ``iam:Put*``, ``*:Get*``).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- Resource ARNs are matched case-sensitively (``.../PROD/*`` is not ``.../prod/*``); only the
  action names are not. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- "Everything" is decided by what a pattern matches, not how it is spelt: a part made of ``*``
  and at most one ``?`` (``*``, ``**``, ``?*``, ``*?``) matches every non-empty name, so
  ``*:?*`` is every action and ``s3:?*`` all of S3. A Resource whose resource part is only such
  wildcards (``arn:aws:s3:::*``, ``arn:aws:iam::123456789012:*``, ``arn:*:iam::*:*``) is every
  resource of that service (:func:`is_service_wide_resource`).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
- One pattern *covering* another (every name the second matches, the first matches too) is
  decided conservatively (:func:`covers` is sound, not complete); two patterns *overlapping*
  (some name matches both) is decided exactly (:func:`overlaps`). The policy analyser
  (:mod:`scanner.analysis.policy`) relies on both to apply a Deny no further than it reaches.
"""

from __future__ import annotations

import re
from functools import cache

ALL_ARNS = ("arn:aws:*:*:*:*", "arn:aws-cn:*:*:*:*", "arn:aws-us-gov:*:*:*:*")


@cache
def _regex(pattern: str, *, over_patterns: bool) -> re.Pattern[str]:
    # Case-sensitive: resource ARNs are. Actions are compared through split_action (lower-cased).
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            # Matching another pattern, "?" stands for one character but not for a wildcard.
            parts.append("[^*]" if over_patterns else ".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def matches_everything(part: str) -> bool:
    """A pattern matching every non-empty string: only ``*`` and at most one ``?``, at least one ``*``."""
    return bool(part) and set(part) <= {"*", "?"} and "*" in part and part.count("?") <= 1


def matches(pattern: str, value: str) -> bool:
    """IAM wildcard match of one concrete value (case-sensitive: lower-case actions first)."""
    return _regex(pattern, over_patterns=False).fullmatch(value) is not None


def covers(general: str, specific: str) -> bool:
    """True only if every non-empty string ``specific`` matches is matched by ``general``
    (sound, not complete; case-sensitive)."""
    if matches_everything(general):
        return True
    return _regex(general, over_patterns=True).fullmatch(specific) is not None


def overlaps(first: str, second: str) -> bool:
    """True if some string is matched by both wildcard patterns (exact, case-sensitive)."""
    a, b = first, second

    @cache
    def walk(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            if walk(i + 1, j) or (j < len(b) and walk(i, j + 1)):
                return True
        if j < len(b) and b[j] == "*":
            if walk(i, j + 1) or (i < len(a) and walk(i + 1, j)):
                return True
        if i < len(a) and j < len(b) and a[i] != "*" and b[j] != "*":
            return (a[i] == b[j] or "?" in (a[i], b[j])) and walk(i + 1, j + 1)
        return False

    return walk(0, 0)


def split_action(pattern: str) -> tuple[str, str]:
    """``"s3:Get*"`` -> ``("s3", "get*")``; an every-action pattern (``"*"``, ``"?*"``) -> ``("*", "*")``."""
    service, sep, operation = pattern.lower().partition(":")
    if not sep:
        return ("*", "*")
    return service, operation


def _is_wild(text: str) -> bool:
    return "*" in text or "?" in text


def action_covers(general: str, specific: str) -> bool:
    gs, go = split_action(general)
    ss, so = split_action(specific)
    return covers(gs, ss) and covers(go, so)


def action_overlaps(first: str, second: str) -> bool:
    fs, fo = split_action(first)
    ss, so = split_action(second)
    return overlaps(fs, ss) and overlaps(fo, so)


def is_all_actions(pattern: str) -> bool:
    """``*``, ``*:*``, ``**``, ``*:?*``... : a pattern matching every action of every service."""
    service, operation = split_action(pattern)
    return matches_everything(service) and matches_everything(operation)


def is_whole_service(pattern: str) -> bool:
    """``s3:*``, ``s3:?*``: every action of one service (or more, when the service part is a wildcard too)."""
    return matches_everything(split_action(pattern)[1])


def has_service_wildcard(pattern: str) -> bool:
    """``*:Get*``, ``s3*:List*``: the pattern spans services."""
    return _is_wild(split_action(pattern)[0])


def is_all_resources(pattern: str) -> bool:
    """``*`` or an ARN pattern matching every ARN of a partition (``arn:*``, ``arn:aws:*:*:*:*``)."""
    return covers(pattern, "*") or any(covers(pattern, arn) for arn in ALL_ARNS)


def is_service_wide_resource(pattern: str) -> bool:
    """An ARN pattern whose resource part is only wildcards: every resource of a service
    (``arn:aws:s3:::*``, ``arn:aws:iam::123456789012:*``, ``arn:*:iam::*:*``, ``arn:aws:ec2:*``).

    ARN format: ``arn:partition:service:region:account-id:resource``; a ``*`` written before the
    fifth colon also runs over the remaining fields.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    """
    parts = pattern.split(":", 5)
    if len(parts) < 4 or parts[0] != "arn" or not parts[2]:
        return False
    return matches_everything(parts[-1])
