"""cloudformation_stacks_present, cloudformation_templates_lint and cloudformation_no_drift."""

from __future__ import annotations

import json

from checks.cloudformation import lint_template
from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cloudformation as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, ScanFn, only

PRESENT = "cloudformation_stacks_present"
LINT = "cloudformation_templates_lint"
DRIFT = "cloudformation_no_drift"
US, EU = "us-east-1", "eu-west-1"


# --- cfn-lint on the sample templates (no AWS) ------------------------------------------------


def test_clean_template_has_no_cfn_lint_finding() -> None:
    assert lint_template(worlds.template("clean"), US) == []


def test_template_with_errors_names_rules_and_lines() -> None:
    found = [(f["rule"], f["severity"], f["line"]) for f in lint_template(worlds.template("lint-errors"), US)]
    assert sorted(found) == [("E3002", "error", 14), ("E3034", "error", 18), ("W2001", "warning", 4)]


# --- cloudformation_stacks_present ----------------------------------------------------------


def test_share_of_stack_managed_resources_decides_per_region(run_scan: ScanFn) -> None:
    world = World()
    worlds.stack(world, US, "network")
    worlds.stack(world, EU, "network")
    manual = worlds.manual_vpc(world, EU)
    run = run_scan([PRESENT], regions=[US, EU])
    us = only(run, PRESENT, region=US)
    assert us.status is Status.PASS and us.resource_id == ACCOUNT
    assert us.evidence["managed_resources"] == 2 and us.evidence["tagged_resources"] == 2  # VPC + security group
    assert us.evidence["share"] == 1.0 and us.evidence["managed_by"] == {"network": 2}
    eu = only(run, PRESENT, region=EU)
    assert eu.status is Status.FAIL  # 2 of 3 = 67 % < 80 %
    assert eu.evidence["share"] == 0.667 and eu.evidence["unmanaged_resources"] == [manual]
    assert "2 of 3" in eu.message


def test_min_share_setting_lowers_the_bar(run_scan: ScanFn) -> None:
    world = World()
    worlds.stack(world, EU, "network")
    worlds.manual_vpc(world, EU)
    f = only(run_scan([PRESENT], regions=[EU], settings={"iac_min_share": 0.6}), PRESENT)
    assert f.status is Status.PASS and f.evidence["min_share"] == 0.6


def test_tagged_resources_without_any_stack_fail(run_scan: ScanFn) -> None:
    manual = worlds.manual_vpc(World(), US)
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.FAIL and f.evidence["stacks"] == 0
    assert f.evidence["unmanaged_resources"] == [manual]


def test_other_iac_tool_tags_can_be_credited(run_scan: ScanFn) -> None:
    world = World()
    arn = worlds.manual_vpc(world, US)
    ec2 = world.client("ec2", US)
    ec2.create_tags(Resources=[arn.rsplit("/", 1)[1]], Tags=[{"Key": "managed-by", "Value": "terraform"}])
    f = only(run_scan([PRESENT], settings={"iac_tag_keys": ["managed-by=terraform"]}), PRESENT)
    assert f.status is Status.PASS and f.evidence["managed_by"] == {"managed-by=terraform": 1}


def test_empty_region_is_not_applicable(run_scan: ScanFn) -> None:
    f = only(run_scan([PRESENT], regions=[EU]), PRESENT)
    assert f.status is Status.NOT_APPLICABLE and f.region == EU


def test_denied_get_resources_is_error(run_scan: ScanFn) -> None:
    worlds.stack(World(), US, "network")
    faults.deny("resourcegroupstaggingapi:GetResources")
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "resourcegroupstaggingapi:GetResources"
    assert f.evidence["error_code"] == "AccessDeniedException"
    assert "tag:GetResources" in f.message


# --- cloudformation_templates_lint ----------------------------------------------------------


