"""The scan document ``govscan.scan/1``: the one serialisation of a scan.

Reports re-render from it and history stores it. ``digest`` is ``sha256:<hex>`` over the
canonical JSON (sorted keys, no insignificant white space, UTF-8) of every other member, so
any change to a stored document is detectable. The JSON Schema ships in
``scanner/schemas/govscan.scan-1.schema.json`` and every document written is validated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from scanner.models import (
    Call,
    CallOutcome,
    ControlResult,
    ControlStatus,
    CriterionResult,
    Finding,
    RegionSkip,
    ScanRun,
    Severity,
    Status,
    Target,
)

SCHEMA_VERSION = "govscan.scan/1"


class DocumentError(ValueError):
    """A file is not a valid govscan scan document."""


def jsonable(value: Any) -> Any:
    """AWS responses as plain JSON: datetimes to RFC 3339 UTC, sets sorted, bytes base64."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_digest(document: Mapping[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def to_document(run: ScanRun) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scanner": {"name": "govscan", "version": run.scanner_version},
        "catalog": {"id": run.catalog_id, "version": run.catalog_version},
        "scan_id": run.scan_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "complete": run.complete,
        "target": {
            "label": run.target.label,
            "account_id": run.target.account_id,
            "partition": run.target.partition,
            "principal_arn": run.target.principal_arn,
            "role_arn": run.target.role_arn,
            "regions": list(run.target.regions),
        },
        "skipped_regions": [{"region": s.region, "reason": s.reason} for s in run.skipped_regions],
        "options": jsonable(run.options),
        "findings": [
            {
                "check_id": f.check_id,
                "status": f.status.value,
                "severity": f.severity.value,
                "criteria": list(f.criteria),
                "region": f.region,
                "resource_id": f.resource_id,
                "resource_type": f.resource_type,
                "message": f.message,
                "evidence": jsonable(f.evidence),
                "calls": list(f.calls),
                "remediation": f.remediation,
            }
            for f in run.findings
        ],
        "controls": [
            {
                "id": c.id,
                "status": c.status.value,
                "criteria": [
                    {"id": k.id, "status": k.status.value, "check_ids": list(k.check_ids)} for k in c.criteria
                ],
            }
            for c in run.controls
        ],
        "calls": [
            {
                "id": c.id,
                "action": c.action,
                "region": c.region,
                "params": jsonable(c.params),
                "at": c.at,
                "outcome": c.outcome.value,
                "error_code": c.error_code,
                "error_message": c.error_message,
                "pages": c.pages,
                "duration_ms": c.duration_ms,
            }
            for c in run.calls
        ],
    }
    doc["digest"] = compute_digest(doc)
    return doc


def from_document(doc: Mapping[str, Any]) -> ScanRun:
    """A validated document back into the model (reports and history work from this)."""
    validate(doc)
    t = doc["target"]
    return ScanRun(
        scan_id=doc["scan_id"],
        started_at=doc["started_at"],
        finished_at=doc["finished_at"],
        target=Target(
            label=t["label"],
            account_id=t["account_id"],
            partition=t["partition"],
            principal_arn=t["principal_arn"],
            role_arn=t["role_arn"],
            regions=tuple(t["regions"]),
        ),
        findings=tuple(
            Finding(
                check_id=f["check_id"],
                status=Status(f["status"]),
                severity=Severity(f["severity"]),
                criteria=tuple(f["criteria"]),
                region=f["region"],
                resource_id=f["resource_id"],
                resource_type=f["resource_type"],
                message=f["message"],
                evidence=f["evidence"],
                calls=tuple(f["calls"]),
                remediation=f.get("remediation", ""),
            )
            for f in doc["findings"]
        ),
        controls=tuple(
            ControlResult(
                id=c["id"],
                status=ControlStatus(c["status"]),
                criteria=tuple(
                    CriterionResult(id=k["id"], status=ControlStatus(k["status"]), check_ids=tuple(k["check_ids"]))
                    for k in c["criteria"]
                ),
            )
            for c in doc["controls"]
        ),
        calls=tuple(
            Call(
                id=c["id"],
                action=c["action"],
                region=c["region"],
                params=c["params"],
                at=c["at"],
                outcome=CallOutcome(c["outcome"]),
                error_code=c.get("error_code"),
                error_message=c.get("error_message"),
                pages=c.get("pages", 0),
                duration_ms=c.get("duration_ms", 0),
            )
            for c in doc["calls"]
        ),
        scanner_version=doc["scanner"]["version"],
        catalog_id=doc["catalog"]["id"],
        catalog_version=doc["catalog"]["version"],
        complete=doc.get("complete", True),
        skipped_regions=tuple(RegionSkip(s["region"], s["reason"]) for s in doc.get("skipped_regions", [])),
        options=doc.get("options", {}),
    )


@cache
def schema() -> dict[str, Any]:
    text = resources.files("scanner").joinpath("schemas/govscan.scan-1.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


_VALIDATED_DIGESTS: set[str] = set()


def validate(doc: Mapping[str, Any], *, check_digest: bool = True) -> None:
    """Raise :class:`DocumentError` unless ``doc`` is a valid, untampered ``govscan.scan/1`` document.

    A document whose content hashes to a digest already validated in this process is the same
    content, so the schema pass (seconds for 10,000 findings) is not repeated.
    """
    digest = doc.get("digest") if isinstance(doc, Mapping) else None
    if check_digest and isinstance(digest, str) and digest in _VALIDATED_DIGESTS and compute_digest(doc) == digest:
        return
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(document)"
        raise DocumentError(f"not a govscan.scan/1 document: at {where}: {first.message}")
    if check_digest:
        if doc["digest"] != compute_digest(doc):
            raise DocumentError("digest mismatch: the document was changed after govscan wrote it")
        _VALIDATED_DIGESTS.add(doc["digest"])


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread exists.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write through a temporary file in the same directory and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode an ordinary write would (0666 less umask).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"{path}: cannot read a JSON scan document: {exc}") from exc
    try:
        validate(doc)
    except DocumentError as exc:
        raise DocumentError(f"{path}: {exc}") from exc
    return doc
