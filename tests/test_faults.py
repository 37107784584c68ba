"""Fault tolerance (issue 9): throttling, partial permissions, expired credentials, interruption.

Each fault is injected inside moto (fixtures.moto_ext.faults), so botocore sees what AWS
would send; the assertions are on verdicts, ERROR findings, and that nothing else was lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import account as account_worlds
from fixtures.worlds import cloudtrail as trail_worlds
from scanner.catalog import load_catalog
from scanner.context import CheckContext
from scanner.document import to_document, validate
from scanner.gateway import CallFailed
from scanner.models import CallOutcome, CheckSpec, Finding, Scope, Severity, Status
from scanner.registry import load_checks
from scanner.runner import ScanOptions, scan
from scanner.session import ConnectOptions, connect
from tests.conftest import only

ACCT_001 = [
    "account_contacts_set",
    "cloudtrail_multi_region_logging",
    "cloudtrail_bucket_protected",
    "cloudtrail_log_file_validation",
]


def verdicts(run) -> dict[tuple[str, str, str], Status]:  # type: ignore[no-untyped-def]
    return {f.key: f.status for f in run.findings}


def seed() -> None:
    world = World()
    trail_worlds.compliant_trail(world)
    account_worlds.contacts(world)


def test_throttling_burst_is_retried_and_verdicts_unchanged(run_scan) -> None:  # type: ignore[no-untyped-def]
    seed()
    calm = run_scan(ACCT_001)
    faults.throttle("cloudtrail:DescribeTrails", times=2)
    faults.throttle("account:GetAlternateContact", times=2)
    stormy = run_scan(ACCT_001, max_attempts=4)
    assert verdicts(stormy) == verdicts(calm)
    assert Status.ERROR not in verdicts(stormy).values()


def test_call_that_stays_throttled_is_error_never_pass(run_scan) -> None:  # type: ignore[no-untyped-def]
    seed()
    faults.throttle("cloudtrail:DescribeTrails", times=1000)
    run = run_scan(["cloudtrail_multi_region_logging", "account_contacts_set"], max_attempts=2)
    error = only(run, "cloudtrail_multi_region_logging")
    assert error.status is Status.ERROR
    assert error.evidence["outcome"] == "throttled" and error.evidence["error_code"] == "ThrottlingException"
    assert only(run, "account_contacts_set").status is Status.PASS


def test_role_without_one_service_errors_only_those_checks(run_scan) -> None:  # type: ignore[no-untyped-def]
    seed()
    faults.deny("cloudtrail:*")
    run = run_scan(ACCT_001)
    for check_id in (
        "cloudtrail_multi_region_logging",
        "cloudtrail_bucket_protected",
        "cloudtrail_log_file_validation",
    ):
        finding = only(run, check_id)
        assert finding.status is Status.ERROR
        assert finding.evidence["action"].startswith("cloudtrail:")
        assert "Grant the scan role cloudtrail:" in finding.message
    assert only(run, "account_contacts_set").status is Status.PASS


def test_expired_assumed_role_credentials_are_refreshed(aws: None) -> None:
    seed()
    connection = connect(ConnectOptions(role_arn="arn:aws:iam::123456789012:role/GovscanReadOnly", external_id="ext"))
    credentials = connection.gateway.clients.session._session._credentials
    first_key = credentials.get_frozen_credentials().access_key
    # Age the credentials past their expiry, as a long scan would.
    credentials._expiry_time = datetime.now(UTC) - timedelta(minutes=1)
    checks = {c: s for c, s in load_checks().items() if c in ACCT_001}
    run = scan(connection, checks, load_catalog(), ScanOptions(partial=True))
    assumes = [c for c in run.calls if c.action == "sts:AssumeRole"]
    assert len(assumes) == 2 and all(c.outcome is CallOutcome.OK for c in assumes)
    assert credentials.get_frozen_credentials().access_key != first_key
    assert Status.ERROR not in {f.status for f in run.findings}


def test_short_sessions_are_refused_rather_than_refreshed_on_every_call(aws: None) -> None:
    with pytest.raises(ValueError, match="at least 1800"):
        connect(ConnectOptions(role_arn="arn:aws:iam::123456789012:role/R", duration_seconds=900))


def test_interrupted_scan_is_marked_incomplete(aws: None) -> None:
    def interrupted(ctx: CheckContext) -> Iterator[Finding]:
        raise KeyboardInterrupt  # what Ctrl-C looks like to the runner

    def fine(ctx: CheckContext) -> Iterator[Finding]:
        yield ctx.finding(Status.PASS, message="ok")

    checks = {
        "test_fine": CheckSpec(
            id="test_fine",
            title="T",
            severity=Severity.LOW,
            criteria=("ACCT-001.1",),
            permissions=("iam:GetAccountSummary",),
            scope=Scope.GLOBAL,
            func=fine,
            module="t",
        ),
        "test_stop": CheckSpec(
            id="test_stop",
            title="T",
            severity=Severity.LOW,
            criteria=("ACCT-001.2",),
            permissions=("iam:GetAccountSummary",),
            scope=Scope.GLOBAL,
            func=interrupted,
            module="t",
        ),
    }
    run = scan(connect(ConnectOptions()), checks, load_catalog(), ScanOptions(workers=1, partial=True))
    assert run.complete is False
    assert [(f.check_id, f.status) for f in run.findings] == [("test_fine", Status.PASS)], "finished work is kept"
    doc = to_document(run)
    validate(doc)
    assert doc["complete"] is False


def _govscan_process(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_call(after: int, wanted: Callable[[str], bool]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(wanted(action) for _, _, action in faults.calls()[after:]):
            return
        time.sleep(0.1)
    raise AssertionError(f"no matching call reached moto in 60 s: {faults.calls()[after:]}")


@pytest.mark.slow
def test_sigterm_writes_an_incomplete_document(moto_endpoint: str, tmp_path: Path) -> None:
    trail_worlds.compliant_trail(World(endpoint_url=moto_endpoint))
    faults.delay("*", 1.0)  # a slow account: the scan is still running when the signal comes
    out = tmp_path / "scan.json"
    setup_calls = len(faults.calls())  # the world's own set-up requests are in the log too
    process = _govscan_process(
        "scan",
        "--endpoint-url",
        moto_endpoint,
        "--regions",
        "us-east-1,eu-west-1,eu-central-1",
        "--controls",
        "ACCT-001,REL-001",
        "--workers",
        "1",
        "--json",
        str(out),
        "--quiet",
    )
    # Signal only once the checks are under way (a loaded machine may take seconds to start).
    _wait_for_call(setup_calls, lambda action: action not in {"sts:GetCallerIdentity", "ec2:DescribeRegions"})
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] is False


@pytest.mark.slow
def test_sigterm_while_connecting_exits_1_and_writes_nothing(moto_endpoint: str, tmp_path: Path) -> None:
    faults.delay("sts:GetCallerIdentity", 5.0)
    out = tmp_path / "scan.json"
    setup_calls = len(faults.calls())
    process = _govscan_process(
        "scan", "--endpoint-url", moto_endpoint, "--regions", "us-east-1", "--json", str(out), "--quiet"
    )
    _wait_for_call(setup_calls, lambda action: action == "sts:GetCallerIdentity")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "interrupted while connecting" in stderr and "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.slow
def test_sigterm_during_a_portfolio_finishes_accounts_under_way(moto_endpoint: str, tmp_path: Path) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text(
        """
