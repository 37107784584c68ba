"""IAM policy documents: the effective grant of each Allow statement (pure: no AWS, no boto3).

For one identity-based policy document, :func:`analyse` yields every Allow statement as a
:class:`Grant` after the explicit Deny statements of the same document have been applied,
and reports malformed statements as :class:`Problem` values (never an exception, never a
silent skip; how a document is read and validated is :mod:`scanner.analysis.iam_statements`).
The rules, after the IAM policy language reference:

- ``Action``/``NotAction``/``Resource``/``NotResource``/``Condition`` may be a string or a
  list. Action and resource patterns are compared as IAM compares them (action names
  case-insensitive, resource ARNs case-sensitive, "every action"/"every resource" decided by
  what a pattern matches, not how it is spelt): :mod:`scanner.analysis.iam_patterns`.
- ``Allow`` with ``NotAction`` grants every action of every service except those listed,
  including services that did not exist when the policy was written.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- An explicit Deny always wins. A Deny in the same document removes the part of an Allow it
  covers *only when the Deny is unconditional*: a conditional Deny applies only sometimes, so
  it is reported beside the grant (``conditional_denies``) and removes nothing. Coverage of
  one wildcard pattern by another is decided conservatively: when in doubt a Deny is taken
  not to cover, so the grant is reported rather than hidden.
- A partial unconditional Deny is subtracted when what is left can be written exactly as
  patterns (``narrowed_by``): ``Deny NotAction s3:*`` leaves an ``Allow *`` only ``s3:*``;
  ``Deny * NotResource arn:aws:s3:::x`` leaves it only ``arn:aws:s3:::x``. A partial Deny whose
  remainder cannot be written so (``Allow *`` less ``Deny iam:*``: every action but IAM) is
  kept beside the grant as a carve-out (``carve_outs``) and the grant is judged before it.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- A ``Condition`` never disappears: the grant says it is conditional and carries the block
  (:mod:`scanner.analysis.iam_conditions` names its keys and what they confine). What a check
  makes of it is the check's documented rule.

Not modelled (the verdicts say so where it matters): permissions boundaries, SCPs/RCPs,
session policies and resource-based policies, which can only narrow a grant further.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.analysis.iam_conditions import condition_keys, condition_scope
from scanner.analysis.iam_patterns import (
    action_covers,
    action_overlaps,
    covers,
    is_all_actions,
    is_all_resources,
    is_service_wide_resource,
    overlaps,
)
from scanner.analysis.iam_statements import Problem, Reach, Statement, parse_document

# --- grants ------------------------------------------------------------------------------


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
class Narrowing:
    """An unconditional Deny subtracted exactly: the grant's ``part`` went from ``before`` to ``after``."""

    ref: str
    part: str  # "actions" | "resources"
    before: tuple[str, ...]  # "NotAction" form shown as "NotAction <pattern>"
    after: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    """One Allow statement after the same document's Deny statements."""

    statement: Statement
    reach: Reach  # what is still granted once the subtractable denies are subtracted
    cancelled_actions: tuple[str, ...] = ()  # Action patterns wholly removed by unconditional denies
    carve_outs: tuple[Carve, ...] = ()  # unconditional denies removing part of what remains (not subtracted)
    conditional_denies: tuple[Carve, ...] = ()
    narrowed_by: tuple[Narrowing, ...] = ()  # unconditional denies subtracted exactly

    @property
    def ref(self) -> str:
        return self.statement.ref

    @property
    def actions(self) -> tuple[str, ...]:
        """Action patterns still granted (NotAction form: the exclusions)."""
        return self.reach.actions

    @property
    def not_action(self) -> bool:
        return self.reach.not_action

    @property
    def resources(self) -> tuple[str, ...]:
        """Resource patterns still granted (NotResource form: the exclusions)."""
        return self.reach.resources

    @property
    def not_resource(self) -> bool:
        return self.reach.not_resource

    @property
    def conditional(self) -> bool:
        return self.statement.conditional

    @property
    def all_actions(self) -> bool:
        """Every action (``*``/``*:*``), or every action but some (Allow + NotAction)."""
        if self.not_action:  # "NotAction": "*" grants nothing at all
            return not any(is_all_actions(a) for a in self.actions)
        return any(is_all_actions(a) for a in self.actions)

    @property
    def all_resources(self) -> bool:
        """Every resource: ``Resource: *`` (or an every-ARN pattern), or Allow + ``NotResource``."""
        if self.not_resource:
            return not any(is_all_resources(r) for r in self.resources)
        return any(is_all_resources(r) for r in self.resources)

    @property
    def service_wide_resources(self) -> tuple[str, ...]:
        """Resource patterns reaching every resource of a service (``arn:aws:s3:::*``), unless the
        grant already reaches every resource."""
        if self.all_resources or self.not_resource:
            return ()
        return tuple(r for r in self.resources if is_service_wide_resource(r))


