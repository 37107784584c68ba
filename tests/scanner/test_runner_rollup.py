"""The runner turns every failure into an ERROR finding; the roll-up follows DESIGN.md."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from scanner.catalog import load_catalog
from scanner.context import CheckContext
from scanner.document import to_document, validate
from scanner.models import (
    CheckSpec,
    ControlStatus,
    Finding,
    Scope,
    Severity,
    Status,
)
from scanner.registry import load_checks
from scanner.rollup import criterion_status, roll_up, worst
from scanner.runner import ScanOptions, SelectionError, scan, select_checks
from scanner.session import ConnectOptions, connect

CATALOG = load_catalog()


def spec(func, *, id: str = "test_check", scope: Scope = Scope.REGIONAL, criteria=("ACCT-001.2",)) -> CheckSpec:  # type: ignore[no-untyped-def]
    return CheckSpec(
        id=id,
        title="T",
        severity=Severity.HIGH,
        criteria=criteria,
        permissions=("ec2:DescribeVpcs",),
        scope=scope,
        func=func,
        module="checks.test",
    )


def finding(status: Status, criteria: tuple[str, ...] = ("ACCT-001.2",)) -> Finding:
    return Finding(
        check_id="x_y",
        status=status,
        severity=Severity.LOW,
        criteria=criteria,
        region="global",
        resource_id="123456789012",
        resource_type="AWS::::Account",
        message="m",
        evidence={},
        calls=(),
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.PASS, Status.NOT_APPLICABLE], ControlStatus.MET),
        ([Status.PASS, Status.FAIL, Status.ERROR], ControlStatus.NOT_MET),
        ([Status.PASS, Status.ERROR], ControlStatus.INCOMPLETE),
        ([], ControlStatus.INCOMPLETE),
    ],
)
def test_criterion_status(statuses: list[Status], expected: ControlStatus) -> None:
    assert criterion_status([finding(s) for s in statuses], has_checks=True) is expected


def test_criterion_without_checks_is_manual() -> None:
    assert criterion_status([], has_checks=False) is ControlStatus.MANUAL


def test_control_takes_worst_and_ignores_manual() -> None:
    assert worst([ControlStatus.MET, ControlStatus.MANUAL]) is ControlStatus.MET
    assert worst([ControlStatus.MET, ControlStatus.INCOMPLETE]) is ControlStatus.INCOMPLETE
    assert worst([ControlStatus.INCOMPLETE, ControlStatus.NOT_MET]) is ControlStatus.NOT_MET
    assert worst([ControlStatus.MANUAL]) is ControlStatus.MANUAL


def test_roll_up_of_acct_001() -> None:
    registry = load_checks()
    findings = [
        Finding(
            check_id="iam_root_mfa_enabled",
            status=Status.PASS,
            severity=Severity.HIGH,
            criteria=("ACCT-001.2",),
            region="global",
            resource_id="a",
            resource_type="t",
            message="m",
            evidence={},
            calls=(),
        ),
        Finding(
            check_id="account_contacts_set",
            status=Status.FAIL,
            severity=Severity.HIGH,
            criteria=("ACCT-001.3",),
            region="global",
            resource_id="a",
            resource_type="t",
            message="m",
            evidence={},
            calls=(),
        ),
    ]
    controls = {c.id: c for c in roll_up(CATALOG, findings, registry)}
    acct = {k.id: k.status for k in controls["ACCT-001"].criteria}
    # iam_root_mfa_enabled PASS, but iam_root_hardware_mfa (also ACCT-001.2) produced no finding.
    assert acct["ACCT-001.2"] is ControlStatus.INCOMPLETE
    assert acct["ACCT-001.3"] is ControlStatus.NOT_MET
    assert acct["ACCT-001.1"] is ControlStatus.INCOMPLETE  # its checks produced nothing
    assert acct["ACCT-001.5"] is ControlStatus.MANUAL
    assert controls["ACCT-001"].status is ControlStatus.NOT_MET
    assert controls["POV-001"].status is ControlStatus.MANUAL


def test_selection_unknown_ids_are_usage_errors() -> None:
    registry = load_checks()
    with pytest.raises(SelectionError, match="unknown check id"):
        select_checks(registry, CATALOG, check_ids=["nope_check"])
    with pytest.raises(SelectionError, match="unknown control id"):
        select_checks(registry, CATALOG, control_ids=["NOPE-001"])
    chosen = select_checks(registry, CATALOG, control_ids=["acct-001"])
    assert "iam_root_mfa_enabled" in chosen and "cloudtrail_kms_encrypted" not in chosen


def _run(checks: dict[str, CheckSpec], regions: tuple[str, ...] = ("us-east-1", "eu-west-1")):  # type: ignore[no-untyped-def]
    connection = connect(ConnectOptions(home_region=regions[0]))
    run = scan(connection, checks, CATALOG, ScanOptions(regions=regions, home_region=regions[0], partial=True))
    validate(to_document(run))
    return run


def test_crashing_check_is_error_for_that_check_only(aws: None) -> None:
    def crashes(ctx: CheckContext) -> Iterator[Finding]:
        yield ctx.finding(Status.PASS, message="first resource fine", resource_id="arn:aws:ec2:::one")
        raise KeyError("Vpcs")

    def fine(ctx: CheckContext) -> Iterator[Finding]:
        vpcs = ctx.read("ec2", "DescribeVpcs")["Vpcs"]
        yield ctx.finding(Status.PASS, message=f"{len(vpcs)} vpcs")

    run = _run({"test_crash": spec(crashes, id="test_crash"), "test_fine": spec(fine, id="test_fine")})
    crash = [f for f in run.findings if f.check_id == "test_crash"]
    assert sorted((f.region, f.status) for f in crash) == [
        ("eu-west-1", Status.ERROR),
        ("eu-west-1", Status.PASS),
        ("us-east-1", Status.ERROR),
        ("us-east-1", Status.PASS),
    ]
    error = next(f for f in crash if f.status is Status.ERROR)
    assert "KeyError" in error.message and error.evidence["exception"] == "KeyError"
    assert [f.status for f in run.findings if f.check_id == "test_fine"] == [Status.PASS, Status.PASS]


def test_check_yielding_nothing_is_an_error_not_a_silent_skip(aws: None) -> None:
    def silent(ctx: CheckContext) -> Iterator[Finding]:
        yield from ()

    run = _run({"test_silent": spec(silent, id="test_silent", scope=Scope.GLOBAL)})
    (only,) = run.findings
    assert only.status is Status.ERROR and only.region == "global"
    assert "produced no finding" in only.message


def test_denied_call_is_error_naming_call_and_code(aws: None) -> None:
    from fixtures.moto_ext import faults

    faults.deny("ec2:DescribeVpcs", region="eu-west-1")

    def reads(ctx: CheckContext) -> Iterator[Finding]:
        ctx.read("ec2", "DescribeVpcs")
        yield ctx.finding(Status.PASS, message="ok")

    run = _run({"test_reads": spec(reads, id="test_reads")})
    by_region = {f.region: f for f in run.findings}
    assert by_region["us-east-1"].status is Status.PASS
    error = by_region["eu-west-1"]
    assert error.status is Status.ERROR
    assert error.evidence["action"] == "ec2:DescribeVpcs" and error.evidence["error_code"] == "UnauthorizedOperation"
    assert "ec2:DescribeVpcs" in error.message
    failed_call = next(c for c in run.calls if c.id == error.evidence["failed_call"])
    assert failed_call.outcome.value == "denied" and failed_call.region == "eu-west-1"
    assert failed_call.id in error.calls


def test_global_checks_run_once_regional_per_region(aws: None) -> None:
    seen: list[str] = []

    def record(ctx: CheckContext) -> Iterator[Finding]:
        seen.append(f"{ctx.spec.id}@{ctx.region}")
        yield ctx.finding(Status.PASS, message="ok")

    run = _run({"test_g": spec(record, id="test_g", scope=Scope.GLOBAL), "test_r": spec(record, id="test_r")})
    assert sorted(seen) == ["test_g@us-east-1", "test_r@eu-west-1", "test_r@us-east-1"]
    assert {f.region for f in run.findings if f.check_id == "test_g"} == {"global"}


def test_unknown_and_disabled_regions_are_skipped_with_reason(aws: None) -> None:
    def record(ctx: CheckContext) -> Iterator[Finding]:
        yield ctx.finding(Status.PASS, message="ok")

    run = _run({"test_r": spec(record, id="test_r")}, regions=("us-east-1", "xx-nowhere-9"))
    assert run.target.regions == ("us-east-1",)
    assert [(s.region, "not a region" in s.reason) for s in run.skipped_regions] == [("xx-nowhere-9", True)]


def test_stop_from_outside_ends_checks_under_way_and_marks_the_run_incomplete(aws: None) -> None:
    """What an interrupted portfolio does to each account's scan: no check keeps reading."""
    stop = threading.Event()
    reads_after_stop: list[str] = []

    def slow(ctx: CheckContext) -> Iterator[Finding]:
        ctx.read("ec2", "DescribeVpcs")
        stop.set()
        time.sleep(0.5)  # the runner notices the stop meanwhile
        ctx.read("ec2", "DescribeSubnets")
        reads_after_stop.append(ctx.region)  # never reached: the stopped gateway refuses the read
        yield ctx.finding(Status.PASS, message="ok")

    connection = connect(ConnectOptions(home_region="us-east-1"))
    run = scan(
        connection,
        {"test_slow": spec(slow, id="test_slow", scope=Scope.GLOBAL)},
        CATALOG,
        ScanOptions(regions=("us-east-1",), partial=True, stop=stop),
    )
    assert run.complete is False and reads_after_stop == []
    assert [c.action for c in run.calls if c.action.startswith("ec2:Describe") and "Regions" not in c.action] == [
        "ec2:DescribeVpcs"
    ]
    doc = to_document(run)
    validate(doc)
    assert doc["complete"] is False
