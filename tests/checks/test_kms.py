"""KMS checks (NETSEC-002.4): rotation of customer managed keys and the key inventory."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import kms as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

REGIONS = ["us-east-1", "eu-west-1"]


# --- kms_cmk_rotation ---------------------------------------------------------------------------

def test_rotation_judged_per_customer_key_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    rotating = worlds.customer_key(world, region="us-east-1", rotation=True, alias="orders")
    managed = worlds.aws_managed_key(world, "ebs", region="us-east-1")
    stale = worlds.customer_key(world, region="eu-west-1", rotation=False, alias="reports")
    signing = worlds.customer_key(world, region="eu-west-1", rotation=False, key_spec="RSA_2048")
    leaving = worlds.customer_key(world, region="eu-west-1", rotation=False, state="PendingDeletion")
    off = worlds.customer_key(world, region="eu-west-1", rotation=False, state="Disabled")
    run = run_scan(["kms_cmk_rotation"], regions=REGIONS)
    assert statuses(run, "kms_cmk_rotation") == {
        (rotating, "us-east-1"): Status.PASS,
        (stale, "eu-west-1"): Status.FAIL,
        (signing, "eu-west-1"): Status.NOT_APPLICABLE,
        (leaving, "eu-west-1"): Status.NOT_APPLICABLE,
        (off, "eu-west-1"): Status.NOT_APPLICABLE,
    }  # the AWS managed key is not a finding
    assert not any(f.resource_id == managed for f in run.findings)
    passed = only(run, "kms_cmk_rotation", resource_id=rotating)
    assert passed.evidence["rotation_enabled"] is True and passed.evidence["key_manager"] == "CUSTOMER"
    failed = only(run, "kms_cmk_rotation", resource_id=stale)
    assert failed.evidence["rotation_enabled"] is False and "does not rotate" in failed.message
    assert "RSA_2048" in only(run, "kms_cmk_rotation", resource_id=signing).evidence["not_judged_because"]
    pending = only(run, "kms_cmk_rotation", resource_id=leaving)
    assert pending.evidence["key_state"] == "PendingDeletion" and "deletion_date" in pending.evidence
    assert "Disabled" in only(run, "kms_cmk_rotation", resource_id=off).message


def test_only_aws_managed_keys_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.aws_managed_key(World(), "rds")
    f = only(run_scan(["kms_cmk_rotation"]), "kms_cmk_rotation")
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT
    assert f.evidence == {"aws_managed_keys": 1}


def test_denied_rotation_status_is_error_for_that_key(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    key = worlds.customer_key(world, rotation=True)
    faults.deny("kms:GetKeyRotationStatus")
    f = only(run_scan(["kms_cmk_rotation"]), "kms_cmk_rotation")
    assert f.status is Status.ERROR and f.resource_id == key and f.resource_type == "AWS::KMS::Key"
    assert f.evidence["action"] == "kms:GetKeyRotationStatus"
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_denied_list_keys_is_error_in_that_region_only(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    key = worlds.customer_key(world, region="us-east-1")
    worlds.customer_key(world, region="eu-west-1", rotation=False)
    faults.deny("kms:ListKeys", region="eu-west-1")
    run = run_scan(["kms_cmk_rotation"], regions=REGIONS)
    assert only(run, "kms_cmk_rotation", resource_id=key).status is Status.PASS
    f = only(run, "kms_cmk_rotation", region="eu-west-1")
    assert f.status is Status.ERROR and f.evidence["action"] == "kms:ListKeys"


# --- kms_key_inventory --------------------------------------------------------------------------

def test_inventory_lists_every_key_with_aliases(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    mine = worlds.customer_key(world, region="us-east-1", alias="orders")
    managed = worlds.aws_managed_key(world, "ebs", region="us-east-1")
    worlds.aws_managed_key(world, "ebs", region="eu-west-1")
    run = run_scan(["kms_key_inventory"], regions=REGIONS)
    f = only(run, "kms_key_inventory", region="us-east-1")
    assert f.status is Status.PASS and f.resource_id == ACCOUNT
    keys = {k["arn"]: k for k in f.evidence["keys"]}
    assert set(keys) == {mine, managed}
    assert keys[mine]["aliases"] == ["alias/orders"] and keys[mine]["key_manager"] == "CUSTOMER"
    assert keys[managed]["aliases"] == ["alias/aws/ebs"] and keys[managed]["key_manager"] == "AWS"
    assert f.evidence["enabled_customer_managed_keys"] == 1 and f.evidence["aws_managed_keys"] == 1
    other = only(run, "kms_key_inventory", region="eu-west-1")
    assert other.status is Status.NOT_APPLICABLE and other.evidence["aws_managed_keys"] == 1
    assert "none customer managed" in other.message


def test_inventory_with_only_disabled_customer_keys_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.customer_key(World(), state="Disabled")
    f = only(run_scan(["kms_key_inventory"]), "kms_key_inventory")
    assert f.status is Status.NOT_APPLICABLE and "1 customer managed key(s), none enabled" in f.message


def test_inventory_denied_describe_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.customer_key(World())
    faults.deny("kms:DescribeKey")
    f = only(run_scan(["kms_key_inventory"]), "kms_key_inventory")
    assert f.status is Status.ERROR and f.evidence["action"] == "kms:DescribeKey"
    assert f.evidence["error_code"] == "AccessDeniedException"
