"""The policy analyser, table-driven: each document and what a security engineer expects of it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from scanner.analysis.access_level import AccessLevel, access_levels, broad_reasons
from scanner.analysis.iam_inventory import administrator_access_holders, policy_sources, statement_id
from scanner.analysis.iam_patterns import (
    action_covers,
    action_overlaps,
    covers,
    is_all_actions,
    is_all_resources,
    is_service_wide_resource,
    is_whole_service,
    overlaps,
)
from scanner.analysis.policy import analyse, grant_evidence


def doc(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def nact(not_action: Any, resource: Any = "*", effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "NotAction": not_action, "Resource": resource}


SOURCE_IP = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
NO_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}

# (id, document, expected) — expected keys:
#   admin: refs granting every action on every resource; broad: refs reaching a whole service,
#   spanning services or mutating on all resources; cancelled: refs wholly denied;
#   conditional: refs whose grant carries a condition; actions: {ref: remaining patterns};
#   resources: {ref: remaining resource patterns}; reasons: {ref: broad_reasons' reasons};
#   carved / narrowed / conditional_denies: {ref: refs of the Deny statements};
#   problems: substrings of the problems' messages (by ref).
CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("star-star", doc(allow()), {"admin": ["statement/1"], "broad": ["statement/1"]}),
    ("single statement object", {"Statement": allow()}, {"admin": ["statement/1"]}),
    ("star-colon-star", doc(allow("*:*")), {"admin": ["statement/1"], "broad": ["statement/1"]}),
    ("double star", doc(allow("**")), {"admin": ["statement/1"]}),
    ("list with star", doc(allow(["s3:GetObject", "*"])), {"admin": ["statement/1"]}),
    ("resource arn star", doc(allow("*", "arn:*")), {"admin": ["statement/1"]}),
    ("resource every aws arn", doc(allow("*", "arn:aws:*:*:*:*")), {"admin": ["statement/1"]}),
    ("star on one bucket", doc(allow("*", "arn:aws:s3:::logs")), {"admin": [], "broad": ["statement/1"]}),
    ("s3 star on star", doc(allow("s3:*")), {"admin": [], "broad": ["statement/1"]}),
    ("iam star on star", doc(allow("iam:*")), {"admin": [], "broad": ["statement/1"]}),
    ("mixed case service wildcard", doc(allow("S3:*")), {"admin": [], "broad": ["statement/1"]}),
    ("s3 star on a bucket is still a whole service", doc(allow("s3:*", "arn:aws:s3:::b/*")),
     {"admin": [], "broad": ["statement/1"]}),
    ("iam Put* on star", doc(allow("iam:Put*")), {"broad": ["statement/1"]}),
    ("any-service Get*", doc(allow("*:Get*")), {"admin": [], "broad": ["statement/1"]}),
    ("narrow read", doc(allow("s3:GetObject", "arn:aws:s3:::b/*")), {"admin": [], "broad": []}),
    ("read wildcard on star is fine", doc(allow("ec2:Describe*")), {"admin": [], "broad": []}),
    ("list of reads on star", doc(allow(["s3:ListAllMyBuckets", "s3:GetBucketLocation"])), {"broad": []}),
    ("write on star", doc(allow("ec2:RunInstances")), {"broad": ["statement/1"]}),
    ("write on one arn", doc(allow("ec2:TerminateInstances", "arn:aws:ec2:eu-west-1:1:instance/i-1")),
     {"broad": []}),
    ("mixed-case action names", doc(allow("S3:getobject", "arn:aws:s3:::b/*")),
     {"broad": [], "actions": {"statement/1": ["S3:getobject"]}}),
    ("permissions management on star", doc(allow("iam:PutUserPolicy")), {"broad": ["statement/1"]}),
    ("pass role on star", doc(allow("iam:PassRole")), {"broad": ["statement/1"]}),
    ("NotAction allow on star", doc(nact("iam:*", "*")),
     {"admin": ["statement/1"], "broad": ["statement/1"]}),
    ("NotAction with list", doc(nact(["iam:*", "organizations:*"], "*")),
     {"admin": ["statement/1"]}),
    ("NotAction star grants nothing", doc(nact("*", "*")),
     {"admin": [], "broad": [], "cancelled": ["statement/1"]}),
    ("NotResource star grants nothing", doc({"Effect": "Allow", "Action": "*", "NotResource": "*"}),
     {"admin": [], "broad": [], "cancelled": ["statement/1"]}),
    ("NotAction on one bucket is not admin",
     doc(nact("s3:DeleteBucket", "arn:aws:s3:::b")),
     {"admin": [], "broad": ["statement/1"]}),
    ("NotResource allow", doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::secret"}),
     {"admin": ["statement/1"]}),
    ("deny cancels allow", doc(allow(), deny()), {"admin": [], "cancelled": ["statement/1"]}),
    ("deny star-colon-star cancels", doc(allow("s3:*"), deny("*:*")), {"cancelled": ["statement/1"]}),
    ("deny service cancels sub-pattern", doc(allow("s3:Get*", "arn:aws:s3:::b/*"), deny("s3:*")),
     {"cancelled": ["statement/1"]}),
    ("partial deny removes one pattern", doc(allow(["s3:*", "iam:*"]), deny("IAM:*")),
     {"actions": {"statement/1": ["s3:*"]}, "broad": ["statement/1"]}),
    ("deny on narrower resource does not cancel", doc(allow("s3:*"), deny("s3:*", "arn:aws:s3:::b")),
     {"cancelled": [], "broad": ["statement/1"], "carved": {"statement/1": ["statement/2"]}}),
    ("deny narrower action does not cancel admin", doc(allow(), deny("iam:*")),
     {"admin": ["statement/1"], "carved": {"statement/1": ["statement/2"]}}),
    ("conditional deny does not cancel", doc(allow(), deny("*", "*", Condition=NO_MFA)),
     {"admin": ["statement/1"], "conditional_denies": {"statement/1": ["statement/2"]}}),
    ("deny NotAction covering everything else",
     doc(allow("s3:*"), nact("ec2:*", "*", effect="Deny")),
     {"cancelled": ["statement/1"]}),
    ("deny NotAction leaving the grant", doc(allow("s3:*"), nact("s3:*", "*", effect="Deny")),
     {"cancelled": [], "actions": {"statement/1": ["s3:*"]}}),
    ("deny question mark does not cover star", doc(allow("s3:Get*"), deny("s3:Get?")),
     {"cancelled": [], "carved": {"statement/1": ["statement/2"]}}),
    ("NotAction allow cancelled by deny all", doc(nact("iam:*", "*"), deny()),
     {"cancelled": ["statement/1"]}),
    ("NotAction allow cancelled by deny NotAction subset",
     doc(nact(["iam:*", "s3:*"], "*"),
         nact("iam:*", "*", effect="Deny")),
     {"cancelled": ["statement/1"]}),
    ("allow NotResource not cancelled by narrow deny",
     doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::x"},
         deny("s3:*", "arn:aws:s3:::y")),
     {"cancelled": [], "broad": ["statement/1"]}),
    ("source ip condition is reported conditional", doc(allow("*", "*", Condition=SOURCE_IP)),
     {"admin": ["statement/1"], "conditional": ["statement/1"]}),
    ("principal org id condition is reported conditional", doc(allow("*", "*", Condition=ORG)),
     {"admin": ["statement/1"], "conditional": ["statement/1"]}),
    ("sid names the statement", doc(allow("s3:*", Sid="S3All")), {"broad": ["sid/S3All"]}),
    ("duplicate sids fall back to position", doc(allow("s3:*", Sid="A"), allow("ec2:*", Sid="A")),
     {"broad": ["statement/1", "statement/2"]}),
    ("json text", json.dumps(doc(allow())), {"admin": ["statement/1"]}),
    ("url-encoded json text", urllib.parse.quote(json.dumps(doc(allow()))), {"admin": ["statement/1"]}),
    # "Everything" by what a pattern matches, not by spelling (audit ACCT-002 #1).
    ("star colon question-star is every action", doc(allow("*:?*")),
     {"admin": ["statement/1"], "reasons": {"statement/1": ["all_actions"]}}),
    ("question-star alone is every action", doc(allow("?*")),
     {"admin": ["statement/1"], "reasons": {"statement/1": ["all_actions"]}}),
    ("star-question service part too", doc(allow("*?:*")), {"admin": ["statement/1"]}),
    ("s3 question-star is the whole service", doc(allow("s3:?*", "arn:aws:s3:::b/*")),
     {"admin": [], "reasons": {"statement/1": ["whole_service"]}}),
    ("iam question-star is the whole service", doc(allow("iam:?*", "arn:aws:iam::1:role/x")),
     {"reasons": {"statement/1": ["whole_service"]}}),
    ("resource question-star is every resource", doc(allow("*", "?*")), {"admin": ["statement/1"]}),
    ("deny s3 question-star cancels allow s3 star", doc(allow("s3:*"), deny("s3:?*")),
     {"cancelled": ["statement/1"]}),
    # Resources are case-sensitive, actions are not (audit #3).
    ("deny on PROD leaves prod", doc(allow("s3:*", "arn:aws:s3:::prod/*"), deny("s3:*", "arn:aws:s3:::PROD/*")),
     {"cancelled": [], "carved": {"statement/1": []}, "resources": {"statement/1": ["arn:aws:s3:::prod/*"]}}),
    ("deny on prod cancels prod", doc(allow("s3:*", "arn:aws:s3:::prod/*"), deny("s3:*", "arn:aws:s3:::prod/*")),
     {"cancelled": ["statement/1"]}),
    ("action case still ignored by deny", doc(allow("S3:GetObject", "arn:aws:s3:::b/k"),
                                             deny("s3:getobject", "arn:aws:s3:::b/k")),
     {"cancelled": ["statement/1"]}),
    # Partial denies subtracted where the remainder is exact (audit #4).
    ("deny NotAction s3 leaves an allow-all only s3", doc(allow(), nact("s3:*", "*", effect="Deny")),
     {"admin": [], "actions": {"statement/1": ["s3:*"]}, "narrowed": {"statement/1": ["statement/2"]},
      "carved": {"statement/1": []}, "reasons": {"statement/1": ["whole_service"]}}),
    ("deny all but one resource leaves an allow-all that resource",
     doc(allow(), {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::x"}),
     {"admin": [], "resources": {"statement/1": ["arn:aws:s3:::x"]}, "narrowed": {"statement/1": ["statement/2"]},
      "reasons": {"statement/1": ["all_actions"]}}),
    ("deny NotAction then deny one of what is left",
     doc(allow(), nact(["s3:*", "ec2:*"], "*", effect="Deny"), deny("ec2:*")),
     {"admin": [], "actions": {"statement/1": ["s3:*"]}, "narrowed": {"statement/1": ["statement/2"]}}),
    ("NotAction allow less deny NotAction", doc(nact("iam:*"), nact(["s3:*", "iam:*"], "*", effect="Deny")),
     {"admin": [], "actions": {"statement/1": ["s3:*"]}, "reasons": {"statement/1": ["whole_service"]}}),
    ("deny NotAction meeting the grant partly stays a carve-out",
     doc(allow("s3:Get*"), nact("s3:*Object", "*", effect="Deny")),
     {"actions": {"statement/1": ["s3:Get*"]}, "carved": {"statement/1": ["statement/2"]},
      "narrowed": {"statement/1": []}}),
    ("deny NotResource on some actions only stays a carve-out",
     doc(allow(["s3:*", "ec2:*"]), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::x"}),
     {"resources": {"statement/1": ["*"]}, "carved": {"statement/1": ["statement/2"]}}),
    ("deny all but the granted resource touches nothing",
     doc(allow("s3:*", "arn:aws:s3:::x/*"), {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::x/*"}),
     {"resources": {"statement/1": ["arn:aws:s3:::x/*"]}, "carved": {"statement/1": []},
      "narrowed": {"statement/1": []}}),
    ("deny all but iam on an allow-all but iam grants nothing",
     doc(nact("iam:*"), nact("iam:*", "*", effect="Deny")), {"cancelled": ["statement/1"]}),
    # Every resource of a service (audit #5).
    ("write on every s3 resource", doc(allow("s3:DeleteBucket", "arn:aws:s3:::*")),
     {"admin": [], "reasons": {"statement/1": ["mutating_on_all_service_resources"]}}),
    ("iam Create on every iam resource of the account", doc(allow("iam:Create*", "arn:aws:iam::123456789012:*")),
     {"reasons": {"statement/1": ["mutating_on_all_service_resources"]}}),
    ("write on every iam resource of every partition", doc(allow("iam:CreateUser", "arn:*:iam::*:*")),
     {"reasons": {"statement/1": ["mutating_on_all_service_resources"]}}),
    ("read on every s3 resource is fine", doc(allow("s3:GetObject", "arn:aws:s3:::*")), {"broad": []}),
    ("write on one bucket's objects is fine", doc(allow("s3:PutObject", "arn:aws:s3:::b/*")), {"broad": []}),
    ("write on every role is not service-wide", doc(allow("iam:UpdateRole", "arn:aws:iam::1:role/*")),
     {"broad": []}),
    ("empty statement", doc({}), {"problems": {"statement/1": "statement is empty"}}),
    ("empty statement list", doc(), {"problems": {"document": "empty list"}}),
    ("no Statement", {"Version": "2012-10-17"}, {"problems": {"document": "no Statement"}}),
    ("not json", "{not json", {"problems": {"document": "not JSON"}}),
    ("statement not an object", doc("Allow everything"), {"problems": {"statement/1": "not an object"}}),
    ("lower-case effect", doc({"Effect": "allow", "Action": "*", "Resource": "*"}),
     {"problems": {"statement/1": "Effect must be exactly"}}),
    ("both Action and NotAction", doc({**allow(), "NotAction": "s3:*"}),
     {"problems": {"statement/1": "both of Action and NotAction"}}),
    ("no Resource", doc({"Effect": "Allow", "Action": "s3:*"}),
     {"problems": {"statement/1": "neither of Resource and NotResource"}}),
    ("empty action list", doc(allow([])), {"problems": {"statement/1": "Action is empty"}}),
    ("non-string action", doc(allow(["s3:*", 7])),
     {"problems": {"statement/1": "string or a list of strings"}}),
    ("action without service", doc(allow("GetObject")),
     {"problems": {"statement/1": "not 'service:action'"}}),
    ("bad condition", doc(allow("*", "*", Condition="yes")), {"problems": {"statement/1": "Condition must"}}),
    ("one bad statement does not hide the others", doc({}, allow("s3:*")),
     {"problems": {"statement/1": "empty"}, "broad": ["statement/2"]}),
]


def broad(grant: Any) -> bool:
    return bool(broad_reasons(grant))


@pytest.mark.parametrize(("document", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy_table(document: Any, expected: dict[str, Any]) -> None:
    result = analyse(document)
    grants = {g.ref: g for g in result.grants}
    if "admin" in expected:
        assert [r for r, g in grants.items() if g.all_actions and g.all_resources] == expected["admin"]
    if "broad" in expected:
        assert [r for r, g in grants.items() if broad(g)] == expected["broad"]
    if "cancelled" in expected:
        assert [g.ref for g in result.cancelled] == expected["cancelled"]
    if "conditional" in expected:
        assert [r for r, g in grants.items() if g.conditional] == expected["conditional"]
    for ref, actions in expected.get("actions", {}).items():
        assert list(grants[ref].actions) == actions
    for ref, resources in expected.get("resources", {}).items():
        assert list(grants[ref].resources) == resources
    for ref, reasons in expected.get("reasons", {}).items():
        assert [r["reason"] for r in broad_reasons(grants[ref])] == reasons
    for ref, denies in expected.get("carved", {}).items():
        assert [c.ref for c in grants[ref].carve_outs] == denies
    for ref, denies in expected.get("narrowed", {}).items():
        assert [n.ref for n in grants[ref].narrowed_by] == denies
    for ref, denies in expected.get("conditional_denies", {}).items():
        assert [c.ref for c in grants[ref].conditional_denies] == denies
    problems = expected.get("problems", {})
    assert {p.ref for p in result.problems} == set(problems)
    for problem in result.problems:
        assert problems[problem.ref] in problem.message


def test_table_has_at_least_forty_documents() -> None:
    assert len(CASES) >= 40


def test_conditional_grant_carries_condition_and_scope() -> None:
    grant = analyse(doc(allow("*", "*", Condition={**SOURCE_IP, **ORG}))).grants[0]
    evidence = grant_evidence(grant)
    assert evidence["conditional"] is True
    assert evidence["condition"] == {**SOURCE_IP, **ORG}
    assert evidence["condition_keys"] == ["aws:PrincipalOrgID", "aws:SourceIp"]
    assert evidence["condition_scope"] == ["network", "organisation"]


def test_not_action_evidence_lists_exclusions() -> None:
    grant = analyse(doc(nact(["iam:*", "organizations:*"], "*"))).grants[0]
    evidence = grant_evidence(grant)
    assert evidence["form"] == "NotAction"
    assert evidence["all_actions_except"] == ["iam:*", "organizations:*"]


def test_unconditional_grant_says_so() -> None:
    evidence = grant_evidence(analyse(doc(allow("s3:*"))).grants[0])
    assert evidence["conditional"] is False and "condition" not in evidence


@pytest.mark.parametrize(
    ("general", "specific", "expected"),
    [("s3:*", "s3:get*", True), ("s3:get*", "s3:*", False), ("*", "anything", True),
     ("s3:get?", "s3:get*", False), ("?*", "*", True), ("*?", "arn:aws:s3:::b", True),
     ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*", True),
     ("arn:aws:s3:::prod/*", "arn:aws:s3:::PROD/x", False)],  # resources: case-sensitive
)
def test_covers(general: str, specific: str, expected: bool) -> None:
    assert covers(general, specific) is expected


def test_actions_compare_case_insensitively() -> None:
    assert action_covers("S3:GET*", "s3:getobject") and action_overlaps("S3:Get*", "s3:*OBJECT")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [("s3:get*", "*object", True), ("s3:get*", "s3:put*", False), ("a*c", "ab*", True),
     ("a?c", "abd", False), ("arn:aws:s3:::prod/*", "arn:aws:s3:::PROD/*", False)],
)
def test_overlaps(first: str, second: str, expected: bool) -> None:
    assert overlaps(first, second) is expected


def test_all_actions_and_resources_patterns() -> None:
    assert all(is_all_actions(p) for p in ("*", "*:*", "**", "*:**", "*:?*", "?*", "*?:*?"))
    assert not any(is_all_actions(p) for p in ("s3:*", "*:Get*", "*:*Get", "*:??*", "?:*"))
    assert all(is_whole_service(p) for p in ("s3:*", "s3:?*", "S3:*?", "iam:**"))
    assert not any(is_whole_service(p) for p in ("s3:??*", "s3:Get*", "s3:?"))
    assert all(is_all_resources(p) for p in ("*", "?*", "arn:*", "arn:aws:*:*:*:*", "arn:aws-cn:*"))
    assert not any(is_all_resources(p) for p in ("arn:aws:s3:::*", "arn:aws:iam::1:*"))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("arn:aws:s3:::*", True), ("arn:aws:iam::123456789012:*", True), ("arn:*:iam::*:*", True),
     ("arn:aws:ec2:*:*:*", True), ("arn:aws:ec2:*", True), ("arn:aws:s3:::?*", True),
     ("arn:aws:s3:::b/*", False), ("arn:aws:iam::1:role/*", False), ("arn:aws:s3:::??*", False),
     ("*", False), ("arn:aws:s3*", False)],
)
def test_service_wide_resources(pattern: str, expected: bool) -> None:
    assert is_service_wide_resource(pattern) is expected


def test_narrowing_evidence_says_what_was_subtracted() -> None:
    evidence = grant_evidence(analyse(doc(allow(), nact("s3:*", "*", effect="Deny"))).grants[0])
    assert evidence["narrowed_by_deny"] == [
        {"statement_ref": "statement/2", "part": "actions", "before": ["*"], "after": ["s3:*"]}]
    assert evidence["actions_left"] == ["s3:*"] and evidence["resources_left"] == ["*"]
    evidence = grant_evidence(analyse(doc(allow(), {"Effect": "Deny", "Action": "*",
                                                    "NotResource": "arn:aws:s3:::x"})).grants[0])
    assert evidence["narrowed_by_deny"][0]["part"] == "resources"
    assert evidence["resources_left"] == ["arn:aws:s3:::x"] and evidence["actions_left"] == ["*"]


def test_problems_say_whether_the_statement_is_an_allow() -> None:
    result = analyse(doc({"Effect": "Allow", "Action": "s3:*"}, {"Effect": "Deny", "Action": "*"},
                         {"Action": "*", "Resource": "*"}, "text"))
    assert [(p.ref, p.effect) for p in result.problems] == [
        ("statement/1", "Allow"), ("statement/2", "Deny"), ("statement/3", None), ("statement/4", None)]


@pytest.mark.parametrize(
    ("pattern", "levels"),
    [
        ("s3:GetObject", {AccessLevel.READ}),
        ("s3:Get*", {AccessLevel.READ}),
        ("ec2:Describe*", {AccessLevel.LIST}),
        ("ec2:RunInstances", {AccessLevel.WRITE}),
        ("iam:PutUserPolicy", {AccessLevel.PERMISSIONS_MANAGEMENT}),
        ("iam:Put*", {AccessLevel.WRITE, AccessLevel.PERMISSIONS_MANAGEMENT}),
        ("sts:AssumeRole", {AccessLevel.PERMISSIONS_MANAGEMENT}),
        ("s3:PutBucketPolicy", {AccessLevel.PERMISSIONS_MANAGEMENT}),
        ("kms:PutKeyPolicy", {AccessLevel.PERMISSIONS_MANAGEMENT}),
        ("iam:GetPolicy", {AccessLevel.READ}),
        ("codecommit:GitPull", {AccessLevel.WRITE}),  # unknown verb: write, on purpose
        ("*", set(AccessLevel)),
    ],
)
def test_access_levels(pattern: str, levels: set[AccessLevel]) -> None:
    assert access_levels(pattern) == frozenset(levels)


DETAILS = {
    "UserDetailList": [
        {"UserName": "alice", "Arn": "arn:aws:iam::1:user/alice", "GroupList": ["admins"],
         "UserPolicyList": [{"PolicyName": "mine", "PolicyDocument": doc(allow("s3:*"))}],
         "AttachedManagedPolicies": []},
        {"UserName": "bob", "Arn": "arn:aws:iam::1:user/bob", "GroupList": [], "UserPolicyList": [],
         "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                      "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
    ],
    "GroupDetailList": [
        {"GroupName": "admins", "Arn": "arn:aws:iam::1:group/admins", "GroupPolicyList": [],
         "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                      "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                                     {"PolicyName": "p", "PolicyArn": "arn:aws:iam::1:policy/p"}]},
    ],
    "RoleDetailList": [],
    "Policies": [
        {"PolicyName": "p", "Arn": "arn:aws:iam::1:policy/p", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": False, "Document": doc(allow())},
            {"VersionId": "v2", "IsDefaultVersion": True, "Document": doc(allow("s3:GetObject"))}]},
        {"PolicyName": "q", "Arn": "arn:aws:iam::1:policy/q", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(allow())}]},
    ],
}


def test_inventory_uses_default_version_and_group_reach() -> None:
    sources = {s.id: s for s in policy_sources(DETAILS)}
    p = sources["arn:aws:iam::1:policy/p"]
    assert p.version == "v2" and p.document == doc(allow("s3:GetObject"))
    assert p.attached_to == ("arn:aws:iam::1:group/admins",)
    assert p.reaches == ("arn:aws:iam::1:group/admins", "arn:aws:iam::1:user/alice")
    q = sources["arn:aws:iam::1:policy/q"]
    assert not q.attached and q.describe()["attached"] is False
    inline = sources["arn:aws:iam::1:user/alice#inline-policy/mine"]
    assert inline.kind == "inline" and inline.owner == "arn:aws:iam::1:user/alice"
    expected = "arn:aws:iam::1:user/alice#inline-policy/mine/statement/1"
    assert statement_id(inline.id, "statement/1") == expected
    assert statement_id(p.id, "sid/X") == "arn:aws:iam::1:policy/p#sid/X"


def test_inventory_has_no_fallback_for_a_missing_policy_name() -> None:
    """AWS always sends PolicyName (ManagedPolicyDetail); fixtures/moto_ext/iam_ext.py makes moto do
    so too. A missing name is a defect of the answer, not something to guess from the ARN."""
    nameless = {"Policies": [{"Arn": "arn:aws:iam::1:policy/p", "PolicyVersionList": []}]}
    with pytest.raises(KeyError, match="PolicyName"):
        policy_sources(nameless)


def test_administrator_access_holders() -> None:
    assert administrator_access_holders(DETAILS) == {
        "users": ["arn:aws:iam::1:user/bob"],
        "groups": ["arn:aws:iam::1:group/admins"],
        "roles": [],
        "users_through_groups": ["arn:aws:iam::1:user/alice"],
    }


def test_reads_without_a_read_verb_are_reads() -> None:
    """The Service Authorization Reference lists these as Read; govscan's own role needs the first."""
    from scanner.analysis.access_level import mutating

    assert access_levels("iam:GenerateCredentialReport") == frozenset({AccessLevel.READ})
    assert not mutating("iam:GenerateCredentialReport")
    assert mutating("iam:Generate*")  # a wildcard still reaches unknown Generate* actions
