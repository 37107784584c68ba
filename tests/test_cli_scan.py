"""End to end: `govscan scan --endpoint-url` against a ThreadedMotoServer, as a user runs it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.moto_ext import faults, iam_root
from fixtures.world import World
from fixtures.worlds import account as account_worlds
from fixtures.worlds import cloudtrail as trail_worlds
from scanner.cli import main
from scanner.document import validate

pytestmark = pytest.mark.slow
CUSTOMER = "222233334444"
ROLE = f"arn:aws:iam::{CUSTOMER}:role/GovscanReadOnly"


def scan(args: list[str]) -> tuple[int, str]:
    """Run `govscan scan ARGS`; the exit code and everything it printed (stdout and stderr)."""
    result = CliRunner().invoke(main, ["scan", *args])
    return result.exit_code, result.output


def test_scan_seeded_server_two_regions(moto_endpoint: str, tmp_path: Path) -> None:
    world = World(endpoint_url=moto_endpoint)
    trail_worlds.compliant_trail(world)
    account_worlds.contacts(world)
    iam_root.set_root(world.account_id, mfa=True, mfa_virtual=False)
    out = tmp_path / "out.json"
    code, output = scan(
        [
            "--endpoint-url",
            moto_endpoint,
            "--regions",
            "us-east-1,eu-west-1",
            "--controls",
            "ACCT-001",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["target"]["account_id"] == world.account_id
    assert doc["target"]["regions"] == ["us-east-1", "eu-west-1"]
    verdicts = {(f["check_id"], f["status"]) for f in doc["findings"]}
    assert ("cloudtrail_multi_region_logging", "PASS") in verdicts
    assert ("cloudtrail_bucket_protected", "PASS") in verdicts
    assert ("account_contacts_set", "PASS") in verdicts
    assert ("iam_root_mfa_enabled", "PASS") in verdicts
    assert ("iam_root_hardware_mfa", "PASS") in verdicts
    assert not any(f["status"] == "ERROR" for f in doc["findings"]), output
    statuses = {f["status"] for f in doc["findings"]}
    assert code == (1 if "FAIL" in statuses else 0)
    acct = next(c for c in doc["controls"] if c["id"] == "ACCT-001")
    assert {k["id"] for k in acct["criteria"]} >= {"ACCT-001.1", "ACCT-001.2", "ACCT-001.4"}


def test_scan_assumes_role_with_external_id_into_second_account(moto_endpoint: str, tmp_path: Path) -> None:
    customer = World(CUSTOMER, endpoint_url=moto_endpoint)
    trail_worlds.log_bucket(customer, "customer-trail-logs", protected=False)
    trail_worlds.trail(customer, "customer-trail", "customer-trail-logs")
    out = tmp_path / "customer.json"
    code, output = scan(
        [
            "--endpoint-url",
            moto_endpoint,
            "--role-arn",
            ROLE,
            "--external-id",
            "s3cr3t-ext",
            "--label",
            "clinic",
            "--checks",
            "cloudtrail_bucket_protected,cloudtrail_multi_region_logging",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 1, output
    doc = json.loads(out.read_text())
    assert doc["target"]["account_id"] == CUSTOMER
    assert doc["target"]["role_arn"] == ROLE and doc["target"]["label"] == "clinic"
    assert CUSTOMER in doc["target"]["principal_arn"]
    bucket = next(f for f in doc["findings"] if f["check_id"] == "cloudtrail_bucket_protected")
    assert bucket["status"] == "FAIL" and bucket["resource_id"] == "arn:aws:s3:::customer-trail-logs"
    assume = next(c for c in doc["calls"] if c["action"] == "sts:AssumeRole")
    assert assume["params"]["ExternalId"] == "<redacted>"
    assert "s3cr3t-ext" not in out.read_text(), "the external id never reaches the document"


def test_unassumable_role_exits_3_with_advice(moto_endpoint: str, tmp_path: Path) -> None:
    faults.deny("sts:AssumeRole")
    code, output = scan(
        ["--endpoint-url", moto_endpoint, "--role-arn", ROLE, "--external-id", "x", "--json", str(tmp_path / "x.json")]
    )
    assert code == 3
    assert "target unreachable" in output and "trust policy" in output
    assert not (tmp_path / "x.json").exists()


def test_denied_call_never_shows_as_pass_or_fail(moto_endpoint: str, tmp_path: Path) -> None:
    trail_worlds.compliant_trail(World(endpoint_url=moto_endpoint))
    faults.deny("cloudtrail:GetTrailStatus")
    out = tmp_path / "d.json"
    code, _ = scan(
        [
            "--endpoint-url",
            moto_endpoint,
            "--checks",
            "cloudtrail_multi_region_logging",
            "--json",
            str(out),
            "--quiet",
            "--fail-on",
            "fail",
        ]
    )
    doc = json.loads(out.read_text())
    (finding,) = doc["findings"]
    assert finding["status"] == "ERROR" and finding["evidence"]["action"] == "cloudtrail:GetTrailStatus"
    assert code == 0, "--fail-on fail ignores ERROR findings"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checks", "no_such_check"], "unknown check id(s): no_such_check"),
        (["--controls", "XYZ-001"], "unknown control id(s): XYZ-001"),
        (["--regions", "us-east-1", "--all-regions"], "either --regions or --all-regions"),
        (["--external-id", "x"], "--external-id goes with --role-arn"),
        (["--fail-on", "sometimes"], "--fail-on takes"),
        (["--regions", "us-esat-1"], "'us-esat-1' is not an AWS region (did you mean us-east-1?)"),
        (["--regions", ","], "--regions is empty"),
        (["--set", "root_unusd_days=3"], "did you mean root_unused_days?"),
        (["--set", "backup_retention_days=90"], "backup_retention_days must be an integer from 1 to 35"),
        (["--out", "o", "--bundle", "/"], "is a directory"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["scan", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_help_teaches_exit_codes() -> None:
    result = CliRunner().invoke(main, ["scan", "--help"])
    assert result.exit_code == 0
    for text in ("Exit codes", "--role-arn", "--external-id", "Examples"):
        assert text in result.output


def test_progress_lines_name_accounts_checks_and_calls(capsys: pytest.CaptureFixture[str]) -> None:
    from scanner.cli import _PortfolioProgress, _Progress

    single = _Progress(True)
    single(3, 10, "41 calls · ec2_default_sg_closed eu-west-1")
    portfolio = _PortfolioProgress(True)
    portfolio("clinic", 10, 10, "120 calls · kms_cmk_rotation us-east-1")
    portfolio("webshop", 4, 10, "77 calls · s3_tls_enforced global")
    err = capsys.readouterr().err
    assert "[3/10] 41 calls · ec2_default_sg_closed eu-west-1" in err
    assert "accounts 1/2 done · clinic 10/10 · webshop 4/10 · webshop: 77 calls" in err
    _Progress(False)(1, 2, "silent")
    _PortfolioProgress(False)("x", 1, 2, "silent")
    assert capsys.readouterr().err == ""


def test_declared_recovery_targets_reach_the_checks(moto_endpoint: str, tmp_path: Path) -> None:
    World(endpoint_url=moto_endpoint).client("dynamodb").create_table(  # a data store to judge
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    out = tmp_path / "rpo.json"
    _, output = scan(["--endpoint-url", moto_endpoint, "--checks", "backup_rpo_rto_targets",
                         "--rpo-hours", "24", "--rto-hours", "4", "--json", str(out), "--quiet"])
    doc = json.loads(out.read_text())
    assert doc["options"]["settings"] == {"rpo_hours": 24.0, "rto_hours": 4.0}
    (finding,) = doc["findings"]
    assert finding["status"] != "ERROR", output
    assert "24" in json.dumps(finding["evidence"])


def test_debug_logging_never_carries_credentials_or_the_external_id(
    moto_endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """botocore's DEBUG log holds signatures, the session token and the AssumeRole secret key."""
    caplog.set_level(logging.DEBUG)
    for verbosity in (["-vv", "scan"], ["scan", "-vv"]):
        result = CliRunner().invoke(
            main,
            [
                *verbosity,
                "--endpoint-url",
                moto_endpoint,
                "--role-arn",
                ROLE,
                "--external-id",
                "s3cr3t-ext-0123456789",
                "--checks",
                "account_contacts_set",
                "--json",
                str(tmp_path / "v.json"),
            ],
        )
        assert result.exit_code in (0, 1), result.output
        logged = caplog.text + result.output
        assert "sts:AssumeRole" in logged or "AssumeRole" in logged, "-vv logs the calls"
        for secret in ("s3cr3t-ext-0123456789", "SecretAccessKey", "X-Amz-Security-Token", "Signature="):
            assert secret not in logged, f"{secret} reached the log"
        caplog.clear()


