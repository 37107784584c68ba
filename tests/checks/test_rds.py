"""RDS checks (NETSEC-002.3, REL-002.2/DOC-001.2, TEC-001.1): PASS, FAIL, ERROR, NOT_APPLICABLE."""

from __future__ import annotations

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import rds as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

REGIONS = ["us-east-1", "eu-west-1"]
RDS_CHECKS = ["rds_storage_encrypted", "rds_multi_az", "rds_backup_retention"]


# --- rds_storage_encrypted ---------------------------------------------------------------------

def test_encryption_judged_per_cluster_and_standalone_instance(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good_db = worlds.instance(world, "orders", region="us-east-1", encrypted=True)
    good_cluster, members = worlds.aurora_cluster(world, "catalog", region="us-east-1", encrypted=True)
    bad_db = worlds.instance(world, "legacy", region="eu-west-1", encrypted=False)
    bad_cluster, _ = worlds.aurora_cluster(world, "reports", region="eu-west-1", encrypted=False)
    run = run_scan(["rds_storage_encrypted"], regions=REGIONS)
    assert statuses(run, "rds_storage_encrypted") == {
        (good_db, "us-east-1"): Status.PASS,
        (good_cluster, "us-east-1"): Status.PASS,
        (bad_db, "eu-west-1"): Status.FAIL,
        (bad_cluster, "eu-west-1"): Status.FAIL,
    }  # cluster members have no findings of their own
    cluster = only(run, "rds_storage_encrypted", resource_id=good_cluster)
    assert cluster.resource_type == "AWS::RDS::DBCluster"
    assert cluster.evidence["member_instances"] == ["catalog-1", "catalog-2"]
    assert "judged through the cluster" in cluster.evidence["note"]
    assert not any(f.resource_id in members for f in run.findings)
    failed = only(run, "rds_storage_encrypted", resource_id=bad_db)
    assert failed.evidence["storage_encrypted"] is False and failed.evidence["engine"] == "postgres"
    assert failed.message == "DB instance legacy is not encrypted at rest."


def test_no_databases_is_not_applicable_for_every_rds_check(run_scan) -> None:  # type: ignore[no-untyped-def]
    run = run_scan(RDS_CHECKS)
    for check_id in RDS_CHECKS:
        f = only(run, check_id)
        assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT and f.region == "us-east-1"


@pytest.mark.parametrize("check_id", RDS_CHECKS)
def test_denied_cluster_listing_is_error_in_that_region_only(run_scan, check_id: str) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.instance(world, "ok", region="us-east-1", multi_az=True)
    worlds.instance(world, "hidden", region="eu-west-1", encrypted=False)
    faults.deny("rds:DescribeDBClusters", region="eu-west-1")
    run = run_scan([check_id], regions=REGIONS)
    assert only(run, check_id, resource_id=good).status is Status.PASS
    f = only(run, check_id, region="eu-west-1")
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT
    assert f.evidence["action"] == "rds:DescribeDBClusters" and f.evidence["error_code"] == "AccessDenied"


# --- rds_multi_az -------------------------------------------------------------------------------

def test_multi_az_instances_and_clusters(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    standby = worlds.instance(world, "orders", region="us-east-1", multi_az=True)
    spread, _ = worlds.aurora_cluster(world, "catalog", region="us-east-1", member_azs=("a", "c"))
    single = worlds.instance(world, "legacy", region="eu-west-1", multi_az=False, az="eu-west-1b")
    one_zone, _ = worlds.aurora_cluster(world, "reports", region="eu-west-1", member_azs=("a", "a"))
    headless, _ = worlds.aurora_cluster(world, "empty", region="eu-west-1", member_azs=())
    run = run_scan(["rds_multi_az"], regions=REGIONS)
    assert statuses(run, "rds_multi_az") == {
        (standby, "us-east-1"): Status.PASS,
        (spread, "us-east-1"): Status.PASS,
        (single, "eu-west-1"): Status.FAIL,
        (one_zone, "eu-west-1"): Status.FAIL,
        (headless, "eu-west-1"): Status.FAIL,
    }
    spread_f = only(run, "rds_multi_az", resource_id=spread)
    assert spread_f.evidence["member_availability_zones"] == ["us-east-1a", "us-east-1c"]
    assert spread_f.evidence["members"] == {"catalog-1": "us-east-1a", "catalog-2": "us-east-1c"}
    assert only(run, "rds_multi_az", resource_id=standby).evidence["multi_az"] is True
    single_f = only(run, "rds_multi_az", resource_id=single)
    assert single_f.evidence["availability_zone"] == "eu-west-1b"
    assert "single-AZ (eu-west-1b)" in single_f.message
    zone_f = only(run, "rds_multi_az", resource_id=one_zone)
    assert zone_f.evidence["member_availability_zones"] == ["eu-west-1a"]
    assert "no DB instances" in only(run, "rds_multi_az", resource_id=headless).message


# --- rds_backup_retention -----------------------------------------------------------------------

def test_backup_retention_threshold_and_read_replicas(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    weekly = worlds.instance(world, "orders", region="us-east-1", retention=7)
    replica = worlds.read_replica(world, "orders-ro", "orders", region="us-east-1")
    cluster, _ = worlds.aurora_cluster(world, "catalog", region="us-east-1", retention=14)
    short = worlds.instance(world, "legacy", region="eu-west-1", retention=3)
    off = worlds.instance(world, "scratch", region="eu-west-1", retention=0)
    short_cluster, _ = worlds.aurora_cluster(world, "reports", region="eu-west-1", retention=1)
    run = run_scan(["rds_backup_retention"], regions=REGIONS)
    assert statuses(run, "rds_backup_retention") == {
        (weekly, "us-east-1"): Status.PASS,
        (replica, "us-east-1"): Status.NOT_APPLICABLE,
        (cluster, "us-east-1"): Status.PASS,
        (short, "eu-west-1"): Status.FAIL,
        (off, "eu-west-1"): Status.FAIL,
        (short_cluster, "eu-west-1"): Status.FAIL,
    }
    short_f = only(run, "rds_backup_retention", resource_id=short)
    assert short_f.evidence["backup_retention_days"] == 3 and short_f.evidence["required_days"] == 7
    assert "disabled" in only(run, "rds_backup_retention", resource_id=off).message
    assert only(run, "rds_backup_retention", resource_id=replica).evidence["read_replica_source"] == "orders"
    assert only(run, "rds_backup_retention", resource_id=cluster).evidence["backup_retention_days"] == 14


def test_backup_retention_setting_raises_the_bar(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    weekly = worlds.instance(world, "orders", retention=7)
    monthly = worlds.instance(world, "ledger", retention=35)
    run = run_scan(["rds_backup_retention"], settings={"backup_retention_days": 30})
    assert statuses(run, "rds_backup_retention") == {
        (weekly, "us-east-1"): Status.FAIL, (monthly, "us-east-1"): Status.PASS,
    }
    assert only(run, "rds_backup_retention", resource_id=weekly).evidence["required_days"] == 30
