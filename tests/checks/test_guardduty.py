"""guardduty_enabled (NETSEC-001.4) through the runner, in two regions."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import guardduty as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only

US, EU = "us-east-1", "eu-west-1"


def test_enabled_in_one_region_missing_in_the_other(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    detector = worlds.detector(world, EU)
    run = run_scan(["guardduty_enabled"], regions=(US, EU))
    f = only(run, "guardduty_enabled", region=EU)
    assert f.status is Status.PASS and f.resource_id == world.arn("guardduty", f"detector/{detector}", EU)
    assert f.evidence["status"] == "ENABLED"
    f = only(run, "guardduty_enabled", region=US)
    assert f.status is Status.FAIL and f.resource_id == ACCOUNT and f.evidence == {"detector_ids": []}


def test_suspended_detector_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    detector = worlds.detector(world, US, enabled=False)
    f = only(run_scan(["guardduty_enabled"]), "guardduty_enabled")
    assert f.status is Status.FAIL and f.resource_id == world.arn("guardduty", f"detector/{detector}", US)
    assert f.evidence["status"] == "DISABLED" and "status DISABLED" in f.message


def test_denied_list_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.detector(World(), US)
    faults.deny("guardduty:ListDetectors", region=US)
    run = run_scan(["guardduty_enabled"], regions=(US, EU))
    f = only(run, "guardduty_enabled", region=US)
    assert f.status is Status.ERROR and f.evidence["action"] == "guardduty:ListDetectors"
    assert f.evidence["error_code"] == "AccessDeniedException"
    assert only(run, "guardduty_enabled", region=EU).status is Status.FAIL


def test_denied_get_detector_is_error_for_that_detector(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    detector = worlds.detector(world, US)
    faults.deny("guardduty:GetDetector")
    f = only(run_scan(["guardduty_enabled"]), "guardduty_enabled")
    assert f.status is Status.ERROR and f.resource_id == world.arn("guardduty", f"detector/{detector}", US)
    assert f.evidence["action"] == "guardduty:GetDetector"
