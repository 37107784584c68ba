"""IAM policy documents: the effective grant of each Allow statement (pure: no AWS, no boto3).

For one identity-based policy document, :func:`analyse` yields every Allow statement as a
:class:`Grant` after the explicit Deny statements of the same document have been applied,
and reports malformed statements as :class:`Problem` values (never an exception, never a
silent skip). The rules, after the IAM policy language reference:

- ``Action``/``NotAction``/``Resource``/``NotResource``/``Condition`` may be a string or a
  list; action names are case-insensitive, and ``*``/``?`` are wildcards anywhere in an action
  (``*``, ``*:*``, ``s3:*``, ``iam:Put*``, ``*:Get*``).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- ``Allow`` with ``NotAction`` grants every action of every service except those listed,
  including services that did not exist when the policy was written.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- An explicit Deny always wins. A Deny in the same document removes the part of an Allow it
  covers *only when the Deny is unconditional*: a conditional Deny applies only sometimes, so
  it is reported beside the grant (``conditional_denies``) and removes nothing. Coverage of
  one wildcard pattern by another is decided conservatively: when in doubt a Deny is taken
  not to cover, so the grant is reported rather than hidden.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- A ``Condition`` never disappears: the grant says it is conditional and carries the block.
  What a check makes of it is the check's documented rule.
- ``Effect`` is case-sensitive (``Allow``/``Deny``); anything else is a problem.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html

Not modelled (the verdicts say so where it matters): permissions boundaries, SCPs/RCPs,
session policies and resource-based policies, which can only narrow a grant further.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ALL_ARNS = ("arn:aws:*:*:*:*", "arn:aws-cn:*:*:*:*", "arn:aws-us-gov:*:*:*:*")

# Condition keys whose purpose is to confine where a request may come from, or to the
# organisation. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
NETWORK_KEYS = frozenset({"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip"})
ORGANISATION_KEYS = frozenset(
    {"aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:resourceorgpaths",
     "aws:sourceorgid", "aws:sourceorgpaths"}
)
MFA_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})


# --- wildcard patterns -------------------------------------------------------------------


@cache
def _regex(pattern: str, *, over_patterns: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            # Matching another pattern, "?" stands for one character but not for a wildcard.
            parts.append("[^*]" if over_patterns else ".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    """IAM wildcard match of one concrete value (case-insensitive)."""
    return _regex(pattern, over_patterns=False).fullmatch(value) is not None


def covers(general: str, specific: str) -> bool:
    """True only if every string ``specific`` matches is matched by ``general`` (sound, not complete)."""
    return _regex(general, over_patterns=True).fullmatch(specific) is not None


def overlaps(first: str, second: str) -> bool:
    """True if some string is matched by both wildcard patterns (exact, case-insensitive)."""
    a, b = first.lower(), second.lower()

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
    """``"s3:Get*"`` -> ``("s3", "get*")``; an all-wildcard pattern (``"*"``) -> ``("*", "*")``."""
    service, sep, operation = pattern.lower().partition(":")
    if not sep:
        return ("*", "*")
    return service, operation


def _is_wild(text: str) -> bool:
    return "*" in text or "?" in text


def _all_stars(text: str) -> bool:
    return bool(text) and set(text) == {"*"}


def action_covers(general: str, specific: str) -> bool:
    gs, go = split_action(general)
    ss, so = split_action(specific)
    return covers(gs, ss) and covers(go, so)


def action_overlaps(first: str, second: str) -> bool:
    fs, fo = split_action(first)
    ss, so = split_action(second)
    return overlaps(fs, ss) and overlaps(fo, so)


def is_all_actions(pattern: str) -> bool:
    """``*``, ``*:*``, ``**``... : a pattern matching every action of every service."""
    service, operation = split_action(pattern)
    return _all_stars(service) and _all_stars(operation)


def is_whole_service(pattern: str) -> bool:
    """``s3:*``: every action of one service (or more, when the service part is a wildcard too)."""
    return _all_stars(split_action(pattern)[1])


def has_service_wildcard(pattern: str) -> bool:
    """``*:Get*``, ``s3*:List*``: the pattern spans services."""
    return _is_wild(split_action(pattern)[0])


def is_all_resources(pattern: str) -> bool:
    """``*`` or an ARN pattern matching every ARN of a partition (``arn:*``, ``arn:aws:*:*:*:*``)."""
    return covers(pattern, "*") or any(covers(pattern, arn) for arn in ALL_ARNS)


# --- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A statement (or document) the analyser could not read; the check reports it as ERROR."""

    ref: str
    message: str


