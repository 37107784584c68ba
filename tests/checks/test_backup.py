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


def test_arn_wildcard_naming_no_type_needs_the_opt_in(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    volume = worlds.ebs_volume(world, US)
    worlds.select(world, US, worlds.plan(world, US, "p", vault_name="main"), "everything", Resources=["arn:aws:*"])
    worlds.opt_out(world, US, "EBS")
    f = only(run_scan(["backup_plan_coverage"]), "backup_plan_coverage", resource_id=volume)
    assert f.status is Status.FAIL and f.evidence["matched_but_opted_out"] == ["p/everything"]


def test_instance_selection_covers_its_attached_volumes(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    by_pattern = worlds.ec2_instance(world, US, data_volumes=1)
    by_tag = worlds.ec2_instance(world, US, tags={"backup": "yes"})
    untagged = worlds.ec2_instance(world, US)
    loose = worlds.ebs_volume(world, US)  # attached to nothing
    # us-east-1: all instances by ARN pattern; eu-west-1: instances by tag only
    worlds.select(
        world, US, worlds.plan(world, US, "ec2", vault_name="main"), "instances",
        Resources=["arn:aws:ec2:*:*:instance/*"],
    )
    worlds.vault(world, EU, "eu")
    eu_tagged = worlds.ec2_instance(world, EU, tags={"backup": "yes"})
    eu_untagged = worlds.ec2_instance(world, EU)
    worlds.select(
        world, EU, worlds.plan(world, EU, "ec2-tagged", vault_name="eu"), "tagged",
        ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "yes"}],
    )

    run = run_scan(["backup_plan_coverage"], regions=[US, EU])

    vols = {i: worlds.attached_volumes(world, r, i) for i, r in
            ((by_pattern, US), (by_tag, US), (untagged, US), (eu_tagged, EU), (eu_untagged, EU))}
    assert len(vols[by_pattern]) == 2
    expected = {(v, US): Status.PASS for i in (by_pattern, by_tag, untagged) for v in vols[i]}
    expected[(loose, US)] = Status.FAIL
    expected.update({(v, EU): Status.PASS for v in vols[eu_tagged]})
    expected.update({(v, EU): Status.FAIL for v in vols[eu_untagged]})
    assert statuses(run, "backup_plan_coverage") == expected
    data = only(run, "backup_plan_coverage", resource_id=vols[by_pattern][0]).evidence["covered_by"][0]
    assert data["via_instance"] == world.arn("ec2", f"instance/{by_pattern}", US)
    assert data["matched_by"] == (
        f"EC2 instance {by_pattern} by Resources arn:aws:ec2:*:*:instance/*: AWS Backup backs the instance up "
        "with all its attached EBS volumes"
    )
    tagged = only(run, "backup_plan_coverage", resource_id=vols[eu_tagged][0])
    matched_by = tagged.evidence["covered_by"][0]["matched_by"]
    assert matched_by.startswith(f"EC2 instance {eu_tagged} by ListOfTags backup=yes")
    assert f"EC2 instance {eu_tagged}" in tagged.message


def test_specific_instance_arn_covers_only_that_instances_volumes(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    chosen, other = worlds.ec2_instance(world, US), worlds.ec2_instance(world, US)
    worlds.select(
        world, US, worlds.plan(world, US, "p", vault_name="main"), "one",
        Resources=[world.arn("ec2", f"instance/{chosen}", US)],
    )
    run = run_scan(["backup_plan_coverage"])
    assert statuses(run, "backup_plan_coverage") == {
        **{(v, US): Status.PASS for v in worlds.attached_volumes(world, US, chosen)},
        **{(v, US): Status.FAIL for v in worlds.attached_volumes(world, US, other)},
    }


def test_denied_instance_tags_is_error_when_a_tag_selection_needs_them(run_scan):
    world = World()
    worlds.vault(world, US, "main")
    worlds.ec2_instance(world, US)
    worlds.select(
        world, US, worlds.plan(world, US, "p", vault_name="main"), "tagged",
        ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "yes"}],
    )
    faults.deny("ec2:DescribeInstances")
    f = only(run_scan(["backup_plan_coverage"]), "backup_plan_coverage")
    assert f.status is Status.ERROR and f.evidence["action"] == "ec2:DescribeInstances"


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


def _protected_volume(
    world: World, region: str, schedule: str, start_window_minutes: int | None = None
) -> tuple[str, str]:
    worlds.vault(world, region, f"v-{region}")
    plan = worlds.plan(
        world, region, f"p-{region}", vault_name=f"v-{region}", schedule=schedule,
        start_window_minutes=start_window_minutes,
    )
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


