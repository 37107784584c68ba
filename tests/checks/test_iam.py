"""IAM checks through the real runner on moto worlds: PASS, FAIL, ERROR (and NOT_APPLICABLE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fixtures.moto_ext import faults
from fixtures.moto_ext.iam_root import ROOT_FEATURES, set_root, set_root_credentials_management
from fixtures.world import World
from fixtures.worlds import iam as worlds
from scanner.models import Finding, Status
from tests.conftest import ACCOUNT, only

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROOT_MFA = f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"
SOURCE_IP = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}


def ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def assert_denied(finding: Finding, action: str, code: str = "AccessDenied") -> None:
    assert finding.status is Status.ERROR
    assert finding.evidence["action"] == action and finding.evidence["error_code"] == code
    assert action in finding.message


# --- root user (ACCT-001) ----------------------------------------------------------------


def test_root_mfa_enabled_passes(run_scan):
    set_root(ACCOUNT, mfa=True)
    f = only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled")
    assert f.status is Status.PASS and f.resource_id == ROOT and f.region == "global"
    assert f.evidence["AccountMFAEnabled"] == 1


def test_root_without_credentials_passes_mfa(run_scan):
    set_root(ACCOUNT, mfa=False, password_enabled=False)
    f = only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled")
    assert f.status is Status.PASS and "no password and no access keys" in f.message
    assert f.evidence["AccountPasswordPresent"] == 0 and f.evidence["AccountAccessKeysPresent"] == 0


def test_root_password_without_mfa_fails(run_scan):
    set_root(ACCOUNT, mfa=False, password_enabled=True)
    f = only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled")
    assert f.status is Status.FAIL and f.resource_id == ROOT
    assert f.evidence["AccountMFAEnabled"] == 0 and f.evidence["AccountPasswordPresent"] == 1


def test_root_password_without_mfa_fails_even_when_organizations_features_are_denied(run_scan):
    """ListOrganizationsFeatures cannot change this verdict, so it is not asked (a denial would
    otherwise turn a clear FAIL into an ERROR)."""
    set_root(ACCOUNT, mfa=False, password_enabled=True)
    faults.deny("iam:ListOrganizationsFeatures")
    run = run_scan(["iam_root_mfa_enabled"])
    f = only(run, "iam_root_mfa_enabled")
    assert f.status is Status.FAIL and f.resource_id == ROOT and "organizations_features" not in f.evidence
    assert [c.action for c in run.calls if c.action.startswith("iam:")] == ["iam:GetAccountSummary"]


def test_root_credentials_managed_by_organizations_pass_with_that_evidence(run_scan):
    set_root(ACCOUNT, mfa=False, password_enabled=False)
    set_root_credentials_management(ACCOUNT, True, organization_id="o-a1b2c3d4e5")
    run = run_scan(["iam_root_mfa_enabled"])
    f = only(run, "iam_root_mfa_enabled")
    assert f.status is Status.PASS and f.resource_id == ROOT
    assert f.evidence["organizations_features"] == ROOT_FEATURES == ["RootCredentialsManagement", "RootSessions"]
    assert f.evidence["organization_id"] == "o-a1b2c3d4e5"
    assert "managed centrally by AWS Organizations (o-a1b2c3d4e5" in f.message
    assert "iam:ListOrganizationsFeatures" in {c.action for c in run.calls}


def test_root_without_credentials_and_central_management_off_says_so(run_scan):
    set_root(ACCOUNT, mfa=False, password_enabled=False)
    set_root_credentials_management(ACCOUNT, False, trusted_access=True)
    f = only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled")
    assert f.status is Status.PASS and f.evidence["organizations_features"] == []
    assert "central root credentials management not enabled" in f.message


def test_root_without_credentials_denied_organizations_features_is_error(run_scan):
    """Here the call supplies the evidence of the PASS: its denial is not hidden."""
    set_root(ACCOUNT, mfa=False, password_enabled=False)
    faults.deny("iam:ListOrganizationsFeatures")
    f = only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled")
    assert_denied(f, "iam:ListOrganizationsFeatures")


def test_root_mfa_denied_summary_is_error(run_scan):
    faults.deny("iam:GetAccountSummary")
    assert_denied(only(run_scan(["iam_root_mfa_enabled"]), "iam_root_mfa_enabled"), "iam:GetAccountSummary")


def test_root_hardware_mfa_passes(run_scan):
    set_root(ACCOUNT, mfa=True, mfa_virtual=False)
    f = only(run_scan(["iam_root_hardware_mfa"]), "iam_root_hardware_mfa")
    assert f.status is Status.PASS and f.resource_id == ROOT and f.evidence["root_virtual_mfa_devices"] == []


def test_root_virtual_mfa_fails_naming_device(run_scan):
    set_root(ACCOUNT, mfa=True, mfa_virtual=True)
    f = only(run_scan(["iam_root_hardware_mfa"]), "iam_root_hardware_mfa")
    assert f.status is Status.FAIL and f.resource_id == ROOT and f.evidence["root_virtual_mfa_devices"] == [ROOT_MFA]


def test_root_no_mfa_fails_hardware_check(run_scan):
    set_root(ACCOUNT, mfa=False)
    f = only(run_scan(["iam_root_hardware_mfa"]), "iam_root_hardware_mfa")
    assert f.status is Status.FAIL and f.resource_id == ROOT and f.evidence == {"AccountMFAEnabled": 0}


def test_root_without_credentials_hardware_not_applicable(run_scan):
    set_root(ACCOUNT, mfa=False, password_enabled=False)
    f = only(run_scan(["iam_root_hardware_mfa"]), "iam_root_hardware_mfa")
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ROOT


def test_root_hardware_denied_listing_is_error(run_scan):
    set_root(ACCOUNT, mfa=True)
    faults.deny("iam:ListVirtualMFADevices")
    f = only(run_scan(["iam_root_hardware_mfa"]), "iam_root_hardware_mfa")
    assert_denied(f, "iam:ListVirtualMFADevices")
    assert f.resource_id == ACCOUNT  # the runner's ERROR names the account, not a guessed resource


def test_root_access_keys_absent_passes(run_scan):
    set_root(ACCOUNT, mfa=True)
    f = only(run_scan(["iam_root_access_keys_absent"]), "iam_root_access_keys_absent")
    assert f.status is Status.PASS and f.resource_id == ROOT
    assert f.evidence["credential_report_row"]["access_key_1_active"] == "false"


def test_root_active_key_fails(run_scan):
    set_root(ACCOUNT, access_key_2_active=True)
    f = only(run_scan(["iam_root_access_keys_absent"]), "iam_root_access_keys_absent")
    assert f.status is Status.FAIL and f.resource_id == ROOT and "key 2" in f.message
    assert f.evidence["credential_report_row"]["access_key_2_active"] == "true"


def test_root_keys_denied_report_is_error(run_scan):
    faults.deny("iam:GetCredentialReport")
    f = only(run_scan(["iam_root_access_keys_absent"]), "iam_root_access_keys_absent")
    assert_denied(f, "iam:GetCredentialReport")


def test_root_unused_passes(run_scan):
    set_root(ACCOUNT, password_last_used=ago(100))
    f = only(run_scan(["iam_root_not_used_recently"]), "iam_root_not_used_recently")
    assert f.status is Status.PASS and f.resource_id == ROOT and f.evidence["window_days"] == 30


def test_root_used_recently_fails(run_scan):
    set_root(ACCOUNT, password_last_used=ago(3), access_key_1_active=True, access_key_1_last_used=ago(100))
    f = only(run_scan(["iam_root_not_used_recently"]), "iam_root_not_used_recently")
    assert f.status is Status.FAIL and f.resource_id == ROOT and "password_last_used" in f.message
    assert "access_key_1_last_used_date" not in f.message


def test_root_used_recently_denied_generate_is_error(run_scan):
    faults.deny("iam:GenerateCredentialReport")
    f = only(run_scan(["iam_root_not_used_recently"]), "iam_root_not_used_recently")
    assert_denied(f, "iam:GenerateCredentialReport")


# --- least privilege policies (ACCT-002.4) -----------------------------------------------

POLICY_CHECKS = ["iam_no_admin_wildcard_policies", "iam_no_broad_wildcards"]


def test_acceptance_admin_s3_and_narrow_policies(run_scan):
    world = World()
    ids = worlds.three_policies(world)
    run = run_scan(POLICY_CHECKS)
    admin = [f for f in run.findings if f.check_id == "iam_no_admin_wildcard_policies"]
    assert {f.resource_id: f.status for f in admin} == {
        ids["admin"]: Status.FAIL, ids["s3_all"]: Status.PASS, ids["narrow"]: Status.PASS,
    }
    broad = [f for f in run.findings if f.check_id == "iam_no_broad_wildcards"]
    assert {f.resource_id: f.status for f in broad} == {
        f"{ids['admin']}#sid/Everything": Status.FAIL,
        f"{ids['s3_all']}#sid/AllOfS3": Status.FAIL,
        ids["narrow"]: Status.PASS,
    }
    fail = only(run, "iam_no_admin_wildcard_policies", resource_id=ids["admin"])
    assert fail.evidence["admin_statements"][0]["statement"] == worlds.ADMIN_DOC["Statement"][0]
    assert fail.evidence["admin_statements"][0]["conditional"] is False
    assert fail.evidence["attached_to"] == [ids["ops_group"]]
    assert fail.evidence["principals_reached"] == [ids["ops_group"], ids["ops_user"]]
    s3 = only(run, "iam_no_broad_wildcards", resource_id=f"{ids['s3_all']}#sid/AllOfS3")
    assert s3.evidence["reasons"][0]["action"] == "s3:*" and s3.evidence["reasons"][0]["reason"] == "whole_service"
    assert s3.evidence["principals_reached"] == [ids["role"]] and s3.region == "global"


def test_authorization_details_read_once_for_all_policy_checks(run_scan):
    worlds.three_policies(World())
    run = run_scan([*POLICY_CHECKS, "iam_temporary_credentials", "iam_identity_federation"])
    reads = [c for c in run.calls if c.action == "iam:GetAccountAuthorizationDetails"]
    assert len(reads) == 1


def test_inline_admin_policies_of_user_group_and_role_fail(run_scan):
    world = World()
    worlds.user(world, "ursula")
    worlds.group(world, "gophers")
    worlds.role(world, "robot")
    ids = {kind: worlds.inline(world, kind, owner, "all", worlds.ADMIN_DOC)
           for kind, owner in (("user", "ursula"), ("group", "gophers"), ("role", "robot"))}
    run = run_scan(["iam_no_admin_wildcard_policies"])
    for kind, resource_id in ids.items():
        f = only(run, "iam_no_admin_wildcard_policies", resource_id=resource_id)
        assert f.status is Status.FAIL and f.resource_type == "AWS::IAM::Policy"
        assert f.evidence["policy_kind"] == "inline" and f.evidence["owner"] == resource_id.split("#")[0]
        assert "Inline policy all of" in f.message


def test_unattached_admin_policy_fails_told_apart(run_scan):
    arn = worlds.policy(World(), "spare-admin", worlds.ADMIN_DOC)
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.FAIL and f.evidence["attached"] is False and f.evidence["attached_to"] == []
    assert "unattached" in f.message


def test_boundary_only_admin_policy_passes_as_a_limit(run_scan):
    """A permissions boundary attached to no one grants nothing: it limits the roles it bounds."""
    world = World()
    arn = worlds.policy(world, "developer-boundary", worlds.BOUNDARY_DOC)
    worlds.role(world, "dev-1", boundary=arn)
    worlds.role(world, "dev-2", boundary=arn)
    run = run_scan(POLICY_CHECKS)
    f = only(run, "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.PASS and f.evidence["used_as_permissions_boundary"] == 2
    assert "used only as a permissions boundary for 2 principal(s)" in f.message and "limits" in f.message
    assert "grants nothing until attached" not in f.message
    assert [s["statement_ref"] for s in f.evidence["admin_statements"]] == ["sid/Ceiling"]
    broad = only(run, "iam_no_broad_wildcards", resource_id=arn)
    assert broad.status is Status.PASS and "permissions boundary for 2 principal(s)" in broad.message
    assert broad.evidence["broad_statements"][0]["statement_ref"] == "sid/Ceiling"
    assert [f.resource_id for f in run.findings if f.check_id == "iam_no_broad_wildcards"] == [arn]


def test_boundary_policy_also_attached_still_fails(run_scan):
    world = World()
    arn = worlds.policy(world, "boundary-and-grant", worlds.BOUNDARY_DOC)
    worlds.role(world, "bounded", boundary=arn)
    holder = worlds.role(world, "holder", policies=(arn,))
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.FAIL and f.evidence["attached_to"] == [holder]
    assert f.evidence["used_as_permissions_boundary"] == 1


def test_every_action_spelt_otherwise_is_admin_and_whole_service(run_scan):
    world = World()
    admin = worlds.policy(world, "sneaky-admin", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*:?*", "Resource": "*"}]})
    s3 = worlds.policy(world, "sneaky-s3", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:?*", "Resource": "arn:aws:s3:::b/*"}]})
    run = run_scan(POLICY_CHECKS)
    assert only(run, "iam_no_admin_wildcard_policies", resource_id=admin).status is Status.FAIL
    f = only(run, "iam_no_broad_wildcards", resource_id=f"{s3}#statement/1")
    assert f.status is Status.FAIL and f.evidence["reasons"][0] == {
        "action": "s3:?*", "reason": "whole_service", "access_levels": ["list", "permissions-management", "read",
                                                                        "write"]}


def test_deny_not_action_narrows_an_allow_all_to_what_it_leaves(run_scan):
    world = World()
    arn = worlds.policy(world, "s3-only-really", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]})
    run = run_scan(POLICY_CHECKS)
    assert only(run, "iam_no_admin_wildcard_policies", resource_id=arn).status is Status.PASS
    f = only(run, "iam_no_broad_wildcards", resource_id=f"{arn}#statement/1")
    assert f.status is Status.FAIL and f.evidence["reasons"][0]["reason"] == "whole_service"
    assert f.evidence["actions_left"] == ["s3:*"] and f.evidence["narrowed_by_deny"] == [
        {"statement_ref": "statement/2", "part": "actions", "before": ["*"], "after": ["s3:*"]}]
    assert "what the Deny of statement/2 leaves" in f.message


def test_partial_deny_that_cannot_be_subtracted_is_named_and_admin_still_fails(run_scan):
    arn = worlds.policy(World(), "all-but-iam", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]})
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.FAIL and "before the partial Deny of statement/2, not subtracted" in f.message
    assert f.evidence["admin_statements"][0]["partly_denied_by"] == ["statement/2"]


def test_write_on_every_resource_of_a_service_fails(run_scan):
    # arn:aws:iam::<account>:* is in the table test only: moto 5.2.5 rejects it at CreatePolicy.
    arn = worlds.policy(World(), "bucket-killer", {"Version": "2012-10-17", "Statement": [
        {"Sid": "Delete", "Effect": "Allow", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"},
        {"Sid": "Terminate", "Effect": "Allow", "Action": "ec2:Terminate*", "Resource": "arn:aws:ec2:*:*:*"},
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}]})
    run = run_scan(["iam_no_broad_wildcards"])
    reasons = {f.resource_id: f.evidence["reasons"][0]["reason"] for f in run.findings}
    assert reasons == {f"{arn}#sid/Delete": "mutating_on_all_service_resources",
                       f"{arn}#sid/Terminate": "mutating_on_all_service_resources"}
    f = only(run, "iam_no_broad_wildcards", resource_id=f"{arn}#sid/Delete")
    assert f.status is Status.FAIL and f.evidence["service_wide_resources"] == ["arn:aws:s3:::*"]
    assert "on arn:aws:s3:::*" in f.message


def test_moto_answers_policy_name_in_authorization_details(run_scan):
    """iam_inventory reads PolicyName with no fallback: moto (extended) must send it, as AWS does."""
    world = World()
    arn = worlds.policy(world, "named-policy", worlds.NARROW_DOC, path="/team/")
    details = world.client("iam").get_account_authorization_details(Filter=["LocalManagedPolicy"])
    assert [(p["PolicyName"], p["Arn"]) for p in details["Policies"]] == [("named-policy", arn)]
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.PASS and f.evidence["policy_name"] == "named-policy"


def test_conditional_admin_fails_with_condition_as_evidence(run_scan):
    document = {"Version": "2012-10-17", "Statement": [
        {"Sid": "OfficeOnly", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": SOURCE_IP}]}
    arn = worlds.policy(World(), "office-admin", document)
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.FAIL and "conditionally on aws:SourceIp" in f.message
    statement = f.evidence["admin_statements"][0]
    assert statement["conditional"] is True and statement["condition"] == SOURCE_IP
    assert statement["condition_scope"] == ["network"]


def test_not_action_admin_fails_naming_exclusions(run_scan):
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}
    arn = worlds.policy(World(), "power-user-ish", document)
    run = run_scan(POLICY_CHECKS)
    f = only(run, "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.FAIL and "every action except iam:*, organizations:*" in f.message
    assert f.evidence["admin_statements"][0]["all_actions_except"] == ["iam:*", "organizations:*"]
    broad = only(run, "iam_no_broad_wildcards", resource_id=f"{arn}#statement/1")
    assert broad.status is Status.FAIL and broad.evidence["reasons"][0]["reason"] == "not_action"


def test_deny_in_same_policy_cancels_admin(run_scan):
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    arn = worlds.policy(World(), "neutralised", document)
    f = only(run_scan(["iam_no_admin_wildcard_policies"]), "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.PASS and f.evidence["statements_granting_nothing"] == ["statement/1"]


def test_only_default_version_is_judged(run_scan):
    world = World()
    arn = worlds.policy(world, "was-admin", worlds.ADMIN_DOC)
    world.client("iam").create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(worlds.NARROW_DOC),
                                              SetAsDefault=True)
    run = run_scan(POLICY_CHECKS)
    f = only(run, "iam_no_admin_wildcard_policies", resource_id=arn)
    assert f.status is Status.PASS and f.evidence["default_version"] == "v2"
    assert only(run, "iam_no_broad_wildcards", resource_id=arn).status is Status.PASS


def test_aws_managed_administrator_access_is_not_judged_here(run_scan):
    worlds.role(World(), "breakglass", policies=(worlds.ADMINISTRATOR_ACCESS,))
    run = run_scan(POLICY_CHECKS)
    for check_id in POLICY_CHECKS:
        assert only(run, check_id).status is Status.NOT_APPLICABLE


def test_policy_checks_denied_details_are_errors(run_scan):
    worlds.three_policies(World())
    faults.deny("iam:GetAccountAuthorizationDetails")
    run = run_scan(POLICY_CHECKS)
    for check_id in POLICY_CHECKS:
        assert_denied(only(run, check_id), "iam:GetAccountAuthorizationDetails")


def test_each_offending_statement_is_its_own_finding(run_scan):
    document = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Ec2Everything", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Sid": "ReadAny", "Effect": "Allow", "Action": "*:Get*", "Resource": "arn:aws:s3:::b/*"},
        {"Sid": "Terminate", "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"},
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        {"Sid": "Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    ]}
    arn = worlds.policy(World(), "mixed", document)
    run = run_scan(["iam_no_broad_wildcards"])
    reasons = {f.resource_id: f.evidence["reasons"][0]["reason"] for f in run.findings}
    assert reasons == {
        f"{arn}#sid/Ec2Everything": "whole_service",
        f"{arn}#sid/ReadAny": "spans_services",
        f"{arn}#sid/Terminate": "mutating_on_all_resources",
    }
    assert all(f.status is Status.FAIL for f in run.findings)


def _unreadable_inline(world: World, statements: list[object]) -> str:
    """An inline policy whose stored document has unreadable statements: AWS (and moto) reject
    such a document at write time, so it is placed in moto's store; the checks must not crash."""
    from moto.iam.models import iam_backends

    worlds.user(world, "legacy")
    worlds.inline(world, "user", "legacy", "odd", worlds.S3_ALL_DOC)
    document = {"Version": "2012-10-17", "Statement": statements}
    iam_backends[ACCOUNT]["global"].users["legacy"].policies["odd"] = json.dumps(document)
    return f"arn:aws:iam::{ACCOUNT}:user/legacy#inline-policy/odd"