@dataclass(frozen=True)
class Statement:
    index: int  # 0-based position in the document
    ref: str  # "sid/<Sid>" or "statement/<n>" (n 1-based): stable name for findings
    sid: str | None
    effect: str
    actions: tuple[str, ...]  # as written
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def conditional(self) -> bool:
        return bool(self.condition)


@dataclass(frozen=True)
class Carve:
    """A Deny statement that removes part (not all) of a grant, or would when its condition holds."""

    ref: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: Mapping[str, Any]


@dataclass(frozen=True)
class Grant:
    """One Allow statement after the same document's Deny statements."""

    statement: Statement
    actions: tuple[str, ...]  # Action patterns still granted (NotAction form: the exclusions)
    cancelled_actions: tuple[str, ...] = ()  # Action patterns wholly removed by unconditional denies
    carve_outs: tuple[Carve, ...] = ()  # unconditional denies removing part of what remains
    conditional_denies: tuple[Carve, ...] = ()

    @property
    def ref(self) -> str:
        return self.statement.ref

    @property
    def not_action(self) -> bool:
        return self.statement.not_action

    @property
    def conditional(self) -> bool:
        return self.statement.conditional

    @property
    def all_actions(self) -> bool:
        """Every action (``*``/``*:*``), or every action but some (Allow + NotAction)."""
        if self.not_action:  # "NotAction": "*" grants nothing at all
            return not any(is_all_actions(a) for a in self.statement.actions)
        return any(is_all_actions(a) for a in self.actions)

    @property
    def all_resources(self) -> bool:
        """Every resource: ``Resource: *`` (or an every-ARN pattern), or Allow + ``NotResource``."""
        if self.statement.not_resource:
            return not any(is_all_resources(r) for r in self.statement.resources)
        return any(is_all_resources(r) for r in self.statement.resources)


@dataclass(frozen=True)
class PolicyAnalysis:
    grants: tuple[Grant, ...] = ()
    # Allow statements that grant nothing: wholly removed by an unconditional Deny of the same
    # document, or "NotAction"/"NotResource" "*".
    cancelled: tuple[Grant, ...] = ()
    problems: tuple[Problem, ...] = ()
    statement_count: int = 0
    statements: tuple[Statement, ...] = field(default=(), repr=False)


def load_document(document: Any) -> Any:
    """A policy document as data: dicts pass through; JSON text (URL-encoded or not) is parsed."""
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = urllib.parse.unquote(text)
        return json.loads(text)
    return document


def _strings(raw: Mapping[str, Any], name: str, ref: str) -> tuple[tuple[str, ...] | None, Problem | None]:
    value = raw[name]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        shown = json.dumps(value, default=str)[:80]
        return None, Problem(ref, f"{name} must be a string or a list of strings, not {shown}")
    cleaned = tuple(v.strip() for v in values)
    if not cleaned or any(not v for v in cleaned):
        return None, Problem(ref, f"{name} is empty")
    return cleaned, None


def _one_of(raw: Mapping[str, Any], names: tuple[str, str], ref: str) -> tuple[str | None, Problem | None]:
    present = [n for n in names if n in raw]
    if len(present) != 1:
        which = "both" if present else "neither"
        return None, Problem(ref, f"statement has {which} of {names[0]} and {names[1]}")
    return present[0], None