def test_continuous_backup_is_judged_by_a_completed_continuous_point_not_its_age(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    both = worlds.rds_instance(world, US, "orders")
    stale_daily = worlds.rds_instance(world, US, "billing")
    stopped = worlds.rds_instance(world, US, "ledger")
    rules = [
        worlds.backup_rule("pitr", "v", continuous=True),
        worlds.backup_rule("daily", "v", schedule="cron(0 5 ? * * *)"),
    ]
    plan = worlds.plan_with_rules(world, US, "p", rules)
    worlds.select(world, US, plan, "db", Resources=[both, stale_daily])
    only_pitr = worlds.plan(world, US, "pitr-only", vault_name="v", continuous=True)
    worlds.select(world, US, only_pitr, "ledger", Resources=[stopped])
    # A continuous point keeps the CreationDate of its first backup (30 days here).
    continuous = worlds.recovery_point(world, US, both, "RDS", vault_name="v", age=720 * H, continuous=True)
    worlds.recovery_point(world, US, both, "RDS", vault_name="v", age=6 * H, plan_id=plan)
    worlds.recovery_point(world, US, stale_daily, "RDS", vault_name="v", age=720 * H, continuous=True)
    worlds.recovery_point(world, US, stale_daily, "RDS", vault_name="v", age=100 * H, plan_id=plan)
    worlds.recovery_point(world, US, stopped, "RDS", vault_name="v", age=720 * H, continuous=True, status="STOPPED")

    run = run_scan(["backup_recent_recovery_points"])

    assert statuses(run, "backup_recent_recovery_points") == {
        (both, US): Status.PASS,
        (stale_daily, US): Status.FAIL,
        (stopped, US): Status.FAIL,
    }
    f = only(run, "backup_recent_recovery_points", resource_id=both)
    assert f.evidence["allowed_age_hours"] == 48.0  # the daily snapshot rule, not 2 x 5 minutes
    assert 5.9 < f.evidence["latest_completed"]["age_hours"] < 6.1
    assert f.evidence["continuous_backup"]["rules"] == ["p/pitr"]
    assert f.evidence["continuous_backup"]["completed_point"]["recovery_point"] == continuous
    assert "its status is judged (COMPLETED required), not its age" in f.evidence["continuous_backup"]["judged"]
    assert f"continuous backup recovery point {continuous} is COMPLETED" in f.message
    billing = only(run, "backup_recent_recovery_points", resource_id=stale_daily)
    assert "no completed recovery point within 48.0 h (latest is 100.0 h old)" in billing.message
    ledger = only(run, "backup_recent_recovery_points", resource_id=stopped)
    assert ledger.message == "ledger: no COMPLETED continuous backup recovery point (continuous point status STOPPED)."
    assert ledger.evidence["allowed_age_hours"] is None and ledger.evidence["other_statuses"] == ["STOPPED"]


def test_merged_rules_set_the_allowed_age(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    volume = worlds.ebs_volume(world, US)
    # Alone, the weekday rule leaves 72 h (Friday -> Monday) and the weekend rule 6 days; together: daily.
    rules = [
        worlds.backup_rule("weekdays", "v", schedule="cron(0 5 ? * MON-FRI *)"),
        worlds.backup_rule("weekend", "v", schedule="cron(0 5 ? * SAT,SUN *)"),
    ]
    worlds.select(world, US, worlds.plan_with_rules(world, US, "p", rules), "ebs", Resources=[volume])
    worlds.recovery_point(world, US, volume, "EBS", vault_name="v", age=60 * H)
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=volume)
    assert f.status is Status.FAIL and f.evidence["allowed_age_hours"] == 48.0
    assert [r["max_interval_hours"] for r in f.evidence["rules"]] == [72.0, 144.0]


def test_instance_recovery_points_count_for_its_volumes(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    instance = worlds.ec2_instance(world, US)
    plan = worlds.plan(world, US, "ec2", vault_name="v")
    worlds.select(world, US, plan, "instances", Resources=["arn:aws:ec2:*:*:instance/*"])
    instance_arn = world.arn("ec2", f"instance/{instance}", US)
    point = worlds.recovery_point(world, US, instance_arn, "EC2", vault_name="v", age=10 * H, plan_id=plan)
    (volume,) = worlds.attached_volumes(world, US, instance)
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=volume)
    assert f.status is Status.PASS and f.evidence["latest_completed"]["recovery_point"] == point
    assert f.evidence["recovery_points_of"] == [volume, instance_arn]


def test_new_dynamodb_table_is_not_yet_due_from_its_creation_time(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    table = worlds.dynamodb_table(world, US, "orders")
    worlds.select(world, US, worlds.plan(world, US, "p", vault_name="v"), "ddb", Resources=[table])
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=table)
    assert f.status is Status.PASS
    assert f.message == "orders: created less than 48.0 h ago; its first backup is not yet due."


def test_denied_describe_table_is_error_for_that_table(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    table = worlds.dynamodb_table(world, US, "orders")
    worlds.select(world, US, worlds.plan(world, US, "p", vault_name="v"), "ddb", Resources=[table])
    faults.deny("dynamodb:DescribeTable")
    f = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=table)
    assert f.status is Status.ERROR and f.evidence["action"] == "dynamodb:DescribeTable"
    assert f.evidence["error_code"] == "AccessDeniedException"


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


def test_restore_testing_plan_that_selects_nothing_does_not_count(run_scan):
    world = World()
    worlds.restore_testing_plan(world, US, "idle", protected_types=())
    worlds.restore_testing_plan(world, EU, "idle-eu", protected_types=())
    worlds.restore_testing_plan(world, EU, "weekly", protected_types=("RDS", "EBS"))
    run = run_scan(["backup_restore_tested"], regions=[US, EU])
    us = only(run, "backup_restore_tested", region=US)
    assert us.status is Status.FAIL
    assert us.message == (
        "Restore testing plan(s) idle select nothing (no restore testing selection, so they restore nothing) "
        "and no restore job completed in the last 90 days."
    )
    assert us.evidence["restore_testing_plans"][0]["selections"] == []
    eu = only(run, "backup_restore_tested", region=EU)
    assert eu.status is Status.PASS
    assert eu.message == (
        "Restore testing plan(s): weekly (2 selection(s)); restore testing plan(s) idle-eu select nothing."
    )
    weekly = next(p for p in eu.evidence["restore_testing_plans"] if p["name"] == "weekly")
    assert weekly["selections"] == [
        {"name": "weekly_rds", "resource_type": "RDS"},
        {"name": "weekly_ebs", "resource_type": "EBS"},
    ]


def test_denied_restore_testing_selections_is_error(run_scan):
    worlds.restore_testing_plan(World(), US, "weekly")
    faults.deny("backup:ListRestoreTestingSelections")
    f = only(run_scan(["backup_restore_tested"]), "backup_restore_tested")
    assert f.status is Status.ERROR and f.evidence["action"] == "backup:ListRestoreTestingSelections"
    assert f.evidence["error_code"] == "AccessDeniedException"


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
    # every 6 hours, plus AWS Backup's default start window of 8 hours (the rule sets none)
    assert f.evidence["achievable_rpo_hours"] == 14.0 and f.evidence["observed_rto_hours"] == 3.0
    (entry,) = [e for e in f.evidence["data_stores"].values() if e["rpo_hours"] is not None]
    assert entry["basis"] == (
        f"longest gap 6.0 h between the merged runs of p-{US}/p-{US}-rule, plus a start window of up to 8.0 h"
    )
    assert f.message.endswith("(achievable RPO 14.0 h, slowest restore 3.0 h).")


def test_units_follow_the_figures_when_nothing_is_known(run_scan):
    worlds.ebs_volume(World(), US)  # in no plan
    f = only(run_scan(["backup_rpo_rto_targets"]), "backup_rpo_rto_targets")
    assert f.status is Status.FAIL and f.evidence["achievable_rpo_hours"] is None
    assert f.message.endswith("(achievable RPO unknown, slowest restore never measured).")


def test_targets_met_in_one_region_missed_in_the_other(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 5 ? * * *)", start_window_minutes=60)  # daily, 1 h start window
    _restored(world, US, f"v-{US}", 2 * H)
    _protected_volume(world, EU, "cron(0 5 ? * SUN *)", start_window_minutes=60)  # weekly: 169 h > 25 h
    _restored(world, EU, f"v-{EU}", 9 * H)  # 9 h > 4 h
    run = run_scan(["backup_rpo_rto_targets"], regions=[US, EU], settings={"rpo_hours": 25, "rto_hours": 4})
    us = only(run, "backup_rpo_rto_targets", region=US)
    assert us.status is Status.PASS and us.evidence["achievable_rpo_hours"] == 25.0
    assert us.message == "Targets RPO 25 h / RTO 4 h are met (achievable RPO 25.0 h, slowest restore 2.0 h)."
    eu = only(run, "backup_rpo_rto_targets", region=EU)
    assert eu.status is Status.FAIL
    assert eu.message.startswith("Backups can be up to 169.0 h apart (schedule gap plus start window), above the 25 h")
    assert "slowest restore took 9.0 h" in eu.message


def test_rules_of_a_plan_and_plans_of_a_store_merge(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    volume = worlds.ebs_volume(world, US)
    rules = [
        worlds.backup_rule("weekdays", "v", schedule="cron(0 * ? * MON-FRI *)", start_window_minutes=60),
        worlds.backup_rule("weekend", "v", schedule="cron(0 */6 ? * SAT,SUN *)", start_window_minutes=60),
    ]
    worlds.select(world, US, worlds.plan_with_rules(world, US, "p", rules), "ebs", Resources=[volume])
    worlds.vault(world, EU, "eu")
    eu_volume = worlds.ebs_volume(world, EU)
    for name, schedule in (("midnight", "cron(0 0 * * ? *)"), ("noon", "cron(0 12 * * ? *)")):
        plan = worlds.plan(world, EU, name, vault_name="eu", schedule=schedule, start_window_minutes=60)
        worlds.select(world, EU, plan, "all-ebs", Resources=["arn:aws:ec2:*:*:volume/*"])
    _restored(world, US, "v", 2 * H)
    _restored(world, EU, "eu", 2 * H)
    run = run_scan(["backup_rpo_rto_targets"], regions=[US, EU], settings={"rpo_hours": 7, "rto_hours": 4})
    us = only(run, "backup_rpo_rto_targets", region=US)
    # The volume _restored() adds is in no plan; judge the protected one.
    assert us.evidence["rpo_by_data_store_hours"][volume] == 7.0  # 6 h weekend gap + 1 h start window
    assert us.evidence["data_stores"][volume]["basis"] == (
        "longest gap 6.0 h between the merged runs of p/weekdays, p/weekend, plus a start window of up to 1.0 h"
    )
    eu = only(run, "backup_rpo_rto_targets", region=EU)
    assert eu.evidence["rpo_by_data_store_hours"][eu_volume] == 13.0  # two plans: 00:00 and 12:00
    assert "midnight/midnight-rule, noon/noon-rule" in eu.evidence["data_stores"][eu_volume]["basis"]


def test_continuous_backup_gives_five_minute_rpo_and_unmeasured_rto_fails(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    db = worlds.rds_instance(world, US, "orders")
    plan = worlds.plan(world, US, "pitr", vault_name="v", continuous=True)
    worlds.select(world, US, plan, "db", Resources=[db])
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 1, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.evidence["rpo_by_data_store_hours"] == {db: round(5 / 60, 3)}
    assert f.evidence["data_stores"][db]["basis"] == (
        "AWS Backup continuous backup (pitr/pitr-rule): point-in-time restore"
    )
    assert f.status is Status.FAIL and f.message.startswith("No completed restore in 365 days validates the RTO")


def test_native_point_in_time_restore_counts_and_read_replicas_are_left_out(run_scan):
    world = World()
    db = worlds.rds_instance(world, US, "orders", retention=7)  # RDS automated backups, in no plan
    replica = worlds.read_replica(world, US, "orders-ro", "orders")
    table = worlds.dynamodb_table(world, US, "sessions", pitr=True)
    worlds.vault(world, US, "v")
    volume = worlds.ebs_volume(world, US)
    worlds.select(
        world, US, worlds.plan(world, US, "p", vault_name="v", start_window_minutes=60), "ebs", Resources=[volume]
    )
    _restored(world, US, "v", H)  # adds a volume in no plan: move it into the plan's reach
    worlds.select(world, US, worlds.plan(world, US, "all", vault_name="v", start_window_minutes=60), "all",
                  Resources=["arn:aws:ec2:*:*:volume/*"])
    run = run_scan(["backup_rpo_rto_targets", "backup_plan_coverage"], settings={"rpo_hours": 25, "rto_hours": 4})
    assert only(run, "backup_plan_coverage", resource_id=replica).status is Status.NOT_APPLICABLE
    f = only(run, "backup_rpo_rto_targets")
    assert f.status is Status.PASS, f.message
    assert f.evidence["read_replicas_excluded"] == [replica] and replica not in f.evidence["data_stores"]
    assert f.evidence["unprotected_data_stores"] == []
    assert f.evidence["rpo_by_data_store_hours"][db] == round(5 / 60, 3)
    assert f.evidence["data_stores"][db]["basis"] == (
        "RDS automated backups kept 7 day(s): point-in-time restore, transaction logs uploaded every 5 minutes"
    )
    assert f.evidence["data_stores"][table]["basis"].startswith("DynamoDB point-in-time recovery enabled")
    assert f.evidence["achievable_rpo_hours"] == 25.0


def test_same_name_in_two_services_keeps_two_figures(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    db = worlds.rds_instance(world, US, "orders")
    table = worlds.dynamodb_table(world, US, "orders")
    worlds.select(world, US, worlds.plan(world, US, "pitr", vault_name="v", continuous=True), "db", Resources=[db])
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 24, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.evidence["rpo_by_data_store_hours"] == {db: round(5 / 60, 3), table: None}
    assert f.evidence["unprotected_data_stores"] == [table]
    assert "1 data store(s) have no recurring backup (DynamoDB orders)" in f.message


def test_rpo_not_applicable_in_a_region_without_data_stores(run_scan):
    world = World()
    _protected_volume(world, US, "cron(0 5 ? * * *)")
    worlds.ebs_volume(world, US)
    run = run_scan(["backup_rpo_rto_targets"], regions=[US, EU])
    assert only(run, "backup_rpo_rto_targets", region=US).status is Status.FAIL  # no targets declared
    eu = only(run, "backup_rpo_rto_targets", region=EU)
    assert eu.status is Status.NOT_APPLICABLE and eu.resource_id == "123456789012"
    assert eu.message == "No RDS, EBS, EFS or DynamoDB data store in this region: no RPO or RTO to validate here."


def test_denied_point_in_time_recovery_read_is_error(run_scan):
    worlds.dynamodb_table(World(), US, "orders")
    faults.deny("dynamodb:DescribeContinuousBackups")
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 24, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.status is Status.ERROR and f.evidence["action"] == "dynamodb:DescribeContinuousBackups"


def test_denied_restore_jobs_is_error(run_scan):
    worlds.ebs_volume(World(), US)
    faults.deny("backup:ListRestoreJobs")
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 24, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.status is Status.ERROR and f.evidence["action"] == "backup:ListRestoreJobs"
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_table_creation_time_reuses_the_describe_table_of_the_dynamodb_checks(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    table = worlds.dynamodb_table(world, US, "orders")
    worlds.select(world, US, worlds.plan(world, US, "p", vault_name="v"), "ddb", Resources=[table])
    run = run_scan(["backup_recent_recovery_points", "dynamodb_kms_encryption"])
    assert only(run, "backup_recent_recovery_points", resource_id=table).status is Status.PASS
    assert [c.params for c in run.calls if c.action == "dynamodb:DescribeTable"] == [{"TableName": "orders"}]


def test_bounded_and_ended_year_fields_are_reported_with_their_dates(run_scan):
    world = World()
    worlds.vault(world, US, "v")
    bounded, ended = worlds.ebs_volume(world, US), worlds.ebs_volume(world, US)
    plan = worlds.plan(world, US, "till-2040", vault_name="v", schedule="cron(0 5 ? * * 2020-2040)",
                       start_window_minutes=60)
    worlds.select(world, US, plan, "one", Resources=[bounded])
    old = worlds.plan(world, US, "old", vault_name="v", schedule="cron(0 5 ? * * 2020-2021)")
    worlds.select(world, US, old, "other", Resources=[ended])
    f = only(run_scan(["backup_rpo_rto_targets"], settings={"rpo_hours": 25, "rto_hours": 4}), "backup_rpo_rto_targets")
    assert f.evidence["data_stores"][bounded] == {
        "resource": f"EBS {bounded.rsplit('/', 1)[1]}",
        "rpo_hours": 25.0,
        "basis": "longest gap 24.0 h between the merged runs of till-2040/till-2040-rule, until 2040-12-31, "
        "plus a start window of up to 1.0 h",
        "until": "2040-12-31",
    }
    assert "backup schedules end on 2040-12-31" in f.message
    assert f.evidence["data_stores_without_recurring_schedule"] == [ended]
    assert f.evidence["data_stores"][ended]["basis"] == "no rule recurs now on a parsable schedule (see the rules)"
    recent = only(run_scan(["backup_recent_recovery_points"]), "backup_recent_recovery_points", resource_id=ended)
    assert recent.status is Status.FAIL
    assert recent.evidence["rules"][0]["ignored"] == "schedule ended on 2021-12-31"
