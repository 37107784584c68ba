"""cloudformation_stacks_present, cloudformation_templates_lint and cloudformation_no_drift."""

from __future__ import annotations

import json

from checks.cloudformation import lint_template
from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cloudformation as worlds
from scanner.models import Severity, Status
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


def test_untagged_hand_made_resources_count_against_the_share(run_scan: ScanFn) -> None:
    world = World()
    app = worlds.app_stack(world, US)
    server = world.arn("ec2", f"instance/{app['Server']}", US)
    hand_server = worlds.manual_instance(world, US)
    hand_root = worlds.root_volume(world, US, hand_server)
    hand_bucket = worlds.manual_bucket(world, US, "hand-made-exports")
    worlds.manual_bucket(world, EU, "hand-made-eu-archive")  # counted in eu-west-1, not here
    run = run_scan([PRESENT], regions=[US])
    f = only(run, PRESENT, region=US)
    assert f.status is Status.FAIL  # 4 of 7 = 57 % < 80 %
    assert f.evidence["counted_resources"] == 7 and f.evidence["managed_resources"] == 4
    assert f.evidence["share"] == 0.571 and f.evidence["managed_by"] == {"app": 4}
    assert f.evidence["unmanaged_resources"] == sorted([hand_server, hand_root, hand_bucket])
    assert f.evidence["by_type"] == {
        "AWS::EC2::Instance": {"resources": 2, "managed": 1, "share": 0.5},
        "AWS::EC2::SecurityGroup": {"resources": 1, "managed": 1, "share": 1.0},
        "AWS::EC2::Volume": {"resources": 1, "managed": 0, "share": 0.0},
        "AWS::S3::Bucket": {"resources": 2, "managed": 1, "share": 0.5},
        "AWS::DynamoDB::Table": {"resources": 1, "managed": 1, "share": 1.0},
    }
    assert "Lambda functions" in f.evidence["counted_types"] and "EC2 instances" in f.evidence["counted_types"]
    assert f.message == (
        "Only 4 of 7 counted resources (57%) in us-east-1 are deployed by code (minimum 80%; Instance 1/2, "
        "SecurityGroup 1/1, Volume 0/1, Bucket 1/2, Table 1/1); 3 are not."
    )
    assert server not in f.evidence["unmanaged_resources"]
    # The inventory reads are the other checks' reads, with the same parameters (one cached call each).
    listed = {(c.action, tuple(sorted(c.params))) for c in run.calls}
    assert ("ec2:DescribeInstances", ()) in listed and ("s3:ListBuckets", ()) in listed
    assert ("s3:GetBucketLocation", ("Bucket",)) in listed and ("lambda:ListFunctions", ()) in listed
    assert ("cloudformation:ListStackResources", ("StackName",)) in listed


def test_stack_resources_alone_pass_per_region(run_scan: ScanFn) -> None:
    world = World()
    worlds.app_stack(world, US)
    worlds.stack(world, EU, "network")  # a VPC (not counted), a security group, a parameter, a queue
    run = run_scan([PRESENT], regions=[US, EU])
    us = only(run, PRESENT, region=US)
    assert us.status is Status.PASS and us.resource_id == ACCOUNT
    assert us.evidence["share"] == 1.0 and us.evidence["managed_by"] == {"app": 4}
    eu = only(run, PRESENT, region=EU)
    assert eu.status is Status.PASS and eu.evidence["by_type"] == {
        "AWS::EC2::SecurityGroup": {"resources": 1, "managed": 1, "share": 1.0}
    }


def test_instances_of_a_stack_auto_scaling_group_and_their_volumes_are_deployed_by_code(run_scan: ScanFn) -> None:
    world = World()
    group = worlds.fleet_stack(world, US, size=2)
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.PASS and f.evidence["managed_by"] == {"fleet": 4}
    assert f.evidence["by_type"] == {
        "AWS::EC2::Instance": {"resources": 2, "managed": 2, "share": 1.0},
        "AWS::EC2::Volume": {"resources": 2, "managed": 2, "share": 1.0},
    }
    assert group.startswith("fleet-Group-")


def test_min_share_setting_lowers_the_bar(run_scan: ScanFn) -> None:
    world = World()
    worlds.app_stack(world, EU)
    worlds.manual_instance(world, EU)
    worlds.manual_table(world, EU, "hand-made-sessions")
    run = run_scan([PRESENT], regions=[EU], settings={"iac_min_share": 0.5})
    f = only(run, PRESENT)  # 4 of 7: the stack's four, the hand-made instance, its root volume and table
    assert f.status is Status.PASS and f.evidence["min_share"] == 0.5 and f.evidence["share"] == 0.571