def test_lint_errors_fail_the_stack_and_warnings_pass(run_scan: ScanFn) -> None:
    world = World()
    broken = worlds.stack(world, US, "legacy", "lint-errors")
    warned = worlds.stack(world, EU, "billing", "warnings-only")
    clean = worlds.stack(world, EU, "network", "clean")
    run = run_scan([LINT], regions=[US, EU])
    f = only(run, LINT, resource_id=broken)
    assert f.status is Status.FAIL and f.region == US
    assert broken.startswith(f"arn:aws:cloudformation:{US}:{ACCOUNT}:stack/legacy/")
    assert [(x["rule"], x["line"]) for x in f.evidence["findings"]] == [("E3002", 14), ("E3034", 18), ("W2001", 4)]
    assert f.evidence["errors"] == 2 and "E3002 (line 14)" in f.message
    w = only(run, LINT, resource_id=warned)
    assert w.status is Status.PASS and w.region == EU
    assert [x["rule"] for x in w.evidence["findings"]] == ["W2001"] and "W2001" in w.message
    c = only(run, LINT, resource_id=clean)
    assert c.status is Status.PASS and c.evidence["findings"] == []
    # The template was fetched read-only, as submitted.
    fetched = [c.params for c in run.calls if c.action == "cloudformation:GetTemplate"]
    assert {"StackName": broken, "TemplateStage": "Original"} in fetched


def test_json_template_is_linted_after_re_serialisation(run_scan: ScanFn) -> None:
    world = World()
    setting = {"Name": "/json/flag", "Type": "String", "Value": "x", "Owner": "me"}
    body = json.dumps({"Resources": {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": setting}}})
    arn = world.client("cloudformation", US).create_stack(StackName="json", TemplateBody=body)["StackId"]
    f = only(run_scan([LINT]), LINT, resource_id=arn)
    assert f.status is Status.FAIL and f.evidence["template_lines"] == "json re-serialised"
    assert [x["rule"] for x in f.evidence["findings"]] == ["E3002"]


def test_denied_get_template_is_error_for_that_stack(run_scan: ScanFn) -> None:
    arn = worlds.stack(World(), US, "network")
    faults.deny("cloudformation:GetTemplate")
    f = only(run_scan([LINT]), LINT, resource_id=arn)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "cloudformation:GetTemplate" and f.evidence["error_code"] == "AccessDenied"


def test_no_stack_is_not_applicable_for_lint(run_scan: ScanFn) -> None:
    f = only(run_scan([LINT]), LINT)
    assert f.status is Status.NOT_APPLICABLE


# --- cloudformation_no_drift ----------------------------------------------------------------


def test_drift_status_per_stack_and_region(run_scan: ScanFn) -> None:
    world = World()
    drifted = worlds.stack(world, US, "orders")
    worlds.change_queue_out_of_band(world, US, "orders")
    assert worlds.detect_drift(world, US, "orders") == "DRIFTED"
    in_sync = worlds.stack(world, EU, "orders")
    assert worlds.detect_drift(world, EU, "orders") == "IN_SYNC"
    never = worlds.stack(world, EU, "billing", "warnings-only")
    faults.clear()  # forget the builder's requests: only the scan's are looked at below
    run = run_scan([DRIFT], regions=[US, EU])
    f = only(run, DRIFT, resource_id=drifted)
    assert f.status is Status.FAIL and f.region == US and f.evidence["drift_status"] == "DRIFTED"
    assert f.evidence["last_check"] and f.evidence["days_since_check"] == 0
    ok = only(run, DRIFT, resource_id=in_sync)
    assert ok.status is Status.PASS and ok.region == EU
    unknown = only(run, DRIFT, resource_id=never)
    assert unknown.status is Status.NOT_APPLICABLE and unknown.evidence["drift_status"] == "NOT_CHECKED"
    assert "run drift detection" in unknown.message
    # Read-only: the scan never started a detection.
    assert not [c for c in faults.calls() if c[2] == "cloudformation:DetectStackDrift"]
    assert {c.action for c in run.calls if c.action.startswith("cloudformation:")} == {"cloudformation:DescribeStacks"}


def test_denied_describe_stacks_is_error(run_scan: ScanFn) -> None:
    worlds.stack(World(), US, "network")
    faults.deny("cloudformation:DescribeStacks")
    f = only(run_scan([DRIFT]), DRIFT)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "cloudformation:DescribeStacks" and f.evidence["error_code"] == "AccessDenied"


def test_no_stack_is_not_applicable_for_drift(run_scan: ScanFn) -> None:
    f = only(run_scan([DRIFT], regions=[EU]), DRIFT)
    assert f.status is Status.NOT_APPLICABLE and f.region == EU