def test_unreadable_statement_that_may_be_a_deny_is_error_withholding_fails(run_scan):
    """Statement 1 has no Effect: it might be a Deny removing the readable grants, so neither
    check asserts a FAIL; the ERROR names what would fail."""
    policy_id = _unreadable_inline(World(), [{}, worlds.S3_ALL_DOC["Statement"][0], worlds.ADMIN_DOC["Statement"][0]])
    run = run_scan(POLICY_CHECKS)
    admin = only(run, "iam_no_admin_wildcard_policies", resource_id=policy_id)
    assert admin.status is Status.ERROR and "statement/1: statement is empty" in admin.message
    assert "unless an unreadable statement is a Deny" in admin.message
    assert admin.evidence["problems"] == [{"statement_ref": "statement/1", "problem": "statement is empty",
                                           "effect": None}]
    broad = only(run, "iam_no_broad_wildcards", resource_id=policy_id)
    assert broad.status is Status.ERROR
    assert [b["statement_ref"] for b in broad.evidence["broad_unless_denied"]] == ["sid/AllOfS3", "sid/Everything"]
    assert [(f.check_id, f.status) for f in run.findings] == [
        ("iam_no_admin_wildcard_policies", Status.ERROR), ("iam_no_broad_wildcards", Status.ERROR)]


