"""IAM condition blocks: which keys a ``Condition`` tests, and what they confine (pure: no AWS, no boto3).

A ``Condition`` maps operators to ``{key: value}`` objects; condition key names are not
case-sensitive. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html

:func:`condition_scope` sorts the keys by what they confine: where a request may come from
(``network``), the AWS organisation (``organisation``), MFA-authenticated sessions (``mfa``),
or anything else (``other``), after the global condition keys:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
What a conditional grant means is each check's documented rule; this module only names the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Condition keys whose purpose is to confine where a request may come from, or to the
# organisation. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
NETWORK_KEYS = frozenset({"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip"})
ORGANISATION_KEYS = frozenset(
    {"aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:resourceorgpaths",
     "aws:sourceorgid", "aws:sourceorgpaths"}
)
MFA_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})


def condition_keys(condition: Mapping[str, Any]) -> list[str]:
    keys = {key for block in condition.values() if isinstance(block, Mapping) for key in block}
    return sorted(keys, key=str.lower)


def condition_scope(condition: Mapping[str, Any]) -> list[str]:
    """What the condition confines: ``network``, ``organisation``, ``mfa``, ``other``."""
    kinds = set()
    for key in condition_keys(condition):
        low = key.lower()
        kinds.add(
            "network" if low in NETWORK_KEYS
            else "organisation" if low in ORGANISATION_KEYS
            else "mfa" if low in MFA_KEYS
            else "other"
        )
    return sorted(kinds)
