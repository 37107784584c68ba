"""Well-Architected: a review with zero high risks waives the common customer example evidence (WAFR.1).

The checklist: if a Well-Architected Framework Review of the customer example shows zero
outstanding high-risk issues (HRIs) in Security, Operational Excellence and Reliability, the
partner uploads the exported review instead of evidence for the Common Customer Example
Requirements. Workloads live in a region of the Well-Architected Tool, so every scanned region
is read. https://docs.aws.amazon.com/wellarchitected/latest/userguide/workloads.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scanner.context import CheckContext, error_evidence
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

FRAMEWORK_LENS = "wellarchitected"  # the AWS Well-Architected Framework lens; other lenses do not count
WAIVER_PILLARS = {
    "security": "Security",
    "reliability": "Reliability",
    "operationalExcellence": "Operational Excellence",
}


def _pages(ctx: CheckContext, operation: str, key: str, region: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a Well-Architected listing (botocore has no paginator for these: each page
    is its own recorded call)."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page: dict[str, Any] = {**params, **({"NextToken": token} if token else {})}
        answer = ctx.read("wellarchitected", operation, region=region, **page)
        items.extend(answer.get(key, []))
        token = answer.get("NextToken")
        if not token:
            return items


def review_of(ctx: CheckContext, region: str, workload: dict[str, Any]) -> dict[str, Any]:
    """The workload's Framework lens review: risk counts of the three waiver pillars."""
    entry: dict[str, Any] = {
        "workload": workload.get("WorkloadName"),
        "arn": workload["WorkloadArn"],
        "region": region,
        "owner": workload.get("Owner"),
        "updated_at": str(workload.get("UpdatedAt")),
    }
    lenses = _pages(ctx, "ListLensReviews", "LensReviewSummaries", region, WorkloadId=workload["WorkloadId"])
    if not any(lens.get("LensAlias") == FRAMEWORK_LENS for lens in lenses):
        return {**entry, "framework_lens": False}
    review = ctx.read(
        "wellarchitected", "GetLensReview", region=region, WorkloadId=workload["WorkloadId"], LensAlias=FRAMEWORK_LENS
    )["LensReview"]
    pillars = {p["PillarId"]: p.get("RiskCounts", {}) for p in review.get("PillarReviewSummaries", [])}
    counts = {name: pillars.get(pillar_id, {}) for pillar_id, name in WAIVER_PILLARS.items()}
    high = sum(c.get("HIGH", 0) for c in counts.values())
    unanswered = sum(c.get("UNANSWERED", 0) for c in counts.values())
    missing = [name for pillar_id, name in WAIVER_PILLARS.items() if pillar_id not in pillars]
    return {
        **entry,
        "framework_lens": True,
        "lens_version": review.get("LensVersion"),
        "pillar_risks": counts,
        "high_risks": high,
        "unanswered": unanswered,
        "missing_pillars": missing,
        "qualifies": high == 0 and unanswered == 0 and not missing,
    }


@check(
    id="wellarchitected_no_high_risks",
    title="A Well-Architected review shows zero high risks in Security, Reliability and Operational Excellence",
    severity=Severity.INFO,
    criteria=("WAFR.1",),
    permissions=("wellarchitected:ListWorkloads", "wellarchitected:ListLensReviews", "wellarchitected:GetLensReview"),
    scope=Scope.GLOBAL,
    remediation="Resolve (or document as not applicable) the high-risk issues of the Security, Reliability and "
    "Operational Excellence pillars in the Well-Architected Tool, answer every question, then export the report.",
)
def wellarchitected_no_high_risks(ctx: CheckContext) -> Iterator[Finding]:
    """A completed review with no high risks is the partner's shortcut: the checklist then waives
    the common customer example evidence for this customer example, and the exported review is
    uploaded instead. A workload qualifies when its AWS Well-Architected Framework lens review
    (current state, not a milestone) has no HIGH risk and no unanswered question in the three
    pillars (a review with unanswered questions is not complete, even without HIGH risks). One
    qualifying workload is enough. The review is optional for the partner, but without one the
    criterion ("a WAFR with zero high risks") is not met: no workload reviewed with the Framework
    lens is a FAIL of severity info, saying that the waiver is not available and the common
    example evidence must be provided. (It was NOT_APPLICABLE, which the roll-up counts as MET:
    a matrix showing WAFR MET for an account that never had a review misleads an auditor.)"""
    reviewed: list[dict[str, Any]] = []
    failures: list[CallFailed] = []
    for region in ctx.regions:
        try:
            workloads = _pages(ctx, "ListWorkloads", "WorkloadSummaries", region)
        except CallFailed as failure:
            failures.append(failure)
            reviewed.append({"region": region, "error": error_evidence(failure)})
            continue
        for workload in workloads:
            try:
                reviewed.append(review_of(ctx, region, workload))
            except CallFailed as failure:
                failures.append(failure)
                reviewed.append({"arn": workload["WorkloadArn"], "region": region, "error": error_evidence(failure)})
    framework = [r for r in reviewed if r.get("framework_lens")]
    evidence: dict[str, Any] = {"regions": list(ctx.regions), "workloads": reviewed}
    qualifying = [r for r in framework if r["qualifies"]]
    if qualifying:
        best = qualifying[0]
        yield ctx.finding(
            Status.PASS,
            evidence={**evidence, "qualifying": [r["arn"] for r in qualifying]},
            message=f"The Well-Architected review of workload {best['workload']} ({best['arn']}) shows zero high "
            "risks and no unanswered question in Security, Reliability and Operational Excellence: the checklist "
            "waives the common customer example evidence for this customer example; upload the exported "
            "review report instead.",
        )
        return
    if failures:
        # A workload that could not be read might have qualified.
        yield ctx.error(failures[0])
        return
    if not framework:
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message="No Well-Architected review (AWS Well-Architected Framework lens) found in "
            f"{', '.join(ctx.regions)}: the WAFR waiver is not available, so the common customer example "
            "evidence must be provided.",
            remediation="Optional: run a Well-Architected Framework review of the workload and resolve its high "
            "risks in Security, Reliability and Operational Excellence; otherwise evidence each common "
            "customer example requirement.",
        )
        return
    reasons = []
    for r in framework:
        parts = [f"{r['high_risks']} high risk(s)"] if r["high_risks"] else []
        parts += [f"{r['unanswered']} unanswered question(s)"] if r["unanswered"] else []
        parts += [f"pillars missing: {', '.join(r['missing_pillars'])}"] if r["missing_pillars"] else []
        reasons.append(f"{r['workload']}: {', '.join(parts)}")
    yield ctx.finding(
        Status.FAIL,
        evidence=evidence,
        message="No Well-Architected review qualifies for the waiver (" + "; ".join(reasons) + "): the common "
        "customer example evidence must be provided.",
    )