def test_unreadable_allow_statement_leaves_the_fails_standing_beside_an_error(run_scan):
    """Statement 1 is an Allow (no Resource): it cannot remove anything, so the admin FAIL of the
    readable statement stands, and the unreadable statement is an ERROR of its own."""
    unreadable = {"Effect": "Allow", "Action": "s3:GetObject"}
    policy_id = _unreadable_inline(World(), [unreadable, worlds.ADMIN_DOC["Statement"][0]])
    run = run_scan(POLICY_CHECKS)
    admin = only(run, "iam_no_admin_wildcard_policies", resource_id=policy_id)
    assert admin.status is Status.FAIL and "Unreadable statements reported apart: statement/1" in admin.message
    error = only(run, "iam_no_admin_wildcard_policies", resource_id=f"{policy_id}/statement/1")
    assert error.status is Status.ERROR and "neither of Resource and NotResource" in error.message
    assert error.evidence["statement_ref"] == "statement/1"
    assert only(run, "iam_no_broad_wildcards", resource_id=f"{policy_id}/sid/Everything").status is Status.FAIL
    assert only(run, "iam_no_broad_wildcards", resource_id=policy_id).status is Status.ERROR


# --- credentials (ACCT-002.2, .5) --------------------------------------------------------


def test_console_user_without_mfa_fails_and_with_mfa_passes(run_scan):
    world = World()
    bare = worlds.console_user(world, "carol", mfa=False)
    safe = worlds.console_user(world, "dave", mfa=True)
    worlds.user(world, "api-only")
    run = run_scan(["iam_console_users_mfa"])
    assert only(run, "iam_console_users_mfa", resource_id=bare).status is Status.FAIL
    passed = only(run, "iam_console_users_mfa", resource_id=safe)
    assert passed.status is Status.PASS and passed.evidence["mfa_active"] == "true"
    assert len([f for f in run.findings if f.check_id == "iam_console_users_mfa"]) == 2


