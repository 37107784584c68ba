"""IAM policy statements: one policy document read into :class:`Statement` values (pure: no AWS, no boto3).

A statement the analyser cannot read becomes a :class:`Problem` saying exactly what is wrong,
never an exception and never a silent skip (the check reports it as ERROR). The rules, after
the IAM policy language reference:

- A document is a JSON object, or JSON text, URL-encoded or not (IAM's API answers documents
  URL-encoded); its ``Statement`` is one object or a non-empty list of objects.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
- A statement has exactly one of ``Action``/``NotAction`` and exactly one of
  ``Resource``/``NotResource``, each a non-empty string or list of strings; an action is
  ``service:action`` or an every-action wildcard (``*``).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- ``Effect`` is case-sensitive (``Allow``/``Deny``); anything else is a problem.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html
- ``Condition`` maps operators to ``{key: value}`` objects, and is kept as written.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
- A statement is named ``sid/<Sid>`` when its Sid is present and unique in the document, else
  ``statement/<n>`` (1-based): a stable reference for findings.

What the statements grant, once the Deny statements are applied, is :mod:`scanner.analysis.policy`.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from scanner.analysis.iam_patterns import matches_everything


@dataclass(frozen=True)
class Problem:
    """A statement (or document) the analyser could not read; the check reports it as ERROR."""

    ref: str
    message: str
    # The statement's Effect when that much is readable ("Allow"/"Deny"), else None: an
    # unreadable statement that is certainly an Allow cannot remove anything from the others.
    effect: str | None = None


@dataclass(frozen=True)
class Reach:
    """What a statement names: actions (or, ``not_action``, all but them) on resources (or all but them)."""

    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool


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

    @property
    def reach(self) -> Reach:
        return Reach(self.actions, self.not_action, self.resources, self.not_resource)


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
    bad = [a for a in actions if not (matches_everything(a) or ":" in a) or a.startswith(":") or a.endswith(":")]
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
        if isinstance(parsed, Problem):
            effect = raw.get("Effect") if isinstance(raw, Mapping) else None
            problems.append(replace(parsed, effect=effect if effect in ("Allow", "Deny") else None))
        else:
            statements.append(parsed)
    return statements, problems
