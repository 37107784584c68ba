"""The portfolio end to end: `govscan scan --config`, history, diff, status (in-process moto).

Accounts are separate moto accounts reached by assuming a role, as the partner does; moto
attributes each request to the account of the credentials that sign it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import ec2 as ec2_worlds
from scanner.cli import main
from scanner.document import load

CLINIC, RETAIL, LEGACY = "111111111111", "222222222222", "333333333333"
PARTNER_ELSEWHERE = "999999999999"  # the source account of a profile whose AssumeRole is denied
CHECKS = "ec2_sg_no_internet_admin_ports,cloudtrail_multi_region_logging"
SG_CHECK = "ec2_sg_no_internet_admin_ports"


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/GovscanReadOnly"


def accounts_file(tmp_path: Path, *, legacy: bool = False) -> Path:
    text = f"""
[defaults]
regions = ["us-east-1"]
rpo_hours = 24

[accounts.clinic]
role_arn = "{role(CLINIC)}"
external_id = "clinic-ext-1"

[accounts.retail]
role_arn = "{role(RETAIL)}"
external_id = "retail-ext-1"
"""
    if legacy:
        text += f"""
[accounts.legacy]
role_arn = "{role(LEGACY)}"
external_id = "legacy-ext-1"
profile = "legacy-partner"
"""
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def govscan(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def portfolio_scan(config: Path, out: Path, *extra: str) -> Result:
    return govscan("scan", "--config", str(config), "--out", str(out), "--checks", CHECKS, "-q", *extra)


def crash_scans_of(label: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the scan of one account crash (a govscan defect), the others run normally."""
    import scanner.portfolio as portfolio

    real_scan = portfolio.scan

    def scan(connection, checks, catalog, options, **kwargs):  # type: ignore[no-untyped-def]
        if options.label == label:
            raise RuntimeError("boom")
        return real_scan(connection, checks, catalog, options, **kwargs)

    monkeypatch.setattr(portfolio, "scan", scan)


