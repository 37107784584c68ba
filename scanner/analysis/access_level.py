"""Access level of an IAM action pattern: list, read, write or permissions management.

AWS classifies every action in the Service Authorization Reference ("Actions, resources, and
condition keys for <service>", column "Access level"). govscan does not ship that table (it
changes weekly); it approximates it with the small rule set below, which a reviewer can read
in one screen:

- The operation's leading verb decides list and read: ``List``/``Describe`` are list;
  ``Get``/``BatchGet``/``Head``/``Lookup``/``Search``/``Select``/``Query``/``Scan``/``View``/
  ``Download``/``Simulate`` are read.
- Permissions management is the short, explicit list ``PERMISSIONS_MANAGEMENT`` (writing IAM
  policies and boundaries, resource policies, ACLs, KMS key policies and grants, Organizations
  policies) plus, deliberately beyond the reference, ``iam:PassRole`` and ``sts:AssumeRole*``,
  which lend another principal's permissions.
- Everything else is write: ``Put``/``Create``/``Delete``/``Update``/``Attach``/``Detach``/
  ``Add``/``Remove``/``Set``/``Tag``/``Untag``/``Modify``/``Enable``/``Disable``/``Start``/
  ``Stop``/``Run``/``Invoke``/``Pass``/``Associate``/``Send``/``Publish``/``Reboot``/
  ``Terminate``/``Restore``/``Import``/``Export``/``Copy``... and any verb not recognised as a
  read. Unknown verbs count as write on purpose: over-reporting a read is a reviewable false
  alarm, under-reporting a write is a missed finding.

A pattern with wildcards has every level one of its matches could have (``iam:Put*`` is write
and permissions management; ``s3:Get*`` read; ``*`` all four).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from scanner.analysis.iam_patterns import (
    action_covers,
    action_overlaps,
    has_service_wildcard,
    is_all_actions,
    is_whole_service,
    split_action,
)
from scanner.analysis.policy import Grant


class AccessLevel(enum.StrEnum):
    LIST = "list"
    READ = "read"
    WRITE = "write"
    PERMISSIONS_MANAGEMENT = "permissions-management"


LIST_VERBS = ("list", "describe")
READ_VERBS = (
    "get", "batchget", "head", "lookup", "search", "select", "query", "scan", "view", "download", "simulate",
)
MUTATING = frozenset({AccessLevel.WRITE, AccessLevel.PERMISSIONS_MANAGEMENT})
# Reads whose verb is not a read verb: the Service Authorization Reference lists them under
# access level Read (AWS's own IAMReadOnlyAccess grants them). govscan's scan role needs the first.
READ_ACTIONS = frozenset(
    {
        "iam:generatecredentialreport",
        "iam:generateservicelastaccesseddetails",
        "iam:generateorganizationsaccessreport",
        "access-analyzer:validatepolicy",
    }
)

_IAM_POLICY_VERBS = ("attach", "detach", "put", "delete", "create", "set", "update")
PERMISSIONS_MANAGEMENT: tuple[str, ...] = (
    *(f"iam:{verb}*policy*" for verb in _IAM_POLICY_VERBS),
    "iam:put*permissionsboundary",
    "iam:delete*permissionsboundary",
    "iam:passrole",
    "sts:assumerole*",
    "organizations:attachpolicy",
    "organizations:detachpolicy",
    "organizations:createpolicy",
    "organizations:updatepolicy",
    "organizations:deletepolicy",
    "organizations:enablepolicytype",
    "organizations:disablepolicytype",
    "s3:putbucketpolicy",
    "s3:deletebucketpolicy",
    "s3:putbucketacl",
    "s3:putobjectacl",
    "s3:putaccesspointpolicy",
    "s3:putaccountpublicaccessblock",
    "s3:putbucketpublicaccessblock",
    "kms:putkeypolicy",
    "kms:creategrant",
    "kms:revokegrant",
    "*:put*resourcepolicy",
    "*:delete*resourcepolicy",
    "ecr:setrepositorypolicy",
    "glacier:setvaultaccesspolicy",
    "sns:addpermission",
    "sns:removepermission",
    "sqs:addpermission",
    "sqs:removepermission",
    "lambda:addpermission",
    "lambda:removepermission",
    "sso:*permissionset*",
)


def _literal_prefix(operation: str) -> str:
    for i, char in enumerate(operation):
        if char in "*?":
            return operation[:i]
    return operation


def access_levels(pattern: str) -> frozenset[AccessLevel]:
    """Every access level an action pattern can reach (see the module rules)."""
    _, operation = split_action(pattern)
    if pattern.lower() in READ_ACTIONS:
        return frozenset({AccessLevel.READ})
    levels: set[AccessLevel] = set()
    if any(action_overlaps(pattern, p) for p in PERMISSIONS_MANAGEMENT):
        levels.add(AccessLevel.PERMISSIONS_MANAGEMENT)
    prefix = _literal_prefix(operation)
    for verbs, level in ((LIST_VERBS, AccessLevel.LIST), (READ_VERBS, AccessLevel.READ)):
        if any(prefix.startswith(v) for v in verbs):
            return frozenset({level})  # every match starts with a read verb
        if any(v.startswith(prefix) for v in verbs):
            levels.add(level)
    if not any(action_covers(p, pattern) for p in PERMISSIONS_MANAGEMENT):
        levels.add(AccessLevel.WRITE)
    return frozenset(levels)


def mutating(pattern: str) -> bool:
    """Can the pattern reach a write or permissions-management action?"""
    return bool(access_levels(pattern) & MUTATING)


def broad_reasons(grant: Grant, *, exempt: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Why a grant is broader than least privilege; empty when it is not.

    - ``not_action``: Allow + NotAction grants every action but the listed ones;
    - ``all_actions`` (``*``, ``*:*``), ``spans_services`` (``*:Get*``), ``whole_service`` (``s3:*``),
      on any resource: wildcards in Action the checklist asks to avoid;
    - ``mutating_on_all_resources``: a write or permissions-management action on every resource;
      ``mutating_on_all_service_resources``: on every resource of a service (a Resource whose
      resource part is only wildcards, ``arn:aws:s3:::*``). Any mutating action counts beside such
      a Resource, whatever its service: some actions act on another service's resources
      (``ssm:SendCommand`` on EC2 instances), and a false alarm is reviewable where a miss is not.
      ``exempt`` names exact actions that AWS lets act on ``*`` only (no resource types, e.g.
      ``cloudwatch:PutMetricData``), where ``Resource: *`` is no choice of the author.
    """
    if grant.not_action:
        if not grant.all_actions:
            return []  # NotAction "*": grants nothing
        return [{"action": f"NotAction {', '.join(grant.actions)}", "reason": "not_action",
                 "access_levels": sorted(AccessLevel)}]
    exempt_set = {e.lower() for e in exempt}
    reasons: list[dict[str, Any]] = []
    for pattern in grant.actions:
        levels = access_levels(pattern)
        mutates = bool(levels & MUTATING) and pattern.lower() not in exempt_set
        reason = (
            "all_actions" if is_all_actions(pattern)
            else "spans_services" if has_service_wildcard(pattern)
            else "whole_service" if is_whole_service(pattern)
            else "mutating_on_all_resources" if mutates and grant.all_resources
            else "mutating_on_all_service_resources" if mutates and grant.service_wide_resources
            else None
        )
        if reason:
            reasons.append({"action": pattern, "reason": reason, "access_levels": sorted(levels)})
    return reasons
