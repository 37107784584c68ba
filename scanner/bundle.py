"""Evidence bundle: one zip of the scan documents and reports that shows any change to it.

Layout::

    scans/<name>.json    the scan documents (each also carries its own digest)
    reports/<file>       the reports rendered from them
    manifest.json        {"format": "govscan.bundle/1", "files": {name: "sha256:<hex>"},
                          "entries": {name: "sha256:<hex of the stored zip entry>"}, "scans": [...]}

The archive comment is the seal, fixed length, written last::

    govscan.bundle/1 manifest=sha256:<hex of manifest.json> seal=sha256:<hex of every byte before the comment>

``verify_bundle`` checks each file's content and stored bytes against the manifest (naming the
file that changed), each scan document's own digest, the manifest against the comment, and the
seal against the archive's bytes, so a change to any byte, in a file, a zip header, the central
directory or the comment itself, fails. The archive is deterministic (sorted names, fixed
timestamps and permissions).

A zip archive with neither a govscan manifest nor a govscan seal was never a bundle: that is
:class:`BundleUnreadable` (``govscan verify`` exits 2, "not a govscan bundle"), not a "changed"
bundle. Each problem is reported once: a member that cannot be read (a bad CRC) is "damaged",
not also "missing".

This is tamper evidence, not a signature: whoever can rewrite the whole bundle can rewrite the
seal too. Send the seal (``govscan verify`` prints it) to the auditor through another channel,
or sign the bundle file with your own key, to pin it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.document import DocumentError, dumps, validate, write_atomic

BUNDLE_FORMAT = "govscan.bundle/1"
MANIFEST = "manifest.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_COMMENT = re.compile(rb"^govscan\.bundle/1 manifest=sha256:([0-9a-f]{64}) seal=sha256:([0-9a-f]{64})$")
# What zipfile raises on damaged input: a flipped flag bit can even claim encryption (RuntimeError).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)
COMMENT_LENGTH = len(f"{BUNDLE_FORMAT} manifest=sha256:{'0' * 64} seal=sha256:{'0' * 64}")


class BundleUnreadable(Exception):
    """The input is not a file govscan can read as a bundle at all (exit 2)."""


@dataclass(frozen=True)
class Verification:
    files: int
    seal: str
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def bundle_members(
    docs: Sequence[Mapping[str, Any]], stems: Sequence[str], reports: Sequence[Path]
) -> dict[str, bytes]:
    """Archive names and contents: ``scans/<stem>.json`` per document, ``reports/<file name>`` per report."""
    members = {f"scans/{stem}.json": dumps(doc).encode("utf-8") for doc, stem in zip(docs, stems, strict=True)}
    for path in reports:
        members[f"reports/{path.name}"] = path.read_bytes()
    return members


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _raw_entries(data: bytes, infos: Sequence[zipfile.ZipInfo], end: int) -> dict[str, str]:
    """SHA-256 of each entry's stored bytes (local header and compressed data), by name.

    Content hashes alone miss changes that decompress to the same content (a flipped bit in a
    deflate block header can); these name the file whose stored bytes changed.
    """
    ordered = sorted(infos, key=lambda i: i.header_offset)
    if not ordered:
        return {}
    bounds = [i.header_offset for i in ordered[1:]] + [end]
    return {i.filename: sha256(data[i.header_offset : stop]) for i, stop in zip(ordered, bounds, strict=True)}


def build_bundle(members: Mapping[str, bytes], scans: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """The sealed archive's bytes: the members (sorted), then the manifest, then the seal.
    ``scans`` describe the documents for the manifest's readers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            archive.writestr(_entry(name), members[name])
        manifest = {
            "format": BUNDLE_FORMAT,
            "files": {name: sha256(members[name]) for name in sorted(members)},
            "entries": _raw_entries(buffer.getvalue(), archive.infolist(), buffer.tell()),
            "scans": list(scans),
        }
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        archive.writestr(_entry(MANIFEST), manifest_bytes)
        archive.comment = b"\0" * COMMENT_LENGTH  # placeholder of the final length: covered by the seal
    body = buffer.getvalue()[:-COMMENT_LENGTH]
    comment = f"{BUNDLE_FORMAT} manifest={sha256(manifest_bytes)} seal={sha256(body)}".encode("ascii")
    assert len(comment) == COMMENT_LENGTH
    return body + comment


def write_bundle(path: Path, docs: Sequence[Mapping[str, Any]], stems: Sequence[str], reports: Sequence[Path]) -> str:
    """Write the sealed bundle atomically; returns its seal."""
    scans = [
        {
            "file": f"scans/{stem}.json",
            "account_id": doc["target"]["account_id"],
            "label": doc["target"]["label"],
            "scan_id": doc["scan_id"],
            "digest": doc["digest"],
        }
        for doc, stem in zip(docs, stems, strict=True)
    ]
    data = build_bundle(bundle_members(docs, stems, reports), scans)
    write_atomic(path, data)
    return data[-COMMENT_LENGTH:].decode("ascii").rsplit("seal=", 1)[1]