def test_console_mfa_not_applicable_without_console_users(run_scan):
    worlds.user(World(), "api-only")
    assert only(run_scan(["iam_console_users_mfa"]), "iam_console_users_mfa").status is Status.NOT_APPLICABLE


def test_console_mfa_denied_report_is_error(run_scan):
    faults.deny("iam:GetCredentialReport")
    assert_denied(only(run_scan(["iam_console_users_mfa"]), "iam_console_users_mfa"), "iam:GetCredentialReport")


def test_old_and_idle_keys_fail_fresh_key_passes(run_scan):
    world = World()
    old, _ = worlds.key_user(world, "old-ci", created=ago(200), last_used=ago(1))
    idle, _ = worlds.key_user(world, "idle-ci", created=ago(120))
    fresh, _ = worlds.key_user(world, "fresh-ci", created=ago(10), last_used=ago(1))
    worlds.key_user(world, "retired", created=ago(400), active=False)
    run = run_scan(["iam_access_keys_rotated"])
    f_old = only(run, "iam_access_keys_rotated", resource_id=old)
    assert f_old.status is Status.FAIL and "key 1 is 200 days old" in f_old.message
    f_idle = only(run, "iam_access_keys_rotated", resource_id=idle)
    assert f_idle.status is Status.FAIL and "key 1 never used for 120 days" in f_idle.message
    assert only(run, "iam_access_keys_rotated", resource_id=fresh).status is Status.PASS
    assert len([f for f in run.findings if f.check_id == "iam_access_keys_rotated"]) == 3