@dataclass(frozen=True)
class PolicyAnalysis:
    grants: tuple[Grant, ...] = ()
    # Allow statements that grant nothing: wholly removed by an unconditional Deny of the same
    # document, or "NotAction"/"NotResource" "*".
    cancelled: tuple[Grant, ...] = ()
    problems: tuple[Problem, ...] = ()
    statement_count: int = 0
    statements: tuple[Statement, ...] = field(default=(), repr=False)


# --- Deny against Allow ------------------------------------------------------------------


def _resources_covered(deny: Reach, allow: Reach) -> bool:
    """Does the Deny reach every resource the Allow reaches?"""
    if not deny.not_resource and not allow.not_resource:
        return all(any(covers(d, a) for d in deny.resources) for a in allow.resources)
    if not deny.not_resource:  # Allow is "all but X": only a Deny on everything covers it
        return any(is_all_resources(d) for d in deny.resources)
    if not allow.not_resource:  # Deny is "all but Y": covers resources that cannot be in Y
        return all(not any(overlaps(y, a) for y in deny.resources) for a in allow.resources)
    return all(any(covers(x, y) for x in allow.resources) for y in deny.resources)


def _resources_overlap(deny: Reach, allow: Reach) -> bool:
    if deny.not_resource or allow.not_resource:
        return True  # "all but ..." on either side: assume they meet
    return any(overlaps(d, a) for d in deny.resources for a in allow.resources)


def _action_denied(deny: Reach, pattern: str) -> bool:
    if deny.not_action:
        return not any(action_overlaps(n, pattern) for n in deny.actions)
    return any(action_covers(d, pattern) for d in deny.actions)


def _pattern_touched(deny: Reach, pattern: str) -> bool:
    if deny.not_action:
        return not any(action_covers(m, pattern) for m in deny.actions)
    return any(action_overlaps(d, pattern) for d in deny.actions)


def _actions_overlap(deny: Reach, allow: Reach) -> bool:
    if deny.not_action or allow.not_action:
        if deny.not_action and allow.not_action:
            return True
        listed = allow.actions if deny.not_action else deny.actions
        exclusions = deny.actions if deny.not_action else allow.actions
        return any(not any(action_covers(x, p) for x in exclusions) for p in listed)
    return any(action_overlaps(d, a) for d in deny.actions for a in allow.actions)


def _not_action_allow_denied(deny: Reach, allow: Reach) -> bool:
    """Allow = every action but N. Removed entirely by a Deny on everything, or a Deny of every
    action but M where M lies inside N."""
    if deny.not_action:
        return all(any(action_covers(n, m) for n in allow.actions) for m in deny.actions)
    return any(is_all_actions(d) for d in deny.actions)


def _actions_covered(deny: Reach, allow: Reach) -> bool:
    """Does the Deny reach every action the Allow grants?"""
    if allow.not_action:
        return _not_action_allow_denied(deny, allow)
    return all(_action_denied(deny, a) for a in allow.actions)


def _intersection(
    pattern: str, within: tuple[str, ...], cover: Callable[[str, str], bool], meet: Callable[[str, str], bool]
) -> list[str] | None:
    """``pattern`` ∩ (union of ``within``) as patterns, when that is exact: ``pattern`` lies inside
    one of ``within``, or every one of ``within`` it meets lies inside it. ``None`` otherwise."""
    if any(cover(w, pattern) for w in within):
        return [pattern]
    meeting = [w for w in within if meet(w, pattern)]
    if all(cover(pattern, w) for w in meeting):
        return meeting
    return None


def _resources_left(deny: Reach, allow: Reach) -> tuple[str, ...] | None:
    """A Deny of every resource but Y on a Resource-form Allow of X leaves X ∩ Y (when exact)."""
    if not deny.not_resource or allow.not_resource:
        return None
    left: list[str] = []
    for pattern in allow.resources:
        part = _intersection(pattern, deny.resources, covers, overlaps)
        if part is None:
            return None
        left += part
    return tuple(dict.fromkeys(left))


