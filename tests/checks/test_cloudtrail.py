"""CloudTrail checks (ACCT-001.4, NETSEC-002.3, REL-001.2): PASS, FAIL, ERROR through the runner."""

from __future__ import annotations

import json

import pytest
from moto.cloudtrail.responses import CloudTrailResponse

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import cloudtrail as worlds
from scanner.models import ScanRun, Status
from tests.conftest import ACCOUNT, only

MANAGEMENT = "111111111111"


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def call_of(run: ScanRun, call_id: str) -> tuple[str, str, str | None]:
    call = next(c for c in run.calls if c.id == call_id)
    return call.action, call.outcome.value, call.error_code


def eu_trail(world: World, name: str = "eu-audit") -> str:
    """A second multi-region trail whose home is eu-west-1 (so a fault there hits it only)."""
    worlds.log_bucket(world, f"{name}-logs", region="eu-west-1")
    return worlds.trail(world, name, f"{name}-logs", region="eu-west-1")


def org_trail_seen_from_member(world: World) -> str:
    """An organization trail of management account 111111111111, applied to the scanned account."""
    return worlds.organization_trail(World(MANAGEMENT), [world])


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


def test_trail_created_without_selectors_records_all_management_events(run_scan) -> None:  # type: ignore[no-untyped-def]
    # AWS (and fixtures.moto_ext) answer GetEventSelectors with the default selector here.
    world = World()
    worlds.log_bucket(world, "logs-default")
    arn = worlds.trail(world, "console-made", "logs-default", read_write=None)
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.PASS and arn in f.message
    assert f.evidence["multi_region_trails"][0]["all_management_events"] is True