def test_hand_made_resources_without_any_stack_fail(run_scan: ScanFn) -> None:
    world = World()
    instance = worlds.manual_instance(world, US, tags={"Name": "built-in-the-console"})
    root = worlds.root_volume(world, US, instance)
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.FAIL and f.evidence["stacks"] == 0
    assert f.evidence["unmanaged_resources"] == sorted([instance, root])
    assert (
        f.message == "No CloudFormation stack in us-east-1, yet 2 resource(s) of the counted types exist "
        "(Instance 0/1, Volume 0/1)."
    )


def test_other_iac_tool_tags_can_be_credited(run_scan: ScanFn) -> None:
    world = World()
    terraform = {"managed-by": "terraform"}
    server = worlds.manual_instance(world, US, tags=terraform)
    volume = worlds.attach_manual_volume(world, US, server)  # untagged, like the root volume: attached to it
    worlds.manual_bucket(world, US, "fleet-exports", tags=terraform)  # tags only from the tagging API
    worlds.manual_table(world, US, "fleet-shipments", tags=terraform)
    function = worlds.manual_function(world, US, "fleet-notify", tags=terraform)
    stray = worlds.manual_function(world, US, "someones-test")
    f = only(run_scan([PRESENT], settings={"iac_tag_keys": ["managed-by=terraform"]}), PRESENT)
    assert f.status is Status.PASS and f.evidence["stacks"] == 0
    assert f.evidence["managed_by"] == {"managed-by=terraform": 6}
    assert f.evidence["unmanaged_resources"] == [stray] and volume not in f.evidence["unmanaged_resources"]
    assert f.evidence["by_type"]["AWS::Lambda::Function"] == {"resources": 2, "managed": 1, "share": 0.5}
    assert f.evidence["iac_tags"] == ["aws:cloudformation:stack-name", "managed-by=terraform"]
    assert function.endswith(":function:fleet-notify")
    without = only(run_scan([PRESENT]), PRESENT)  # the same world, the tool not declared
    assert without.status is Status.FAIL and without.evidence["managed_resources"] == 0


def test_empty_region_is_not_applicable(run_scan: ScanFn) -> None:
    f = only(run_scan([PRESENT], regions=[EU]), PRESENT)  # moto's default VPC: its default group is not counted
    assert f.status is Status.NOT_APPLICABLE and f.region == EU


def test_denied_get_resources_is_error(run_scan: ScanFn) -> None:
    worlds.stack(World(), US, "network")
    faults.deny("resourcegroupstaggingapi:GetResources")
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "resourcegroupstaggingapi:GetResources"
    assert f.evidence["error_code"] == "AccessDeniedException"
    assert "tag:GetResources" in f.message


def test_denied_inventory_read_is_error_not_a_smaller_share(run_scan: ScanFn) -> None:
    worlds.app_stack(World(), US)
    faults.deny("lambda:ListFunctions")
    f = only(run_scan([PRESENT]), PRESENT)
    assert f.status is Status.ERROR and f.evidence["action"] == "lambda:ListFunctions"
    assert "lambda:ListFunctions" in f.message


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
    assert unknown.status is Status.FAIL and unknown.severity is Severity.LOW
    assert unknown.evidence == {"stack": "billing", "drift_status": "NOT_CHECKED", "last_check": None}
    assert unknown.message.startswith("Stack billing: drift was never detected")
    assert f"aws cloudformation detect-stack-drift --stack-name billing --region {EU}" in unknown.message
    assert "never starts one" in unknown.message
    assert unknown.remediation.startswith("aws cloudformation detect-stack-drift --stack-name billing")
    assert f.severity is Severity.MEDIUM
    # Read-only: the scan never started a detection.
    assert not [c for c in faults.calls() if c[2] == "cloudformation:DetectStackDrift"]
    assert {c.action for c in run.calls if c.action.startswith("cloudformation:")} == {"cloudformation:DescribeStacks"}


def test_denied_describe_stacks_is_error(run_scan: ScanFn) -> None:
    worlds.stack(World(), US, "network")
    faults.deny("cloudformation:DescribeStacks")
    f = only(run_scan([DRIFT]), DRIFT)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "cloudformation:DescribeStacks" and f.evidence["error_code"] == "AccessDenied"


def test_never_checked_drift_does_not_meet_rel_001_1(run_scan: ScanFn) -> None:
    worlds.stack(World(), US, "network")
    run = run_scan([DRIFT])
    assert only(run, DRIFT).status is Status.FAIL
    [criterion] = [
        c for control in run.controls if control.id == "REL-001" for c in control.criteria if c.id == "REL-001.1"
    ]
    assert criterion.status.value == "NOT_MET"


def test_no_stack_is_not_applicable_for_drift(run_scan: ScanFn) -> None:
    f = only(run_scan([DRIFT], regions=[EU]), DRIFT)
    assert f.status is Status.NOT_APPLICABLE and f.region == EU