def legacy_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source profile whose credentials belong to another partner account, where AssumeRole is denied."""
    iam = World(PARTNER_ELSEWHERE).client("iam")
    iam.create_user(UserName="scanner")
    key = iam.create_access_key(UserName="scanner")["AccessKey"]
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[legacy-partner]\naws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    faults.deny("sts:AssumeRole", account_id=PARTNER_ELSEWHERE)


def test_three_accounts_one_unreachable(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    legacy_profile(tmp_path, monkeypatch)
    out = tmp_path / "evidence"
    result = portfolio_scan(accounts_file(tmp_path, legacy=True), out, "--fail-on", "none")
    assert result.exit_code == 3, result.output  # documented: any account unreachable
    assert f"legacy: UNREACHABLE: Could not assume {role(LEGACY)}: AccessDenied (" in result.output
    assert "The role's trust policy did not admit these credentials" in result.output
    assert "external_id in the accounts file" in result.output
    assert "Portfolio: 2 of 3 account(s) scanned; unreachable: legacy" in result.output
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == ["clinic.json", "retail.json"]
    clinic, retail = load(out / "clinic.json"), load(out / "retail.json")
    assert (clinic["target"]["account_id"], clinic["target"]["label"]) == (CLINIC, "clinic")
    assert (retail["target"]["account_id"], retail["target"]["role_arn"]) == (RETAIL, role(RETAIL))
    assert clinic["options"]["settings"] == {"rpo_hours": 24}
    assert (out / "matrix.html").is_file() and (out / "matrix.md").is_file()
    assert (out / "appendix-clinic.html").is_file() and (out / "appendix-retail.md").is_file()
    history = govscan("history", "--format", "json")
    assert history.exit_code == 0
    entries = json.loads(history.output)
    assert sorted((r["label"], r["account_id"]) for r in entries if r["kind"] == "run") == [
        ("clinic", CLINIC), ("retail", RETAIL),
    ]
    (attempt,) = [r for r in entries if r["kind"] == "unreachable"]
    assert attempt["label"] == "legacy" and "AccessDenied" in attempt["reason"]
    # The gap in legacy's history has its reason, in the table and in status.
    table = govscan("history", "--account", "legacy")
    assert table.exit_code == 0 and "UNREACHABLE: Could not assume" in table.output
    status = govscan("status", "--account", "legacy")
    assert status.exit_code == 0, status.output
    assert "legacy: last attempt" in status.output and "UNREACHABLE" in status.output
    assert "legacy: no complete run yet" in status.output


def test_all_unreachable_and_a_missing_profile(aws: None, tmp_path: Path) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text(f'[accounts.ghost]\nrole_arn = "{role(LEGACY)}"\nexternal_id = "x1"\nprofile = "no-such"\n')
    result = portfolio_scan(config, tmp_path / "out")
    assert result.exit_code == 3
    assert "ghost: UNREACHABLE: AWS profile 'no-such' not found" in result.output
    assert list((tmp_path / "out").glob("*.json")) == []


def test_accounts_file_errors_exit_2_before_scanning(aws: None, tmp_path: Path) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text(f'[accounts.clinic]\nrole_arn = "{role(CLINIC)}"\nregion = "us-east-1"\n')
    result = portfolio_scan(config, tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"govscan: {config}:1: accounts.clinic: role_arn without external_id: a cross-account role must require "
        'an external id; set external_id, or external_id_not_required = "<why>" if it need not',
        f"govscan: {config}:3: accounts.clinic.region: unknown key (did you mean 'regions'?)",
    ]
    unknown = portfolio_scan(accounts_file(tmp_path), tmp_path / "out", "--account", "clinc")
    assert unknown.exit_code == 2
    assert "--account: no account labelled 'clinc' (did you mean 'clinic'?) (labels: clinic, retail)" in unknown.output
    assert list((tmp_path / "out").glob("*.json")) == []
    for args, message in [
        (["--config", str(config)], "--config writes one scan document per account: give --out DIR"),
        (["--config", str(config), "--out", "x", "--role-arn", role(CLINIC)], "--role-arn: with --config, set"),
        (["--account", "clinic"], "--account LABEL goes with --config FILE"),
        (["--no-store", "--fail-on", "regression"], "compare with the stored history: drop --no-store"),
    ]:
        usage = govscan("scan", *args)
        assert usage.exit_code == 2 and message in usage.output, usage.output


def test_two_portfolio_scans_show_exactly_the_opened_security_group(aws: None, tmp_path: Path) -> None:
    """Done when: scan, open a security group to the internet on 22, scan again: the diff shows
    exactly that regression and --fail-on regression exits 1 because of it."""
    clinic = World(CLINIC)
    web = ec2_worlds.security_group(clinic, "us-east-1", "web")
    ec2_worlds.security_group(World(RETAIL), "us-east-1", "shop")
    config = accounts_file(tmp_path)

    first = portfolio_scan(config, tmp_path / "run1", "--fail-on", "regression")
    assert first.exit_code == 0, first.output  # nothing to compare with yet; FAILs do not count here
    sg_arn = f"arn:aws:ec2:us-east-1:{CLINIC}:security-group/{web}"
    before = load(tmp_path / "run1" / "clinic.json")
    assert {(f["resource_id"], f["status"]) for f in before["findings"] if f["check_id"] == SG_CHECK} >= {
        (sg_arn, "PASS")
    }

    clinic.client("ec2").authorize_security_group_ingress(
        GroupId=web, IpPermissions=[ec2_worlds.tcp(22, v4=("0.0.0.0/0",))]
    )
    second = portfolio_scan(config, tmp_path / "run2", "--fail-on", "regression")
    assert second.exit_code == 1, second.output
    assert "govscan: clinic: 1 finding regression(s), 1 control regression(s) since" in second.output
    assert "govscan: retail:" not in second.output  # nothing regressed there

    diff = govscan("diff", "previous", "latest", "--account", "clinic", "--format", "json", "--fail-on", "regression")
    assert diff.exit_code == 1
    changes = json.loads(diff.output.split("govscan: --fail-on")[0])
    assert [(c["check_id"], c["resource_id"], c["region"], c["old_status"], c["new_status"])
            for c in changes["changes"]["regression"]] == [(SG_CHECK, sg_arn, "us-east-1", "PASS", "FAIL")]
    assert changes["changes"]["new_fail"] == changes["changes"]["resolved"] == changes["changes"]["newly_error"] == []
    assert changes["controls"] == [{"id": "NETSEC-001", "old": "MET", "new": "NOT_MET", "regression": True}]
    assert changes["old"]["scan_id"] == before["scan_id"]
    assert changes["new"]["scan_id"] == load(tmp_path / "run2" / "clinic.json")["scan_id"]

    text = govscan("diff", "previous", "latest", "--account", "clinic")
    assert text.exit_code == 0  # --fail-on defaults to none
    assert f"  {SG_CHECK}  us-east-1  {sg_arn}  PASS -> FAIL  [high]" in text.output
    assert text.output.splitlines()[-1].startswith("Summary: 1 regression(s), 0 new FAIL, 0 resolved, 0 newly ERROR")

    unchanged = govscan("diff", "previous", "latest", "--account", "retail", "--fail-on", "regression,new-fail")
    assert unchanged.exit_code == 0, unchanged.output

    by_file = govscan("diff", str(tmp_path / "run1" / "clinic.json"), str(tmp_path / "run2" / "clinic.json"),
                      "--fail-on", "regression")
    assert by_file.exit_code == 1

    status = govscan("status", "--account", "clinic", "--window-start", "2026-01-15", "--as-of", "2026-07-05")
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[1] == "  window 2026-01-15 -> 2026-07-15: 10 days left"
    netsec = next(line for line in lines if line.strip().startswith("NETSEC-001"))
    assert netsec.split()[:2] == ["NETSEC-001", "NOT_MET"]
    assert netsec.split()[2][:10] == changes["new"]["started_at"][:10]  # since the second run
    assert netsec.split()[3][:10] == changes["old"]["started_at"][:10]  # last MET: the first run

    history = govscan("history", "--account", "clinic")
    assert history.exit_code == 0 and len(history.output.splitlines()) == 3  # header + two runs


def test_single_account_scans_are_stored_and_compared(aws: None, tmp_path: Path) -> None:
    store = tmp_path / "own.sqlite"
    args = ["scan", "--checks", SG_CHECK, "--label", "solo", "--store", str(store), "-q", "--fail-on", "regression"]
    web = ec2_worlds.security_group(World(), "us-east-1", "web")
    assert govscan(*args).exit_code == 0
    World().client("ec2").authorize_security_group_ingress(
        GroupId=web, IpPermissions=[ec2_worlds.tcp(3389, v4=("0.0.0.0/0",))]
    )
    again = govscan(*args)
    assert again.exit_code == 1
    assert "govscan: solo: 1 finding regression(s)" in again.output
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM runs WHERE label = 'solo'").fetchone()[0] == 2
    assert govscan("scan", "--checks", SG_CHECK, "--no-store", "-q", "--fail-on", "none").exit_code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2


def test_reading_commands_never_create_a_store_and_name_unknown_labels(aws: None, tmp_path: Path) -> None:
    store = tmp_path / "typo.sqlite"
    for args in (["diff", "previous", "latest", "--account", "nobody"], ["status"], ["history"]):
        result = govscan(*args, "--store", str(store))
        assert result.exit_code == 2, result.output
        assert f"no history at {store}" in result.output
    assert govscan("diff", "a", "b", "--fail-on", "bogus", "--store", str(store)).exit_code == 2
    assert not store.exists(), "a read-only command created the database"
    # With a store that exists: an unknown label is an error naming the stored ones.
    portfolio_scan(accounts_file(tmp_path), tmp_path / "out", "--store", str(store), "--fail-on", "none")
    for args in (["history", "--account", "nobody"], ["status", "--account", "nobody"]):
        result = govscan(*args, "--store", str(store))
        assert result.exit_code == 2 and "no stored runs of nobody" in result.output and "clinic" in result.output
    missing = govscan("diff", "previous", "latest", "--account", "nobody", "--store", str(store))
    assert missing.exit_code == 2 and "no complete run of 'nobody'" in missing.output


def test_a_crash_in_one_account_does_not_stop_the_others(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_scans_of("retail", monkeypatch)
    result = portfolio_scan(accounts_file(tmp_path), tmp_path / "out", "--fail-on", "none")
    assert result.exit_code == 1, result.output
    assert "retail: FAILED (a govscan defect, see the log): RuntimeError: boom" in result.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["clinic.json"]
    assert "Portfolio: 1 of 2 account(s) scanned; failed: retail" in result.output


def test_files_left_from_an_earlier_run_are_named(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    config = accounts_file(tmp_path)
    first = portfolio_scan(config, out, "--fail-on", "none", "--format", "md")
    assert first.exit_code == 0, first.output
    assert "earlier run" not in first.output
    crash_scans_of("retail", monkeypatch)
    second = portfolio_scan(config, out, "--fail-on", "none", "--format", "md")
    assert "still holds files from an earlier run that this run did not write: " in second.output
    assert "retail.json, appendix-retail.md, matrix.md" in second.output