def test_key_age_limit_is_a_setting(run_scan):
    user, _ = worlds.key_user(World(), "ci", created=ago(40), last_used=ago(1))
    run = run_scan(["iam_access_keys_rotated"], settings={"access_key_max_age_days": 30})
    f = only(run, "iam_access_keys_rotated", resource_id=user)
    assert f.status is Status.FAIL and f.evidence["max_age_days"] == 30


def test_keys_not_applicable_and_error(run_scan):
    assert only(run_scan(["iam_access_keys_rotated"]), "iam_access_keys_rotated").status is Status.NOT_APPLICABLE
    faults.deny("iam:GetCredentialReport")
    assert_denied(only(run_scan(["iam_access_keys_rotated"]), "iam_access_keys_rotated"), "iam:GetCredentialReport")


def test_temporary_credentials_reports_keys_and_administrator_access(run_scan):
    world = World()
    key_user, _ = worlds.key_user(world, "ci", created=ago(1))
    worlds.group(world, "admins", policies=(worlds.ADMINISTRATOR_ACCESS,))
    member = worlds.user(world, "erin", groups=("admins",))
    admin_role = worlds.role(world, "breakglass", policies=(worlds.ADMINISTRATOR_ACCESS,))
    f = only(run_scan(["iam_temporary_credentials"]), "iam_temporary_credentials")
    assert f.status is Status.FAIL and f.evidence["users_with_active_keys"] == [key_user]
    assert f.evidence["iam_users"] == 2 and f.evidence["roles"] == 1
    holders = f.evidence["administrator_access_holders"]
    assert holders["roles"] == [admin_role] and holders["users_through_groups"] == [member]
    assert holders["groups"] == [f"arn:aws:iam::{ACCOUNT}:group/admins"] and holders["users"] == []