def test_selectors_answer_with_neither_kind_is_error_not_fail(  # type: ignore[no-untyped-def]
    run_scan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a stock moto server answers for a trail created without selectors; AWS never does."""
    world = World()
    worlds.log_bucket(world, "logs-stock")
    arn = worlds.trail(world, "stock", "logs-stock", read_write=None)
    monkeypatch.setattr(
        CloudTrailResponse,
        "get_event_selectors",
        lambda self: json.dumps({"TrailARN": arn, "EventSelectors": [], "AdvancedEventSelectors": []}),
    )
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.ERROR
    assert (f.evidence["action"], f.evidence["error_code"]) == ("cloudtrail:GetEventSelectors", None)
    assert f.evidence["unreadable_trails"][0]["outcome"] == "unexpected answer"
    assert f"{arn}: cloudtrail:GetEventSelectors in us-east-1 gave an unexpected answer" in f.message


def test_unreadable_trail_does_not_hide_one_that_qualifies(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.compliant_trail(world)
    unread = eu_trail(world)
    faults.deny("cloudtrail:GetTrailStatus", region="eu-west-1")
    run = run_scan(["cloudtrail_multi_region_logging"])
    f = only(run, "cloudtrail_multi_region_logging")
    assert f.status is Status.PASS and f"Multi-region trail {good} is logging" in f.message
    [entry] = f.evidence["unreadable_trails"]
    assert (entry["trail"], entry["action"], entry["region"], entry["error_code"]) == (
        unread,
        "cloudtrail:GetTrailStatus",
        "eu-west-1",
        "AccessDeniedException",
    )
    assert entry["failed_call"] in f.calls
    assert call_of(run, entry["failed_call"]) == ("cloudtrail:GetTrailStatus", "denied", "AccessDeniedException")
    assert f"{unread}: cloudtrail:GetTrailStatus in eu-west-1 was denied" in f.message


def test_no_qualifying_trail_and_one_unreadable_is_error_naming_the_call(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-stopped")
    stopped = worlds.trail(world, "stopped", "logs-stopped", logging=False)
    unread = eu_trail(world)
    faults.deny("cloudtrail:GetEventSelectors", region="eu-west-1")
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.ERROR  # never FAIL: the unread trail might qualify
    assert (f.evidence["action"], f.evidence["error_code"]) == ("cloudtrail:GetEventSelectors", "AccessDeniedException")
    assert [e["trail"] for e in f.evidence["unreadable_trails"]] == [unread]
    assert f"{stopped}: not logging" in f.message
    assert "grant the scan role cloudtrail:GetEventSelectors" in f.message


def test_organization_trail_seen_from_a_member_account_is_error_not_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    org = org_trail_seen_from_member(world)
    assert f":{MANAGEMENT}:trail/" in org
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.ERROR
    [trail] = f.evidence["multi_region_trails"]
    assert (trail["trail"], trail["organization_trail"], trail["managed_by_account"]) == (org, True, MANAGEMENT)
    assert trail["is_logging"] is True  # GetTrailStatus answers a member for the trail's ARN
    [entry] = f.evidence["unreadable_trails"]
    assert (entry["action"], entry["error_code"]) == ("cloudtrail:GetEventSelectors", "CloudTrailARNInvalidException")
    assert f"{org} (organization trail managed by account {MANAGEMENT})" in f.message
    assert f"scanning account {MANAGEMENT}" in f.message


def test_organization_trail_unreadable_beside_a_qualifying_local_trail_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    org = org_trail_seen_from_member(world)
    local = worlds.compliant_trail(world)
    f = only(run_scan(["cloudtrail_multi_region_logging"]), "cloudtrail_multi_region_logging")
    assert f.status is Status.PASS and local in f.message
    [entry] = f.evidence["unreadable_trails"]
    assert (entry["trail"], entry["managed_by_account"], entry["error_code"]) == (
        org,
        MANAGEMENT,
        "CloudTrailARNInvalidException",
    )
    assert f"organization trail managed by account {MANAGEMENT}" in f.message


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


def test_bucket_of_the_qualifying_trail_is_judged_beside_an_unreadable_trail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.compliant_trail(world, bucket="audit-logs-main")
    unread = eu_trail(world)
    faults.deny("cloudtrail:GetEventSelectors", region="eu-west-1")
    f = only(run_scan(["cloudtrail_bucket_protected"]), "cloudtrail_bucket_protected")
    assert f.status is Status.PASS and f.resource_id == bucket_arn("audit-logs-main")
    assert [(e["trail"], e["action"]) for e in f.evidence["unreadable_trails"]] == [
        (unread, "cloudtrail:GetEventSelectors")
    ]


def test_bucket_unknown_when_no_trail_qualifies_and_one_is_unreadable(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.log_bucket(world, "logs-stopped", protected=False)
    worlds.trail(world, "stopped", "logs-stopped", logging=False)
    org = org_trail_seen_from_member(world)
    run = run_scan(["cloudtrail_bucket_protected"])
    f = only(run, "cloudtrail_bucket_protected")  # no FAIL for the stopped trail's bucket
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT
    assert (f.evidence["action"], f.evidence["error_code"]) == (
        "cloudtrail:GetEventSelectors",
        "CloudTrailARNInvalidException",
    )
    assert f.evidence["unreadable_trails"][0]["managed_by_account"] == MANAGEMENT
    assert f"{org} (organization trail managed by account {MANAGEMENT})" in f.message


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
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "cloudtrail:DescribeTrails"
    assert f.evidence["error_code"] == "AccessDeniedException"


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
    eu = only(run, "cloudtrail_kms_encrypted", region="eu-west-1")
    assert eu.status is Status.ERROR
    assert (eu.evidence["action"], eu.evidence["region"]) == ("cloudtrail:DescribeTrails", "eu-west-1")
    assert eu.evidence["error_code"] == "AccessDeniedException"


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


def test_console_history_cut_off_at_the_limit_is_never_pass(run_scan) -> None:  # type: ignore[no-untyped-def]
    # Newest first: the 12 programmatic events (1 day old) are read before the 3 console ones (3 days).
    worlds.console_events(World(), "us-east-1", console=3, api=12)
    f = only(
        run_scan(["cloudtrail_no_console_changes"], settings={"console_max_events": 10}),
        "cloudtrail_no_console_changes",
    )
    assert f.status is Status.ERROR
    assert f.evidence["history_truncated"] is True
    assert (f.evidence["write_events_read"], f.evidence["console_write_events"]) == (10, 0)
    assert "more than console_max_events=10" in f.message and "--set console_max_events=N" in f.message


def test_console_change_within_a_cut_off_history_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.console_events(World(), "us-east-1", console=3, api=12)
    f = only(
        run_scan(["cloudtrail_no_console_changes"], settings={"console_max_events": 13}),
        "cloudtrail_no_console_changes",
    )
    assert f.status is Status.FAIL and f.evidence["history_truncated"] is True
    assert f.evidence["console_write_events"] == 1 and "the history holds more" in f.message


def test_history_exactly_at_the_limit_is_whole(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.console_events(World(), "us-east-1", console=0, api=12)
    f = only(
        run_scan(["cloudtrail_no_console_changes"], settings={"console_max_events": 12}),
        "cloudtrail_no_console_changes",
    )
    assert f.status is Status.PASS and f.evidence["history_truncated"] is False


def test_console_lookup_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("cloudtrail:LookupEvents")
    f = only(run_scan(["cloudtrail_no_console_changes"]), "cloudtrail_no_console_changes")
    assert f.status is Status.ERROR and f.evidence["action"] == "cloudtrail:LookupEvents"
    assert f.evidence["error_code"] == "AccessDeniedException"