def parse_statement(raw: Any, index: int, ref: str) -> Statement | Problem:
    """One statement, validated; a :class:`Problem` says exactly what is wrong with it."""
    if not isinstance(raw, Mapping):
        return Problem(ref, f"statement is not an object: {json.dumps(raw, default=str)[:80]}")
    if not raw:
        return Problem(ref, "statement is empty")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        return Problem(ref, f"Effect must be exactly 'Allow' or 'Deny', not {json.dumps(effect)}")
    action_key, problem = _one_of(raw, ("Action", "NotAction"), ref)
    if problem or action_key is None:
        return problem or Problem(ref, "no Action")
    resource_key, problem = _one_of(raw, ("Resource", "NotResource"), ref)
    if problem or resource_key is None:
        return problem or Problem(ref, "no Resource")
    actions, problem = _strings(raw, action_key, ref)
    if problem or actions is None:
        return problem or Problem(ref, "no Action")
    bad = [a for a in actions if not (_all_stars(a) or ":" in a) or a.startswith(":") or a.endswith(":")]
    if bad:
        return Problem(ref, f"{action_key} {bad[0]!r} is not 'service:action' or '*'")
    resources, problem = _strings(raw, resource_key, ref)
    if problem or resources is None:
        return problem or Problem(ref, "no Resource")
    condition = raw.get("Condition", {})
    if not isinstance(condition, Mapping) or not all(isinstance(v, Mapping) for v in condition.values()):
        return Problem(ref, "Condition must map operators to {key: value} objects")
    sid = raw.get("Sid")
    return Statement(
        index=index,
        ref=ref,
        sid=sid if isinstance(sid, str) and sid else None,
        effect=effect,
        actions=actions,
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=resource_key == "NotResource",
        condition=dict(condition),
        raw=dict(raw),
    )


def statement_refs(raws: list[Any]) -> list[str]:
    """``sid/<Sid>`` when the Sid is present and unique in the document, else ``statement/<n>``."""
    sids = [r.get("Sid") if isinstance(r, Mapping) else None for r in raws]
    refs = []
    for n, sid in enumerate(sids, start=1):
        unique = isinstance(sid, str) and sid and sids.count(sid) == 1
        refs.append(f"sid/{sid}" if unique else f"statement/{n}")
    return refs


def parse_document(document: Any) -> tuple[list[Statement], list[Problem]]:
    try:
        data = load_document(document)
    except (ValueError, TypeError) as exc:
        return [], [Problem("document", f"policy document is not JSON: {exc}")]
    if not isinstance(data, Mapping):
        return [], [Problem("document", "policy document is not a JSON object")]
    if "Statement" not in data:
        return [], [Problem("document", "policy document has no Statement")]
    raws = data["Statement"]
    if isinstance(raws, Mapping):
        raws = [raws]
    if not isinstance(raws, list):
        return [], [Problem("document", "Statement must be an object or a list of objects")]
    if not raws:
        return [], [Problem("document", "Statement is an empty list")]
    statements: list[Statement] = []
    problems: list[Problem] = []
    for index, (raw, ref) in enumerate(zip(raws, statement_refs(raws), strict=True)):
        parsed = parse_statement(raw, index, ref)
        (problems if isinstance(parsed, Problem) else statements).append(parsed)  # type: ignore[arg-type]
    return statements, problems


# --- Deny against Allow ------------------------------------------------------------------


def _resources_covered(deny: Statement, allow: Statement) -> bool:
    """Does the Deny reach every resource the Allow reaches?"""
    if not deny.not_resource and not allow.not_resource:
        return all(any(covers(d, a) for d in deny.resources) for a in allow.resources)
    if not deny.not_resource:  # Allow is "all but X": only a Deny on everything covers it
        return any(is_all_resources(d) for d in deny.resources)
    if not allow.not_resource:  # Deny is "all but Y": covers resources that cannot be in Y
        return all(not any(overlaps(y, a) for y in deny.resources) for a in allow.resources)
    return all(any(covers(x, y) for x in allow.resources) for y in deny.resources)


def _resources_overlap(deny: Statement, allow: Statement) -> bool:
    if deny.not_resource or allow.not_resource:
        return True  # "all but ..." on either side: assume they meet
    return any(overlaps(d, a) for d in deny.resources for a in allow.resources)


def _action_denied(deny: Statement, pattern: str) -> bool:
    if deny.not_action:
        return not any(action_overlaps(n, pattern) for n in deny.actions)
    return any(action_covers(d, pattern) for d in deny.actions)


def _pattern_touched(deny: Statement, pattern: str) -> bool:
    if deny.not_action:
        return not any(action_covers(m, pattern) for m in deny.actions)
    return any(action_overlaps(d, pattern) for d in deny.actions)