def test_temporary_credentials_pass_and_error(run_scan):
    worlds.role(World(), "app")
    f = only(run_scan(["iam_temporary_credentials"]), "iam_temporary_credentials")
    assert f.status is Status.PASS and f.evidence["iam_users_with_active_keys"] == 0
    faults.deny("iam:GetAccountAuthorizationDetails")
    f = only(run_scan(["iam_temporary_credentials"]), "iam_temporary_credentials")
    assert_denied(f, "iam:GetAccountAuthorizationDetails")


# --- federation (ACCT-002.3) and password policy (ACCT-002.5) ----------------------------


def test_saml_provider_passes_federation(run_scan):
    arn = worlds.saml_provider(World())
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert f.status is Status.PASS and f.evidence["saml_providers"] == [arn]


def test_identity_center_in_another_scanned_region_passes(run_scan):
    instance = worlds.identity_center(World(), "eu-west-1")
    f = only(run_scan(["iam_identity_federation"], regions=["us-east-1", "eu-west-1"]), "iam_identity_federation")
    assert f.status is Status.PASS
    assert f.evidence["identity_center_instances"] == [
        {"region": "eu-west-1", "InstanceArn": instance, "Status": "ACTIVE"}]


def test_workload_oidc_only_fails_federation(run_scan):
    github = worlds.oidc_provider(World(), "https://token.actions.githubusercontent.com")
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert f.status is Status.FAIL and f.evidence["oidc_workload_providers"] == [github]
    assert "only workload OIDC providers: 1" in f.message


