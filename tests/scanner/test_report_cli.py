"""`govscan report`, `govscan verify` and `govscan scan --out/--bundle` through click's CliRunner."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.sample_docs import sample_documents
from scanner.bundle import verify_bundle
from scanner.cli import main
from scanner.document import dumps


@pytest.fixture
def scans(tmp_path: Path) -> list[Path]:
    paths = []
    for doc in sample_documents():
        path = tmp_path / "scans" / f"{doc['target']['account_id']}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(dumps(doc))
        paths.append(path)
    return paths


def _invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_four_accounts_one_command(scans: list[Path], tmp_path: Path) -> None:
    """The issue's done-when: four appendices, the matrix, CSV and XLSX, and a bundle verify accepts
    and rejects after any change."""
    out, bundle = tmp_path / "evidence", tmp_path / "evidence.zip"
    code, _, err = _invoke("report", *scans, "--out", out, "--format", "html,md,csv,xlsx", "--bundle", bundle)
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"appendix-{s}.{k}" for s in ("acme-prod", "clinic", "bakery", "law-firm-partners") for k in ("html", "md")]
        + ["matrix.html", "matrix.md", "findings.csv", "evidence.xlsx"]
    )
    assert f"Evidence bundle: {bundle}" in err
    code, stdout, _ = _invoke("verify", bundle)
    assert code == 0 and stdout.startswith(f"OK {bundle}: 16 files match the manifest; seal sha256:")
    data = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("reports/appendix-clinic.html")
    data[info.header_offset + 30 + len(info.filename) + 40] ^= 0xFF
    changed = tmp_path / "changed.zip"
    changed.write_bytes(bytes(data))
    code, _, err = _invoke("verify", changed)
    assert code == 1
    assert "reports/appendix-clinic.html:" in err


def test_report_defaults_to_html_and_markdown(scans: list[Path], tmp_path: Path) -> None:
    code, _, err = _invoke("report", scans[0], "--out", tmp_path / "one")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["appendix-acme-prod.html", "appendix-acme-prod.md"]


def test_report_with_notes(scans: list[Path], tmp_path: Path) -> None:
    notes = tmp_path / "notes" / "acme-prod"  # by label works as well as by account id
    notes.mkdir(parents=True)
    (notes / "ope-003.md").write_text("Deployment checklist: see wiki page DEP-1.\n")
    code, _, err = _invoke("report", scans[0], "--out", tmp_path / "out", "--format", "md",
                           "--notes", tmp_path / "notes")
    assert code == 0, err
    text = (tmp_path / "out" / "appendix-acme-prod.md").read_text()
    assert "> Deployment checklist: see wiki page DEP-1." in text
    assert "no narrative yet: [TEC-002](#ctl-TEC-002), [ACCT-001](#ctl-ACCT-001), [REL-002](#ctl-REL-002)." in text


def test_bundle_without_out_dir(scans: list[Path], tmp_path: Path) -> None:
    code, _, err = _invoke("report", *scans[:2], "--bundle", tmp_path / "b.zip", "--format", "all")
    assert code == 0, err
    assert verify_bundle(tmp_path / "b.zip").ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.zip", "scans"]


@pytest.mark.parametrize("problem", ["tampered", "not-json", "missing"])
def test_bad_scan_document_exits_2_and_writes_nothing(scans: list[Path], tmp_path: Path, problem: str) -> None:
    bad = tmp_path / "bad.json"
    if problem == "tampered":
        doc = json.loads(scans[1].read_text())
        doc["findings"][0]["status"] = "FAIL"
        bad.write_text(json.dumps(doc))
    elif problem == "not-json":
        bad.write_text("{not json")
    out = tmp_path / "out"
    code, _, err = _invoke("report", scans[0], bad, "--out", out, "--bundle", tmp_path / "b.zip")
    assert code == 2
    assert str(bad) in err
    assert not out.exists() and not (tmp_path / "b.zip").exists()


def test_unwritable_out_exits_2(scans: list[Path], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _invoke("report", scans[0], "--out", blocker / "sub")
    assert code == 2 and "govscan:" in err and str(blocker) in err
    assert blocker.read_text() == "x"


def test_usage_errors_exit_2(scans: list[Path], tmp_path: Path) -> None:
    assert _invoke("report", scans[0])[0] == 2  # neither --out nor --bundle
    code, _, err = _invoke("report", scans[0], "--out", tmp_path / "o", "--format", "pdf")
    assert code == 2 and "pdf" in err
    assert not (tmp_path / "o").exists()
    assert _invoke("report", scans[0], "--out", tmp_path / "o", "--notes", tmp_path / "absent")[0] == 2


def test_verify_unreadable_input_exits_2(tmp_path: Path) -> None:
    code, _, err = _invoke("verify", tmp_path / "absent.zip")
    assert code == 2 and "cannot read" in err
    (tmp_path / "page.html").write_text("<html></html>")
    code, _, err = _invoke("verify", tmp_path / "page.html")
    assert code == 2 and "not a zip archive" in err


def test_scan_writes_reports_and_bundle(aws: None, tmp_path: Path) -> None:
    out, bundle = tmp_path / "reports", tmp_path / "scan.zip"
    code, _, err = _invoke(
        "scan", "--checks", "iam_root_mfa_enabled", "--regions", "us-east-1", "--label", "moto",
        "--json", tmp_path / "scan.json", "--out", out, "--format", "html,csv", "--bundle", bundle, "--quiet",
    )
    assert code in (0, 1), err
    assert sorted(p.name for p in out.iterdir()) == ["appendix-moto.html", "findings.csv"]
    assert "iam_root_mfa_enabled" in (out / "findings.csv").read_text()
    assert verify_bundle(bundle).ok
    with zipfile.ZipFile(bundle) as archive:
        assert json.loads(archive.read("scans/moto.json")) == json.loads((tmp_path / "scan.json").read_text())


def test_scan_checks_report_options_before_scanning(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _invoke("scan", "--out", blocker, "--quiet")
    assert code == 2 and "is a file" in err
    code, _, err = _invoke("scan", "--out", blocker / "sub", "--quiet")
    assert code == 2 and "cannot create the output directory" in err
    code, _, err = _invoke("scan", "--format", "html", "--quiet")
    assert code == 2 and "--out" in err
    code, _, err = _invoke("scan", "--out", tmp_path / "o", "--format", "html,docx", "--quiet")
    assert code == 2 and "docx" in err
