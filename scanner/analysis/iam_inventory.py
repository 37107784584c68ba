"""An account's IAM principals and policies from one ``GetAccountAuthorizationDetails`` answer.

Pure functions over the (merged, all pages) response: which policies exist, their default
document, and which principals each reaches (attached directly, or through a group to its
users). https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html

``PolicyName`` is read as AWS always sends it (a member of ``ManagedPolicyDetail``); an answer
without it is a defect (the check then crashes into an ERROR), never guessed from the ARN.
moto 5.2.5 omitted it; ``fixtures/moto_ext/iam_ext.py`` fills that gap.

Resource ids: a managed policy is its ARN. An inline policy has no ARN; it is named
``<principal ARN>#inline-policy/<name>`` (inline policy names cannot contain ``/`` or ``#``),
stable across scans as the history key requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMINISTRATOR_ACCESS = "AdministratorAccess"


@dataclass(frozen=True)
class PolicySource:
    id: str  # resource id for findings (see module docstring)
    name: str
    kind: str  # "customer_managed" | "aws_managed" | "inline"
    document: Any  # None when the answer carried no default version
    arn: str | None = None  # managed policies
    owner: str | None = None  # inline policies: the user, group or role ARN
    version: str | None = None
    attached_to: tuple[str, ...] = ()  # principal ARNs (an inline policy: its owner)
    reaches: tuple[str, ...] = ()  # attached_to plus users reached through groups
    boundary_uses: int = 0

    @property
    def attached(self) -> bool:
        return bool(self.attached_to)

    @property
    def boundary_only(self) -> bool:
        """A managed policy attached to no one but used as a permissions boundary: it limits what
        its principals may do and grants nothing by itself.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
        return self.arn is not None and not self.attached and self.boundary_uses > 0

    def describe(self) -> dict[str, Any]:
        """The policy part of a finding's evidence."""
        described: dict[str, Any] = {"policy_name": self.name, "policy_kind": self.kind}
        if self.arn:
            described |= {"policy_arn": self.arn, "default_version": self.version, "attached": self.attached}
        if self.owner:
            described["owner"] = self.owner
        described["attached_to"] = list(self.attached_to)
        described["principals_reached"] = list(self.reaches)
        if self.boundary_uses:
            described["used_as_permissions_boundary"] = self.boundary_uses
        return described


def is_aws_managed(arn: str) -> bool:
    return ":iam::aws:policy/" in arn


def statement_id(policy_id: str, ref: str) -> str:
    """Resource id of one statement: ``<policy id>#statement/3`` or ``...#inline-policy/x/sid/AllowS3``."""
    return f"{policy_id}/{ref}" if "#" in policy_id else f"{policy_id}#{ref}"


def _group_members(details: Mapping[str, Any]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for user in details.get("UserDetailList", []):
        for group in user.get("GroupList", []):
            members.setdefault(group, []).append(user["Arn"])
    return members


def _principals(details: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any], str]]:
    """(kind, detail, inline-policy list key) for every user, group and role."""
    found: list[tuple[str, Mapping[str, Any], str]] = []
    for kind, list_key, inline_key in (
        ("user", "UserDetailList", "UserPolicyList"),
        ("group", "GroupDetailList", "GroupPolicyList"),
        ("role", "RoleDetailList", "RolePolicyList"),
    ):
        found += [(kind, detail, inline_key) for detail in details.get(list_key, [])]
    return found


def _reach(kind: str, detail: Mapping[str, Any], members: Mapping[str, list[str]]) -> list[str]:
    reached = [detail["Arn"]]
    if kind == "group":
        reached += members.get(detail["GroupName"], [])
    return reached


def policy_sources(details: Mapping[str, Any]) -> list[PolicySource]:
    """Every managed policy listed and every inline policy of every principal, sorted by id."""
    members = _group_members(details)
    attached: dict[str, list[str]] = {}
    reaches: dict[str, list[str]] = {}
    sources: list[PolicySource] = []
    for kind, detail, inline_key in _principals(details):
        reach = _reach(kind, detail, members)
        for policy in detail.get("AttachedManagedPolicies", []):
            attached.setdefault(policy["PolicyArn"], []).append(detail["Arn"])
            reaches.setdefault(policy["PolicyArn"], []).extend(reach)
        for inline in detail.get(inline_key, []):
            sources.append(
                PolicySource(
                    id=f"{detail['Arn']}#inline-policy/{inline['PolicyName']}",
                    name=inline["PolicyName"],
                    kind="inline",
                    document=inline.get("PolicyDocument"),
                    owner=detail["Arn"],
                    attached_to=(detail["Arn"],),
                    reaches=tuple(dict.fromkeys(reach)),
                )
            )
    for policy in details.get("Policies", []):
        arn = policy["Arn"]
        default = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        sources.append(
            PolicySource(
                id=arn,
                name=policy["PolicyName"],  # always in AWS's ManagedPolicyDetail (see module docstring)
                kind="aws_managed" if is_aws_managed(arn) else "customer_managed",
                document=(default or {}).get("Document"),
                arn=arn,
                version=(default or {}).get("VersionId") or policy.get("DefaultVersionId"),
                attached_to=tuple(attached.get(arn, [])),
                reaches=tuple(dict.fromkeys(reaches.get(arn, []))),
                boundary_uses=int(policy.get("PermissionsBoundaryUsageCount") or 0),
            )
        )
    return sorted(sources, key=lambda s: s.id)


def administrator_access_holders(details: Mapping[str, Any]) -> dict[str, list[str]]:
    """Principals with the AWS managed ``AdministratorAccess`` policy, directly or via a group."""
    members = _group_members(details)
    holders: dict[str, list[str]] = {"users": [], "groups": [], "roles": [], "users_through_groups": []}
    for kind, detail, _ in _principals(details):
        arns = [p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", [])]
        if not any(is_aws_managed(a) and a.endswith(f"/{ADMINISTRATOR_ACCESS}") for a in arns):
            continue
        holders[f"{kind}s"].append(detail["Arn"])
        if kind == "group":
            holders["users_through_groups"] += members.get(detail["GroupName"], [])
    return {k: sorted(set(v)) for k, v in holders.items()}