[defaults]
regions = ["us-east-1"]

[accounts.clinic]
role_arn = "arn:aws:iam::111111111111:role/GovscanReadOnly"
external_id = "clinic-ext-1"

[accounts.retail]
role_arn = "arn:aws:iam::222222222222:role/GovscanReadOnly"
external_id = "retail-ext-1"
"""
    )
    faults.delay("*", 0.5)
    out = tmp_path / "evidence"
    setup_calls = len(faults.calls())
    process = _govscan_process(
        "scan",
        "--config",
        str(config),
        "--out",
        str(out),
        "--endpoint-url",
        moto_endpoint,
        "--checks",
        "cloudtrail_multi_region_logging",
        "--parallel",
        "1",
        "--format",
        "md",
        "--no-store",
        "--quiet",
    )
    _wait_for_call(setup_calls, lambda action: action.startswith("cloudtrail:"))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    # The account under way was stopped and written, marked incomplete; the other never started.
    doc = json.loads((out / "clinic.json").read_text())
    validate(doc)
    assert doc["complete"] is False
    assert not (out / "retail.json").exists()
    assert not (out / "matrix.md").exists()
    assert "Written to" in stderr and "clinic" in stderr and "Not started: retail" in stderr


def test_opt_in_region_not_enabled_is_skipped_with_reason(run_scan) -> None:  # type: ignore[no-untyped-def]
    run = run_scan(["cloudtrail_kms_encrypted"], regions=["us-east-1", "ap-east-1"])
    assert run.target.regions == ("us-east-1",)
    (skip,) = run.skipped_regions
    assert skip.region == "ap-east-1" and "opt-in region not enabled" in skip.reason
    assert {f.region for f in run.findings} == {"us-east-1"}


def test_all_regions_scans_only_enabled_ones(aws: None) -> None:
    checks = {c: s for c, s in load_checks().items() if c == "cloudtrail_kms_encrypted"}
    run = scan(connect(ConnectOptions()), checks, load_catalog(), ScanOptions(all_regions=True, partial=True))
    assert "us-east-1" in run.target.regions and "ap-east-1" not in run.target.regions
    assert {s.region for s in run.skipped_regions} >= {"ap-east-1"}
    assert {f.region for f in run.findings} == set(run.target.regions)


@pytest.mark.slow
def test_unresponsive_regional_endpoint_does_not_stall_the_scan(moto_endpoint: str) -> None:
    trail_worlds.compliant_trail(World(endpoint_url=moto_endpoint))
    faults.delay("cloudtrail:*", 5.0, region="eu-west-1")  # eu-west-1 hangs longer than the read timeout
    checks = {c: s for c, s in load_checks().items() if c == "cloudtrail_kms_encrypted"}
    connection = connect(ConnectOptions(endpoint_url=moto_endpoint, read_timeout=1, max_attempts=2))
    started = time.monotonic()
    run = scan(connection, checks, load_catalog(), ScanOptions(regions=("us-east-1", "eu-west-1"), partial=True))
    elapsed = time.monotonic() - started
    us = only(run, "cloudtrail_kms_encrypted", region="us-east-1")
    eu = only(run, "cloudtrail_kms_encrypted", region="eu-west-1")
    assert us.status is Status.FAIL  # the trail has no KMS key: evaluated normally
    assert eu.status is Status.ERROR and eu.evidence["error_code"] == "ReadTimeoutError"
    assert elapsed < 20, f"the scan waited {elapsed:.1f} s on a hanging endpoint"


@pytest.mark.slow
def test_endpoint_that_timed_out_is_not_asked_again_in_the_same_scan(moto_endpoint: str) -> None:
    """With the defaults each call to a hanging endpoint would cost 6 attempts x 30 s."""
    faults.delay("cloudtrail:*", 3.0, region="eu-west-1")

    def three_reads(ctx: CheckContext) -> Iterator[Finding]:
        failures = []
        for operation, params in (
            ("DescribeTrails", {}),
            ("ListTrails", {}),
            ("DescribeTrails", {"includeShadowTrails": False}),
        ):
            try:
                ctx.read("cloudtrail", operation, **params)
            except CallFailed as failure:
                failures.append(failure.error_code)
        yield ctx.finding(Status.PASS, message=",".join(failures) or "ok", evidence={})

    checks = {
        "test_reads": CheckSpec(
            id="test_reads",
            title="T",
            severity=Severity.LOW,
            criteria=("ACCT-001.2",),
            permissions=("cloudtrail:DescribeTrails", "cloudtrail:ListTrails"),
            scope=Scope.REGIONAL,
            func=three_reads,
            module="t",
        )
    }
    connection = connect(ConnectOptions(endpoint_url=moto_endpoint, read_timeout=1, max_attempts=2))
    setup_calls = len(faults.calls())
    started = time.monotonic()
    run = scan(connection, checks, load_catalog(), ScanOptions(regions=("us-east-1", "eu-west-1"), partial=True))
    elapsed = time.monotonic() - started
    assert only(run, "test_reads", region="us-east-1").message == "ok"
    eu = only(run, "test_reads", region="eu-west-1")
    assert eu.message == "ReadTimeoutError,EndpointUnresponsive,EndpointUnresponsive"
    sent = [action for _, region, action in faults.calls()[setup_calls:] if region == "eu-west-1"]
    # botocore's max_attempts counts retries: the first attempt and 2 retries, then nothing more.
    assert sent == ["cloudtrail:DescribeTrails"] * 3, sent
    unsent = [c for c in run.calls if c.error_code == "EndpointUnresponsive"]
    assert [c.action for c in unsent] == ["cloudtrail:ListTrails", "cloudtrail:DescribeTrails"]
    assert elapsed < 10, f"{elapsed:.1f} s"
