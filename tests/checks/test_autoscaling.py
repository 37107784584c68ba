"""Auto Scaling checks (DOC-001.2, DOC-001.1): PASS, FAIL, ERROR, NOT_APPLICABLE through the runner."""

from __future__ import annotations

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import autoscaling as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

REGIONS = ["us-east-1", "eu-west-1"]
CHECKS = ["autoscaling_multi_az", "autoscaling_scaling_policies"]


# --- autoscaling_multi_az -----------------------------------------------------------------------

def test_groups_judged_on_their_zones_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    spread = worlds.group(world, "web", region="us-east-1", zones=3)
    single = worlds.group(world, "web", region="eu-west-1", zones=1)
    run = run_scan(["autoscaling_multi_az"], regions=REGIONS)
    assert statuses(run, "autoscaling_multi_az") == {
        (spread, "us-east-1"): Status.PASS, (single, "eu-west-1"): Status.FAIL,
    }
    spread_f = only(run, "autoscaling_multi_az", resource_id=spread)
    assert spread_f.evidence["availability_zones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert len(spread_f.evidence["subnets"]) == 3
    single_f = only(run, "autoscaling_multi_az", resource_id=single)
    assert single_f.evidence["availability_zones"] == ["eu-west-1a"]
    assert single_f.evidence["instances_per_zone"] == {"eu-west-1a": 1}
    assert single_f.message == "Auto Scaling group web can only launch in eu-west-1a."


# --- autoscaling_scaling_policies ---------------------------------------------------------------

def test_dynamic_policies_pass_and_inert_ones_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    target = worlds.group(world, "web", region="us-east-1", policy="target")
    step = worlds.group(world, "api", region="us-east-1", policy="step")
    no_alarm = worlds.group(world, "api", region="eu-west-1", policy="step-no-alarm")
    disabled = worlds.group(world, "web", region="eu-west-1", policy="disabled")
    forecast = worlds.group(world, "batch", region="eu-west-1", policy="forecast-only")
    fixed = worlds.group(world, "pinned", region="eu-west-1", policy="target", min_size=2, max_size=2)
    clock = worlds.group(world, "office", region="eu-west-1", policy=None, scheduled=True)
    bare = worlds.group(world, "bare", region="eu-west-1", policy=None)
    run = run_scan(["autoscaling_scaling_policies"], regions=REGIONS)
    assert statuses(run, "autoscaling_scaling_policies") == {
        (target, "us-east-1"): Status.PASS,
        (step, "us-east-1"): Status.PASS,
        (no_alarm, "eu-west-1"): Status.FAIL,
        (disabled, "eu-west-1"): Status.FAIL,
        (forecast, "eu-west-1"): Status.FAIL,
        (fixed, "eu-west-1"): Status.FAIL,
        (clock, "eu-west-1"): Status.FAIL,
        (bare, "eu-west-1"): Status.FAIL,
    }

    def finding(arn: str):  # type: ignore[no-untyped-def]
        return only(run, "autoscaling_scaling_policies", resource_id=arn)

    target_f = finding(target)
    assert target_f.evidence["policies"][0]["target"] == "ASGAverageCPUUtilization = 50.0"
    assert finding(step).evidence["policies"][0]["alarms"] == ["api-cpu-high"]
    assert "api-step-no-alarm: no CloudWatch alarm invokes it" in finding(no_alarm).message
    assert finding(disabled).evidence["policies"][0]["enabled"] is False
    assert "ForecastOnly" in finding(forecast).message
    assert "MinSize equals MaxSize (2)" in finding(fixed).message
    clock_f = finding(clock)
    assert "only scheduled actions (1)" in clock_f.message
    assert clock_f.evidence["scheduled_actions"][0]["recurrence"] == "0 7 * * 1-5"
    assert finding(bare).message.endswith("it has no scaling policies.")


def test_servers_outside_any_group_fail_by_name_beside_the_groups(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    web = worlds.group(world, "web", region="us-east-1", policy="target")
    legacy = worlds.server(world, "legacy-app", region="us-east-1")
    worlds.server(world, "old-batch", region="us-east-1", stopped=True)  # not running: not judged
    lone = worlds.server(world, "fileserver", region="eu-west-1")  # a region with no group at all
    run = run_scan(["autoscaling_scaling_policies"], regions=REGIONS)
    legacy_arn = world.arn("ec2", f"instance/{legacy}", "us-east-1")
    lone_arn = world.arn("ec2", f"instance/{lone}", "eu-west-1")
    # The group's own instance is judged through its group, not on its own.
    assert statuses(run, "autoscaling_scaling_policies") == {
        (web, "us-east-1"): Status.PASS, (legacy_arn, "us-east-1"): Status.FAIL, (lone_arn, "eu-west-1"): Status.FAIL,
    }
    f = only(run, "autoscaling_scaling_policies", resource_id=legacy_arn)
    assert f.resource_type == "AWS::EC2::Instance"
    assert f.message == (f"EC2 instance {legacy} (legacy-app) runs outside any Auto Scaling group: this part of "
                         "the workload has a fixed capacity and does not scale automatically.")
    assert f.evidence == {"instance_id": legacy, "name": "legacy-app", "instance_type": "t3.micro",
                          "availability_zone": "us-east-1a", "auto_scaling_groups_in_region": ["web"]}
    eu = only(run, "autoscaling_scaling_policies", resource_id=lone_arn)
    assert eu.evidence["auto_scaling_groups_in_region"] == [] and "fileserver" in eu.message


def test_denied_instance_listing_keeps_group_verdicts_and_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    web = worlds.group(world, "web", region="us-east-1")
    faults.deny("ec2:DescribeInstances")
    run = run_scan(["autoscaling_scaling_policies"])
    assert only(run, "autoscaling_scaling_policies", resource_id=web).status is Status.PASS
    f = only(run, "autoscaling_scaling_policies", resource_id=ACCOUNT)
    assert f.status is Status.ERROR and f.evidence["action"] == "ec2:DescribeInstances"
    assert f.evidence["error_code"] == "UnauthorizedOperation"


def test_denied_describe_policies_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.group(World(), "web")
    faults.deny("autoscaling:DescribePolicies")
    f = only(run_scan(["autoscaling_scaling_policies"]), "autoscaling_scaling_policies")
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT
    assert f.evidence["action"] == "autoscaling:DescribePolicies" and f.evidence["error_code"] == "AccessDenied"


# --- both ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_id", CHECKS)
def test_no_groups_is_not_applicable(run_scan, check_id: str) -> None:  # type: ignore[no-untyped-def]
    worlds.server(World(), "old-batch", stopped=True)  # a stopped server scales nothing either way
    f = only(run_scan([check_id]), check_id)
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT
    if check_id == "autoscaling_scaling_policies":
        assert f.message == ("No Auto Scaling groups and no running EC2 instances in us-east-1 (ECS service and "
                             "Lambda scaling are not evaluated).")


@pytest.mark.parametrize("check_id", CHECKS)
def test_denied_group_listing_is_error_in_that_region_only(run_scan, check_id: str) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.group(world, "web", region="us-east-1")
    worlds.group(world, "web", region="eu-west-1", zones=1, policy=None)
    faults.deny("autoscaling:DescribeAutoScalingGroups", region="eu-west-1")
    run = run_scan([check_id], regions=REGIONS)
    assert only(run, check_id, resource_id=good).status is Status.PASS
    f = only(run, check_id, region="eu-west-1")
    assert f.status is Status.ERROR and f.evidence["action"] == "autoscaling:DescribeAutoScalingGroups"
