"""The evidence bundle: any changed byte fails verification, and the failure names the file."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fixtures.sample_docs import SAMPLE_CHECKS, sample_documents, sample_runs
from scanner.bundle import (
    COMMENT_LENGTH,
    MANIFEST,
    BundleUnreadable,
    build_bundle,
    sha256,
    verify_bundle,
    write_bundle,
)
from scanner.document import to_document
from scanner.report import FORMATS, file_stems, publish


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return sample_documents()


@pytest.fixture
def bundle(docs: list[dict[str, Any]], tmp_path: Path) -> Path:
    path = tmp_path / "evidence.zip"
    publish(docs, out_dir=tmp_path / "out", formats=FORMATS, bundle=path, checks=SAMPLE_CHECKS)
    return path


def _flip(path: Path, offset: int, target: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_intact_bundle_verifies(bundle: Path, docs: list[dict[str, Any]]) -> None:
    result = verify_bundle(bundle)
    assert result.ok, result.problems
    assert result.files == len(docs) + 12  # four documents; 4 appendices x 2, matrix x 2, csv, xlsx
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
    assert names[-1] == MANIFEST and names[:-1] == sorted(names[:-1])
    assert {"scans/acme-prod.json", "reports/appendix-acme-prod.html", "reports/matrix.md",
            "reports/evidence.xlsx", "reports/findings.csv"} <= set(names)
    assert manifest["format"] == "govscan.bundle/1"
    assert [s["digest"] for s in manifest["scans"]] == [d["digest"] for d in docs]
    assert result.seal == sha256(bundle.read_bytes()[:-COMMENT_LENGTH])


def test_bundle_is_deterministic(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    first = publish(docs, out_dir=None, formats=["md", "csv"], bundle=tmp_path / "a.zip", checks=SAMPLE_CHECKS)
    second = publish(docs, out_dir=None, formats=["md", "csv"], bundle=tmp_path / "b.zip", checks=SAMPLE_CHECKS)
    assert first.reports == () and first.seal == second.seal
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_every_byte_of_a_small_bundle_matters(tmp_path: Path) -> None:
    """Exhaustive: flip each byte of a small bundle in turn; verification fails every time."""
    run = sample_runs()[1]
    tiny = to_document(replace(run, findings=run.findings[-1:], calls=run.calls[-1:], controls=run.controls[-1:]))
    path = tmp_path / "small.zip"
    report = tmp_path / "r.md"
    report.write_text("# tiny report\n")
    write_bundle(path, [tiny], file_stems([tiny]), [report])
    size = len(path.read_bytes())
    changed = tmp_path / "changed.zip"
    for offset in range(size):
        try:
            result = verify_bundle(_flip(path, offset, changed))
        except BundleUnreadable:
            continue  # also a failure (exit 2), e.g. the first local header's signature
        assert not result.ok, f"flipping byte {offset} of {size} went unnoticed"
    assert size > 1000  # documents, report, manifest, headers, central directory and seal all covered


def test_changed_report_is_named(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("reports/findings.csv")
    # The first byte of the entry's compressed data: after the 30-byte local header, name and extra.
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    result = verify_bundle(_flip(bundle, offset, tmp_path / "x.zip"))
    assert not result.ok
    assert any(p.startswith("reports/findings.csv: ") for p in result.problems), result.problems


def test_a_member_with_a_bad_crc_is_named_once_as_damaged(bundle: Path, tmp_path: Path) -> None:
    data = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as archive:
        start = archive.start_dir
    name = b"reports/findings.csv"
    position = start
    while data[position : position + 4] == b"PK\x01\x02":  # central directory records
        size = 46 + sum(int.from_bytes(data[position + at : position + at + 2], "little") for at in (28, 30, 32))
        if data[position + 46 : position + 46 + len(name)] == name:
            data[position + 16] ^= 0x01  # the CRC-32 the reader checks the content against
            break
        position += size
    else:
        pytest.fail("no central directory record for reports/findings.csv")
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))
    problems = verify_bundle(path).problems
    named = [p for p in problems if p.startswith("reports/findings.csv: ")]
    assert len(named) == 1 and named[0].startswith("reports/findings.csv: damaged (Bad CRC-32"), problems
    assert not any("listed in the manifest but missing" in p for p in problems)


def test_sampled_bytes_of_the_full_bundle(bundle: Path, tmp_path: Path) -> None:
    size = len(bundle.read_bytes())
    offsets = sorted({*range(0, size, max(1, size // 60)), size - 1, size - COMMENT_LENGTH, size - COMMENT_LENGTH - 1})
    for offset in offsets:
        try:
            assert not verify_bundle(_flip(bundle, offset, tmp_path / "x.zip")).ok, offset
        except BundleUnreadable:
            pass


def _rezip(bundle: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """The bundle's members, some replaced or removed, re-sealed honestly except for the manifest."""
    with zipfile.ZipFile(bundle) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != MANIFEST}
    for name, data in change.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    target.write_bytes(build_bundle(members))
    return target