def test_no_enabled_region_is_a_usage_error_not_an_empty_pass(moto_endpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "none.json"
    code, output = scan(["--endpoint-url", moto_endpoint, "--regions", "ap-east-1", "--json", str(out), "--no-store"])
    assert code == 2, output
    assert "no region to scan" in output and "ap-east-1: opt-in region not enabled" in output
    assert not out.exists()


def test_all_regions_without_describe_regions_is_not_exit_0(moto_endpoint: str, tmp_path: Path) -> None:
    faults.deny("ec2:DescribeRegions")
    code, output = scan(
        [
            "--endpoint-url",
            moto_endpoint,
            "--all-regions",
            "--checks",
            "cloudtrail_kms_encrypted",
            "--json",
            str(tmp_path / "a.json"),
            "--fail-on",
            "fail",
        ]
    )
    assert code == 1, output
    assert "--all-regions needs ec2:DescribeRegions" in output


def test_unreachable_endpoint_is_not_called_rejected_credentials(tmp_path: Path) -> None:
    code, output = scan(["--endpoint-url", "http://127.0.0.1:9", "--regions", "us-east-1", "--no-store"])
    assert code == 3, output
    assert "EndpointConnectionError" in output and "http://127.0.0.1:9 could not be reached" in output
    assert "rejected" not in output and "trust policy" not in output


def test_summary_says_when_a_control_is_met_with_nothing_in_scope(moto_endpoint: str, tmp_path: Path) -> None:
    code, output = scan(
        ["--endpoint-url", moto_endpoint, "--checks", "rds_multi_az", "--json", str(tmp_path / "e.json"), "--no-store"]
    )
    assert code == 0, output
    assert "MET (nothing in scope: every finding NOT_APPLICABLE)" in output
