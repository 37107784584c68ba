"""`govscan demo`: the offline four-account portfolio, end to end (fixtures/demo.py, fixtures/demo_accounts.py).

The slow tests run the demo itself through the CLI: once in fast mode (one scan) for the evidence
pack, once in full (two scans) for the history. The others test its pieces without an emulator.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fixtures.demo import DemoAccount, accounts_toml, control_matrix, offline_aws_environment, portfolio_gaps
from scanner.catalog import load_catalog
from scanner.cli import main
from scanner.config import load_accounts
from scanner.document import load
from scanner.registry import load_checks

LABELS = ("webshop", "clinic", "accountancy", "logistics")


def automated_controls() -> set[str]:
    """Controls with at least one criterion that some registered check evidences."""
    evidenced = {criterion for spec in load_checks().values() for criterion in spec.criteria}
    return {c.id for c in load_catalog().controls if any(cr.id in evidenced for cr in c.criteria)}


def run_demo_cli(out: Path, *extra: str) -> Result:
    result = CliRunner().invoke(main, ["demo", "--out", str(out), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_text(path: Path) -> tuple[list[str], str]:
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.tags, " ".join(parser.text)


@pytest.mark.slow
def test_fast_demo_writes_a_valid_evidence_pack_where_every_control_is_met_somewhere(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_demo_cli(out, "--fast")

    documents = {label: load(out / f"{label}.json") for label in LABELS}  # load() validates schema and digest
    assert {d["target"]["label"] for d in documents.values()} == set(LABELS)
    assert len({d["target"]["account_id"] for d in documents.values()}) == 4
    for label, doc in documents.items():
        assert doc["target"]["role_arn"] == f"arn:aws:iam::{doc['target']['account_id']}:role/GovscanReadOnly"
        assert doc["target"]["principal_arn"].endswith(f":assumed-role/GovscanReadOnly/govscan-{label}")
        assert doc["complete"] is True

    errors = [(label, f["check_id"], f["message"]) for label, d in documents.items() for f in d["findings"]
              if f["status"] == "ERROR"]
    assert errors == []

    matrix = control_matrix(documents)
    assert set(matrix) == automated_controls()
    assert {c for c, row in matrix.items() if "MET" in row.values()} == automated_controls()
    for label in LABELS:
        assert "NOT_MET" in {row[label] for row in matrix.values()}, f"{label} has no gap"
    assert portfolio_gaps(documents) == []
    # Fast mode scans after the changes: the web shop's SSH regression is there.
    ssh = [f for f in documents["webshop"]["findings"]
           if f["check_id"] == "ec2_sg_no_internet_admin_ports" and f["status"] == "FAIL"]
    assert len(ssh) == 1 and "webshop-web" in ssh[0]["message"] and "tcp/22" in ssh[0]["message"]
    assert matrix["NETSEC-001"] == {"webshop": "NOT_MET", "clinic": "NOT_MET", "accountancy": "NOT_MET",
                                    "logistics": "MET"}

    tags, text = html_text(out / "matrix.html")
    assert "table" in tags and all(label in text for label in LABELS)
    assert all(label in (out / "matrix.md").read_text(encoding="utf-8") for label in LABELS)
    for label in LABELS:
        tags, text = html_text(out / f"appendix-{label}.html")
        assert "table" in tags and label in text
        assert label in (out / f"appendix-{label}.md").read_text(encoding="utf-8")
    with (out / "findings.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(len(d["findings"]) for d in documents.values())
    assert (out / "evidence.xlsx").read_bytes()[:2] == b"PK"  # a zip container, as Office Open XML is

    portfolio = load_accounts(out / "accounts.toml")
    assert portfolio.labels == LABELS
    assert all(a.role_arn and a.external_id and len(a.external_id) >= 16 for a in portfolio.accounts)
    with sqlite3.connect(out / "history.sqlite") as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 4
    assert "matrix.html" in result.output and "govscan history --store" in result.output


@pytest.mark.slow
def test_full_demo_history_shows_the_webshop_regression_and_the_clinic_fix(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_demo_cli(out)
    assert "Scan 2 of 2" in result.output and "webshop: someone opened SSH" in result.output
    assert {p.name for p in (out / "earlier").glob("*.json")} == {f"{label}.json" for label in LABELS}
    store = str(out / "history.sqlite")

    webshop = CliRunner().invoke(main, ["diff", "previous", "latest", "--account", "webshop", "--store", store,
                                        "--fail-on", "regression"])
    assert webshop.exit_code == 1, webshop.output
    assert "REGRESSION (PASS -> FAIL): 1" in webshop.output
    assert "ec2_sg_no_internet_admin_ports" in webshop.output and "NETSEC-001  MET -> NOT_MET" in webshop.output

    clinic = CliRunner().invoke(main, ["diff", "previous", "latest", "--account", "clinic", "--store", store])
    assert clinic.exit_code == 0, clinic.output
    assert "RESOLVED: 2" in clinic.output and "COST-001    NOT_MET -> MET" in clinic.output

    history = CliRunner().invoke(main, ["history", "--store", store])
    assert history.exit_code == 0 and sum(label in line for line in history.output.splitlines()
                                          for label in LABELS) == 8
    previous = {label: load(out / "earlier" / f"{label}.json") for label in LABELS}
    assert portfolio_gaps(previous) == []  # last month's portfolio was a complete example too


def test_accounts_file_is_a_valid_portfolio_with_each_accounts_settings(tmp_path: Path) -> None:
    accounts = [
        DemoAccount("webshop", "402913685710", "arn:aws:iam::402913685710:role/GovscanReadOnly", "a" * 24, "shop"),
        DemoAccount("clinic", "518204673391", "arn:aws:iam::518204673391:role/GovscanReadOnly", "b" * 24,
                    'records "system"', regions=("eu-west-1",), rpo_hours=24, rto_hours=4, note="EU only"),
        DemoAccount("logistics", "734916502847", "arn:aws:iam::734916502847:role/GovscanReadOnly", "c" * 24, "api",
                    settings=(("iac_tag_keys", ("managed-by=terraform",)),)),
    ]
    path = tmp_path / "accounts.toml"
    path.write_text(accounts_toml(accounts), encoding="utf-8")
    portfolio = load_accounts(path)
    by_label = {a.label: a for a in portfolio.accounts}
    assert by_label["webshop"].regions == ("us-east-1", "eu-west-1") and by_label["webshop"].external_id == "a" * 24
    assert by_label["clinic"].regions == ("eu-west-1",) and by_label["clinic"].home_region == "eu-west-1"
    assert by_label["clinic"].check_settings["rpo_hours"] == 24
    assert by_label["logistics"].check_settings["iac_tag_keys"] == ["managed-by=terraform"]
    # the scan role's own iam:GenerateCredentialReport needs no exemption: it is classified as a read
    assert "broad_wildcard_exempt_actions" not in by_label["logistics"].check_settings


def test_offline_environment_hides_the_users_aws_setup_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.invalid")
    before = dict(os.environ)
    with offline_aws_environment():
        assert not {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} & set(os.environ)
        assert os.environ["AWS_ACCESS_KEY_ID"] == "demo" and os.environ["AWS_CONFIG_FILE"] == os.devnull
        assert "127.0.0.1" in os.environ["NO_PROXY"].split(",")
    assert dict(os.environ) == before


def test_demo_without_the_emulator_exits_2_naming_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)  # `import moto.server` raises ImportError
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 2
    assert "the demo needs the emulator: pip install 'govscan[demo]'" in result.output
    assert not (tmp_path / "demo").exists()
