"""checks/ssm.py through the real runner, against moto plus fixtures.moto_ext.ssm_ext."""

from __future__ import annotations

from datetime import timedelta

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
        }
    ]
    eu = only(run, "ssm_patch_schedule", region=EU)
    assert eu.status is Status.FAIL and "only scan" in eu.message
    assert eu.evidence["patch_schedules"][0]["id"] == window
    assert eu.evidence["patch_schedules"][0]["operation"] == "Scan"


def test_maintenance_window_installing_patches_passes(run_scan):
    world = World()
    window = worlds.patch_window(world, US, schedule="cron(0 3 ? * SAT#2 *)")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.PASS
    entry = f.evidence["patch_schedules"][0]
    assert entry["id"] == window and entry["operation"] == "Install" and entry["kind"] == "maintenance window"


def test_no_patch_schedule_fails(run_scan):
    worlds.patch_association(World(), US, document="AWS-GatherSoftwareInventory")
    f = only(run_scan(["ssm_patch_schedule"]), "ssm_patch_schedule")
    assert f.status is Status.FAIL and f.evidence["patch_schedules"] == []


def test_denied_list_associations_is_error(run_scan):
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
    run = run_scan(["ssm_patch_compliance"], regions=[US, EU])
    assert statuses(run, "ssm_patch_compliance") == {
        (_arn(world, US, compliant), US): Status.PASS,
        (_arn(world, US, missing), US): Status.FAIL,
        (_arn(world, US, never), US): Status.FAIL,
        (_arn(world, EU, stale), EU): Status.FAIL,
        (_arn(world, EU, reboot), EU): Status.FAIL,
    }
    f = only(run, "ssm_patch_compliance", resource_id=_arn(world, US, missing))
    assert f.evidence["MissingCount"] == 3 and f.evidence["FailedCount"] == 1
    assert f.message == f"{missing} is NON_COMPLIANT: 3 missing, 1 failed."
    assert "never reported" in only(run, "ssm_patch_compliance", resource_id=_arn(world, US, never)).message
    assert "older than 30 days" in only(run, "ssm_patch_compliance", resource_id=_arn(world, EU, stale)).message
    assert "2 pending reboot" in only(run, "ssm_patch_compliance", resource_id=_arn(world, EU, reboot)).message


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