def _actions_overlap(deny: Statement, allow: Statement) -> bool:
    if deny.not_action or allow.not_action:
        if deny.not_action and allow.not_action:
            return True
        listed = allow.actions if deny.not_action else deny.actions
        exclusions = deny.actions if deny.not_action else allow.actions
        return any(not any(action_covers(x, p) for x in exclusions) for p in listed)
    return any(action_overlaps(d, a) for d in deny.actions for a in allow.actions)


def _not_action_allow_denied(deny: Statement, allow: Statement) -> bool:
    """Allow = every action but N. Removed entirely by a Deny on everything, or a Deny of every
    action but M where M lies inside N."""
    if deny.not_action:
        return all(any(action_covers(n, m) for n in allow.actions) for m in deny.actions)
    return any(is_all_actions(d) for d in deny.actions)


def _carve(deny: Statement) -> Carve:
    return Carve(deny.ref, deny.actions, deny.not_action, deny.resources, deny.not_resource, deny.condition)


def apply_denies(allow: Statement, denies: Iterable[Statement]) -> Grant | None:
    """The grant an Allow leaves after the Deny statements, or ``None`` when nothing is left."""
    remaining = list(allow.actions)
    cancelled: list[str] = []
    carves: list[Carve] = []
    conditional: list[Carve] = []
    for deny in denies:
        if not (_resources_overlap(deny, allow) and _actions_overlap(deny, allow)):
            continue
        if deny.conditional:
            conditional.append(_carve(deny))
            continue
        if not _resources_covered(deny, allow):
            carves.append(_carve(deny))
            continue
        if allow.not_action:
            if _not_action_allow_denied(deny, allow):
                return None
            carves.append(_carve(deny))
            continue
        kept = [a for a in remaining if not _action_denied(deny, a)]
        cancelled += [a for a in remaining if a not in kept]
        if not kept:
            return None
        if any(_pattern_touched(deny, a) for a in kept):
            carves.append(_carve(deny))
        remaining = kept
    return Grant(allow, tuple(remaining), tuple(cancelled), tuple(carves), tuple(conditional))


def grants_nothing(statement: Statement) -> bool:
    """``NotAction: "*"`` or ``NotResource: "*"`` leaves nothing to allow."""
    return (statement.not_action and any(is_all_actions(a) for a in statement.actions)) or (
        statement.not_resource and any(is_all_resources(r) for r in statement.resources)
    )


def analyse(document: Any) -> PolicyAnalysis:
    """Every Allow statement's effective grant, the wholly denied ones, and the problems."""
    statements, problems = parse_document(document)
    denies = [s for s in statements if s.effect == "Deny"]
    grants: list[Grant] = []
    cancelled: list[Grant] = []
    for statement in statements:
        if statement.effect != "Allow":
            continue
        grant = None if grants_nothing(statement) else apply_denies(statement, denies)
        if grant is None:
            cancelled.append(Grant(statement, statement.actions))
        else:
            grants.append(grant)
    return PolicyAnalysis(tuple(grants), tuple(cancelled), tuple(problems), len(statements) + len(problems),
                          tuple(statements))


# --- conditions --------------------------------------------------------------------------


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


def grant_evidence(grant: Grant) -> dict[str, Any]:
    """The facts a finding about one grant rests on: the statement, and what changes it."""
    evidence: dict[str, Any] = {
        "statement_ref": grant.ref,
        "statement": dict(grant.statement.raw),
        "form": "NotAction" if grant.not_action else "Action",
        "conditional": grant.conditional,
    }
    if grant.conditional:
        evidence["condition"] = dict(grant.statement.condition)
        evidence["condition_keys"] = condition_keys(grant.statement.condition)
        evidence["condition_scope"] = condition_scope(grant.statement.condition)
    if grant.not_action:
        evidence["all_actions_except"] = list(grant.statement.actions)
    if grant.cancelled_actions:
        evidence["actions_removed_by_deny"] = list(grant.cancelled_actions)
    if grant.carve_outs:
        evidence["partly_denied_by"] = [c.ref for c in grant.carve_outs]
    if grant.conditional_denies:
        evidence["conditional_denies"] = [
            {"statement_ref": c.ref, "condition": dict(c.condition)} for c in grant.conditional_denies
        ]
    return evidence
