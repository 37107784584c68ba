"""GuardDuty: managed threat detection over flow logs, DNS and CloudTrail (NETSEC-001.4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

DETECTOR = "AWS::GuardDuty::Detector"


@check(
    id="guardduty_enabled",
    title="A GuardDuty detector is enabled in the region",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-001.4",),
    permissions=("guardduty:ListDetectors", "guardduty:GetDetector"),
    scope=Scope.REGIONAL,
    remediation="aws guardduty create-detector --enable --region <region> (or enable it organisation-wide from "
    "the GuardDuty delegated administrator account).",
)
def guardduty_enabled(ctx: CheckContext) -> Iterator[Finding]:
    """GuardDuty analyses VPC flow logs, DNS queries and CloudTrail events for known-bad
    addresses, port scans, crypto-mining and credential misuse: the "other AWS network security
    service" NETSEC-001.4 asks about, at almost no operating effort. It works per region; a
    detector that exists but is SUSPENDED (Status DISABLED) analyses nothing. A region has at
    most one detector. There is no NOT_APPLICABLE: every scanned region can run GuardDuty, and
    no detector is a FAIL for that region."""
    detector_ids: list[str] = ctx.read("guardduty", "ListDetectors").get("DetectorIds", [])
    if not detector_ids:
        yield ctx.finding(Status.FAIL, message=f"No GuardDuty detector in {ctx.region}.", evidence={"detector_ids": []})
        return
    for detector_id in detector_ids:
        arn = ctx.arn("guardduty", f"detector/{detector_id}")
        try:
            detector = ctx.read("guardduty", "GetDetector", DetectorId=detector_id)
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=DETECTOR)
            continue
        status = detector.get("Status")
        evidence: dict[str, Any] = {
            "detector_id": detector_id,
            "status": status,
            "finding_publishing_frequency": detector.get("FindingPublishingFrequency"),
            "features": {f.get("Name"): f.get("Status") for f in detector.get("Features") or []},
        }
        yield ctx.finding(
            Status.PASS if status == "ENABLED" else Status.FAIL,
            resource_id=arn,
            resource_type=DETECTOR,
            message=f"GuardDuty detector {detector_id} in {ctx.region} is "
            + ("enabled." if status == "ENABLED" else f"not enabled (status {status})."),
            evidence=evidence,
        )