def _looks_like_zip(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04") or b"PK\x05\x06" in data[-(COMMENT_LENGTH + 4096) :]


def _read_members(archive: zipfile.ZipFile, problems: list[str], damaged: set[str]) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for info in archive.infolist():
        if info.filename in contents or info.filename in damaged:
            problems.append(f"{info.filename}: appears twice in the archive")
            continue
        try:
            contents[info.filename] = archive.read(info)
        except _ZIP_ERRORS as exc:
            problems.append(f"{info.filename}: damaged ({exc})")
            damaged.add(info.filename)
    return contents


def _is_bundle(comment: bytes, names: set[str], manifest_bytes: bytes | None) -> bool:
    """Whether the archive claims to be a govscan bundle: a govscan seal, or a manifest that is
    govscan's (or too damaged to tell). A foreign zip, even one with its own manifest.json (a
    browser extension has one), is not."""
    if comment.startswith(b"govscan.bundle/"):
        return True
    if MANIFEST not in names:
        return False
    if manifest_bytes is None:
        return True  # listed but unreadable: a damaged bundle
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        return True
    return isinstance(manifest, dict) and manifest.get("format") == BUNDLE_FORMAT


def _check_files(
    contents: Mapping[str, bytes],
    manifest_bytes: bytes,
    stored: Mapping[str, str],
    problems: list[str],
    damaged: set[str],
) -> int:
    try:
        manifest = json.loads(manifest_bytes)
        files: dict[str, str] = dict(manifest["files"])
        entries: dict[str, str] = dict(manifest["entries"])
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"{MANIFEST}: not a readable manifest ({exc})")
        return 0
    for name, expected in sorted(files.items()):
        if name in damaged:
            continue  # already reported as damaged
        if name not in contents:
            problems.append(f"{name}: listed in the manifest but missing")
        elif sha256(contents[name]) != expected:
            problems.append(f"{name}: changed (its SHA-256 differs from the manifest)")
        elif stored.get(name) != entries.get(name):
            problems.append(f"{name}: its stored (compressed) bytes or zip header changed")
        elif name.startswith("scans/") and name.endswith(".json"):
            try:
                validate(json.loads(contents[name]))
            except (ValueError, DocumentError) as exc:
                problems.append(f"{name}: not a valid scan document ({exc})")
    for name in sorted(set(contents) - set(files) - {MANIFEST}):
        problems.append(f"{name}: not listed in the manifest")
    return len(files)


def verify_bundle(path: Path) -> Verification:
    """Check a bundle; raises :class:`BundleUnreadable` for input that is not a bundle at all
    (unreadable, not a zip, or a zip govscan never wrote)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleUnreadable(f"cannot read {path}: {exc}") from exc
    if not _looks_like_zip(data):
        raise BundleUnreadable(f"{path} is not a zip archive, so not a govscan evidence bundle")
    problems: list[str] = []
    damaged: set[str] = set()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            comment = archive.comment
            contents = _read_members(archive, problems, damaged)
            infos = archive.infolist()
            manifest_info = next((i for i in infos if i.filename == MANIFEST), None)
            end = manifest_info.header_offset if manifest_info else len(data)
            stored = _raw_entries(data, [i for i in infos if i.header_offset < end], end)
    except _ZIP_ERRORS as exc:
        return Verification(0, "", (f"the archive's structure is damaged ({exc})",))
    manifest_bytes = contents.get(MANIFEST)
    if not _is_bundle(comment, {i.filename for i in infos}, manifest_bytes):
        raise BundleUnreadable(
            f"{path} is a zip archive but not a govscan evidence bundle (no govscan {MANIFEST} and no govscan seal)"
        )
    files = 0
    if manifest_bytes is None:
        if MANIFEST not in damaged:
            problems.append(f"{MANIFEST}: missing (removed from the bundle)")
    else:
        files = _check_files(contents, manifest_bytes, stored, problems, damaged)
    sealed = _COMMENT.match(comment) if data.endswith(comment) else None
    if sealed is None or len(comment) != COMMENT_LENGTH:
        problems.append("the seal (archive comment) is missing or altered")
        return Verification(files, "", tuple(problems))
    if manifest_bytes is not None and sha256(manifest_bytes) != "sha256:" + sealed.group(1).decode():
        problems.append(f"{MANIFEST}: changed (its SHA-256 differs from the seal)")
    seal = "sha256:" + sealed.group(2).decode()
    if sha256(data[:-COMMENT_LENGTH]) != seal:
        problems.append("the archive's bytes changed (zip headers or metadata outside the listed files)")
    return Verification(files, seal, tuple(problems))