def test_a_swapped_file_is_named_even_when_the_zip_is_rebuilt(bundle: Path, tmp_path: Path) -> None:
    """Rebuilding the archive around a changed file gives a new, valid seal, but the manifest (sealed,
    and compared per file) and the scan document's own digest still catch the change."""
    with zipfile.ZipFile(bundle) as archive:
        doc = json.loads(archive.read("scans/clinic.json"))
        manifest = json.loads(archive.read(MANIFEST))
    doc["findings"][0]["status"] = "FAIL"
    forged = json.dumps(doc).encode()
    members = {"scans/clinic.json": forged}
    path = _rezip(bundle, tmp_path / "forged.zip", dict(members))
    result = verify_bundle(path)
    assert not result.ok
    assert any(p.startswith("scans/clinic.json: not a valid scan document") for p in result.problems)
    # With the original manifest copied in, the file's hash mismatch is named too.
    with zipfile.ZipFile(bundle) as archive:
        all_members = {n: archive.read(n) for n in archive.namelist()}
    all_members["scans/clinic.json"] = forged
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in all_members.items():
            archive.writestr(name, data)
    (tmp_path / "copied.zip").write_bytes(raw.getvalue())
    copied = verify_bundle(tmp_path / "copied.zip")
    assert "scans/clinic.json: changed (its SHA-256 differs from the manifest)" in copied.problems
    assert any("seal" in p for p in copied.problems)
    assert manifest["files"]["scans/clinic.json"] != sha256(forged)


def test_missing_and_extra_files_are_named(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members.pop("reports/matrix.md")
    members["reports/extra.html"] = b"<p>added later</p>"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = bundle.read_bytes()[-COMMENT_LENGTH:]
    path = tmp_path / "edited.zip"
    path.write_bytes(raw.getvalue())
    problems = verify_bundle(path).problems
    assert "reports/matrix.md: listed in the manifest but missing" in problems
    assert "reports/extra.html: not listed in the manifest" in problems
    assert any("archive's bytes changed" in p for p in problems)


def test_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(BundleUnreadable, match="cannot read"):
        verify_bundle(tmp_path / "absent.zip")
    not_zip = tmp_path / "report.html"
    not_zip.write_text("<html></html>")
    with pytest.raises(BundleUnreadable, match="not a zip archive"):
        verify_bundle(not_zip)


def test_a_foreign_zip_is_not_a_bundle(tmp_path: Path) -> None:
    """Not "changed after govscan wrote it" (exit 1): govscan never wrote it (BundleUnreadable, exit 2)."""
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(BundleUnreadable, match=r"other\.zip is a zip archive but not a govscan evidence bundle"):
        verify_bundle(path)
    extension = tmp_path / "extension.zip"  # a browser extension has a manifest.json of its own
    with zipfile.ZipFile(extension, "w") as archive:
        archive.writestr(MANIFEST, json.dumps({"manifest_version": 3, "name": "x"}))
    with pytest.raises(BundleUnreadable, match="not a govscan evidence bundle"):
        verify_bundle(extension)


def test_a_bundle_whose_manifest_was_removed_is_changed_not_foreign(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != MANIFEST}
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = bundle.read_bytes()[-COMMENT_LENGTH:]
    path = tmp_path / "stripped.zip"
    path.write_bytes(raw.getvalue())
    problems = verify_bundle(path).problems
    assert f"{MANIFEST}: missing (removed from the bundle)" in problems
