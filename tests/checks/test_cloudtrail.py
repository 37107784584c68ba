"""CloudTrail checks (ACCT-001.4, NETSEC-002.3, REL-001.2): PASS, FAIL, ERROR through the runner."""

from __future__ import annotations

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cloudtrail as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


# --- cloudtrail_multi_region_logging -------------------------------------------------------------


def test_logging_multi_region_trail_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    arn = worlds.compliant_trail(World())
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.PASS and f.resource_id == ACCOUNT and f.region == "global"
    assert arn in f.message
    assert f.evidence["multi_region_trails"][0]["is_logging"] is True


def test_single_region_trail_does_not_count(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-single")
    single = worlds.trail(world, "regional", "logs-single", multi_region=False)
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.FAIL
    assert f.evidence["single_region_trails"] == [single]
    assert "only single-region" in f.message


def test_stopped_multi_region_trail_does_not_count(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-stopped")
    arn = worlds.trail(world, "stopped", "logs-stopped", logging=False)
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.FAIL and f"{arn}: not logging" in f.message


def test_write_only_trail_does_not_count(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-wo")
    worlds.trail(world, "writes", "logs-wo", read_write="WriteOnly")
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.FAIL and "read and write management events" in f.message


def test_describe_trails_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.compliant_trail(World())
    faults.deny("cloudtrail:DescribeTrails")
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "cloudtrail:DescribeTrails"
    assert f.evidence["error_code"] == "AccessDeniedException"


# --- cloudtrail_bucket_protected ----------------------------------------------------------------


def test_protected_dedicated_bucket_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.compliant_trail(World(), bucket="audit-logs-ok")
    f = only(run_scan(["cloudtrail_bucket_protected"]), "cloudtrail_bucket_protected")
    assert f.status is Status.PASS and f.resource_id == bucket_arn("audit-logs-ok")
    assert f.evidence["versioning"] == "Enabled" and f.evidence["object_lock"] == "Enabled"
    assert f.evidence["public_access_blocked"] is True and f.evidence["non_log_principals"] == []


def test_unprotected_shared_bucket_fails_with_each_gap(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "shared-bucket", protected=False, extra_principal="arn:aws:iam::999999999999:root")
    worlds.trail(world, "org-audit", "shared-bucket")
    f = only(run_scan(["cloudtrail_bucket_protected"]), "cloudtrail_bucket_protected")
    assert f.status is Status.FAIL and f.resource_id == bucket_arn("shared-bucket")
    for gap in (
        "versioning is off",
        "neither MFA delete nor Object Lock",
        "public access is not fully blocked",
        "not dedicated to logs",
    ):
        assert gap in f.message
    assert f.evidence["non_log_principals"] == ["AWS:arn:aws:iam::999999999999:root"]


def test_only_the_multi_region_trails_bucket_is_judged(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.compliant_trail(world, bucket="audit-logs-main")
    worlds.log_bucket(world, "other-logs", protected=False)
    worlds.trail(world, "app-trail", "other-logs", multi_region=False)
    run = run_scan(["cloudtrail_bucket_protected"])
    assert [f.resource_id for f in run.findings] == [bucket_arn("audit-logs-main")]


def test_no_multi_region_trail_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    f = only(run_scan(["cloudtrail_bucket_protected"]), "cloudtrail_bucket_protected")
    assert f.status is Status.NOT_APPLICABLE


def test_bucket_read_denied_is_error_for_that_bucket(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.compliant_trail(World(), bucket="archive-logs")
    faults.deny("s3:GetBucketVersioning")
    f = only(run_scan(["cloudtrail_bucket_protected"]), "cloudtrail_bucket_protected")
    assert f.status is Status.ERROR and f.resource_id == bucket_arn("archive-logs")
    assert f.evidence["action"] == "s3:GetBucketVersioning" and f.evidence["error_code"] == "AccessDenied"


# --- cloudtrail_log_file_validation -------------------------------------------------------------


def test_log_file_validation_per_trail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-a")
    on = worlds.trail(world, "validated", "logs-a")
    off = worlds.trail(world, "unvalidated", "logs-a", validation=False)
    run = run_scan(["cloudtrail_log_file_validation"])
    assert only(run, "cloudtrail_log_file_validation", resource_id=on).status is Status.PASS
    assert only(run, "cloudtrail_log_file_validation", resource_id=off).status is Status.FAIL


def test_log_file_validation_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("cloudtrail:DescribeTrails")
    f = only(run_scan(["cloudtrail_log_file_validation"]), "cloudtrail_log_file_validation")
    assert f.status is Status.ERROR and f.evidence["action"] == "cloudtrail:DescribeTrails"


# --- cloudtrail_kms_encrypted (regional: each trail in its home region) --------------------------


def test_kms_encryption_is_judged_in_the_trails_home_region(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    key = world.client("kms", "eu-west-1").create_key()["KeyMetadata"]["Arn"]
    worlds.log_bucket(world, "logs-kms")
    plain = worlds.trail(world, "plain", "logs-kms")
    worlds.log_bucket(world, "logs-eu", region="eu-west-1")
    encrypted = worlds.trail(world, "eu-encrypted", "logs-eu", multi_region=False, kms_key=key, region="eu-west-1")
    run = run_scan(["cloudtrail_kms_encrypted"], regions=["us-east-1", "eu-west-1"])
    us = only(run, "cloudtrail_kms_encrypted", resource_id=plain)
    eu = only(run, "cloudtrail_kms_encrypted", resource_id=encrypted)
    assert (us.status, us.region) == (Status.FAIL, "us-east-1")
    assert (eu.status, eu.region) == (Status.PASS, "eu-west-1") and eu.evidence["KmsKeyId"] == key


def test_kms_no_trail_in_region_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    f = only(run_scan(["cloudtrail_kms_encrypted"], regions=["eu-west-1"]), "cloudtrail_kms_encrypted")
    assert f.status is Status.NOT_APPLICABLE and f.region == "eu-west-1"


def test_kms_denied_in_one_region_is_error_there_only(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("cloudtrail:DescribeTrails", region="eu-west-1")
    run = run_scan(["cloudtrail_kms_encrypted"], regions=["us-east-1", "eu-west-1"])
    assert only(run, "cloudtrail_kms_encrypted", region="us-east-1").status is Status.NOT_APPLICABLE
    assert only(run, "cloudtrail_kms_encrypted", region="eu-west-1").status is Status.ERROR


# --- cloudtrail_no_console_changes --------------------------------------------------------------


@pytest.mark.parametrize(("console", "api", "expected"), [(0, 12, Status.PASS), (3, 12, Status.FAIL)])
def test_console_changes(run_scan, console: int, api: int, expected: Status) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.console_events(world, "eu-west-1", console=console, api=api)
    worlds.console_events(world, "us-east-1", console=0, api=2)
    run = run_scan(["cloudtrail_no_console_changes"], regions=["us-east-1", "eu-west-1"])
    eu = only(run, "cloudtrail_no_console_changes", region="eu-west-1")
    assert eu.status is expected
    assert eu.evidence["console_write_events"] == console
    assert eu.evidence["write_events_read"] == console + api
    assert only(run, "cloudtrail_no_console_changes", region="us-east-1").status is Status.PASS
    if console:
        assert eu.evidence["examples"][0]["Username"] == "alice"


def test_console_lookup_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("cloudtrail:LookupEvents")
    f = only(run_scan(["cloudtrail_no_console_changes"]), "cloudtrail_no_console_changes")
    assert f.status is Status.ERROR and f.evidence["action"] == "cloudtrail:LookupEvents"
