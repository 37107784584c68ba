"""EFS checks (NETSEC-002.3): PASS, FAIL, ERROR, NOT_APPLICABLE through the runner."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import efs as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses


def test_encrypted_and_unencrypted_file_systems_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.file_system(world, "shared-home", encrypted=True, region="us-east-1")
    bad = worlds.file_system(world, "legacy-exports", encrypted=False, region="eu-west-1")
    run = run_scan(["efs_encrypted"], regions=["us-east-1", "eu-west-1"])
    assert statuses(run, "efs_encrypted") == {
        (good, "us-east-1"): Status.PASS, (bad, "eu-west-1"): Status.FAIL,
    }
    passed = only(run, "efs_encrypted", resource_id=good)
    assert passed.evidence["encrypted"] is True and passed.evidence["name"] == "shared-home"
    failed = only(run, "efs_encrypted", resource_id=bad)
    assert failed.region == "eu-west-1" and failed.evidence["encrypted"] is False
    assert "legacy-exports" in failed.message and "not encrypted" in failed.message
    assert failed.remediation


def test_no_file_systems_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    f = only(run_scan(["efs_encrypted"]), "efs_encrypted")
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT and f.region == "us-east-1"


def test_denied_describe_is_error_naming_the_call(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.file_system(world, "ok", encrypted=True, region="us-east-1")
    worlds.file_system(world, "hidden", encrypted=False, region="eu-west-1")
    faults.deny("elasticfilesystem:DescribeFileSystems", region="eu-west-1")
    run = run_scan(["efs_encrypted"], regions=["us-east-1", "eu-west-1"])
    assert only(run, "efs_encrypted", resource_id=good).status is Status.PASS
    f = only(run, "efs_encrypted", region="eu-west-1")
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT
    assert f.evidence["action"] == "efs:DescribeFileSystems"
    assert f.evidence["error_code"] == "AccessDeniedException"
    assert "elasticfilesystem:DescribeFileSystems" in f.message
