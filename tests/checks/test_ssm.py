"""checks/ssm.py through the real runner, against moto plus fixtures.moto_ext.ssm_ext."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import ssm as worlds
from scanner.models import Status
from tests.conftest import only, statuses

US, EU = "us-east-1", "eu-west-1"


def _arn(world: World, region: str, instance_id: str) -> str:
    return worlds.instance_arn(world, region, instance_id)


# --- ssm_instances_managed -------------------------------------------------------------------


def test_managed_unmanaged_and_lost_instances_in_two_regions(run_scan):
    world = World()
    online = worlds.managed_instance(world, US)
    unmanaged = worlds.instance(world, US)
    lost = worlds.managed_instance(world, EU, ping="ConnectionLost")
    eu_online = worlds.managed_instance(world, EU, platform="Ubuntu", version="22.04")
    stopped = worlds.instance(world, EU)
    world.client("ec2", EU).stop_instances(InstanceIds=[stopped])
    run = run_scan(["ssm_instances_managed"], regions=[US, EU])
    assert statuses(run, "ssm_instances_managed") == {
        (_arn(world, US, online), US): Status.PASS,
        (_arn(world, US, unmanaged), US): Status.FAIL,
        (_arn(world, EU, lost), EU): Status.FAIL,
        (_arn(world, EU, eu_online), EU): Status.PASS,
    }
    f = only(run, "ssm_instances_managed", resource_id=_arn(world, EU, lost))
    assert f.evidence["PingStatus"] == "ConnectionLost" and f.resource_type == "AWS::EC2::Instance"
    assert only(run, "ssm_instances_managed", resource_id=_arn(world, US, unmanaged)).evidence["managed"] is False


def test_instances_managed_not_applicable_without_running_instances(run_scan):
    assert only(run_scan(["ssm_instances_managed"]), "ssm_instances_managed").status is Status.NOT_APPLICABLE


def test_denied_instance_information_is_error(run_scan):
    worlds.instance(World(), US)
    faults.deny("ssm:DescribeInstanceInformation")
    f = only(run_scan(["ssm_instances_managed"]), "ssm_instances_managed")
    assert f.status is Status.ERROR and f.evidence["action"] == "ssm:DescribeInstanceInformation"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- ssm_patch_baseline ----------------------------------------------------------------------


def test_predefined_default_and_patch_group_baselines_pass_list_only_default_fails(run_scan):
    world = World()
    worlds.managed_instance(world, US)  # Amazon Linux 2023 on AWS's predefined default
    web = worlds.managed_instance(world, US, tags={"Patch Group": "web"})
    web_baseline = worlds.baseline(world, US, "web-al2023", "AMAZON_LINUX_2023")
    worlds.patch_group(world, US, web_baseline, "web")
    windows = worlds.managed_instance(
        world, EU, platform="Microsoft Windows Server 2022 Datacenter", version="10.0.20348", platform_type="Windows"
    )
    listed = worlds.baseline(world, EU, "windows-listed", "WINDOWS", rules=False)
    worlds.make_default(world, EU, listed)
    run = run_scan(["ssm_patch_baseline"], regions=[US, EU])
    us = only(run, "ssm_patch_baseline", region=US)
    assert us.status is Status.PASS
    rows = {(r["operating_system"], r["patch_group"]): r for r in us.evidence["baselines_in_force"]}
    assert rows[("AMAZON_LINUX_2023", None)]["baseline_name"] == "AWS-AmazonLinux2023DefaultPatchBaseline"
    assert rows[("AMAZON_LINUX_2023", None)]["aws_predefined"] is True
    assert rows[("AMAZON_LINUX_2023", "web")]["baseline_id"] == web_baseline
    assert rows[("AMAZON_LINUX_2023", "web")]["instances"] == [web]
    eu = only(run, "ssm_patch_baseline", region=EU)
    assert eu.status is Status.FAIL and "WINDOWS: baseline windows-listed has no approval rules" in eu.message
    assert eu.evidence["baselines_in_force"][0]["baseline_id"] == listed
    assert eu.evidence["baselines_in_force"][0]["instances"] == [windows]


@pytest.mark.parametrize("tag_key", ["Patch Group", "PatchGroup"])
def test_patch_group_tag_in_either_spelling_selects_its_baseline(run_scan, tag_key):
    world = World()
    web = worlds.managed_instance(world, US, tags={tag_key: "web"})
    listed = worlds.baseline(world, US, "web-listed", "AMAZON_LINUX_2023", rules=False)
    worlds.patch_group(world, US, listed, "web")
    f = only(run_scan(["ssm_patch_baseline"]), "ssm_patch_baseline")
    assert f.status is Status.FAIL
    assert f.message == "AMAZON_LINUX_2023/web: baseline web-listed has no approval rules."
    [row] = f.evidence["baselines_in_force"]
    assert row["patch_group"] == "web" and row["baseline_id"] == listed and row["instances"] == [web]
    assert row["source"] == "patch group web"


def test_patch_group_registered_for_another_os_falls_back_to_the_os_default(run_scan):
    world = World()
    web = worlds.managed_instance(world, US, tags={"PatchGroup": "web"})  # Amazon Linux 2023
    windows_only = worlds.baseline(world, US, "web-windows", "WINDOWS", rules=False)
    worlds.patch_group(world, US, windows_only, "web")
    f = only(run_scan(["ssm_patch_baseline"]), "ssm_patch_baseline")
    assert f.status is Status.PASS
    [row] = f.evidence["baselines_in_force"]
    assert row["patch_group"] == "web" and row["instances"] == [web]
    assert row["baseline_name"] == "AWS-AmazonLinux2023DefaultPatchBaseline" and row["baseline_id"] != windows_only
    assert row["source"] == "default baseline (patch group web has no baseline for AMAZON_LINUX_2023)"


def test_unknown_operating_system_fails_naming_the_instance(run_scan):
    world = World()
    odd = worlds.managed_instance(world, US, platform="Plan 9", version="4")
    f = only(run_scan(["ssm_patch_baseline"]), "ssm_patch_baseline")
    assert f.status is Status.FAIL and f.evidence["unknown_operating_systems"] == [f"{odd} (Plan 9 4)"]


def test_patch_baseline_not_applicable_without_managed_instances(run_scan):
    assert only(run_scan(["ssm_patch_baseline"]), "ssm_patch_baseline").status is Status.NOT_APPLICABLE


def test_denied_default_baseline_is_error(run_scan):
    worlds.managed_instance(World(), US)
    faults.deny("ssm:GetDefaultPatchBaseline")
    f = only(run_scan(["ssm_patch_baseline"]), "ssm_patch_baseline")
    assert f.status is Status.ERROR and f.evidence["action"] == "ssm:GetDefaultPatchBaseline"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- ssm_patch_schedule ----------------------------------------------------------------------


def test_association_and_window_schedules_pass_scan_only_fails(run_scan):
    world = World()
    us_instance = worlds.managed_instance(world, US)
    eu_instance = worlds.managed_instance(world, EU)
    association = worlds.patch_association(world, US, schedule="cron(0 2 ? * SUN *)")
    window = worlds.patch_window(world, EU, operation="Scan")
    run = run_scan(["ssm_patch_schedule"], regions=[US, EU])
    us = only(run, "ssm_patch_schedule", region=US)
    assert us.status is Status.PASS
    assert us.evidence["patch_schedules"] == [
        {
            "kind": "association",
            "id": association,
            "name": "patch-install",
            "document": "AWS-RunPatchBaseline",
            "schedule": "cron(0 2 ? * SUN *)",
            "max_interval_hours": 168.0,
            "operation": "Install",
            "targets": [{"Key": "InstanceIds", "Values": ["*"]}],
            "reaches": [us_instance],
            "unresolved_targets": [],
            "problems": [],
        }
    ]
    assert us.evidence["untargeted_instances"] == [] and us.evidence["managed_instances"] == [us_instance]
    eu = only(run, "ssm_patch_schedule", region=EU)
    assert eu.status is Status.FAIL and "only scan" in eu.message
    assert eu.evidence["patch_schedules"][0]["id"] == window
    assert eu.evidence["patch_schedules"][0]["operation"] == "Scan"
    assert eu.evidence["untargeted_instances"] == [eu_instance]


def test_maintenance_window_installing_patches_passes(run_scan):
    world = World()
    instance = worlds.managed_instance(world, US)
    window = worlds.patch_window(world, US, schedule="cron(0 3 ? * SAT#2 *)")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.PASS
    entry = f.evidence["patch_schedules"][0]
    assert entry["id"] == window and entry["operation"] == "Install" and entry["kind"] == "maintenance window"
    assert entry["enabled"] is True and entry["end_date"] is None and entry["reaches"] == [instance]


def test_one_time_window_does_not_count_and_empty_region_is_not_applicable(run_scan):
    world = World()
    instance = worlds.managed_instance(world, US)
    window = worlds.patch_window(world, US, schedule="at(2020-01-05T03:00:00)")
    run = run_scan(["ssm_patch_schedule"], regions=[US, EU])
    f = only(run, "ssm_patch_schedule", region=US)
    assert f.status is Status.FAIL
    [entry] = f.evidence["patch_schedules"]
    assert entry["id"] == window and entry["max_interval_hours"] is None
    assert entry["problems"] == ["runs once (at(2020-01-05T03:00:00)), it does not recur"]
    assert f.evidence["untargeted_instances"] == [instance]
    assert "runs once" in f.message and window in f.message
    eu = only(run, "ssm_patch_schedule", region=EU)  # no managed instance there: nothing to patch
    assert eu.status is Status.NOT_APPLICABLE and "no SSM managed instance" in eu.message


def test_disabled_or_ended_window_does_not_count(run_scan):
    world = World()
    worlds.managed_instance(world, US)
    disabled = worlds.patch_window(world, US, enabled=False)
    ended = worlds.patch_window(world, US, end_date="2021-06-30T00:00:00Z")
    future = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.FAIL
    problems = {e["id"]: e["problems"] for e in f.evidence["patch_schedules"]}
    assert problems == {disabled: ["window disabled"], ended: ["window ended on 2021-06-30T00:00:00Z"]}
    worlds.patch_window(world, US, end_date=future)
    assert only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule").status is Status.PASS


def test_untargeted_instances_fail_by_id_and_tag_targets(run_scan):
    world = World()
    web = worlds.managed_instance(world, US, tags={"Role": "web"})
    db = worlds.managed_instance(world, US, tags={"Role": "db"})
    batch = worlds.managed_instance(world, US, tags={"Nightly": "yes"})
    forgotten = worlds.managed_instance(world, US)
    window = worlds.patch_window(world, US, window_targets=({"Key": "tag:Role", "Values": ["web", "db"]},))
    worlds.patch_association(world, US, targets=({"Key": "InstanceIds", "Values": [batch]},))
    worlds.patch_association(world, US, targets=({"Key": "tag-key", "Values": ["Nightly"]},), schedule=None)
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.FAIL
    assert f.evidence["untargeted_instances"] == [forgotten]
    assert f.evidence["targeted_instances"] == sorted([web, db, batch])
    entries = {e["id"]: e for e in f.evidence["patch_schedules"] if e["kind"] == "maintenance window"}
    assert entries[window]["targets"] == [{"Key": "tag:Role", "Values": ["web", "db"]}]
    assert entries[window]["reaches"] == sorted([web, db])
    unscheduled = next(e for e in f.evidence["patch_schedules"] if e["schedule"] is None)
    assert unscheduled["problems"] == ["no schedule (runs only when created or when its targets change)"]
    assert f.message.startswith(
        f"1 of 4 managed instance(s) not targeted by any recurring patch deployment: {forgotten}"
    )


def test_resource_group_targets_are_reported_as_not_resolved(run_scan):
    world = World()
    instance = worlds.managed_instance(world, US)
    worlds.patch_association(world, US, targets=({"Key": "resource-groups:Name", "Values": ["web-servers"]},))
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.PASS
    assert f.evidence["unresolved_targets"] == ["resource-groups:Name=web-servers"]
    assert f.evidence["untargeted_instances"] == [] and f.evidence["not_shown_targeted"] == [instance]
    assert "resource group" in f.message and instance in f.message


def test_no_patch_schedule_fails(run_scan):
    world = World()
    worlds.managed_instance(world, US)
    worlds.patch_association(world, US, document="AWS-GatherSoftwareInventory")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.FAIL and f.evidence["patch_schedules"] == []


def test_denied_list_associations_is_error(run_scan):
    worlds.managed_instance(World(), US)
    faults.deny("ssm:ListAssociations")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.ERROR and f.evidence["action"] == "ssm:ListAssociations"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- ssm_patch_compliance --------------------------------------------------------------------


def test_compliance_per_instance_in_two_regions(run_scan):
    world = World()
    compliant = worlds.managed_instance(world, US)
    worlds.patch_state(world, US, compliant)
    missing = worlds.managed_instance(world, US)
    worlds.patch_state(world, US, missing, missing=3, failed=1)
    never = worlds.managed_instance(world, US)
    stale = worlds.managed_instance(world, EU)
    worlds.patch_state(world, EU, stale, age=timedelta(days=45))
    reboot = worlds.managed_instance(world, EU)
    worlds.patch_state(world, EU, reboot, pending_reboot=2)
    rejected = worlds.managed_instance(world, EU)
    worlds.patch_state(world, EU, rejected, rejected=1)
    run = run_scan(["ssm_patch_compliance"], regions=[US, EU])
    assert statuses(run, "ssm_patch_compliance") == {
        (_arn(world, US, compliant), US): Status.PASS,
        (_arn(world, US, missing), US): Status.FAIL,
        (_arn(world, US, never), US): Status.FAIL,
        (_arn(world, EU, stale), EU): Status.FAIL,
        (_arn(world, EU, reboot), EU): Status.FAIL,
        (_arn(world, EU, rejected), EU): Status.FAIL,
    }
    f = only(run, "ssm_patch_compliance", resource_id=_arn(world, US, missing))
    assert f.evidence["MissingCount"] == 3 and f.evidence["FailedCount"] == 1
    assert f.message == f"{missing} is NON_COMPLIANT: 3 missing, 1 failed."
    assert "never reported" in only(run, "ssm_patch_compliance", resource_id=_arn(world, US, never)).message
    assert "older than 30 days" in only(run, "ssm_patch_compliance", resource_id=_arn(world, EU, stale)).message
    assert "2 pending reboot" in only(run, "ssm_patch_compliance", resource_id=_arn(world, EU, reboot)).message
    f = only(run, "ssm_patch_compliance", resource_id=_arn(world, EU, rejected))
    assert f.evidence["InstalledRejectedCount"] == 1
    assert f.message == f"{rejected} is NON_COMPLIANT: 1 installed but rejected by the baseline."


def test_compliance_not_applicable_without_managed_instances(run_scan):
    assert only(run_scan(["ssm_patch_compliance"]), "ssm_patch_compliance").status is Status.NOT_APPLICABLE


def test_denied_patch_states_is_error_per_instance(run_scan):
    world = World()
    instance = worlds.managed_instance(world, US)
    faults.deny("ssm:DescribeInstancePatchStates")
    f = only(run_scan(["ssm_patch_compliance"]), "ssm_patch_compliance", resource_id=_arn(world, US, instance))
    assert f.status is Status.ERROR and f.evidence["action"] == "ssm:DescribeInstancePatchStates"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- ssm_runbooks ----------------------------------------------------------------------------


def test_runbooks_found_in_any_scanned_region(run_scan):
    world = World()
    worlds.runbook(world, EU, "Restart-WebTier")
    f = only(run_scan(["ssm_runbooks"], regions=[US, EU]), "ssm_runbooks")
    assert f.status is Status.PASS and f.region == "global"
    assert f.evidence["runbooks_by_region"] == {US: [], EU: ["Restart-WebTier"]}


def test_no_runbooks_fails(run_scan):
    f = only(run_scan(["ssm_runbooks"], regions=[US, EU]), "ssm_runbooks")
    assert f.status is Status.FAIL and f.evidence["count"] == 0


def test_denied_list_documents_is_error(run_scan):
    faults.deny("ssm:ListDocuments", region=EU)
    f = only(run_scan(["ssm_runbooks"], regions=[US, EU]), "ssm_runbooks")
    assert f.status is Status.ERROR and f.evidence["action"] == "ssm:ListDocuments" and f.evidence["region"] == EU
    assert f.evidence["error_code"] == "AccessDeniedException"


@pytest.mark.parametrize("check_id", ["ssm_patch_baseline", "ssm_patch_schedule", "ssm_patch_compliance"])
def test_running_instances_none_managed_fail_the_patching_checks(run_scan, check_id):
    """Not NOT_APPLICABLE: that would roll up as met while nothing patches the running servers."""
    world = World()
    unmanaged = worlds.instance(world, US)
    f = only(run_scan([check_id]), check_id)
    assert f.status is Status.FAIL and f.resource_id == "123456789012"
    assert f.evidence["running_instances"] == [unmanaged] and "none managed by Systems Manager" in f.message
