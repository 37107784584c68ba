"""DynamoDB checks (NETSEC-002.4, TEC-001.1): PASS, FAIL, ERROR, NOT_APPLICABLE through the runner."""

from __future__ import annotations

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import dynamodb as worlds
from fixtures.worlds import kms as kms_worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

REGIONS = ["us-east-1", "eu-west-1"]


# --- dynamodb_kms_encryption --------------------------------------------------------------------

def test_key_types_and_an_unusable_key_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    cmk = kms_worlds.customer_key(world, region="us-east-1", alias="orders")
    mine = worlds.table(world, "orders", region="us-east-1", key=cmk)
    managed = worlds.table(world, "sessions", region="us-east-1", key="aws")
    owned = worlds.table(world, "cache", region="eu-west-1", key="owned")
    dead_key = kms_worlds.customer_key(world, region="eu-west-1", state="Disabled")
    broken = worlds.table(world, "ledger", region="eu-west-1", key=dead_key)
    run = run_scan(["dynamodb_kms_encryption"], regions=REGIONS)
    assert statuses(run, "dynamodb_kms_encryption") == {
        (mine, "us-east-1"): Status.PASS,
        (managed, "us-east-1"): Status.PASS,
        (owned, "eu-west-1"): Status.PASS,
        (broken, "eu-west-1"): Status.FAIL,
    }
    mine_f = only(run, "dynamodb_kms_encryption", resource_id=mine)
    assert mine_f.evidence["key_type"] == "CUSTOMER_MANAGED" and mine_f.evidence["kms_key_arn"] == cmk
    assert only(run, "dynamodb_kms_encryption", resource_id=managed).evidence["key_type"] == "AWS_MANAGED"
    owned_f = only(run, "dynamodb_kms_encryption", resource_id=owned)
    assert owned_f.evidence["key_type"] == "AWS_OWNED" and "info" in owned_f.evidence
    assert owned_f.region == "eu-west-1"
    broken_f = only(run, "dynamodb_kms_encryption", resource_id=broken)
    assert broken_f.evidence["key_state"] == "Disabled" and dead_key in broken_f.message
    assert broken_f.remediation


def test_denied_describe_key_is_error_for_that_table_only(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    cmk = kms_worlds.customer_key(world)
    mine = worlds.table(world, "orders", key=cmk)
    owned = worlds.table(world, "cache")
    faults.deny("kms:DescribeKey")
    run = run_scan(["dynamodb_kms_encryption"])
    assert only(run, "dynamodb_kms_encryption", resource_id=owned).status is Status.PASS
    f = only(run, "dynamodb_kms_encryption", resource_id=mine)
    assert f.status is Status.ERROR and f.resource_type == "AWS::DynamoDB::Table"
    assert f.evidence["action"] == "kms:DescribeKey" and f.evidence["error_code"] == "AccessDeniedException"


# --- dynamodb_pitr ------------------------------------------------------------------------------

def test_pitr_on_and_off_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    on = worlds.table(world, "orders", region="us-east-1", pitr=True)
    off = worlds.table(world, "orders", region="eu-west-1", pitr=False)
    run = run_scan(["dynamodb_pitr"], regions=REGIONS)
    assert statuses(run, "dynamodb_pitr") == {(on, "us-east-1"): Status.PASS, (off, "eu-west-1"): Status.FAIL}
    on_f = only(run, "dynamodb_pitr", resource_id=on)
    assert on_f.evidence["point_in_time_recovery"] == "ENABLED" and on_f.evidence["recovery_period_days"] == 35
    off_f = only(run, "dynamodb_pitr", resource_id=off)
    assert off_f.evidence["point_in_time_recovery"] == "DISABLED" and "orders" in off_f.message


def test_denied_continuous_backups_is_error_per_table(run_scan) -> None:  # type: ignore[no-untyped-def]
    arn = worlds.table(World(), "orders", pitr=True)
    faults.deny("dynamodb:DescribeContinuousBackups")
    f = only(run_scan(["dynamodb_pitr"]), "dynamodb_pitr")
    assert f.status is Status.ERROR and f.resource_id == arn
    assert f.evidence["action"] == "dynamodb:DescribeContinuousBackups"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- both ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_id", ["dynamodb_kms_encryption", "dynamodb_pitr"])
def test_no_tables_is_not_applicable(run_scan, check_id: str) -> None:  # type: ignore[no-untyped-def]
    f = only(run_scan([check_id]), check_id)
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT


@pytest.mark.parametrize("check_id", ["dynamodb_kms_encryption", "dynamodb_pitr"])
def test_denied_list_tables_is_error_in_that_region_only(run_scan, check_id: str) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.table(world, "orders", region="us-east-1", key="aws", pitr=True)
    worlds.table(world, "orders", region="eu-west-1")
    faults.deny("dynamodb:ListTables", region="eu-west-1")
    run = run_scan([check_id], regions=REGIONS)
    assert only(run, check_id, resource_id=good).status is Status.PASS
    f = only(run, check_id, region="eu-west-1")
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT and f.evidence["action"] == "dynamodb:ListTables"
