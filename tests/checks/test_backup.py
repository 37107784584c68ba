"""checks/backup.py through the real runner, against moto plus fixtures.moto_ext.backup_ext."""

from __future__ import annotations

from datetime import timedelta

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import backup as worlds
from scanner.models import Status
from tests.conftest import only, statuses

US, EU = "us-east-1", "eu-west-1"
H = timedelta(hours=1)
D = timedelta(days=1)


# --- backup_plan_coverage ---------------------------------------------------------------------


def test_coverage_by_conditions_tags_arn_and_not_resources_in_two_regions(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    tagged = worlds.ebs_volume(world, US, tags={"backup": "daily"})
    untagged = worlds.ebs_volume(world, US)
    table = worlds.dynamodb_table(world, US, "orders", tags={"backup": "yes"})
    db = worlds.rds_instance(world, US, "billing")
    excluded_db = worlds.rds_instance(world, US, "scratch")
    plan = worlds.plan(world, US, "daily", vault_name="main")
    worlds.select(
        world,
        US,
        plan,
        "ebs-tagged",
        Resources=["arn:aws:ec2:*:*:volume/*"],
        Conditions={"StringEquals": [{"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "daily"}]},
    )
    worlds.select(
        world,
        US,
        plan,
        "by-tag",
        ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "yes"}],
    )
    worlds.select(world, US, plan, "rds", Resources=["arn:aws:rds:*:*:db:*"], NotResources=[excluded_db])
    # eu-west-1: everything, but one volume excluded; DynamoDB opted out (tag-only assignment needs opt-in).
    worlds.vault(world, EU, "eu")
    efs = worlds.efs_file_system(world, EU, "share")
    eu_kept = worlds.ebs_volume(world, EU)
    eu_excluded = worlds.ebs_volume(world, EU)
    eu_table = worlds.dynamodb_table(world, EU, "events", tags={"backup": "yes"})
    eu_plan = worlds.plan(world, EU, "all", vault_name="eu")
    worlds.select(world, EU, eu_plan, "all", Resources=["*"], NotResources=[eu_excluded])
    worlds.opt_out(world, EU, "DynamoDB")

    run = run_scan(["backup_plan_coverage"], regions=[US, EU])

    assert statuses(run, "backup_plan_coverage") == {
        (tagged, US): Status.PASS,
        (untagged, US): Status.FAIL,
        (table, US): Status.PASS,
        (db, US): Status.PASS,
        (excluded_db, US): Status.FAIL,
        (efs, EU): Status.PASS,
        (eu_kept, EU): Status.PASS,
        (eu_excluded, EU): Status.FAIL,
        (eu_table, EU): Status.FAIL,
    }
    f = only(run, "backup_plan_coverage", resource_id=tagged)
    assert f.evidence["covered_by"][0]["selection"] == "ebs-tagged"
    assert f.evidence["covered_by"][0]["matched_by"] == (
        "Resources arn:aws:ec2:*:*:volume/* with Conditions StringEquals(aws:ResourceTag/backup=daily)"
    )
    assert f.resource_type == "AWS::EC2::Volume"
    assert only(run, "backup_plan_coverage", resource_id=table).evidence["covered_by"][0]["matched_by"] == (
        "ListOfTags backup=yes"
    )
    assert only(run, "backup_plan_coverage", resource_id=efs).evidence["covered_by"][0]["matched_by"] == ("Resources *")
    opted = only(run, "backup_plan_coverage", resource_id=eu_table)
    assert opted.region == EU and opted.evidence["matched_but_opted_out"] == ["all/all"]
    assert "not opted in" in opted.message


def test_explicit_type_assignment_ignores_opt_out(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    volume = worlds.ebs_volume(world, US)
    worlds.select(
        world, US, worlds.plan(world, US, "p", vault_name="main"), "ebs", Resources=["arn:aws:ec2:*:*:volume/*"]
    )
    worlds.opt_out(world, US, "EBS")
    run = run_scan(["backup_plan_coverage"])
    assert only(run, "backup_plan_coverage", resource_id=volume).status is Status.PASS


def test_string_not_like_condition_excludes_matching_tags(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    prod = worlds.ebs_volume(world, US, tags={"env": "prod-eu"})
    dev = worlds.ebs_volume(world, US, tags={"env": "dev"})
    worlds.select(
        world,
        US,
        worlds.plan(world, US, "p", vault_name="main"),
        "not-dev",
        Resources=["arn:aws:ec2:*:*:volume/*"],
        Conditions={"StringNotLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "dev*"}]},
    )
    run = run_scan(["backup_plan_coverage"])
    assert statuses(run, "backup_plan_coverage") == {(prod, US): Status.PASS, (dev, US): Status.FAIL}


def test_coverage_not_applicable_without_data_stores(run_scan):
    run = run_scan(["backup_plan_coverage"])
    f = only(run, "backup_plan_coverage")
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == "123456789012"


def test_coverage_denied_list_plans_is_error(run_scan):
    worlds.ebs_volume(World(), US)
    faults.deny("backup:ListBackupPlans")
    f = only(run_scan(["backup_plan_coverage"]), "backup_plan_coverage")
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "backup:ListBackupPlans" and f.evidence["error_code"] == "AccessDeniedException"


# --- backup_recent_recovery_points -----------------------------------------------------------


def _protected_volume(world: World, region: str, schedule: str) -> tuple[str, str]:
    worlds.vault(world, region, f"v-{region}")
    plan = worlds.plan(world, region, f"p-{region}", vault_name=f"v-{region}", schedule=schedule)
    worlds.select(world, region, plan, "ebs", Resources=["arn:aws:ec2:*:*:volume/*"])
    return plan, f"v-{region}"


def test_recovery_points_fresh_stale_and_weekly_in_two_regions(run_scan):
    world = World()
    plan, vault = _protected_volume(world, US, "cron(0 5 ? * * *)")  # daily: allowed 48 h
    fresh = worlds.ebs_volume(world, US)
    stale = worlds.ebs_volume(world, US)
    worlds.recovery_point(world, US, fresh, "EBS", vault_name=vault, age=10 * H, plan_id=plan)
    worlds.recovery_point(world, US, stale, "EBS", vault_name=vault, age=60 * H, plan_id=plan)
    worlds.recovery_point(world, US, stale, "EBS", vault_name=vault, age=2 * H, status="PARTIAL")
    eu_plan, eu_vault = _protected_volume(world, EU, "cron(0 5 ? * SUN *)")  # weekly: allowed 336 h
    weekly = worlds.ebs_volume(world, EU)
    worlds.recovery_point(world, EU, weekly, "EBS", vault_name=eu_vault, age=200 * H, plan_id=eu_plan)

    run = run_scan(["backup_recent_recovery_points"], regions=[US, EU])

    assert statuses(run, "backup_recent_recovery_points") == {
        (fresh, US): Status.PASS,
        (stale, US): Status.FAIL,
        (weekly, EU): Status.PASS,
    }
    f = only(run, "backup_recent_recovery_points", resource_id=stale)
    assert f.evidence["allowed_age_hours"] == 48.0 and f.evidence["other_statuses"] == ["PARTIAL"]
    assert 59.9 < f.evidence["latest_completed"]["age_hours"] < 60.1
    assert only(run, "backup_recent_recovery_points", resource_id=weekly).evidence["allowed_age_hours"] == 336.0


def test_new_store_without_recovery_point_is_not_yet_due_but_old_one_fails(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 5 ? * * *)")
    volume = worlds.ebs_volume(world, US)  # created just now
    run = run_scan(["backup_recent_recovery_points"])
    f = only(run, "backup_recent_recovery_points", resource_id=volume)
    assert f.status is Status.PASS and "not yet due" in f.message and f.evidence["latest_completed"] is None


def test_recovery_points_not_applicable_when_nothing_is_protected(run_scan):
    worlds.ebs_volume(World(), US)
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points")
    assert f.status is Status.NOT_APPLICABLE


def test_denied_recovery_point_listing_is_error_for_that_resource(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 5 ? * * *)")
    volume = worlds.ebs_volume(world, US)
    faults.deny("backup:ListRecoveryPointsByResource")
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=volume)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "backup:ListRecoveryPointsByResource"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- backup_vault_protected ------------------------------------------------------------------


def test_vaults_locked_policy_denied_and_unprotected_in_two_regions(run_scan):
    world = World()
    locked = worlds.vault(world, US, "locked")
    worlds.lock_vault(world, US, "locked", min_days=30, changeable_for_days=3)
    denied = worlds.vault(world, US, "denied")
    worlds.vault_policy(world, US, "denied", [worlds.deny_delete_statement()])
    allow_only = worlds.vault(world, EU, "allow-only")
    worlds.vault_policy(
        world, EU, "allow-only", [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "backup:*", "Resource": "*"}]
    )
    bare = worlds.vault(world, EU, "bare")
    run = run_scan(["backup_vault_protected"], regions=[US, EU])
    assert statuses(run, "backup_vault_protected") == {
        (locked, US): Status.PASS,
        (denied, US): Status.PASS,
        (allow_only, EU): Status.FAIL,
        (bare, EU): Status.FAIL,
    }
    lock = only(run, "backup_vault_protected", resource_id=locked).evidence["lock"]
    assert lock["locked"] and lock["min_retention_days"] == 30 and lock["mode"].startswith("compliance, grace time")
    f = only(run, "backup_vault_protected", resource_id=denied)
    assert f.evidence["denied_actions"] == ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]
    assert f.evidence["deny_statements"][0]["Sid"] == "DenyDelete"
    assert only(run, "backup_vault_protected", resource_id=bare).evidence["has_access_policy"] is False
    assert "does not deny" in only(run, "backup_vault_protected", resource_id=allow_only).message


def test_not_action_deny_counts_as_denying_delete(run_scan):
    world = World()
    arn = worlds.vault(world, US, "v")
    worlds.vault_policy(
        world, US, "v", [{"Effect": "Deny", "Principal": "*", "NotAction": "backup:Describe*", "Resource": "*"}]
    )
    assert only(run_scan(["backup_vault_protected"]), "backup_vault_protected", resource_id=arn).status is Status.PASS


def test_vaults_not_applicable_without_vaults(run_scan):
    assert only(run_scan(["backup_vault_protected"]), "backup_vault_protected").status is Status.NOT_APPLICABLE


def test_denied_vault_policy_read_is_error_naming_the_call(run_scan):
    arn = worlds.vault(World(), US, "v")
    faults.deny("backup:GetBackupVaultAccessPolicy")
    f = only(run_scan(["backup_vault_protected"]), "backup_vault_protected", resource_id=arn)
    assert f.status is Status.ERROR and f.evidence["action"] == "backup:GetBackupVaultAccessPolicy"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- backup_restore_tested -------------------------------------------------------------------


def test_restore_testing_plan_or_recent_restore_passes_old_restore_fails(run_scan):
    world = World()
    testing = worlds.restore_testing_plan(world, US, "weekly")
    worlds.vault(world, EU, "eu")
    volume = worlds.ebs_volume(world, EU)
    point = worlds.recovery_point(world, EU, volume, "EBS", vault_name="eu", age=20 * D)
    job = worlds.restore_job(world, EU, point, resource_type="EBS", ended_ago=10 * D, duration=2 * H)
    run = run_scan(["backup_restore_tested"], regions=[US, EU])
    us = only(run, "backup_restore_tested", region=US)
    assert us.status is Status.PASS and us.evidence["restore_testing_plans"][0]["arn"] == testing
    eu = only(run, "backup_restore_tested", region=EU)
    assert eu.status is Status.PASS and eu.evidence["completed_restores"][0]["restore_job"] == job
    assert eu.evidence["completed_restores"][0]["duration_hours"] == 2.0


def test_restore_older_than_90_days_fails(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    point = worlds.recovery_point(world, US, worlds.ebs_volume(world, US), "EBS", vault_name="v", age=200 * D)
    worlds.restore_job(world, US, point, resource_type="EBS", ended_ago=120 * D, duration=H)
    f = only(run_scan(["backup_restore_tested"]), "backup_restore_tested")
    assert f.status is Status.FAIL and f.evidence["completed_restores_count"] == 0


def test_denied_restore_testing_plans_is_error(run_scan):
    faults.deny("backup:ListRestoreTestingPlans")
    f = only(run_scan(["backup_restore_tested"]), "backup_restore_tested")
    assert f.status is Status.ERROR and f.evidence["action"] == "backup:ListRestoreTestingPlans"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- backup_rpo_rto_targets ------------------------------------------------------------------


def _restored(world: World, region: str, vault: str, duration: timedelta) -> None:
    volume = worlds.ebs_volume(world, region)
    point = worlds.recovery_point(world, region, volume, "EBS", vault_name=vault, age=3 * D)
    worlds.restore_job(world, region, point, resource_type="EBS", ended_ago=2 * D, duration=duration)


def test_no_declared_targets_fails_and_shows_the_achievable_figures(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 */6 * * ? *)")
    _restored(world, US, f"v-{US}", 3 * H)
    f = only(run_scan(["backup_rpo_rto_targets"]), "backup_rpo_rto_targets")
    assert f.status is Status.FAIL and f.message.startswith("No RPO and RTO target declared")
    assert f.evidence["achievable_rpo_hours"] == 6.0 and f.evidence["observed_rto_hours"] == 3.0


def test_targets_met_in_one_region_missed_in_the_other(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 5 ? * * *)")  # daily
    _restored(world, US, f"v-{US}", 2 * H)
    _protected_volume(world, EU, "cron(0 5 ? * SUN *)")  # weekly: 168 h > 24 h
    _restored(world, EU, f"v-{EU}", 9 * H)  # 9 h > 4 h
    run = run_scan(["backup_rpo_rto_targets"], regions=[US, EU], settings={"rpo_hours": 24, "rto_hours": 4})
    us = only(run, "backup_rpo_rto_targets", region=US)
    assert us.status is Status.PASS and us.evidence["achievable_rpo_hours"] == 24.0
    eu = only(run, "backup_rpo_rto_targets", region=EU)
    assert eu.status is Status.FAIL
    assert "up to 168.0 h apart" in eu.message and "slowest restore took 9.0 h" in eu.message


def test_continuous_backup_gives_five_minute_rpo_and_unmeasured_rto_fails(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    db = worlds.rds_instance(world, US, "orders")
    plan = worlds.plan(world, US, "pitr", vault_name="v", continuous=True)
    worlds.select(world, US, plan, "db", Resources=[db])
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 1, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.evidence["rpo_by_data_store_hours"] == {"orders": round(5 / 60, 3)}
    assert f.status is Status.FAIL and f.message.startswith("No completed restore in 365 days validates the RTO")


def test_denied_restore_jobs_is_error(run_scan):
    faults.deny("backup:ListRestoreJobs")
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 24, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.status is Status.ERROR and f.evidence["action"] == "backup:ListRestoreJobs"
    assert f.evidence["error_code"] == "AccessDeniedException"