def _not_action_left(deny: Reach, allow: Reach) -> tuple[str, ...] | None:
    """Allow every action but N, Deny every action but M: M less N is left (when exact)."""
    if not deny.not_action:
        return None
    left = []
    for kept in deny.actions:
        if any(action_covers(n, kept) for n in allow.actions):
            continue
        if any(action_overlaps(n, kept) for n in allow.actions):
            return None
        left.append(kept)
    return tuple(dict.fromkeys(left)) or None


def _carve(deny: Statement) -> Carve:
    return Carve(deny.ref, deny.actions, deny.not_action, deny.resources, deny.not_resource, deny.condition)


@dataclass
class _Subtraction:
    reach: Reach
    cancelled: list[str] = field(default_factory=list)
    carves: list[Carve] = field(default_factory=list)
    conditional: list[Carve] = field(default_factory=list)
    narrowed: list[Narrowing] = field(default_factory=list)

    def narrow(self, deny: Statement, part: str, after: tuple[str, ...]) -> None:
        before = self.reach.actions if part == "actions" else self.reach.resources
        if part == "actions" and self.reach.not_action:
            before = tuple(f"NotAction {a}" for a in before)
        self.narrowed.append(Narrowing(deny.ref, part, before, after))
        if part == "actions":
            self.reach = replace(self.reach, actions=after, not_action=False)
        else:
            self.reach = replace(self.reach, resources=after)


def _subtract(deny: Statement, state: _Subtraction) -> bool:
    """Apply one overlapping unconditional Deny; False when nothing of the grant is left."""
    reach, denied = state.reach, deny.reach
    if not _resources_covered(denied, reach):
        left = _resources_left(denied, reach) if _actions_covered(denied, reach) else None
        if left is None:
            state.carves.append(_carve(deny))
        elif not left:
            return False
        elif left != reach.resources:
            state.narrow(deny, "resources", left)
        return True
    if reach.not_action:
        if _not_action_allow_denied(denied, reach):
            return False
        left = _not_action_left(denied, reach)
        if left is None:
            state.carves.append(_carve(deny))
        else:
            state.narrow(deny, "actions", left)
        return True
    kept: list[str] = []
    touched = narrowed = False
    for pattern in reach.actions:
        if _action_denied(denied, pattern):
            state.cancelled.append(pattern)
        elif not _pattern_touched(denied, pattern):
            kept.append(pattern)
        elif denied.not_action and (part := _intersection(pattern, denied.actions, action_covers,
                                                           action_overlaps)) is not None:
            kept += part
            narrowed = True
        else:
            kept.append(pattern)
            touched = True
    if not kept:
        return False
    if touched:
        state.carves.append(_carve(deny))
    if narrowed:
        state.narrow(deny, "actions", tuple(dict.fromkeys(kept)))
    else:
        state.reach = replace(reach, actions=tuple(kept))
    return True


def apply_denies(allow: Statement, denies: Iterable[Statement]) -> Grant | None:
    """The grant an Allow leaves after the Deny statements, or ``None`` when nothing is left."""
    state = _Subtraction(allow.reach)
    for deny in denies:
        if not (_resources_overlap(deny.reach, state.reach) and _actions_overlap(deny.reach, state.reach)):
            continue
        if deny.conditional:
            state.conditional.append(_carve(deny))
        elif not _subtract(deny, state):
            return None
    return Grant(allow, state.reach, tuple(state.cancelled), tuple(state.carves), tuple(state.conditional),
                 tuple(state.narrowed))


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
            cancelled.append(Grant(statement, statement.reach))
        else:
            grants.append(grant)
    return PolicyAnalysis(tuple(grants), tuple(cancelled), tuple(problems), len(statements) + len(problems),
                          tuple(statements))


# --- evidence ------------------------------------------------------------------------------


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
        evidence["all_actions_except"] = list(grant.actions)
    if grant.narrowed_by:
        evidence["narrowed_by_deny"] = [
            {"statement_ref": n.ref, "part": n.part, "before": list(n.before), "after": list(n.after)}
            for n in grant.narrowed_by
        ]
        evidence["actions_left"] = (
            [f"NotAction {a}" for a in grant.actions] if grant.not_action else list(grant.actions)
        )
        evidence["resources_left"] = (
            [f"NotResource {r}" for r in grant.resources] if grant.not_resource else list(grant.resources)
        )
    if grant.cancelled_actions:
        evidence["actions_removed_by_deny"] = list(grant.cancelled_actions)
    if grant.carve_outs:
        evidence["partly_denied_by"] = [c.ref for c in grant.carve_outs]
    if grant.conditional_denies:
        evidence["conditional_denies"] = [
            {"statement_ref": c.ref, "condition": dict(c.condition)} for c in grant.conditional_denies
        ]
    return evidence
