"""Result model: frozen dataclasses and closed enums only (no boto3, no jinja2).

Findings are built once (through ``CheckContext.finding``) and never mutated.
"Could not evaluate" is a value, ``Status.ERROR``, never a swallowed exception.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - import only for type checkers
    from scanner.context import CheckContext


class Status(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 (a status, not a password)
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Scope(enum.StrEnum):
    GLOBAL = "global"  # once per account
    REGIONAL = "regional"  # once per scanned region


class ControlStatus(enum.StrEnum):
    MET = "MET"
    NOT_MET = "NOT_MET"
    INCOMPLETE = "INCOMPLETE"
    MANUAL = "MANUAL"


class CallOutcome(enum.StrEnum):
    OK = "ok"
    ABSENT = "absent"  # the API said "nothing configured" (e.g. NoSuchEntity): data, not failure
    DENIED = "denied"
    THROTTLED = "throttled"
    FAILED = "failed"
    REFUSED = "refused"  # the gateway refused a non-read operation; nothing was sent


GLOBAL_REGION = "global"


@dataclass(frozen=True)
class CheckSpec:
    """What ``@check`` attaches to a function. ``params`` parameterises near-duplicates."""

    id: str
    title: str
    severity: Severity
    criteria: tuple[str, ...]
    permissions: tuple[str, ...]
    scope: Scope
    func: Callable[[CheckContext], Iterator[Finding]]
    module: str
    remediation: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rationale(self) -> str:
        doc = self.func.__doc__ or ""
        return " ".join(doc.split())


@dataclass(frozen=True)
class Call:
    """One recorded API call: the raw evidence of where a fact came from."""

    id: str
    action: str  # "ec2:DescribeSecurityGroups" (botocore service name : operation)
    region: str
    params: Mapping[str, Any]
    at: str  # RFC 3339 UTC
    outcome: CallOutcome
    error_code: str | None = None
    error_message: str | None = None
    pages: int = 0
    duration_ms: int = 0


@dataclass(frozen=True)
class Finding:
    check_id: str
    status: Status
    severity: Severity
    criteria: tuple[str, ...]
    region: str
    resource_id: str
    resource_type: str
    message: str
    evidence: Mapping[str, Any]
    calls: tuple[str, ...]
    remediation: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """History diff key: never the message."""
        return (self.check_id, self.resource_id, self.region)


@dataclass(frozen=True)
class CriterionResult:
    id: str
    status: ControlStatus
    check_ids: tuple[str, ...]


@dataclass(frozen=True)
class ControlResult:
    id: str
    status: ControlStatus
    criteria: tuple[CriterionResult, ...]


@dataclass(frozen=True)
class Target:
    label: str
    account_id: str
    partition: str
    principal_arn: str
    role_arn: str | None
    regions: tuple[str, ...]


@dataclass(frozen=True)
class RegionSkip:
    region: str
    reason: str


@dataclass(frozen=True)
class ScanRun:
    scan_id: str
    started_at: str
    finished_at: str
    target: Target
    findings: tuple[Finding, ...]
    controls: tuple[ControlResult, ...]
    calls: tuple[Call, ...]
    scanner_version: str
    catalog_id: str
    catalog_version: str
    complete: bool = True
    skipped_regions: tuple[RegionSkip, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