def test_workforce_oidc_passes_federation(run_scan):
    okta = worlds.oidc_provider(World(), "https://example.okta.com")
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert f.status is Status.PASS and f.evidence["oidc_workforce_providers"] == [okta]


def test_federation_denied_saml_listing_is_error(run_scan):
    faults.deny("iam:ListSAMLProviders")
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert_denied(f, "iam:ListSAMLProviders")


def test_federation_denied_identity_center_is_error_unless_saml_proves_it(run_scan):
    faults.deny("sso-admin:ListInstances")
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert_denied(f, "sso-admin:ListInstances", "AccessDeniedException")
    assert "sso:ListInstances" in f.message
    worlds.saml_provider(World())
    f = only(run_scan(["iam_identity_federation"]), "iam_identity_federation")
    assert f.status is Status.PASS and f.evidence["failed_calls"][0]["action"] == "sso-admin:ListInstances"


def test_password_policy_absent_fails(run_scan):
    f = only(run_scan(["iam_password_policy_strong"]), "iam_password_policy_strong")
    assert f.status is Status.FAIL and "NoSuchEntity" in f.message and f.evidence["password_policy"] is None


def test_password_policy_weak_fails_strong_passes(run_scan):
    world = World()
    worlds.password_policy(world, length=8, reuse=None)
    f = only(run_scan(["iam_password_policy_strong"]), "iam_password_policy_strong")
    assert f.status is Status.FAIL and "minimum length 8 < 14" in f.message and "reuse prevention off" in f.message
    worlds.password_policy(world, length=14, reuse=24)
    f = only(run_scan(["iam_password_policy_strong"]), "iam_password_policy_strong")
    assert f.status is Status.PASS and f.evidence["password_policy"]["MinimumPasswordLength"] == 14


def test_password_policy_limits_are_settings(run_scan):
    worlds.password_policy(World(), length=12, reuse=5)
    run = run_scan(["iam_password_policy_strong"], settings={"password_min_length": 12,
                                                            "password_reuse_prevention": 5})
    assert only(run, "iam_password_policy_strong").status is Status.PASS


def test_password_policy_denied_is_error(run_scan):
    faults.deny("iam:GetAccountPasswordPolicy")
    f = only(run_scan(["iam_password_policy_strong"]), "iam_password_policy_strong")
    assert_denied(f, "iam:GetAccountPasswordPolicy")
